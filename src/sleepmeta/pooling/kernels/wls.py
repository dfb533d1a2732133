"""Weighted least squares of one analysis, compiled, and the traces of ``P``.

Every function works on one analysis's studies gathered into contiguous
rows (``n`` studies, ``p`` coefficients) and writes into workspace arrays
it is given, so the batch kernels allocate nothing per analysis. With
``W = diag(w)``, ``A = (X'WX)^-1`` and ``P = W - W X A X' W`` (Viechtbauer
2005, eq. 5) the identities used are

* ``P y = w * e`` with ``e = y - X beta`` (so ``y'Py = sum(w e²)``),
* ``tr(PD) = sum(w d) - tr(A X'W²D X)``,
* ``tr(PDPD) = sum((w d)²) - 2 tr(A X'W³D² X) + tr((A X'W²D X)²)``,
* ``tr(PDP) = sum(w² d) - 2 tr(A X'W³D X) + tr(A X'W²D X A X'W² X)``,

for any diagonal ``D``; ``D = I`` gives ``tr(P)`` and ``tr(PP)``. No
``k × k`` matrix is formed. ``X'WX`` is inverted through its Cholesky factor
(``1/sum(w x²)`` for one column); a matrix that is not positive definite
makes :func:`fit` return False.
"""

from __future__ import annotations

import math

from numba import njit

from sleepmeta.pooling.kernels.workspace import V


@njit(cache=True, error_model="numpy", _nrt=False)
def xdx(X, d, n, p, out):
    """``out = X' diag(d) X`` (``p × p``)."""
    for r in range(p):
        for c in range(r, p):
            s = 0.0
            for i in range(n):
                s += X[i, r] * d[i] * X[i, c]
            out[r, c] = s
            out[c, r] = s


@njit(cache=True, error_model="numpy", _nrt=False)
def _tr_prod(a, b, p):
    """``tr(a b)``."""
    s = 0.0
    for r in range(p):
        for c in range(p):
            s += a[r, c] * b[c, r]
    return s


@njit(cache=True, error_model="numpy", _nrt=False)
def _matmul(a, b, p, out):
    for r in range(p):
        for c in range(p):
            s = 0.0
            for j in range(p):
                s += a[r, j] * b[j, c]
            out[r, c] = s


@njit(cache=True, error_model="numpy", _nrt=False)
def cholesky(M, p, L):
    """The Cholesky factor ``M = L L'`` into ``L``; False if ``M`` is not positive definite."""
    for j in range(p):
        s = M[j, j]
        for t in range(j):
            s -= L[j, t] * L[j, t]
        if not s > 0:
            return False
        L[j, j] = math.sqrt(s)
        for i in range(j + 1, p):
            s = M[i, j]
            for t in range(j):
                s -= L[i, t] * L[j, t]
            L[i, j] = s / L[j, j]
    return True


@njit(cache=True, error_model="numpy", _nrt=False)
def logdet_of(M, p, L):
    """``log |M|`` of a symmetric positive definite matrix; its Cholesky factor into ``L`` (NaN if not PD)."""
    if not cholesky(M, p, L):
        return math.nan
    logdet = 0.0
    for j in range(p):
        logdet += 2.0 * math.log(L[j, j])
    return logdet


@njit(cache=True, error_model="numpy", _nrt=False)
def invert_spd(M, p, A, L):
    """``A = M^-1`` for symmetric positive definite ``M``; False if ``M`` is not PD."""
    if p == 1:
        if not M[0, 0] > 0:
            return False
        A[0, 0] = 1.0 / M[0, 0]
        return True
    if not cholesky(M, p, L):
        return False
    for j in range(p):  # U = L^-1 (lower triangular) into A, column by column
        for i in range(p):
            if i < j:
                A[i, j] = 0.0
            elif i == j:
                A[i, j] = 1.0 / L[i, i]
            else:
                s = 0.0
                for t in range(j, i):
                    s += L[i, t] * A[t, j]
                A[i, j] = -s / L[i, i]
    for r in range(p):  # A = L^-T L^-1 (symmetric), built from U = L^-1 (lower)
        for c in range(r, p):
            s = 0.0
            for t in range(c, p):
                s += A[t, r] * A[t, c]
            L[r, c] = s
    for r in range(p):
        for c in range(r, p):
            A[r, c] = L[r, c]
            A[c, r] = L[r, c]
    return True


