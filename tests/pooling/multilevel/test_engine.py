"""The multilevel engine (fit_blocks): batch layout, univariate equivalence, batching."""

from __future__ import annotations

import numpy as np
import pytest

from sleepmeta.pooling import meta_analysis
from sleepmeta.pooling.multilevel import Structure, Term, build_blocks, fit_blocks


def _three_level(rng, B, clusters=5, per=4):
    n = clusters * per
    outer = np.repeat(np.arange(clusters), per)
    u = rng.normal(0, np.sqrt(0.1), (B, clusters))[:, outer]
    w = rng.normal(0, np.sqrt(0.05), (B, n))
    vi = rng.uniform(0.01, 0.1, (B, n))
    y = 0.3 + u + w + rng.normal(0, np.sqrt(vi))
    V = vi[:, :, None] * np.eye(n)
    codes1 = np.broadcast_to(outer, (B, n)).copy()
    codes2 = np.broadcast_to(np.arange(n), (B, n)).copy()
    terms = [Term(Structure("SIGMA", 1), codes1), Term(Structure("SIGMA", 1), codes2)]
    return y, V, np.ones((B, n, 1)), np.ones((B, n), bool), terms


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_one_level_diagonal_v_equals_meta_analysis(method):
    # Design rule (shared/DESIGN.md): a diagonal V with one random level, one
    # effect per study, is the univariate random-effects model of rma(yi, vi).
    import pandas as pd

    from sleepmeta.pooling.multilevel import meta_analysis_mv
    from tests._bcg import bcg_frame

    d = bcg_frame()
    d["study"] = np.arange(len(d))
    uni = meta_analysis(d["yi"].to_numpy(), d["vi"].to_numpy(), method=method, mods="~ ablat",
                        data=d)
    mv = meta_analysis_mv("yi", "vi", random="~ 1 | study", mods="~ ablat", data=d, method=method)
    # rma() stops Fisher scoring when tau2 changes by < 1e-5 (metafor's threshold), so
    # the two maxima agree to that absolute precision ...
    assert mv.sigma2[0] == pytest.approx(uni.tau2, abs=1e-5)
    assert mv.qe == pytest.approx(uni.q, rel=1e-10)
    ll = uni.ll_reml if method == "REML" else uni.ll_ml
    assert mv.ll == pytest.approx(ll, rel=1e-8)
    # ... and at the same tau2 the two engines give identical estimates and likelihoods.
    m = mv.model
    fixed = fit_blocks(m.blocks, m.structures, method, theta0=np.array([[uni.tau2]]),
                       fixed=np.ones((1, 1), bool))
    np.testing.assert_allclose(fixed.beta[0], uni.coef_table[:, 0], rtol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(fixed.vb[0])), uni.coef_table[:, 1], rtol=1e-10)
    assert fixed.ll[0] == pytest.approx(ll, rel=1e-12)
    assert isinstance(d, pd.DataFrame)


def test_batch_equals_one_by_one():
    rng = np.random.default_rng(1)
    y, V, X, mask, terms = _three_level(rng, 6)
    mask[2, -3:] = False  # a padded member
    blocks = build_blocks(y, V, X, mask, terms)
    st = [t.structure for t in terms]
    fit = fit_blocks(blocks, st)
    for b in range(6):
        one = build_blocks(y[b:b + 1], V[b:b + 1], X[b:b + 1], mask[b:b + 1],
                           [Term(t.structure, t.outer[b:b + 1]) for t in terms])
        f1 = fit_blocks(one, st)
        np.testing.assert_allclose(fit.theta[b], f1.theta[0], rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(fit.beta[b], f1.beta[0], rtol=1e-8)
        assert fit.ll_reml[b] == pytest.approx(f1.ll_reml[0], rel=1e-10)
    assert fit.converged.all()


def test_fits_stopping_short_of_a_singular_gen_g_are_finished_at_the_fallbacks_maximum():
    # Random dose slopes (GEN, q = 2) whose REML estimate of Psi is singular in most data
    # sets: scoring in the Cholesky factor stops with a diagonal near 1e-6, a point the
    # stationarity check flags. fit_blocks finishes those members in SDs/correlations
    # instead of the quasi-Newton fallback; they must end where the fallback (L-BFGS-B from
    # the scoring end point and from metafor's start, then scoring) ends.
    from sleepmeta.dose.engine import slope_blocks
    from sleepmeta.pooling.multilevel.engine import start_values
    from sleepmeta.pooling.multilevel.fallback import _loglik, needs_rescue, rescue
    from sleepmeta.pooling.multilevel.optimise import Parameters, maximise

    rng = np.random.default_rng(11)
    B, m = 40, 30
    d = np.array([0.0, 1.0, 2.0, 4.0])
    n = rng.integers(80, 250, (B, m, 4)).astype(float)
    slope = 0.4 + rng.normal(0, 0.1, (B, m, 1))
    risk = np.minimum(rng.uniform(0.04, 0.12, (B, m, 1)) * np.exp(slope * d - 0.04 * d ** 2), 0.9)
    ev = np.maximum(rng.binomial(n.astype(int), risk), 1).astype(float)
    c = 1 / ev - 1 / n
    y = np.log(ev[..., 1:] / n[..., 1:]) - np.log(ev[..., :1] / n[..., :1])
    S = c[..., :1, None] + np.zeros((B, m, 3, 3))
    S[..., np.arange(3), np.arange(3)] += c[..., 1:]
    X = np.broadcast_to(np.stack([d[1:], d[1:] ** 2 / 4], -1), (B, m, 3, 2))
    blocks = slope_blocks(y, S, X, np.ones((B, m, 3), bool))
    gen = Structure("GEN", 2)
    params = Parameters([gen])
    fit = fit_blocks(blocks, [gen])
    start = start_values(blocks, params)
    theta, conv, it = maximise(blocks, params, "REML", start)
    finished = np.flatnonzero(needs_rescue(blocks, params, "REML", theta, conv, tol=1e-11)
                              & ~fit.rescued)
    assert finished.size >= 5 and fit.converged.all()
    res = rescue(blocks, params, "REML", theta, conv, it, start, finished)
    want = _loglik(blocks, params, "REML", res.theta)[finished]
    np.testing.assert_allclose(fit.ll_reml[finished], want, rtol=1e-9, atol=0)
    np.testing.assert_allclose(gen.G(fit.theta[finished]), gen.G(res.theta[finished]),
                               rtol=0, atol=1e-6)
