"""The fused two-column fit (kernels.two_column), against dense algebra.

Expected values are computed the slow way: ``W = diag(1/(vi + t))``,
``P = W - W X (X'WX)^-1 X'W`` formed as a ``(k, k)`` matrix (Viechtbauer
2005, eq. 5), ``y'Py`` and the traces taken directly, beta from
``numpy.linalg.lstsq`` on ``sqrt(w)``-scaled data.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmeta.pooling.kernels.two_column import q_eval2, trp_trpp2
from sleepmeta.pooling.kernels.workspace import NVEC, SUM, V, VW, W, Y


def _kernel(X, y, vi, t, pad=2):
    """The kernel's outputs; the workspace is longer than the analysis (padding is never read)."""
    k = len(y)
    vec = np.full((NVEC, max(k + pad, VW)), np.nan)
    vec[Y, :k], vec[V, :k] = y, vi
    Xw = np.vstack([X, np.full((pad, 2), np.nan)])
    mats, beta = np.full((4, 2, 2), np.nan), np.full(2, np.nan)
    rss = q_eval2(Xw, Y, t, k, vec, mats, beta)
    return rss, beta, mats[0].copy(), trp_trpp2(vec, mats), vec


@settings(max_examples=60, deadline=None)
@given(k=st.integers(3, 12), seed=st.integers(0, 2**31 - 1), t=st.sampled_from([0.0, 0.05, 2.0]),
       intercept=st.booleans())
def test_matches_dense_algebra(k, seed, t, intercept):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=k) * rng.uniform(0.1, 50)
    X = np.column_stack([np.ones(k) if intercept else rng.uniform(0.5, 2, k), x])
    y, vi = rng.normal(size=k), rng.uniform(0.005, 1.0, size=k)
    w = 1 / (vi + t)
    Wm = np.diag(w)
    A = np.linalg.inv(X.T @ Wm @ X)
    P = Wm - Wm @ X @ A @ X.T @ Wm
    beta = np.linalg.lstsq(np.sqrt(w)[:, None] * X, np.sqrt(w) * y, rcond=None)[0]
    rss, b, A_k, (trp, trpp), vec = _kernel(X, y, vi, t)
    assert rss == pytest.approx(y @ P @ y, rel=1e-8, abs=1e-10)
    np.testing.assert_allclose(b, beta, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(A_k, A, rtol=1e-8, atol=1e-12)
    assert trp == pytest.approx(np.trace(P), rel=1e-8)
    assert trpp == pytest.approx(np.trace(P @ P), rel=1e-8)
    np.testing.assert_allclose(vec[W, :k], w, rtol=1e-15)
    e = y - X @ beta
    assert vec[SUM, 4] == pytest.approx(np.sum((w * e) ** 2), rel=1e-7, abs=1e-10)  # sum (w e)²
    assert vec[SUM, 1] == pytest.approx(w.sum(), rel=1e-14)


def test_collinear_design_is_not_positive_definite():
    # two identical columns: X'WX is singular (det = 0), so the fit is NaN, not a number
    X = np.column_stack([np.ones(4), np.ones(4)])
    rss, *_ = _kernel(X, np.array([0.1, 0.2, 0.3, 0.4]), np.full(4, 0.1), 0.0)
    assert np.isnan(rss)


def test_hand_calculation():
    # unit weights (vi = 1, t = 0) and y exactly on the line 1 + 2x: rss 0, beta (1, 2),
    # tr(P) = tr(PP) = n - p = 2 (P is a projection of rank n - p)
    X = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 3.0]])
    rss, b, _, (trp, trpp), _ = _kernel(X, 1 + 2 * X[:, 1], np.ones(4), 0.0)
    assert rss == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(b, [1.0, 2.0], rtol=1e-12)
    assert (trp, trpp) == (pytest.approx(2.0), pytest.approx(2.0))
