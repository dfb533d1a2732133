"""Tests for sleepmeta.pooling.engine: fit_batch, the one place a model is fitted.

Expected numbers are hand calculations written here (inverse-variance
weighting, Knapp-Hartung's scale), metafor 3.8's documented dat.bcg results
(``rma(yi, vi)``: estimate -0.7145, tau² 0.3132, logLik -12.2024), or the
engine's own single-analysis answers when the property is "a batch equals
its members fitted one by one".
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmeta.pooling.engine import fit_batch
from sleepmeta.pooling.registry import Control
from tests._bcg import bcg_yi_vi

ONE = np.ones((1, 3, 1))


def _fit(yi, vi, **kw):
    yi, vi = np.atleast_2d(yi), np.atleast_2d(vi)
    return fit_batch(yi, vi, np.ones(yi.shape, bool), np.ones((1, yi.shape[1], 1)), **kw)


def test_common_effect_by_hand():
    yi, vi = np.array([0.1, 0.3, 0.5]), np.array([0.01, 0.02, 0.04])
    w = 1 / vi                                   # 100, 50, 25
    mu = (w * yi).sum() / w.sum()                # (10 + 15 + 12.5) / 175
    q = (w * (yi - mu) ** 2).sum()
    fit = _fit(yi, vi, method="FE")
    assert fit.estimate[0] == pytest.approx(mu, rel=1e-14)
    assert fit.se[0] == pytest.approx(1 / np.sqrt(w.sum()), rel=1e-14)
    assert fit.q[0] == pytest.approx(q, rel=1e-12) and fit.q_df[0] == 2
    # common-effect I² from Q (Higgins & Thompson 2002)
    assert fit.i2[0] == pytest.approx(max(0.0, 100 * (q - 2) / q), rel=1e-12)
    assert fit.tau2[0] == 0 and fit.pi_low[0] == pytest.approx(fit.ci_low[0])


def test_knapp_hartung_scale_by_hand():
    yi, vi = np.array([0.1, 0.3, 0.5]), np.array([0.01, 0.02, 0.04])
    w = 1 / vi
    mu = (w * yi).sum() / w.sum()
    s2 = (w * (yi - mu) ** 2).sum() / (3 - 1)    # Q(tau² = 0) / (k - p)
    fit = _fit(yi, vi, method="FE", test="knha")
    assert fit.s2w[0] == pytest.approx(s2, rel=1e-12)
    assert fit.se[0] == pytest.approx(np.sqrt(s2 / w.sum()), rel=1e-12)
    assert fit.df[0] == 2 and not fit.z_fallback[0]


def test_bcg_reml_is_metafors():
    yi, vi = bcg_yi_vi()
    fit = _fit(yi, vi, method="REML")
    assert fit.estimate[0] == pytest.approx(-0.7145, abs=5e-5)
    assert fit.tau2[0] == pytest.approx(0.3132, abs=5e-5)
    assert fit.ll_reml[0] == pytest.approx(-12.2024, abs=5e-5)
    assert fit.converged[0] and not fit.fallback[0]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["DL", "REML", "PM", "FE"]),
       st.sampled_from(["z", "knha"]))
def test_a_batch_equals_its_members_fitted_alone(seed, method, test):
    rng = np.random.default_rng(seed)
    B, k = 4, 6
    yi, vi = rng.normal(size=(B, k)), rng.uniform(0.01, 0.5, size=(B, k))
    mask = np.ones((B, k), bool)
    mask[1, 4:] = False
    mask[3, 3:] = False
    batch = fit_batch(yi, vi, mask, np.ones((1, k, 1)), method=method, test=test)
    for b in range(B):
        m = mask[b]
        one = _fit(yi[b, m], vi[b, m], method=method, test=test)
        for name in ("estimate", "se", "tau2", "q", "i2", "ci_low", "pvalue"):
            assert getattr(batch, name)[b] == pytest.approx(getattr(one, name)[0], rel=1e-8,
                                                            abs=1e-12), name


def test_explicit_control_is_used_as_given():
    yi, vi = bcg_yi_vi()
    stuck = _fit(yi, vi, method="REML", control=Control(maxiter=0))
    assert not stuck.converged[0] and not stuck.fallback[0]   # no remedy with a control
    slow = _fit(yi, vi, method="REML", control=Control(stepadj=0.5, maxiter=1000))
    default = _fit(yi, vi, method="REML")
    assert slow.converged[0] and slow.iterations[0] > default.iterations[0]
    assert slow.tau2[0] == pytest.approx(default.tau2[0], rel=1e-4)


def test_one_study_under_knha_is_tested_with_z():
    fit = fit_batch(np.array([[0.3, 0.0]]), np.array([[0.04, 1.0]]),
                    np.array([[True, False]]), np.ones((1, 2, 1)), method="FE", test="knha")
    assert fit.z_fallback.tolist() == [True] and np.isnan(fit.df[0])
    # z = 0.3 / 0.2, two-sided normal p, CI 0.3 ± 1.959964 * 0.2 (hand calculation)
    assert fit.statistic[0] == pytest.approx(1.5)
    assert fit.ci_high[0] == pytest.approx(0.3 + 1.959963984540054 * 0.2)
