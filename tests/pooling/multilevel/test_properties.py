"""Invariants of meta_analysis_mv (hypothesis, bounded examples and deadlines)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sleepmeta.pooling import meta_analysis
from sleepmeta.pooling.multilevel import fit_blocks, meta_analysis_mv

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def three_level(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    clusters = draw(st.integers(3, 6))
    sizes = rng.integers(1, 4, clusters)
    cl = np.repeat(np.arange(clusters), sizes)
    n = cl.size
    vi = rng.uniform(0.01, 0.2, n)
    yi = (0.2 + rng.normal(0, draw(st.sampled_from([0.0, 0.2, 0.5])), clusters)[cl]
          + rng.normal(0, np.sqrt(vi)))
    return pd.DataFrame({"yi": yi, "vi": vi, "cluster": cl, "row": np.arange(n),
                         "x": rng.normal(size=n)}), rng


@SETTINGS
@given(three_level())
def test_order_invariance_and_nonnegative_components(case):
    d, rng = case
    if len(d) < 4:
        return
    a = meta_analysis_mv("yi", "vi", random="~ 1 | cluster/row", data=d)
    perm = rng.permutation(len(d))  # reorders clusters and rows within clusters
    b = meta_analysis_mv("yi", "vi", random="~ 1 | cluster/row", data=d.iloc[perm])
    assert min(a.sigma2) >= 0
    np.testing.assert_allclose(a.sigma2, b.sigma2, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(a.coef_table[:, :2], b.coef_table[:, :2], rtol=1e-6, atol=1e-10)
    assert a.ll == pytest.approx(b.ll, rel=1e-9, abs=1e-9)


@SETTINGS
@given(three_level())
def test_one_level_diagonal_v_reproduces_meta_analysis(case):
    d, _ = case
    if len(d) < 3:
        return
    uni = meta_analysis(d["yi"].to_numpy(), d["vi"].to_numpy(), method="ML")
    mv = meta_analysis_mv("yi", "vi", random="~ 1 | row", data=d, method="ML")
    # rma()'s Fisher scoring stops when tau2 moves < 1e-5 (metafor's threshold), so the
    # two agree to about that precision (hypothesis found k = 12 studies where the last step
    # left rma's tau2 2.1e-5 short, the score there -0.016; the multilevel engine's score
    # at its estimate was 1e-14) and the multilevel engine's maximum is at least as high ...
    assert mv.sigma2[0] == pytest.approx(uni.tau2, abs=1e-4)
    assert mv.ll >= uni.ll_ml - 1e-10
    assert mv.qe == pytest.approx(uni.q, rel=1e-9)
    # ... and at the univariate tau2 both give the same estimates and likelihood
    m = mv.model
    at = fit_blocks(m.blocks, m.structures, "ML", theta0=np.array([[uni.tau2]]),
                    fixed=np.ones((1, 1), bool))
    assert at.beta[0, 0] == pytest.approx(uni.estimate, rel=1e-9, abs=1e-12)
    assert np.sqrt(at.vb[0, 0, 0]) == pytest.approx(uni.se, rel=1e-9)
    assert at.ll_ml[0] == pytest.approx(uni.ll_ml, rel=1e-10, abs=1e-10)


@SETTINGS
@given(st.integers(0, 2**31 - 1))
def test_variance_structures_nonnegative(seed):
    rng = np.random.default_rng(seed)
    k = 8
    d = pd.DataFrame({"study": np.repeat(np.arange(k), 2), "outcome": np.tile(["A", "B"], k)})
    d["vi"] = rng.uniform(0.01, 0.05, 2 * k)
    d["yi"] = rng.normal(0, 0.3, 2 * k)
    for struct in ("CS", "HCS", "UN", "DIAG", "ID"):
        r = meta_analysis_mv("yi", "vi", random="~ outcome | study", struct=struct,
                             mods="~ outcome - 1", data=d)
        assert min(r.tau2) >= 0
        assert all(-1 - 1e-12 <= x <= 1 + 1e-12 for x in r.rho)
