"""The fused weighted least squares of a two-column design, compiled.

A meta-regression on one moderator (and every model of its permutation
test) fits ``X = [1, x]`` (or any two columns) many times per analysis.
:func:`q_eval2` does it in two passes over the studies, with no
small-matrix code: one for the weights and the sums of ``X'WX`` and
``X'Wy``; the 2 × 2 inverse ``adj(M)/det M`` in closed form (not positive
definite when ``M00 <= 0`` or ``det M <= 0``); one for the residuals and
the sums of ``X'W²X`` and ``X'W³X``, from which :func:`trp_trpp2` gives
``tr(P) = sum w - tr(A X'W²X)`` and
``tr(PP) = sum w² - 2 tr(A X'W³X) + tr((A X'W²X)²)`` (Viechtbauer 2005;
the identities of :mod:`.wls`). The numbers agree with the Cholesky path
of :func:`.wls.fit` to rounding.

Examples
--------
>>> import numpy as np
>>> from sleepmeta.pooling.kernels.workspace import NVEC, VW, V, Y
>>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
>>> vec = np.zeros((NVEC, VW)); vec[Y, :3] = [0.0, 1.0, 2.0]; vec[V, :3] = 1.0
>>> mats, beta = np.empty((4, 2, 2)), np.empty(2)
>>> float(q_eval2(X, Y, 0.0, 3, vec, mats, beta)), beta.tolist()   # a perfect line
(0.0, [0.0, 1.0])
>>> trp_trpp2(vec, mats)   # unit weights: tr(P) = tr(PP) = n - p
(1.0, 1.0)
"""

from __future__ import annotations

import math

from numba import njit

from sleepmeta.pooling.kernels.workspace import SUM, V, W


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def q_eval2(X, yrow, t, n, vec, mats, beta):
    """``y' P(t) y`` of a two-column design (``y = vec[yrow]``); NaN if ``X'WX`` is not PD.

    Writes the weights into ``vec[W]``, ``(X'WX)^-1`` into ``mats[0]``, ``beta`` and
    the sums of ``vec[SUM]`` (1, 2, 4, 8-13; see :mod:`.tau2`).
    """
    m00 = 0.0
    m01 = 0.0
    m11 = 0.0
    r0 = 0.0
    r1 = 0.0
    for i in range(n):
        wi = 1.0 / (vec[V, i] + t)
        vec[W, i] = wi
        wa = wi * X[i, 0]
        wc = wi * X[i, 1]
        y = vec[yrow, i]
        m00 += wa * X[i, 0]
        m01 += wa * X[i, 1]
        m11 += wc * X[i, 1]
        r0 += wa * y
        r1 += wc * y
    det = m00 * m11 - m01 * m01
    if not (m00 > 0 and det > 0):
        return math.nan
    a00 = m11 / det
    a01 = -m01 / det
    a11 = m00 / det
    A = mats[0]
    A[0, 0], A[0, 1], A[1, 0], A[1, 1] = a00, a01, a01, a11
    b0 = a00 * r0 + a01 * r1
    b1 = a01 * r0 + a11 * r1
    beta[0], beta[1] = b0, b1
    rss = 0.0
    swe2 = 0.0
    s1 = 0.0
    s2 = 0.0
    q00 = 0.0
    q01 = 0.0
    q11 = 0.0
    c00 = 0.0
    c01 = 0.0
    c11 = 0.0
    for i in range(n):
        wi = vec[W, i]
        xa = X[i, 0]
        xc = X[i, 1]
        ei = vec[yrow, i] - (xa * b0 + xc * b1)
        we = wi * ei
        rss += we * ei
        swe2 += we * we
        w2 = wi * wi
        w3 = w2 * wi
        s1 += wi
        s2 += w2
        q00 += w2 * xa * xa
        q01 += w2 * xa * xc
        q11 += w2 * xc * xc
        c00 += w3 * xa * xa
        c01 += w3 * xa * xc
        c11 += w3 * xc * xc
    vec[SUM, 1], vec[SUM, 2], vec[SUM, 4] = s1, s2, swe2
    vec[SUM, 8], vec[SUM, 9], vec[SUM, 10] = q00, q01, q11
    vec[SUM, 11], vec[SUM, 12], vec[SUM, 13] = c00, c01, c11
    return rss


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def trp_trpp2(vec, mats):
    """``(tr(P), tr(PP))`` at the last :func:`q_eval2`."""
    A = mats[0]
    a00, a01, a11 = A[0, 0], A[0, 1], A[1, 1]
    q00, q01, q11 = vec[SUM, 8], vec[SUM, 9], vec[SUM, 10]
    c00, c01, c11 = vec[SUM, 11], vec[SUM, 12], vec[SUM, 13]
    # C = A X'W²X; tr(P) = sum w - tr(C); tr(PP) = sum w² - 2 tr(A X'W³X) + tr(C C)
    k00 = a00 * q00 + a01 * q01
    k01 = a00 * q01 + a01 * q11
    k10 = a01 * q00 + a11 * q01
    k11 = a01 * q01 + a11 * q11
    tr_c = k00 + k11
    tr_a3 = a00 * c00 + 2.0 * a01 * c01 + a11 * c11
    return (vec[SUM, 1] - tr_c,
            vec[SUM, 2] - 2.0 * tr_a3 + (k00 * k00 + 2.0 * k01 * k10 + k11 * k11))
