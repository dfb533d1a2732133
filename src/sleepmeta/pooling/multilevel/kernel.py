"""The multilevel likelihood, its score and information, compiled (numba), block by block.

One pass over the blocks of a member factorises each block's marginal
covariance ``M_g = V_g + sum_l c_l B_gl`` (Cholesky), inverts it
(``W_g``) and accumulates ``log|M|``, ``A = X'WX`` and ``X'Wy``; a second
pass, once ``beta`` is known, accumulates ``r'Wr`` and, when asked, the
per-block sums behind the score and the information (the formulas of
:mod:`.likelihood`: ``tr(W B_l)``, ``u'B_l u``, ``tr(W B_l W B_m)``,
``u'B_l W B_m u``, ``X'W B_l u``, ``T_l = X'W B_l W X`` and
``tr(A^-1 X'W B_l W B_m W X)`` with ``u = W r``). No ``n x n`` matrix is
formed and nothing is allocated per block, so one fit and a batch of
10,000 run the same loops. A block (or ``A``) that is not positive definite
flags its member (``ok = False``, log-likelihoods ``-inf``, a zero score).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["evaluate_kernel"]

_LOG2PI = math.log(2 * math.pi)


@njit(cache=True, error_model="numpy", _nrt=False)
def _spd_inverse(M, n, Lw, out):
    """``out = M^-1`` for a symmetric positive definite ``M`` (n x n); returns ``log|M|`` or NaN."""
    logdet = 0.0
    for j in range(n):
        s = M[j, j]
        for t in range(j):
            s -= Lw[j, t] * Lw[j, t]
        if not s > 0:
            return math.nan
        d = math.sqrt(s)
        Lw[j, j] = d
        logdet += 2.0 * math.log(d)
        for i in range(j + 1, n):
            s = M[i, j]
            for t in range(j):
                s -= Lw[i, t] * Lw[j, t]
            Lw[i, j] = s / d
    # Lw's upper triangle (above the diagonal) is free: hold U = Lw^-1 transposed there,
    # i.e. Lw[j, i] (j < i) = U[i, j]; the diagonal of U is 1 / Lw[i, i]
    for j in range(n):
        for i in range(j + 1, n):
            s = Lw[i, j] / Lw[j, j]
            for t in range(j + 1, i):
                s += Lw[i, t] * Lw[j, t]  # U[t, j] stored at Lw[j, t]
            Lw[j, i] = -s / Lw[i, i]
    for r in range(n):  # M^-1 = U'U
        for c in range(r, n):
            s = 0.0
            for t in range(c, n):
                ut_r = 1.0 / Lw[t, t] if t == r else Lw[r, t]
                ut_c = 1.0 / Lw[t, t] if t == c else Lw[c, t]
                s += ut_r * ut_c
            out[r, c] = s
            out[c, r] = s
    return logdet


@njit(cache=True, error_model="numpy")
def workspace(G, m, p, L):
    """Scratch arrays of one member's evaluation (allocated once per batch)."""
    return (np.empty((m, m)), np.empty((m, m)), np.empty((G, m, m)), np.empty((G, m, p)),
            np.empty((G, m)), np.empty((G, m)), np.empty((p, p)), np.empty((p, p)),
            np.empty((p, p)), np.empty((p, p)), np.empty((p, p)), np.empty(p),
            np.empty((L, m, m)), np.empty((L, m)), np.empty((L, m)), np.empty((L, m, p)),
            np.empty((L, m, p)), np.empty((L, p)), np.empty((L, p, p)), np.empty((L, p, p)),
            np.empty(L), np.empty(L), np.empty((L, L)), np.empty((L, L)), np.empty((L, L)))


@njit(cache=True, error_model="numpy")
def evaluate_kernel(y, V, X, bases, sizes, c, k, reml, derivs,
                    ll_ml, ll_reml, beta, vb, ok, score, info, observed, logdet, rss):
    """Fill the outputs for every member (see the module docstring).

    Shapes: ``y`` (B, G, m), ``V`` (B, G, m, m), ``X`` (B, G, m, p),
    ``bases`` (B, G, L, m, m), ``sizes`` (B, G) rows of each block, ``c`` (B, L),
    ``k`` (B,);
    outputs ``ll_ml``, ``ll_reml``, ``ok`` (B,), ``beta`` (B, p), ``vb``
    (B, p, p), and with ``derivs`` ``score`` (B, L), ``info`` and
    ``observed`` (B, L, L); ``logdet`` and ``rss`` (B,) are ``log|M|`` and
    ``r'M^-1 r`` (at ``c = 0``: ``log|V|`` and the ``QE`` statistic). ``reml``
    chooses the score and information of the restricted likelihood.
    """
    B, G, m = y.shape
    p = X.shape[3]
    L = bases.shape[2]
    _evaluate_loop(y, V, X, bases, sizes, c, k, reml, derivs, workspace(G, m, p, L), ll_ml,
                  ll_reml, beta, vb, ok, score, info, observed, logdet, rss)


