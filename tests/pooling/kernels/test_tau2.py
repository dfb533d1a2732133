"""The compiled tau² kernels against the defining equations, on random batches.

Each estimator is checked against the equation that defines it, written out
here with explicit matrices (``P = W - W X (X'WX)^-1 X'W``, Viechtbauer 2005
eq. 5) — not against another implementation of the same algebra:

* DL: ``tau² = max(0, (Q - (k-p)) / tr(P))`` with ``W = diag(1/vi)``
  (DerSimonian & Laird 1986; Raudenbush 2009 for p > 1);
* HE: ``max(0, (y'P0 y - tr(P0 V)) / (k - p))`` with the unweighted ``P0``;
* REML: the score ``y'PPy - tr(P)`` is zero at an interior tau²
  (Viechtbauer 2005, eq. 12); ML: ``sum((w e)²) - sum(w) = 0`` with ``e``
  the WLS residuals; EB: ``k/(k-p) Q(tau²) = k``;
  PM: ``Q(tau²) = k - p`` (Paule & Mandel 1982);
* at tau² = 0 the score is not positive (or metafor's ll0check chose 0).

Tolerances follow the algorithms' stopping rules: Fisher scoring stops when
a step is below 1e-5, so the score is zero to that step times ``tr(PP)``;
Brent stops at ``eps^0.25`` on tau².
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sleepmeta.pooling import meta_analysis_batch

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _p_matrix(v, t, X):
    W = np.diag(1 / (v + t))
    A = np.linalg.inv(X.T @ W @ X)
    return W - W @ X @ A @ X.T @ W


@st.composite
def batches(draw, p=1):
    """A padded batch: B analyses of k_b studies in a (B, kmax) array, garbage outside the mask."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    B = draw(st.integers(1, 6))
    kmax = draw(st.integers(p + 2, 12))
    k = rng.integers(p + 2, kmax + 1, B)
    mask = np.arange(kmax)[None, :] < k[:, None]
    mask = np.take_along_axis(mask, rng.permuted(np.tile(np.arange(kmax), (B, 1)), axis=1), 1)
    tau2 = draw(st.sampled_from([0.0, 0.02, 0.3, 2.0]))
    vi = rng.uniform(0.005, 1.0, (B, kmax))
    yi = rng.normal(0.2, np.sqrt(vi + tau2))
    junk = rng.choice([np.nan, np.inf, -1.0, 1e300], size=(B, kmax))
    yi, vi = np.where(mask, yi, junk), np.where(mask, vi, junk)
    X = np.column_stack([np.ones(kmax)] + [rng.normal(size=kmax) for _ in range(p - 1)])
    return yi, vi, mask, X


def _members(yi, vi, mask, X):
    for b in range(mask.shape[0]):
        m = mask[b]
        yield b, yi[b, m], vi[b, m], X[m]


@SETTINGS
@given(batches(p=1))
def test_dl_and_he_are_their_moment_equations(batch):
    yi, vi, mask, X = batch
    dl = meta_analysis_batch(yi, vi, mask, method="DL", X=X)
    he = meta_analysis_batch(yi, vi, mask, method="HE", X=X)
    for b, y, v, Xb in _members(yi, vi, mask, X):
        k, p = Xb.shape
        P = _p_matrix(v, 0.0, Xb)
        want = max(0.0, (y @ P @ y - (k - p)) / np.trace(P))
        assert dl.tau2[b] == pytest.approx(want, rel=1e-10, abs=1e-13)
        P0 = np.eye(k) - Xb @ np.linalg.inv(Xb.T @ Xb) @ Xb.T
        want = max(0.0, (y @ P0 @ y - np.trace(P0 @ np.diag(v))) / (k - p))
        assert he.tau2[b] == pytest.approx(want, rel=1e-10, abs=1e-13)


def _check_score(method, t, y, v, Xb):
    k, p = Xb.shape
    P = _p_matrix(v, t, Xb)
    w = 1 / (v + t)
    if method == "REML":
        score, info = y @ P @ P @ y - np.trace(P), np.trace(P @ P)
    elif method == "ML":
        e = P @ y / w  # residuals of the WLS fit: P y = w e
        score, info = np.sum((w * e) ** 2) - np.sum(w), np.sum(w**2)
    else:  # EB: the fixed point k/(k-p) Q = k, in units of sum(w)
        score, info = y @ P @ y * k / (k - p) - k, np.sum(w)
    if t > 0:
        # stopped when the step score/info was at most 1e-5 — or when metafor's halving of a
        # step that would cross 0 made it that small; then t < |halved step| <= 1e-5
        assert abs(score / info) <= 2e-5 * (1 + t) or (score < 0 and t <= 1e-5)
    else:
        # tau² = 0: the score there points below zero, or the likelihood at 0 was higher
        assert score / info <= 1e-4 or method in ("ML", "REML")


