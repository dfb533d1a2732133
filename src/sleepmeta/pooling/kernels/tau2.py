"""The tau² estimators for one analysis, compiled (metafor 3.8's ``rma.uni``).

One function per estimator, each on one analysis's gathered studies (see
:mod:`.wls` for the workspace convention). The definitions, start values,
step rules, truncation at zero and ``ll0check`` are metafor's; the
docstring of :mod:`sleepmeta.pooling.estimators` gives the formulas and
sources. Iterative estimators are bounded and guarded: Fisher scoring stops
after ``maxiter + 1`` steps, and a step, start value or function value that
is not finite ends the iteration as not converged (metafor's loop would
spin forever on an infinite step) — a fit that cannot proceed is reported,
never a hang.

Workspace rows of ``vec`` (length ``>= max(n, VW)``): 0 weights, 1
residuals, 2 scratch, 3 ones, 4 yi, 5 yi centred on their mean, 6 vi, 7
sums: ``[intercept-only flag, sum w, sum w², sum w³, sum (w e)²]`` of the
last :func:`q_at` (entries 5-7 its memo; 8-13 ``X'W²X`` and ``X'W³X`` of
a two-column design).

An intercept-only analysis (one column of ones, by far the most common)
takes a fused path in :func:`q_at` and :func:`trp_trpp`: one pass for the
weights and the mean, one for the residuals and the sums. It adds the same
terms in the same order as the general matrix path (a product with a
design entry of 1 is exact), so it gives the same numbers, bit for bit —
only without the per-call overhead of the small-matrix code.

A two-column design (a meta-regression on one moderator, the permutation
tests' model) takes a fused path too: one pass for the weights and the
five sums of ``X'WX`` and ``X'Wy``, the 2 × 2 inverse in closed form
(``adj(M)/det M``; not positive definite when ``M00 <= 0`` or
``det M <= 0``), and one pass for the residuals and the sums of
``X'W²X``, ``X'W³X`` that give ``tr(P)`` and ``tr(PP)`` (the identities
of :mod:`.wls`). Its numbers agree with the Cholesky path to rounding.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sleepmeta.pooling.kernels.two_column import q_eval2, trp_trpp2
from sleepmeta.pooling.kernels.workspace import E, NVEC, ONE, SUM, TMP, V, VW, W, Y, YC
from sleepmeta.pooling.kernels.wls import (fit, logdet_of, sum_log_v, tr_pd, tr_pdp,
                                          tr_pdpd)
from sleepmeta.pooling.zeroin import DEFAULT_TOL, SEARCH, brent_accept, brent_propose, brent_start

TAU2_MAX = 100.0  # metafor's upper bound of the PM search, max(100, 10 mad(yi)²)
LOG_2PI = math.log(2 * math.pi)
FE, DL, HE, HS, HSK, SJ, ML, REML, EB, PM = range(10)  # codes: estimators.ESTIMATORS


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def q_at(X, yrow, t, n, p, vec, mats, beta):
    """``y' P(t) y`` for ``y = vec[yrow]``: the weighted RSS with weights ``1/(vi + t)``.

    ``vec[W]`` keeps the weights, ``mats[0]`` the inverse ``(X'WX)^-1`` (and
    ``vec[E]`` the residuals, on the general path; the fused path keeps
    the sums instead). (Rows are indexed in place: taking row views
    costs more than the arithmetic of a short analysis.) The call
    remembers ``(yrow, t)`` in ``vec[SUM, 5:8]``: asked again for the same
    ``y`` and ``t`` with nothing fitted in between, it returns the same
    number without recomputing it (the workspace already holds that fit).
    Whatever else fits into the workspace forgets it (:func:`forget_q`).
    """
    if vec[SUM, 5] == yrow and vec[SUM, 6] == t:
        return vec[SUM, 7]
    rss = _q_eval(X, yrow, t, n, p, vec, mats, beta)
    vec[SUM, 5], vec[SUM, 6], vec[SUM, 7] = yrow, t, rss
    return rss


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def forget_q(vec):
    """Forget the last :func:`q_at` (a new analysis, or another fit into the workspace)."""
    vec[SUM, 5] = -1.0


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _q_eval(X, yrow, t, n, p, vec, mats, beta):
    if vec[SUM, 0] == 1.0:  # intercept only: the fused path (see module docstring)
        s1 = 0.0
        swy = 0.0
        for i in range(n):
            wi = 1.0 / (vec[V, i] + t)
            vec[W, i] = wi
            s1 += wi
            swy += wi * vec[yrow, i]
        if not s1 > 0:
            return math.nan
        a = 1.0 / s1
        mats[0, 0, 0] = a
        b = a * swy
        beta[0] = b
        rss = 0.0
        swe2 = 0.0
        s2 = 0.0
        s3 = 0.0
        for i in range(n):
            wi = vec[W, i]
            ei = vec[yrow, i] - b
            rss += wi * ei * ei
            swe2 += (wi * ei) ** 2
            s2 += wi * wi
            s3 += wi**3
        vec[SUM, 1], vec[SUM, 2], vec[SUM, 3], vec[SUM, 4] = s1, s2, s3, swe2
        return rss
    if p == 2:
        return q_eval2(X, yrow, t, n, vec, mats, beta)
    for i in range(n):
        vec[W, i] = 1.0 / (vec[V, i] + t)
    return fit(X, vec[yrow], vec[W], n, p, vec[TMP], mats, beta, vec[E])


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def trp_trpp(X, n, p, vec, mats):
    """``(tr(P), tr(PP))`` at the last :func:`q_at`."""
    if vec[SUM, 0] == 1.0:
        a = mats[0, 0, 0]
        s1, s2, s3 = vec[SUM, 1], vec[SUM, 2], vec[SUM, 3]
        c = a * s2
        return s1 - a * s2, s2 - 2.0 * (a * s3) + c * c
    if p == 2:
        return trp_trpp2(vec, mats)
    w, one = vec[W], vec[ONE]
    return (tr_pd(X, w, one, n, p, mats[0], vec[TMP], mats[1]),
            tr_pdpd(X, w, one, n, p, mats[0], vec[TMP], mats))


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _sum_we2(n, p, vec):
    """``sum((w e)²)``, ``sum(w)``, ``sum(w²)`` at the last :func:`q_at`."""
    if vec[SUM, 0] == 1.0 or p == 2:
        return vec[SUM, 4], vec[SUM, 1], vec[SUM, 2]
    w, e = vec[W], vec[E]
    swe2 = 0.0
    sw = 0.0
    sw2 = 0.0
    for i in range(n):
        swe2 += (w[i] * e[i]) ** 2
        sw += w[i]
        sw2 += w[i] * w[i]
    return swe2, sw, sw2


@njit(cache=True, error_model="numpy", _nrt=False)
def halve_into_range(cur, adj):
    """metafor's ``while (tau2 + adj < 0) adj <- adj / 2``, computed directly.

    Halving is exact in binary floating point, so the number of halvings is
    found from ``log2`` and corrected by one either way; at ``cur = 0``
    metafor's loop runs until the step underflows to zero, which is the step 0.
    """
    if cur + adj >= 0:
        return adj
    if not cur > 0:
        return 0.0
    h = math.ceil(math.log2(-adj / cur)) if -adj / cur < 1e300 else 1100
    h = max(int(h), 0)
    for _ in range(4):
        if h > 0 and cur + math.ldexp(adj, -(h - 1)) >= 0:
            h -= 1
    for _ in range(4):
        if cur + math.ldexp(adj, -h) < 0:
            h += 1
    return math.ldexp(adj, -h)


@njit(cache=True, error_model="numpy", _nrt=False)
def _step(code, X, t, n, p, vec, mats, beta):
    """One Fisher-scoring (ML, REML) or fixed-point (EB) step from ``t``."""
    rss = q_at(X, YC, t, n, p, vec, mats, beta)
    swe2, sw, sw2 = _sum_we2(n, p, vec)
    if code == EB:
        return (rss * n / (n - p) - n) / sw
    if code == ML:
        return (swe2 - sw) / sw2
    trp, trpp = trp_trpp(X, n, p, vec, mats)
    return (swe2 - trp) / trpp


@njit(cache=True, error_model="numpy", _nrt=False)
def _iterate(code, X, start, stepadj, maxiter, threshold, n, p, vec, mats, beta):
    """Scoring steps until the change is at most ``threshold``: ``(tau2, iterations, converged)``."""
    cur = start
    iters = 0
    for _ in range(maxiter + 1):
        adj = _step(code, X, cur, n, p, vec, mats, beta)
        iters += 1
        if not math.isfinite(adj):
            return cur, iters, False
        adj = halve_into_range(cur, adj * stepadj)
        cur = cur + adj
        if not math.isfinite(cur):
            return cur, iters, False
        if abs(adj) <= threshold:
            return cur, iters, True
    return cur, iters, False


@njit(cache=True, error_model="numpy", _nrt=False)
def _he_raw(X, n, p, vec, mats, beta):
    """Hedges' moment estimate before truncation (also the scoring start)."""
    forget_q(vec)  # it fits with other weights
    one, v = vec[ONE], vec[V]
    if vec[SUM, 0] == 1.0:  # intercept only, fused: the same sums as the general path
        sy = 0.0
        for i in range(n):
            sy += vec[YC, i]
        a = 1.0 / n
        b = a * sy
        rss = 0.0
        sv = 0.0
        for i in range(n):
            rss += (vec[YC, i] - b) * (vec[YC, i] - b)
            sv += vec[V, i]
        mats[0, 0, 0] = a  # as the general path leaves them, for tr_pd in the HE branch
        beta[0] = b
        return (rss - (sv - a * sv)) / (n - p)
    rss = fit(X, vec[YC], one, n, p, vec[TMP], mats, beta, vec[E])
    return (rss - tr_pd(X, one, v, n, p, mats[0], vec[TMP], mats[1])) / (n - p)