@njit(cache=True, error_model="numpy", _nrt=False)
def _evaluate_loop(y, V, X, bases, sizes, c, k, reml, derivs, ws, ll_ml, ll_reml, beta, vb, ok,
                  score, info, observed, logdet, rss):
    """The member loop of :func:`evaluate_kernel` on a given workspace (no allocation, so no
    reference counting: the views ``y[b]`` ... cost nothing)."""
    for b in range(y.shape[0]):
        if derivs:
            good, l1, l2, ld, rs = eval_member(y[b], V[b], X[b], bases[b], sizes[b], c[b], k[b],
                                               reml, True, ws, beta[b], vb[b], score[b], info[b],
                                               observed[b])
        else:
            good, l1, l2, ld, rs = eval_member(y[b], V[b], X[b], bases[b], sizes[b], c[b], k[b],
                                               reml, False, ws, beta[b], vb[b], beta[b], vb[b],
                                               vb[b])
        ok[b] = good
        logdet[b] = ld
        rss[b] = rs
        ll_ml[b] = l1
        ll_reml[b] = l2


@njit(cache=True, error_model="numpy", _nrt=False)
def eval_member(y, V, X, bases, sizes, c, kb, reml, derivs, ws, beta, vb, score, info,
                observed):
    """One member: returns ``(ok, ll_ml, ll_reml, log|M|, r'M^-1 r)``; fills ``beta``, ``vb``
    (and the derivatives)."""
    G, m = y.shape
    p = X.shape[2]
    L = bases.shape[1]
    (M, Lw, W, WX, Wy, U, A, XtX, Xinv, Ainv, La, rhs, WB, Bu, WBu, BWX, WBWX, XWBu, T, AT,
     trWB, quad, trWBWB, uBWBu, trAQ) = ws
    good = True
    logdet = 0.0
    lda = 0.0
    ldx = 0.0
    A[:, :] = 0.0
    XtX[:, :] = 0.0
    rhs[:] = 0.0
    for g in range(G):
        mg = sizes[g]  # rows of this block (padding slots add nothing)
        for i in range(mg):
            for j in range(i, mg):
                s = V[g, i, j]
                for l in range(L):
                    s += c[l] * bases[g, l, i, j]
                M[i, j] = s
                M[j, i] = s
        ld = _spd_inverse(M, mg, Lw, W[g])
        if not ld == ld:
            good = False
            break
        logdet += ld
        for i in range(mg):
            s = 0.0
            for j in range(mg):
                s += W[g, i, j] * y[g, j]
            Wy[g, i] = s
            for q in range(p):
                s = 0.0
                for j in range(mg):
                    s += W[g, i, j] * X[g, j, q]
                WX[g, i, q] = s
        for q1 in range(p):
            s = 0.0
            for i in range(mg):
                s += X[g, i, q1] * Wy[g, i]
            rhs[q1] += s
            for q2 in range(q1, p):
                s = 0.0
                for i in range(mg):
                    s += X[g, i, q1] * WX[g, i, q2]
                A[q1, q2] += s
                s = 0.0
                for i in range(mg):
                    s += X[g, i, q1] * X[g, i, q2]
                XtX[q1, q2] += s
    if good:
        for q1 in range(p):
            for q2 in range(q1):
                A[q1, q2] = A[q2, q1]
                XtX[q1, q2] = XtX[q2, q1]
        lda = _spd_inverse(A, p, La, Ainv)
        ldx = _spd_inverse(XtX, p, La, Xinv)
        good = lda == lda and ldx == ldx
    if not good:
        beta[:] = np.nan
        vb[:, :] = np.nan
        if derivs:
            score[:] = 0.0
            info[:, :] = 0.0
            observed[:, :] = 0.0
            for l in range(L):
                info[l, l] = 1.0
                observed[l, l] = -1.0
        return False, -np.inf, -np.inf, np.nan, np.nan
    for q1 in range(p):
        s = 0.0
        for q2 in range(p):
            s += Ainv[q1, q2] * rhs[q2]
            vb[q1, q2] = Ainv[q1, q2]
        beta[q1] = s
    rss = 0.0
    for g in range(G):
        mg = sizes[g]  # rows of this block (padding slots add nothing)
        for i in range(mg):
            fit = 0.0
            wfit = 0.0
            for q in range(p):
                fit += X[g, i, q] * beta[q]
                wfit += WX[g, i, q] * beta[q]
            U[g, i] = Wy[g, i] - wfit
            rss += (y[g, i] - fit) * U[g, i]
    l_ml = -0.5 * kb * _LOG2PI - 0.5 * logdet - 0.5 * rss
    l_reml = (-0.5 * (kb - p) * _LOG2PI + 0.5 * ldx - 0.5 * logdet - 0.5 * lda - 0.5 * rss)
    if not derivs:
        return True, l_ml, l_reml, logdet, rss
    trWB[:] = 0.0
    quad[:] = 0.0
    trWBWB[:, :] = 0.0
    uBWBu[:, :] = 0.0
    trAQ[:, :] = 0.0
    XWBu[:, :] = 0.0
    T[:, :, :] = 0.0
    for g in range(G):
        mg = sizes[g]  # rows of this block (padding slots add nothing)
        for l in range(L):
            for i in range(mg):
                s = 0.0
                for j in range(mg):
                    s += bases[g, l, i, j] * U[g, j]
                Bu[l, i] = s
                for j in range(mg):
                    s = 0.0
                    for t in range(mg):
                        s += W[g, i, t] * bases[g, l, t, j]
                    WB[l, i, j] = s
            tr = 0.0
            qd = 0.0
            for i in range(mg):
                tr += WB[l, i, i]
                qd += U[g, i] * Bu[l, i]
            trWB[l] += tr
            quad[l] += qd
            for i in range(mg):
                s = 0.0
                for j in range(mg):
                    s += W[g, i, j] * Bu[l, j]
                WBu[l, i] = s
            for q in range(p):
                s = 0.0
                for i in range(mg):
                    s += WX[g, i, q] * Bu[l, i]
                XWBu[l, q] += s
            if reml:
                for i in range(mg):
                    for q in range(p):
                        s = 0.0
                        for j in range(mg):
                            s += bases[g, l, i, j] * WX[g, j, q]
                        BWX[l, i, q] = s
                for i in range(mg):
                    for q in range(p):
                        s = 0.0
                        for j in range(mg):
                            s += W[g, i, j] * BWX[l, j, q]
                        WBWX[l, i, q] = s
                for q1 in range(p):
                    for q2 in range(p):
                        s = 0.0
                        for i in range(mg):
                            s += WX[g, i, q1] * BWX[l, i, q2]
                        T[l, q1, q2] += s
        for l in range(L):
            for l2 in range(l, L):
                s = 0.0
                for i in range(mg):
                    for j in range(mg):
                        s += WB[l, i, j] * WB[l2, j, i]
                trWBWB[l, l2] += s
                s = 0.0
                for i in range(mg):
                    s += Bu[l, i] * WBu[l2, i]
                uBWBu[l, l2] += s
                if reml:
                    s = 0.0
                    for q1 in range(p):
                        for q2 in range(p):
                            a = Ainv[q1, q2]
                            if a != 0.0:
                                t = 0.0
                                for i in range(mg):
                                    t += BWX[l, i, q2] * WBWX[l2, i, q1]
                                s += a * t
                    trAQ[l, l2] += s
    if reml:
        for l in range(L):
            for q1 in range(p):
                for q2 in range(p):
                    s = 0.0
                    for t in range(p):
                        s += Ainv[q1, t] * T[l, t, q2]
                    AT[l, q1, q2] = s
    for l in range(L):
        tr_at = 0.0
        if reml:
            for q in range(p):
                tr_at += AT[l, q, q]
        score[l] = -0.5 * (trWB[l] - tr_at) + 0.5 * quad[l]
        for l2 in range(l, L):
            corr = 0.0  # XWBu_l' A^-1 XWBu_l2 (beta profiled out)
            for q1 in range(p):
                for q2 in range(p):
                    corr += XWBu[l, q1] * Ainv[q1, q2] * XWBu[l2, q2]
            inf = trWBWB[l, l2]
            if reml:
                tat = 0.0
                for q1 in range(p):
                    for q2 in range(p):
                        tat += AT[l, q1, q2] * AT[l2, q2, q1]
                inf = inf - 2.0 * trAQ[l, l2] + tat
            inf *= 0.5
            info[l, l2] = inf
            info[l2, l] = inf
            obs = uBWBu[l, l2] - corr - inf
            observed[l, l2] = obs
            observed[l2, l] = obs
    return True, l_ml, l_reml, logdet, rss