@SETTINGS
@given(batches(p=1), st.sampled_from(["REML", "ML", "EB"]))
def test_scoring_estimators_solve_their_score_equations(batch, method):
    yi, vi, mask, X = batch
    fit = meta_analysis_batch(yi, vi, mask, method=method, X=X, errors="flag")
    for b, y, v, Xb in _members(yi, vi, mask, X):
        if fit.converged[b]:
            _check_score(method, fit.tau2[b], y - y.mean(), v, Xb)


@SETTINGS
@given(batches(p=2), st.sampled_from(["REML", "ML", "EB", "DL"]))
def test_meta_regression_members_solve_their_equations(batch, method):
    yi, vi, mask, X = batch
    fit = meta_analysis_batch(yi, vi, mask, method=method, X=X, errors="flag")
    for b, y, v, Xb in _members(yi, vi, mask, X):
        if not fit.converged[b]:
            continue
        if method == "DL":
            k, p = Xb.shape
            P = _p_matrix(v, 0.0, Xb)
            want = max(0.0, (y @ P @ y - (k - p)) / np.trace(P))
            assert fit.tau2[b] == pytest.approx(want, rel=1e-9, abs=1e-12)
        else:
            _check_score(method, fit.tau2[b], y, v, Xb)
        # the coefficients are the WLS fit at tau² (A = (X'WX)^-1, b = A X'W y)
        W = np.diag(1 / (v + fit.tau2[b]))
        A = np.linalg.inv(Xb.T @ W @ Xb)
        assert fit.beta[b] == pytest.approx(A @ Xb.T @ W @ y, rel=1e-9, abs=1e-12)
        assert fit.vb[b] == pytest.approx(A, rel=1e-9, abs=1e-14)


@SETTINGS
@given(batches(p=1))
def test_pm_solves_the_generalised_q_equation(batch):
    yi, vi, mask, X = batch
    fit = meta_analysis_batch(yi, vi, mask, method="PM", X=X, errors="flag")
    for b, y, v, Xb in _members(yi, vi, mask, X):
        k, p = Xb.shape
        t = fit.tau2[b]
        q = lambda s: y @ _p_matrix(v, s, Xb) @ y  # noqa: E731
        if t > 0:
            # uniroot's tolerance on tau² (eps^0.25 ~ 1.2e-4): Q within its slope times that
            slope = abs(q(t + 1e-4) - q(t)) / 1e-4
            assert abs(q(t) - (k - p)) <= 2e-4 * max(slope, 1e-12) + 1e-9
        else:
            assert q(0.0) <= k - p + 1e-9


@SETTINGS
@given(batches(p=1), st.sampled_from(["FE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB",
                                      "PM"]))
def test_heterogeneity_statistics_are_their_definitions(batch, method):
    yi, vi, mask, X = batch
    fit = meta_analysis_batch(yi, vi, mask, method=method, X=X, errors="flag")
    for b, y, v, Xb in _members(yi, vi, mask, X):
        k, p = Xb.shape
        P = _p_matrix(v, 0.0, Xb)
        assert fit.q[b] == pytest.approx(max(0.0, y @ P @ y), rel=1e-10, abs=1e-12)
        assert fit.vt[b] == pytest.approx((k - p) / np.trace(P), rel=1e-10)
        w = 1 / (v + fit.tau2[b])
        assert fit.weights[b, mask[b]] == pytest.approx(w, rel=1e-14)
        assert np.all(fit.weights[b, ~mask[b]] == 0)
        # metafor's log-likelihoods (REMLf = TRUE), written out
        Pt = _p_matrix(v, fit.tau2[b], Xb)
        rss = y @ Pt @ y
        ll_ml = -0.5 * k * np.log(2 * np.pi) - 0.5 * np.sum(np.log(v + fit.tau2[b])) - 0.5 * rss
        assert fit.ll_ml[b] == pytest.approx(ll_ml, rel=1e-10)
        ll_reml = (-0.5 * (k - p) * np.log(2 * np.pi) + 0.5 * np.linalg.slogdet(Xb.T @ Xb)[1]
                   - 0.5 * np.sum(np.log(v + fit.tau2[b]))
                   - 0.5 * np.linalg.slogdet(Xb.T @ np.diag(w) @ Xb)[1] - 0.5 * rss)
        assert fit.ll_reml[b] == pytest.approx(ll_reml, rel=1e-10)


