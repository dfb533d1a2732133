"""Tests for sleepmeta.pooling._wls: batched WLS and the traces of P, against dense algebra.

Every expected value is computed here the slow way: ``P = W - W X (X'WX)^-1 X'W``
formed as a ``(k, k)`` matrix (Viechtbauer 2005, eq. for P), its traces
taken directly, and beta by ``numpy.linalg.lstsq`` on ``sqrt(w)``-scaled data.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmeta.pooling._wls import WLS1, rowsum, wls, xdx


def _dense(X, y, w):
    W = np.diag(w)
    A = np.linalg.inv(X.T @ W @ X)
    P = W - W @ X @ A @ X.T @ W
    beta = np.linalg.lstsq(np.sqrt(w)[:, None] * X, np.sqrt(w) * y, rcond=None)[0]
    return P, beta, A


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 8), st.integers(1, 2), st.integers(0, 10_000))
def test_traces_and_beta_equal_dense_algebra(k, p, seed):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(k)] + [rng.normal(size=k) for _ in range(p - 1)])
    y, w, d = rng.normal(size=k), rng.uniform(0.2, 5, size=k), rng.uniform(0.1, 2, size=k)
    P, beta, A = _dense(X, y, w)
    D = np.diag(d)
    f = wls(X[None], y[None], w[None], ones=False)
    np.testing.assert_allclose(f.beta[0], beta, rtol=1e-9, atol=1e-12)
    assert f.rss[0] == pytest.approx(y @ P @ y, rel=1e-9)
    assert f.tr_pd(d[None])[0] == pytest.approx(np.trace(P @ D), rel=1e-9)
    assert f.tr_pdpd(d[None])[0] == pytest.approx(np.trace(P @ D @ P @ D), rel=1e-9)
    assert f.tr_pdp(d[None])[0] == pytest.approx(np.trace(P @ D @ P), rel=1e-9)
    assert f.logdet_xwx()[0] == pytest.approx(np.linalg.slogdet(X.T @ np.diag(w) @ X)[1],
                                              rel=1e-9, abs=1e-12)
    assert f.logdet_xdx(d[None])[0] == pytest.approx(np.linalg.slogdet(X.T @ D @ X)[1],
                                                     rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(f.A[0], A, rtol=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 9), st.booleans(), st.integers(0, 10_000))
def test_one_column_scalar_path_equals_dense_algebra(k, intercept, seed):
    # a one-column design takes the scalar path (WLS1); with a column of ones it may also
    # skip the column (ones=True); both must equal the dense algebra
    rng = np.random.default_rng(seed)
    x = np.ones(k) if intercept else rng.uniform(0.5, 2, size=k)
    y, w, d = rng.normal(size=k), rng.uniform(0.2, 5, size=k), rng.uniform(0.1, 2, size=k)
    P, beta, _ = _dense(x[:, None], y, w)
    D = np.diag(d)
    for ones in ((True, False) if intercept else (False,)):
        f = wls(x[None, :, None], y[None], w[None], ones=ones)
        assert isinstance(f, WLS1)
        assert f.beta[0, 0] == pytest.approx(beta[0], rel=1e-10)
        assert f.rss[0] == pytest.approx(y @ P @ y, rel=1e-9, abs=1e-14)
        assert f.tr_pd(d[None])[0] == pytest.approx(np.trace(P @ D), rel=1e-9)
        assert f.tr_pdpd(d[None])[0] == pytest.approx(np.trace(P @ D @ P @ D), rel=1e-9)
        assert f.tr_pdp(d[None])[0] == pytest.approx(np.trace(P @ D @ P), rel=1e-9)
        assert f.logdet_xdx(d[None])[0] == pytest.approx(np.log(x @ D @ x), rel=1e-10)


def test_zero_weights_drop_studies_out():
    # a study with weight 0 (outside the mask) changes nothing
    X = np.ones((1, 3, 1))
    a = wls(X, np.array([[1.0, 2.0, 99.0]]), np.array([[1.0, 1.0, 0.0]]))
    assert a.beta[0, 0] == pytest.approx(1.5) and a.rss[0] == pytest.approx(0.5)


def test_rowsum_and_xdx_by_hand():
    a = np.arange(200.0).reshape(100, 2)   # both code paths (small and einsum)
    np.testing.assert_array_equal(rowsum(a), a.sum(axis=1))
    np.testing.assert_array_equal(rowsum(a[:3]), a[:3].sum(axis=1))
    X = np.array([[[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]])
    # X' diag(1, 2, 3) X = [[6, 8], [8, 14]] by hand
    assert xdx(X, np.array([[1.0, 2.0, 3.0]]))[0].tolist() == [[6.0, 8.0], [8.0, 14.0]]