@njit(cache=True, error_model="numpy", _nrt=False)
def _loglik(X, t, restricted, n, p, vec, mats, beta):
    rss = q_at(X, YC, t, n, p, vec, mats, beta)
    ll = -0.5 * sum_log_v(vec, t, n) - 0.5 * rss
    if restricted:
        return ll - 0.5 * logdet_xwx(p, mats) - 0.5 * (n - p) * LOG_2PI
    return ll - 0.5 * n * LOG_2PI


@njit(cache=True, error_model="numpy", _nrt=False)
def logdet_xwx(p, mats):
    """``log |X'WX|`` of the last fit, as ``-log |A|``."""
    A = mats[0]
    if p == 1:
        return -math.log(A[0, 0])
    if p == 2:
        return -math.log(A[0, 0] * A[1, 1] - A[0, 1] * A[0, 1])
    return -logdet_of(A, p, mats[2])


@njit(cache=True, error_model="numpy", _nrt=False)
def _scoring(code, X, ctl, n, p, vec, mats, beta):
    """Fisher scoring from the truncated HE estimate, with metafor's halved-step remedy.

    ``ctl = (threshold, maxiter, stepadj, fallback maxiter, fallback stepadj)``.
    A member that does not converge in ``maxiter`` steps (the algorithm can
    oscillate) is run again from the start with the fallback control
    (metafor's ``control=list(stepadj=0.5, maxiter=1000)``) and flagged as a
    fallback — unless the fallback maxiter is negative (an explicit control
    is used as given, as metafor does).
    """
    start = _he_raw(X, n, p, vec, mats, beta)
    if not math.isfinite(start):
        return start, 0, False, False
    start = max(0.0, start)
    threshold = ctl[0]
    t, it, ok = _iterate(code, X, start, ctl[2], int(ctl[1]), threshold, n, p, vec, mats, beta)
    if ok or ctl[3] < 0:
        return t, it, ok, False
    t, it, ok = _iterate(code, X, start, ctl[4], int(ctl[3]), threshold, n, p, vec, mats, beta)
    return t, it, ok, True


