"""The compiled weighted least squares and traces of ``P`` (kernels.wls), against dense algebra.

Every expected value is computed here the slow way: ``P = W - W X (X'WX)^-1 X'W``
formed as a ``(k, k)`` matrix (Viechtbauer 2005, eq. 5), its traces taken
directly, and beta by ``numpy.linalg.lstsq`` on ``sqrt(w)``-scaled data.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmeta.pooling.kernels.wls import fit, invert_spd, logdet_of, tr_pd, tr_pdp, tr_pdpd, xdx


def _dense(X, y, w):
    W = np.diag(w)
    A = np.linalg.inv(X.T @ W @ X)
    P = W - W @ X @ A @ X.T @ W
    beta = np.linalg.lstsq(np.sqrt(w)[:, None] * X, np.sqrt(w) * y, rcond=None)[0]
    return P, beta, A


def _kernel(X, y, w, d, pad=3):
    """The kernel's outputs; the workspace is longer than the analysis (padding is never read)."""
    k, p = X.shape
    n = k + pad
    Xw = np.vstack([X, np.full((pad, p), np.nan)])
    yw, ww, dw = (np.concatenate([a, np.full(pad, np.nan)]) for a in (y, w, d))
    mats, beta, e, ws, tmp = np.empty((4, p, p)), np.empty(p), np.empty(n), np.empty(p), np.empty(n)
    rss = fit(Xw, yw, ww, k, p, ws, mats, beta, e)
    A = mats[0].copy()
    out = dict(rss=rss, beta=beta.copy(), A=A, resid=e[:k].copy(),
               tr_pd=tr_pd(Xw, ww, dw, k, p, A, tmp, mats[1]),
               tr_pdpd=tr_pdpd(Xw, ww, dw, k, p, A, tmp, mats.copy()),
               tr_pdp=tr_pdp(Xw, ww, dw, k, p, A, tmp, mats.copy()))
    return out


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6), st.integers(1, 3), st.integers(0, 10_000))
def test_traces_and_beta_equal_dense_algebra(extra, p, seed):
    k = p + extra  # well-conditioned designs: k - p >= 2
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(k)] + [rng.normal(size=k) for _ in range(p - 1)])
    y, w, d = rng.normal(size=k), rng.uniform(0.2, 5, size=k), rng.uniform(0.1, 2, size=k)
    P, beta, A = _dense(X, y, w)
    D = np.diag(d)
    f = _kernel(X, y, w, d)
    np.testing.assert_allclose(f["beta"], beta, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(f["A"], A, rtol=1e-9)
    assert f["rss"] == pytest.approx(y @ P @ y, rel=1e-9)
    # P y = w e (the identity the scoring steps use)
    np.testing.assert_allclose(w * f["resid"], P @ y, rtol=1e-9, atol=1e-12)
    assert f["tr_pd"] == pytest.approx(np.trace(P @ D), rel=1e-9)
    assert f["tr_pdpd"] == pytest.approx(np.trace(P @ D @ P @ D), rel=1e-9)
    assert f["tr_pdp"] == pytest.approx(np.trace(P @ D @ P), rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(0, 10_000))
def test_inverse_and_log_determinant_equal_numpy(p, seed):
    rng = np.random.default_rng(seed)
    G = rng.normal(size=(p + 3, p))
    M = G.T @ G + 0.1 * np.eye(p)
    A, L = np.empty((p, p)), np.empty((p, p))
    assert invert_spd(M, p, A, L)
    np.testing.assert_allclose(A, np.linalg.inv(M), rtol=1e-9, atol=1e-12)
    assert logdet_of(M, p, L) == pytest.approx(np.linalg.slogdet(M)[1], rel=1e-10, abs=1e-12)
    low = np.tril(L)  # the Cholesky factor (the upper triangle is scratch)
    np.testing.assert_allclose(low @ low.T, M, rtol=1e-10, atol=1e-12)


def test_singular_design_is_reported_not_solved():
    # two identical columns: X'WX is singular, fit returns NaN (the engine reports the member)
    X = np.column_stack([np.ones(4), np.ones(4)])
    mats = np.empty((4, 2, 2))
    rss = fit(X, np.arange(4.0), np.ones(4), 4, 2, np.empty(2), mats, np.empty(2), np.empty(4))
    assert np.isnan(rss)
    assert not invert_spd(np.zeros((1, 1)), 1, np.empty((1, 1)), np.empty((1, 1)))
    assert np.isnan(logdet_of(np.ones((2, 2)), 2, np.empty((2, 2))))


def test_xdx_by_hand():
    X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [7.0, 7.0]])
    out = np.empty((2, 2))
    # X' diag(1, 2, 3) X over the first three rows = [[6, 8], [8, 14]] by hand
    xdx(X, np.array([1.0, 2.0, 3.0, 99.0]), 3, 2, out)
    assert out.tolist() == [[6.0, 8.0], [8.0, 14.0]]
    # one weighted study mean by hand: y = 1, 2 with w = 1, 1 -> beta 1.5, rss 0.5
    mats = np.empty((4, 1, 1))
    beta = np.empty(1)
    rss = fit(np.ones((2, 1)), np.array([1.0, 2.0]), np.ones(2), 2, 1, np.empty(1), mats, beta,
              np.empty(2))
    assert beta[0] == 1.5 and rss == 0.5


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(1e-50, 1e50), min_size=1, max_size=40),
       st.sampled_from([0.0, 1e-300, 0.5, 1e40]))
def test_sum_of_logs_by_runs_of_products_is_the_sum_of_logs(v, t):
    """``sum_log_v`` multiplies terms while the product stays in range: it equals
    ``sum(log(v + t))`` to the product's rounding, ``n`` ulps, across the whole accepted
    range of vi (1e-50 to 1e50), with tau² from 0 to 1e40."""
    from sleepmeta.pooling.kernels.wls import sum_log_v
    from sleepmeta.pooling.kernels.workspace import NVEC, V

    vec = np.zeros((NVEC, max(len(v), 16)))
    vec[V, : len(v)] = v
    expected = float(np.sum(np.log(np.asarray(v) + t)))
    assert sum_log_v(vec, t, len(v)) == pytest.approx(expected, rel=1e-13,
                                                      abs=4 * len(v) * np.finfo(float).eps)


def test_sum_of_logs_keeps_minus_infinity_and_nan():
    """A zero term gives -inf and a NaN term NaN, as the sum of the logs would."""
    from sleepmeta.pooling.kernels.wls import sum_log_v
    from sleepmeta.pooling.kernels.workspace import NVEC, V

    vec = np.zeros((NVEC, 16))
    vec[V, :3] = [1.0, 0.0, 2.0]
    assert sum_log_v(vec, 0.0, 3) == -np.inf
    vec[V, 1] = np.nan
    assert np.isnan(sum_log_v(vec, 0.0, 3))