@SETTINGS
@given(batches(p=1), st.sampled_from(["DL", "SJ", "REML", "ML", "EB", "PM"]),
       st.sampled_from([2.0, 0.5]))
def test_intercept_path_equals_the_matrix_path(batch, method, c):
    # a one-column design c·1 (not an intercept) takes the general matrix path; tau² does not
    # depend on the scale of the design column, and beta scales by 1/c
    yi, vi, mask, X = batch
    a = meta_analysis_batch(yi, vi, mask, method=method, errors="flag")
    g = meta_analysis_batch(yi, vi, mask, method=method, X=c * X, intercept=False, errors="flag")
    assert np.array_equal(a.converged, g.converged)
    assert g.tau2 == pytest.approx(a.tau2, rel=1e-9, abs=1e-12)
    assert g.estimate * c == pytest.approx(a.estimate, rel=1e-9, abs=1e-12)
    assert g.tau2_se == pytest.approx(a.tau2_se, rel=1e-8, abs=1e-12, nan_ok=True)


def test_k_equal_one_common_effect_is_the_study():
    fit = meta_analysis_batch([[0.4, np.nan]], [[0.09, np.nan]], [[True, False]], method="FE")
    assert fit.estimate[0] == 0.4
    assert fit.se[0] == pytest.approx(0.3, rel=1e-15)
    assert fit.q[0] == 0 and fit.i2[0] == 0 and fit.h2[0] == 1


@SETTINGS
@given(batches(p=1))
def test_hs_hsk_sj_and_standard_errors_are_their_definitions(batch):
    # Hunter & Schmidt (2004), the k-corrected form, Sidik & Jonkman (2005), and the SEs of
    # DL, ML and REML (Viechtbauer 2005), written out with dense matrices on padded members
    yi, vi, mask, X = batch
    fits = {m: meta_analysis_batch(yi, vi, mask, method=m, X=X, errors="flag")
            for m in ("HS", "HSk", "SJ", "DL", "ML", "REML")}
    for b, y, v, Xb in _members(yi, vi, mask, X):
        k, p = Xb.shape
        P0 = _p_matrix(v, 0.0, Xb)
        q0, sw = y @ P0 @ y, np.sum(1 / v)
        assert fits["HS"].tau2[b] == pytest.approx(max(0.0, (q0 - k) / sw), rel=1e-10, abs=1e-13)
        hsk = (k / (k - p) * q0 - k) / sw
        assert fits["HSk"].tau2[b] == pytest.approx(max(0.0, hsk), rel=1e-10, abs=1e-13)
        yc = y - y.mean()
        t0 = np.sum(yc**2) / k
        sj = t0 * (yc @ _p_matrix(v, t0, Xb) @ yc) / (k - p)
        assert fits["SJ"].tau2[b] == pytest.approx(max(0.0, sj), rel=1e-10, abs=1e-13)
        t = fits["DL"].tau2[b]
        trp, trpp = np.trace(P0), np.trace(P0 @ P0)
        se_dl = np.sqrt(2 * (k - p) + 4 * t * trp + 2 * t**2 * trpp) / trp
        assert fits["DL"].tau2_se[b] == pytest.approx(se_dl, rel=1e-9)
        for m in ("ML", "REML"):
            if not fits[m].converged[b]:
                continue
            t = fits[m].tau2[b]
            Pt = _p_matrix(v, t, Xb)
            info = np.sum(1 / (v + t) ** 2) if m == "ML" else np.trace(Pt @ Pt)
            assert fits[m].tau2_se[b] == pytest.approx(np.sqrt(2 / info), rel=1e-9)


@pytest.mark.parametrize("test", ["z", "knha"])
def test_one_study_member_in_a_padded_batch(test):
    # k = 1 beside larger members: the common-effect fit is the study itself, and under a
    # residual-df test it is tested with z (metafor's k = 1 rule), whatever the padding holds
    from scipy import special

    yi = np.array([[0.4, np.nan, 7.0], [0.1, 0.3, 0.2]])
    vi = np.array([[0.09, -1.0, np.inf], [0.01, 0.02, 0.03]])
    mask = np.array([[True, False, False], [True, True, True]])
    fit = meta_analysis_batch(yi, vi, mask, method="FE", test=test)
    assert fit.estimate[0] == 0.4 and fit.se[0] == pytest.approx(0.3, rel=1e-15)
    assert fit.z_fallback[0] == (test == "knha") and not fit.z_fallback[1]
    assert fit.pvalue[0] == pytest.approx(2 * special.ndtr(-0.4 / 0.3), rel=1e-12)
    assert fit.q[0] == 0 and fit.i2[0] == 0 and fit.h2[0] == 1 and fit.q_pvalue[0] == 1

