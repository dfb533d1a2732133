"""meta_analysis_mv_batch: member b equals meta_analysis_mv on its rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sleepmeta.errors import InputError
from sleepmeta.pooling.multilevel import meta_analysis_mv, meta_analysis_mv_batch


def _data(seed, B=5, n=12):
    rng = np.random.default_rng(seed)
    study = np.repeat(np.arange(4), 3)
    arm = np.tile(np.arange(3), 4)
    vi = rng.uniform(0.01, 0.1, (B, n))
    y = 0.2 + rng.normal(0, 0.3, (B, 4))[:, study] + rng.normal(0, np.sqrt(vi))
    mask = np.ones((B, n), bool)
    mask[1, -3:] = False  # member 1 has three studies
    y[1, -3:] = np.nan
    return y, vi, mask, study, arm


@pytest.mark.parametrize("method,test", [("REML", "z"), ("ML", "t")])
def test_batch_equals_one_by_one(method, test):
    y, vi, mask, study, arm = _data(1)
    fit = meta_analysis_mv_batch(y, vi, mask=mask, groups={"study": study, "arm": arm},
                                 random="~ 1 | study/arm", method=method, test=test)
    assert fit.converged.all()
    for b in range(y.shape[0]):
        m = mask[b]
        d = pd.DataFrame({"yi": y[b, m], "vi": vi[b, m], "study": study[m], "arm": arm[m]})
        one = meta_analysis_mv("yi", "vi", random="~ 1 | study/arm", data=d, method=method,
                               test=test)
        np.testing.assert_allclose(fit.sigma2[b], one.sigma2, rtol=1e-6, atol=1e-10)
        assert fit.estimate[b, 0] == pytest.approx(one.estimate, rel=1e-7)
        assert fit.se[b, 0] == pytest.approx(one.se, rel=1e-6)
        assert fit.ci_low[b, 0] == pytest.approx(one.ci_low, rel=1e-6)
        assert fit.ll[b] == pytest.approx(one.ll, rel=1e-9)


def test_batch_inner_outer_struct():
    y, vi, mask, study, arm = _data(2)
    mask[:] = True
    y = np.nan_to_num(y, nan=0.1)
    fit = meta_analysis_mv_batch(y, vi, groups={"study": study, "arm": arm},
                                 random="~ arm | study", struct="CS")
    d = pd.DataFrame({"yi": y[0], "vi": vi[0], "study": study, "arm": arm})
    one = meta_analysis_mv("yi", "vi", random="~ arm | study", struct="CS", data=d)
    np.testing.assert_allclose(fit.tau2[0], one.tau2, rtol=1e-6)
    np.testing.assert_allclose(fit.rho[0], one.rho, rtol=1e-5, atol=1e-8)


def test_bad_batch_input():
    y, vi, mask, study, arm = _data(3)
    vi[0, 2] = -1
    with pytest.raises(InputError, match="analysis 0, row 2"):
        meta_analysis_mv_batch(y, vi, mask=mask, groups={"study": study}, random="~ 1 | study")
    with pytest.raises(InputError, match="groups"):
        meta_analysis_mv_batch(y, np.abs(vi), mask=mask, groups={}, random="~ 1 | study")