@njit(cache=True, error_model="numpy", _nrt=True)  # np.median allocates: reference counting on
def _pm(X, maxiter, n, p, vec, mats, beta, st, tmp):
    """Paule–Mandel: root of ``Q(tau²) = n - p`` on ``[0, max(100, 10 mad²)]`` by Brent."""
    y = vec[Y]
    for i in range(n):
        tmp[i] = y[i]
    med = np.median(tmp[:n])
    for i in range(n):
        tmp[i] = abs(y[i] - med)
    upper = max(TAU2_MAX, 10 * (1.4826 * np.median(tmp[:n])) ** 2)
    target = float(n - p)
    q0 = q_at(X, YC, 0.0, n, p, vec, mats, beta) - target
    qmax = q_at(X, YC, upper, n, p, vec, mats, beta) - target
    ok = qmax <= 0  # otherwise the root lies above the search bound
    if not (q0 >= 0 and ok):
        return 0.0, 0, ok
    root, it, ok = root_of_q(X, YC, target, 0.0, upper, q0, qmax, maxiter, n, p, vec, mats,
                             beta, st)
    return max(0.0, root), it, ok


@njit(cache=True, error_model="numpy", _nrt=False)
def root_of_q(X, yrow, target, lo, hi, f_lo, f_hi, maxiter, n, p, vec, mats, beta, st):
    """Brent (R's ``uniroot``) on ``Q(t) - target`` (``y = vec[yrow]``): ``(root, iterations, converged)``."""
    s = brent_start(st, lo, hi, f_lo, f_hi)
    if s != SEARCH:
        return (lo if s == 0 else hi), 0, True
    for it in range(maxiter + 1):
        done, x = brent_propose(st, DEFAULT_TOL)
        if done:
            return x, it, True
        fx = q_at(X, yrow, x, n, p, vec, mats, beta) - target
        if not math.isfinite(fx):
            return x, it + 1, False
        brent_accept(st, fx)
    return st[1], maxiter, False