@njit(cache=True, error_model="numpy", _nrt=False)
def fit(X, y, w, n, p, ws, mats, beta, e):
    """Weighted least squares of ``y`` on ``X``; returns ``rss = sum(w e²)`` (NaN if singular).

    Writes ``A = (X'WX)^-1`` into ``mats[0]``, ``beta`` and the residuals
    ``e``; ``mats[1]``, ``mats[2]`` are scratch.
    """
    M, A, L = mats[1], mats[0], mats[2]
    xdx(X, w, n, p, M)
    if not invert_spd(M, p, A, L):
        return math.nan
    for r in range(p):
        s = 0.0
        for i in range(n):
            s += X[i, r] * w[i] * y[i]
        ws[r] = s
    for r in range(p):
        s = 0.0
        for c in range(p):
            s += A[r, c] * ws[c]
        beta[r] = s
    rss = 0.0
    for i in range(n):
        f = 0.0
        for r in range(p):
            f += X[i, r] * beta[r]
        e[i] = y[i] - f
        rss += w[i] * e[i] * e[i]
    return rss


@njit(cache=True, error_model="numpy", _nrt=False)
def tr_pd(X, w, d, n, p, A, tmp, M):
    """``tr(P D)`` at the fit whose ``A`` is given."""
    s = 0.0
    for i in range(n):
        s += w[i] * d[i]
        tmp[i] = w[i] * w[i] * d[i]
    xdx(X, tmp, n, p, M)
    return s - _tr_prod(A, M, p)


@njit(cache=True, error_model="numpy", _nrt=False)
def tr_pdpd(X, w, d, n, p, A, tmp, mats):
    """``tr(P D P D)``."""
    M, C = mats[1], mats[2]
    s = 0.0
    for i in range(n):
        s += (w[i] * d[i]) ** 2
        tmp[i] = w[i] ** 3 * d[i] * d[i]
    xdx(X, tmp, n, p, M)
    s -= 2.0 * _tr_prod(A, M, p)
    for i in range(n):
        tmp[i] = w[i] * w[i] * d[i]
    xdx(X, tmp, n, p, M)
    _matmul(A, M, p, C)
    return s + _tr_prod(C, C, p)


@njit(cache=True, error_model="numpy", _nrt=False)
def tr_pdp(X, w, d, n, p, A, tmp, mats):
    """``tr(P D P)``."""
    M, C1, C2 = mats[1], mats[2], mats[3]
    s = 0.0
    for i in range(n):
        s += w[i] * w[i] * d[i]
        tmp[i] = w[i] ** 3 * d[i]
    xdx(X, tmp, n, p, M)
    s -= 2.0 * _tr_prod(A, M, p)
    for i in range(n):
        tmp[i] = w[i] * w[i] * d[i]
    xdx(X, tmp, n, p, M)
    _matmul(A, M, p, C1)
    for i in range(n):
        tmp[i] = w[i] * w[i]
    xdx(X, tmp, n, p, M)
    _matmul(A, M, p, C2)
    return s + _tr_prod(C1, C2, p)


_BIG = 2.0**500  # a product of two numbers in [1/_BIG, _BIG] is a finite, normal double
_SMALL = 1.0 / _BIG


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def sum_log_v(vec, t, n):
    """``sum(log(vi + t))`` over the analysis's studies, with one ``log`` per run of terms.

    The terms are multiplied while the product stays within
    ``[2^-500, 2^500]`` and its log is taken when it leaves that range (a
    term outside it gets its own log), so the sum costs one or two ``log``
    calls instead of ``n``; the product's rounding (at most ``n`` ulps,
    relative) moves the sum by at most ``n * eps`` (absolute). A term that
    is 0, negative or NaN gives ``-inf`` or NaN, as the sum of logs.

    Examples
    --------
    >>> import numpy as np
    >>> from sleepmeta.pooling.kernels.workspace import NVEC, V
    >>> vec = np.zeros((NVEC, 8)); vec[V, :3] = [1e-300, 1e300, 2.0]
    >>> bool(np.isclose(sum_log_v(vec, 0.0, 3), np.log([1e-300, 1e300, 2.0]).sum()))
    True
    """
    total = 0.0
    prod = 1.0
    for i in range(n):
        x = vec[V, i] + t
        if x > _BIG or x < _SMALL:  # extreme (or not positive, or NaN): a log of its own
            total += math.log(x)
            continue
        prod *= x
        if prod > _BIG or prod < _SMALL:
            total += math.log(prod)
            prod = 1.0
    return total + math.log(prod)
