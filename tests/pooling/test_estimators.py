"""tau² estimators: published BCG values, hand calculations and the defining equations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sleepmeta.pooling import meta_analysis
from tests._bcg import bcg_yi_vi

# A small made-up dataset for hand calculations.
Y = np.array([0.10, 0.30, 0.35, 0.65, 0.45, 0.15])
V = np.array([0.03, 0.03, 0.05, 0.01, 0.05, 0.02])
K = Y.size


def _fe(y, v):
    w = 1 / v
    mu = np.sum(w * y) / np.sum(w)
    return mu, np.sum(w * (y - mu) ** 2), w


def test_bcg_reml_matches_metafor_documentation():
    # metafor documentation, help(rma.uni) and Viechtbauer (2010), J Stat Softw 36(3):
    # rma(yi, vi, data=dat) on the BCG log risk ratios prints
    # tau^2 0.3132 (SE 0.1664), I^2 92.22%, H^2 12.86, Q(df=12) 152.2330,
    # estimate -0.7145, se 0.1798, zval -3.9744, ci -1.0669, -0.3622.
    yi, vi = bcg_yi_vi()
    r = meta_analysis(yi, vi)
    assert r.tau2 == pytest.approx(0.3132, abs=5e-5)
    assert r.tau2_se == pytest.approx(0.1664, abs=5e-5)
    assert r.i2 == pytest.approx(92.22, abs=5e-3)
    assert r.h2 == pytest.approx(12.86, abs=5e-3)
    assert r.q == pytest.approx(152.2330, abs=5e-5)
    assert r.q_df == 12
    assert r.estimate == pytest.approx(-0.7145, abs=5e-5)
    assert r.se == pytest.approx(0.1798, abs=5e-5)
    assert r.statistic == pytest.approx(-3.9744, abs=5e-5)
    assert (r.ci_low, r.ci_high) == pytest.approx((-1.0669, -0.3622), abs=5e-5)


def test_bcg_mixed_effects_ablat_matches_metafor_documentation():
    # Viechtbauer (2010), J Stat Softw 36(3), mixed-effects model with absolute latitude:
    # tau^2 0.0764 (SE 0.0591), I^2 68.39%, QE(df=11) 30.7331, QM(df=1) 16.3571,
    # intrcpt 0.2515 (se 0.2491), ablat -0.0291 (se 0.0072).
    from tests._bcg import bcg_frame

    r = meta_analysis(data=bcg_frame(), mods="~ ablat")
    assert r.tau2 == pytest.approx(0.0764, abs=5e-5)
    assert r.tau2_se == pytest.approx(0.0591, abs=5e-5)
    assert r.i2 == pytest.approx(68.39, abs=5e-3)
    assert r.q == pytest.approx(30.7331, abs=5e-5)
    assert r.q_df == 11
    assert r.qm == pytest.approx(16.3571, abs=5e-5)
    coef = r.coefficients
    assert coef.loc["intrcpt", "estimate"] == pytest.approx(0.2515, abs=5e-5)
    assert coef.loc["intrcpt", "se"] == pytest.approx(0.2491, abs=5e-5)
    assert coef.loc["ablat", "estimate"] == pytest.approx(-0.0291, abs=5e-5)
    assert coef.loc["ablat", "se"] == pytest.approx(0.0072, abs=5e-5)


# metafor 3.8 on dat.bcg (log risk ratios): rma(yi, vi, method=m) prints tau² and its SE
# (the values the estimators' doctests carried before they moved into the compiled kernel)
BCG_TAU2 = {"DL": (0.3088, 0.2299), "HE": (0.3286, 0.2071), "HS": (0.2284, 0.1279),
            "HSk": (0.2492, 0.1507), "SJ": (0.3455, 0.1497), "ML": (0.2800, 0.1443),
            "REML": (0.3132, 0.1664), "EB": (0.3181, 0.1737), "PM": (0.3181, 0.1737)}


@pytest.mark.parametrize("method", sorted(BCG_TAU2))
def test_bcg_tau2_and_se_match_metafor_for_every_estimator(method):
    yi, vi = bcg_yi_vi()
    r = meta_analysis(yi, vi, method=method)
    assert (r.tau2, r.tau2_se) == pytest.approx(BCG_TAU2[method], abs=5e-5)
    fe = meta_analysis(yi, vi, method="FE")
    assert fe.tau2 == 0 and np.isnan(fe.tau2_se)


def test_bcg_log_likelihood_and_q_match_metafor():
    # metafor 3.8: logLik(rma(yi, vi)) -> -12.2024 (REML); rma(yi, vi)$QE -> 152.233
    r = meta_analysis(*bcg_yi_vi())
    assert r.ll_reml == pytest.approx(-12.2024, abs=5e-5)
    assert r.q == pytest.approx(152.233, abs=5e-4)


def test_dl_hand_calculation():
    # DerSimonian & Laird (1986): tau² = max(0, (Q - (k-1)) / (sum w - sum w² / sum w)).
    _, q, w = _fe(Y, V)
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    tau2 = max(0.0, (q - (K - 1)) / c)
    assert tau2 > 0  # the example is heterogeneous
    r = meta_analysis(Y, V, method="DL")
    assert r.tau2 == pytest.approx(tau2, rel=1e-12)
    wr = 1 / (V + tau2)
    assert r.estimate == pytest.approx(np.sum(wr * Y) / np.sum(wr), rel=1e-12)
    assert r.se == pytest.approx(np.sqrt(1 / np.sum(wr)), rel=1e-12)
    # I² through the typical within-study variance (k-1)/c (Higgins & Thompson 2002)
    vt = (K - 1) / c
    assert r.i2 == pytest.approx(100 * tau2 / (vt + tau2), rel=1e-12)
    assert r.h2 == pytest.approx(tau2 / vt + 1, rel=1e-12)


def test_he_hs_hsk_sj_hand_calculations():
    ybar = Y.mean()
    # Hedges (1983): sum((y - ybar)²)/(k-1) - mean(v)
    he = np.sum((Y - ybar) ** 2) / (K - 1) - np.mean(V)
    assert meta_analysis(Y, V, method="HE").tau2 == pytest.approx(max(0, he), rel=1e-12)
    # Hunter & Schmidt: (Q - k)/sum(w); k-corrected: (k/(k-1) Q - k)/sum(w)
    _, q, w = _fe(Y, V)
    assert meta_analysis(Y, V, method="HS").tau2 == pytest.approx(max(0, (q - K) / w.sum()), rel=1e-12)
    hsk = (K / (K - 1) * q - K) / w.sum()
    assert meta_analysis(Y, V, method="HSk").tau2 == pytest.approx(max(0, hsk), rel=1e-12)
    # Sidik & Jonkman (2005): tau0² = sum((y-ybar)²)/k; tau² = tau0² Q(tau0²)/(k-1)
    t0 = np.sum((Y - ybar) ** 2) / K
    _, q0, _ = _fe(Y, V + t0)
    assert meta_analysis(Y, V, method="SJ").tau2 == pytest.approx(t0 * q0 / (K - 1), rel=1e-12)


def test_fe_hand_calculation():
    mu, q, w = _fe(Y, V)
    r = meta_analysis(Y, V, method="FE")
    assert r.tau2 == 0
    assert r.estimate == pytest.approx(mu, rel=1e-12)
    assert r.se == pytest.approx(1 / np.sqrt(w.sum()), rel=1e-12)
    assert r.q == pytest.approx(q, rel=1e-12)
    assert r.q_pvalue == pytest.approx(stats.chi2.sf(q, K - 1), rel=1e-10)
    # common-effect I² and H² from Q (Higgins & Thompson 2002)
    assert r.i2 == pytest.approx(max(0, 100 * (q - (K - 1)) / q), rel=1e-12)
    assert r.h2 == pytest.approx(q / (K - 1), rel=1e-12)
    # prediction interval equals the CI when tau² = 0
    assert (r.pi_low, r.pi_high) == pytest.approx((r.ci_low, r.ci_high))


@pytest.mark.parametrize("y,v", [(Y, V), bcg_yi_vi()])
def test_ml_reml_solve_their_score_equations(y, v):
    # Viechtbauer (2005), eqs. 7 and 8: at the (positive) estimate the score is zero.
    for method in ("ML", "REML"):
        t = meta_analysis(y, v, method=method).tau2
        w = 1 / (v + t)
        mu = np.sum(w * y) / w.sum()
        if method == "ML":
            score = np.sum(w**2 * (y - mu) ** 2) - np.sum(w)
        else:
            score = np.sum(w**2 * (y - mu) ** 2) - np.sum(w) + np.sum(w**2) / np.sum(w)
        # metafor stops Fisher scoring when the step is < 1e-5, so the score is near zero
        assert abs(score) / np.sum(w**2) < 1e-5


@pytest.mark.parametrize("y,v", [(Y, V), bcg_yi_vi()])
def test_pm_and_eb_solve_their_estimating_equations(y, v):
    # Paule & Mandel (1982): the generalised Q equals k - 1 at the estimate.
    # EB (Morris 1983) solves the same equation as PM for an intercept-only model:
    # k/(k-1) Q(tau²) = k.
    k = y.size
    for method in ("PM", "EB"):
        t = meta_analysis(y, v, method=method).tau2
        w = 1 / (v + t)
        mu = np.sum(w * y) / w.sum()
        q = np.sum(w * (y - mu) ** 2)
        assert q == pytest.approx(k - 1, abs=1e-3)  # uniroot tolerance and 1e-5 step rule


def test_truncation_at_zero_when_homogeneous():
    y = np.array([0.1, 0.11, 0.09, 0.1])
    v = np.array([0.05, 0.04, 0.06, 0.05])
    for method in ("DL", "HE", "HS", "HSk", "ML", "REML", "EB", "PM"):
        assert meta_analysis(y, v, method=method).tau2 == 0.0, method


def test_step_halving_equals_metafors_loop():
    # metafor (rma.uni): while (tau2 + adj < tau2.min) adj <- adj / 2
    from sleepmeta.pooling.kernels.tau2 import halve_into_range

    def loop(c, a):
        while c + a < 0:
            a = a / 2
        return a

    rng = np.random.default_rng(0)
    cur = np.concatenate([rng.uniform(0, 1, 500) * 10.0 ** rng.integers(-8, 2, 500), np.zeros(20)])
    adj = rng.normal(0, 1, 520) * 10.0 ** rng.integers(-8, 4, 520)
    out = np.array([halve_into_range(c, a) for c, a in zip(cur, adj)])
    want = np.array([loop(c, a) for c, a in zip(cur, adj)])
    assert np.array_equal(out, want + 0.0)  # at cur = 0 the loop ends at -0.0, i.e. a zero step