@njit(cache=True, error_model="numpy", _nrt=False)
def tau2_member(code, X, ctl, n, p, vec, mats, beta, st, tmp):
    """tau² of one analysis: ``(tau2, se, converged, iterations, fallback)``."""
    kp = float(n - p)
    if code == FE:
        return 0.0, math.nan, True, 0, False
    if code == DL or code == HS or code == HSK:
        rss = q_at(X, YC, 0.0, n, p, vec, mats, beta)  # weights 1/vi
        trp, trpp = trp_trpp(X, n, p, vec, mats)
        if code == DL:
            t = max(0.0, (rss - kp) / trp)
            return t, math.sqrt(_se_p_form(trp, kp, t, trpp) / trp**2), True, 0, False
        scale = 1.0 if code == HS else n / kp
        sw = _sum_we2(n, p, vec)[1]
        t = max(0.0, (scale * rss - n) / sw)
        return t, scale * math.sqrt(_se_p_form(trp, kp, t, trpp) / sw**2), True, 0, False
    if code == HE:
        one, v, A = vec[ONE], vec[V], mats[0]
        raw = _he_raw(X, n, p, vec, mats, beta)
        t = max(0.0, raw)
        trpv = tr_pd(X, one, v, n, p, A, vec[TMP], mats[1])
        trpvpv = tr_pdpd(X, one, v, n, p, A, vec[TMP], mats)
        return t, math.sqrt((2 * trpvpv + 4 * t * trpv + 2 * t * t * kp) / kp**2), True, 0, False
    if code == SJ:
        one, v, A = vec[ONE], vec[V], mats[0]
        yc = vec[YC]
        t0 = 0.0
        for i in range(n):
            t0 += yc[i] * yc[i]
        t0 /= n
        rss = q_at(X, YC, t0, n, p, vec, mats, beta)
        w = vec[W]
        t = max(0.0, t0 * rss / kp)
        var = t0 * t0 / kp**2 * (2 * tr_pdpd(X, w, v, n, p, A, vec[TMP], mats)
                                 + 4 * t * tr_pdp(X, w, v, n, p, A, vec[TMP], mats)
                                 + 2 * t * t * tr_pdpd(X, w, one, n, p, A, vec[TMP], mats))
        return t, math.sqrt(var), True, 0, False
    if code == PM:
        t, it, ok = _pm(X, int(ctl[1]), n, p, vec, mats, beta, st, tmp)
        return t, _eb_pm_se(t, n, p, vec), ok, it, False
    t, it, ok, fb = _scoring(code, X, ctl, n, p, vec, mats, beta)
    if not ok:
        return t, math.nan, False, it, fb
    if code == EB:
        return t, _eb_pm_se(t, n, p, vec), True, it, fb
    restricted = code == REML
    if t > ctl[0]:  # metafor's ll0check: tau² = 0 with a higher likelihood wins
        ll0 = _loglik(X, 0.0, restricted, n, p, vec, mats, beta)
        ll = _loglik(X, t, restricted, n, p, vec, mats, beta)
        if ll0 - ll > DEFAULT_TOL:
            t = 0.0
    # the SE depends on the weights only: the fit of the (uncentred) yi at t, which the batch
    # kernel reads next (q_at remembers it)
    q_at(X, Y, t, n, p, vec, mats, beta)
    if code == ML:
        return t, math.sqrt(2 / _sum_we2(n, p, vec)[2]), True, it, fb
    return t, math.sqrt(2 / trp_trpp(X, n, p, vec, mats)[1]), True, it, fb


@njit(cache=True, error_model="numpy", _nrt=False)
def _se_p_form(trp, kp, t, trpp):
    """Shared form of the DL/HS variance, ``2(k-p) + 4 tau² tr(P) + 2 tau⁴ tr(PP)``."""
    t = max(t, 0.0)
    return 2 * kp + 4 * t * trp + 2 * t * t * trpp


@njit(cache=True, error_model="numpy", _nrt=False)
def _eb_pm_se(t, n, p, vec):
    sw = 0.0
    for i in range(n):
        sw += 1.0 / (vec[V, i] + t)
    return math.sqrt(2.0 * n * n / (n - p) / sw**2)
