"""Batch drivers: every analysis of a ``(B, k)`` batch through the compiled kernels.

:func:`fit_members` fits each analysis (tau², the weighted least-squares
fit at tau², the Q statistic with weights ``1/vi``, ``tr(P)`` for the
typical within-study variance, and the ML/REML log-likelihoods);
:func:`qprofile_members` finds Q-profile limits. Each runs on the threads
of numba's ``prange`` over contiguous chunks of the batch (each chunk
allocates its workspace once, so memory does not grow with the batch);
a small batch — a single meta-analysis is a batch of one — runs the same
chunk function on the calling thread, without waking the thread pool.

The per-analysis loops (and the helpers of :mod:`.tau2`, :mod:`.wls`,
:mod:`.two_column`) are compiled without numba's reference counting
(``_nrt=False``, inherited by the helpers they call): they allocate nothing,
and the atomic increments and decrements numba otherwise emits for each
array passed to a helper or viewed in the loop took most of a small
analysis's time (measured with ``perf``: about 60% of a 10-study DL fit).
The range functions allocate the workspace and call the loop once.

``yi``, ``vi`` are ``(B or 1, k)`` and ``X`` is ``(B or 1, k, p)``: one row
shared by the batch is not copied (leave-one-out, permutation tests).
Values outside the mask are never read.
"""

from __future__ import annotations

import math

import numpy as np
from numba import get_num_threads, njit, prange

from sleepmeta.pooling.kernels.tau2 import (
    LOG_2PI, forget_q, logdet_xwx, q_at, root_of_q, tau2_member, trp_trpp,
)
from sleepmeta.pooling.heterogeneity import i2_h2_q, i2_h2_tau2
from sleepmeta.pooling.kernels.workspace import NVEC, ONE, SUM, V, VW, Y, YC
from sleepmeta.pooling.kernels.wls import cholesky, logdet_of, sum_log_v, xdx

# rows of the scalar output array (NOUT, B)
(TAU2, SE, CONV, ITERS, FALLBACK, RSS, Q, TRP, LL_ML, LL_REML, VT, I2, H2, S2W, QM, DF, CRIT,
 BAD, N) = range(19)
NOUT = 19
# entries of the test rule passed to the kernel (see :func:`fit_members`)
SCALED, FLOOR, RESID_DF, ZCRIT, BTT0, EST_TAU2, SE_TAU2 = range(7)
EPS = float(np.finfo(np.float64).eps)
SERIAL_BELOW = 256  # batches smaller than this run on the calling thread
CHUNKS_PER_THREAD = 8


@njit(cache=True, error_model="numpy", inline="always")
def _gather(b, yi, vi, mask, X, vec, Xc):
    """Copy analysis ``b``'s studies into the workspace; returns their number ``n``."""
    k = mask.shape[1]
    p = X.shape[2]
    ry = 0 if yi.shape[0] == 1 else b
    rv = 0 if vi.shape[0] == 1 else b
    rx = 0 if X.shape[0] == 1 else b
    n = 0
    s = 0.0
    ones = p == 1
    for j in range(k):
        if mask[b, j]:
            vec[Y, n] = yi[ry, j]
            vec[V, n] = vi[rv, j]
            for c in range(p):
                Xc[n, c] = X[rx, j, c]
            ones = ones and X[rx, j, 0] == 1.0
            s += yi[ry, j]
            n += 1
    mean = s / n
    for i in range(n):
        vec[YC, i] = vec[Y, i] - mean  # yi centred on their mean, as metafor uses for tau²
    vec[SUM, 0] = 1.0 if ones else 0.0  # intercept only: the fused path of q_at
    forget_q(vec)
    return n


@njit(cache=True, error_model="numpy", inline="always")
def _workspace(k, p):
    """One range's scratch arrays: ``vec`` (ones row set), ``Xc``, ``mats``, ``bw``, ``st``."""
    vec = np.empty((NVEC, max(k, VW)))
    vec[ONE, :] = 1.0
    return vec, np.empty((k, p)), np.empty((4, p, p)), np.empty(p), np.empty(6)


@njit(cache=True, error_model="numpy")
def fit_range(lo, hi, code, yi, vi, mask, X, ctl, rule, crit, out, beta, vb, inf):
    """Fit analyses ``lo .. hi - 1`` (see module docstring and :func:`fit_members`)."""
    k = mask.shape[1]
    p = X.shape[2]
    vec, Xc, mats, bw, st = _workspace(k, p)
    _fit_loop(lo, hi, code, yi, vi, mask, X, ctl, rule, crit, out, beta, vb, inf, vec, Xc, mats,
              bw, st, np.empty(k))


@njit(cache=True, error_model="numpy", _nrt=False)
def _fit_loop(lo, hi, code, yi, vi, mask, X, ctl, rule, crit, out, beta, vb, inf, vec, Xc, mats,
              bw, st, tmp):
    p = X.shape[2]
    for b in range(lo, hi):
        n = _gather(b, yi, vi, mask, X, vec, Xc)
        out[N, b] = n
        t, se, ok, it, fb = tau2_member(code, Xc, ctl, n, p, vec, mats, bw, st, tmp)
        out[SE, b], out[ITERS, b], out[FALLBACK, b] = se, it, fb
        if not math.isfinite(t):  # the estimator could not proceed: nothing else is defined
            ok = False
            t = math.nan
        out[TAU2, b] = t
        # Cochran's Q (weights 1/vi) and tr(P) for the typical within-study variance; the
        # moment estimators have just computed them (q_at remembers)
        have_q = vec[SUM, 5] == YC and vec[SUM, 6] == 0.0
        if have_q:
            out[Q, b] = q_at(Xc, YC, 0.0, n, p, vec, mats, bw)
            out[TRP, b] = trp_trpp(Xc, n, p, vec, mats)[0]
        rss = q_at(Xc, Y, t, n, p, vec, mats, bw)
        out[RSS, b] = rss
        for r in range(p):
            beta[b, r] = bw[r]
            for c in range(p):
                vb[b, r, c] = mats[0, r, c]
            if not math.isfinite(bw[r]):
                ok = False
        out[CONV, b] = ok
        lv = sum_log_v(vec, t, n)
        ldw = logdet_xwx(p, mats)
        if vec[SUM, 0] == 1.0:  # intercept only: X'X = n
            ldx = math.log(n)
        else:
            xdx(Xc, vec[ONE], n, p, mats[1])
            M = mats[1]
            if p == 1:
                ldx = math.log(M[0, 0])
            elif p == 2:
                ldx = math.log(M[0, 0] * M[1, 1] - M[0, 1] * M[0, 1])
            else:
                ldx = logdet_of(M, p, mats[2])
        out[LL_ML, b] = -0.5 * n * LOG_2PI - 0.5 * lv - 0.5 * rss
        out[LL_REML, b] = -0.5 * (n - p) * LOG_2PI + 0.5 * ldx - 0.5 * lv - 0.5 * ldw - 0.5 * rss
        if not have_q:
            out[Q, b] = q_at(Xc, YC, 0.0, n, p, vec, mats, bw)
            out[TRP, b] = trp_trpp(Xc, n, p, vec, mats)[0]
        _finish(b, n, p, rule, crit[0 if crit.shape[0] == 1 else b], out, beta, vb, inf, mats)


@njit(cache=True, error_model="numpy", _nrt=False)
def _finish(b, n, p, rule, crit, out, beta, vb, inf, mats):
    """Inference and heterogeneity of analysis ``b`` (the engine's steps 3 and 4).

    ``inf`` gets the coefficients' standard errors. ``vb`` holds
    ``(X'WX)^-1`` on entry and the coefficients' covariance (times the
    Knapp-Hartung scale) on exit. p-values are left to the caller
    (``scipy.special``).
    """
    kp = float(n - p)
    z1 = rule[RESID_DF] != 0 and n == 1  # metafor's k = 1 rule: a z test
    s2w = 1.0
    if rule[SCALED] != 0 and not z1:
        rss = out[RSS, b]
        s2w = 0.0 if rss <= EPS else rss / kp
        if s2w < rule[FLOOR]:  # adhoc: s² >= 1 (NaN stays NaN)
            s2w = rule[FLOOR]
    out[S2W, b] = s2w
    c = rule[ZCRIT] if (z1 or rule[RESID_DF] == 0) else crit
    out[CRIT, b] = c
    out[DF, b] = kp if (rule[RESID_DF] != 0 and not z1) else math.nan
    finite = True
    for r in range(p):
        for col in range(p):
            vb[b, r, col] *= s2w
        se = math.sqrt(vb[b, r, r])
        inf[b, r] = se
        finite = finite and math.isfinite(se)
    lo = int(rule[BTT0])
    if p - lo == 1:  # one coefficient tested: b²/v (NaN where v is not > 0, as metafor's NA)
        v = vb[b, lo, lo]
        out[QM, b] = beta[b, lo] ** 2 / v if v > 0 else math.nan
    else:
        out[QM, b] = _wald(b, lo, p, beta, vb, mats)
    if rule[RESID_DF] != 0:
        out[QM, b] /= p - int(rule[BTT0])
    tau2 = out[TAU2, b]
    if kp > 0:
        q = out[Q, b]
        q = 0.0 if q < 0 else q
        vt = kp / out[TRP, b]
        i2, h2 = i2_h2_tau2(tau2, vt) if rule[EST_TAU2] != 0 else i2_h2_q(q, kp)
    else:
        q, vt, i2, h2 = 0.0, 0.0, 0.0, 1.0
    out[Q, b], out[VT, b], out[I2, b], out[H2, b] = q, vt, i2, h2
    # the CI of the first coefficient: BatchFit computes it (and the statistics) when asked
    for x in (beta[b, 0], beta[b, 0] - c * inf[b, 0], beta[b, 0] + c * inf[b, 0], tau2, q, i2, h2):
        finite = finite and math.isfinite(x)
    if rule[SE_TAU2] != 0:
        finite = finite and math.isfinite(out[SE, b])
    out[BAD, b] = not finite and n > p and out[CONV, b] != 0


@njit(cache=True, error_model="numpy", _nrt=False)
def _wald(b, lo, p, beta, vb, mats):
    """``b' V^-1 b`` over coefficients ``lo .. p - 1`` (at least two); NaN where ``V`` is not PD.

    (Knapp-Hartung's scale is 0 when all yi are equal: metafor's Cholesky
    step fails and it reports QM as NA.)
    """
    m = p - lo
    M, L, z = mats[1], mats[2], mats[3, 0]
    for i in range(m):
        for j in range(m):
            M[i, j] = vb[b, lo + i, lo + j]
    if not cholesky(M, m, L):  # V = L L'
        return math.nan
    qm = 0.0
    for i in range(m):  # z = L^-1 b; b' V^-1 b = z'z
        s = beta[b, lo + i]
        for t in range(i):
            s -= L[i, t] * z[t]
        z[i] = s / L[i, i]
        qm += z[i] * z[i]
    return qm


@njit(parallel=True, cache=True, error_model="numpy")
def _fit_parallel(nchunks, code, yi, vi, mask, X, ctl, rule, crit, out, beta, vb, inf):
    B = mask.shape[0]
    for c in prange(nchunks):
        fit_range(c * B // nchunks, (c + 1) * B // nchunks, code, yi, vi, mask, X, ctl, rule,
                  crit, out, beta, vb, inf)


def _chunks(B: int) -> int:
    return max(1, min(B // 64, get_num_threads() * CHUNKS_PER_THREAD))


def _prepare(yi, vi, mask, X):
    return (np.ascontiguousarray(yi, dtype=np.float64), np.ascontiguousarray(vi, dtype=np.float64),
            np.ascontiguousarray(mask, dtype=np.bool_), np.ascontiguousarray(X, dtype=np.float64))


def test_rule(*, scaled=False, floor=0.0, residual_df=False, zcrit=1.959963984540054, btt0=0,
              estimates_tau2=True, tau2_se=True) -> np.ndarray:
    """The kernel's description of a test (:data:`sleepmeta.pooling.registry.TESTS`) and model.

    ``scaled``, ``floor``, ``residual_df``: the test's Knapp-Hartung scale, its
    floor and its ``k - p`` df; ``zcrit`` the normal quantile of the
    intervals; ``btt0`` the first coefficient of the omnibus test;
    ``estimates_tau2``: I² and H² from tau² (else from Q); ``tau2_se``:
    whether the SE of tau² must be finite.

    Examples
    --------
    >>> float(test_rule(residual_df=True)[RESID_DF])
    1.0
    """
    return np.array([scaled, floor, residual_df, zcrit, btt0, estimates_tau2, tau2_se], float)


test_rule.__test__ = False  # not a pytest test
_Z_RULE = test_rule()
_NO_CRIT = np.full(1, np.nan)


def fit_members(code: int, yi, vi, mask, X, control, rule=None, crit=None):
    """Run the fit kernel on a batch: ``(out, beta, vb, inf)`` (see module docstring).

    ``control = (threshold, maxiter, stepadj, fb_maxiter, fb_stepadj)``: the
    control of the iterative estimators (metafor's ``control=``) and the
    halved-step remedy's (``fb_maxiter < 0``: no remedy). ``rule`` from
    :func:`test_rule` (default: z tests, 95% intervals); ``crit`` the
    ``(B,)`` or ``(1,)`` quantiles of a residual-df test. ``out`` rows are
    named by this module's constants (``TAU2``, ``Q``, ...); ``inf`` holds
    the coefficients' SEs (``(B, p)``).

    Examples
    --------
    >>> yi, vi = np.array([[0.1, 0.3, 0.5]]), np.array([[0.01, 0.02, 0.04]])
    >>> out, beta, vb, inf = fit_members(1, yi, vi, np.ones((1, 3), bool), np.ones((1, 3, 1)),
    ...                                  (1e-5, 100, 1.0, 1000, 0.5))   # code 1: DL
    >>> # by hand: w = 100, 50, 25; Q = 3.7143; tr(P) = 175 - 13125/175 = 100; (Q - 2)/tr(P)
    >>> round(float(out[TAU2, 0]), 6)
    0.017143
    """
    yi, vi, mask, X = _prepare(yi, vi, mask, X)
    B, k = mask.shape
    p = X.shape[2]
    out = np.empty((NOUT, B))
    beta = np.empty((B, p))
    vb = np.empty((B, p, p))
    inf = np.empty((B, p))
    ctl = np.asarray(control, dtype=np.float64)
    rule = _Z_RULE if rule is None else rule
    crit = _NO_CRIT if crit is None else np.ascontiguousarray(crit, dtype=np.float64)
    args = (code, yi, vi, mask, X, ctl, rule, crit, out, beta, vb, inf)
    if B < SERIAL_BELOW:
        fit_range(0, B, *args)
    else:
        _fit_parallel(_chunks(B), *args)
    return out, beta, vb, inf


@njit(cache=True, error_model="numpy")
def qprofile_range(lo, hi, yi, vi, mask, X, tau2, crit_l, crit_u, maxiter, out):
    """Q-profile limits of analyses ``lo .. hi - 1`` into ``out`` rows (lower, upper, capped).

    As metafor's ``confint.rma.uni``: search on ``[0, max(100, 10 tau²)]``
    for ``Q(t) = crit`` with the generalised Q of the (uncentred) yi.
    """
    vec, Xc, mats, bw, st = _workspace(mask.shape[1], X.shape[2])
    _qprofile_loop(lo, hi, yi, vi, mask, X, tau2, crit_l, crit_u, maxiter, out, vec, Xc, mats,
                   bw, st)


@njit(cache=True, error_model="numpy", _nrt=False)
def _qprofile_loop(lo, hi, yi, vi, mask, X, tau2, crit_l, crit_u, maxiter, out, vec, Xc, mats,
                   bw, st):
    p = X.shape[2]
    for b in range(lo, hi):
        n = _gather(b, yi, vi, mask, X, vec, Xc)
        hi_t = max(100.0, 10 * tau2[b])
        q_lo = q_at(Xc, Y, 0.0, n, p, vec, mats, bw)
        q_hi = q_at(Xc, Y, hi_t, n, p, vec, mats, bw)
        cl, cu = crit_l[b], crit_u[b]
        upper = 0.0 if q_lo < cl else hi_t
        lower = hi_t if q_hi > cu else 0.0
        out[2, b] = q_lo >= cl and q_hi > cl
        if q_lo >= cl and q_hi <= cl:
            upper = root_of_q(Xc, Y, cl, 0.0, hi_t, q_lo - cl, q_hi - cl, maxiter, n, p, vec,
                              mats, bw, st)[0]
        if q_hi <= cu and q_lo >= cu:
            lower = root_of_q(Xc, Y, cu, 0.0, hi_t, q_lo - cu, q_hi - cu, maxiter, n, p, vec,
                              mats, bw, st)[0]
        out[0, b], out[1, b] = lower, upper


@njit(parallel=True, cache=True, error_model="numpy")
def _qprofile_parallel(nchunks, yi, vi, mask, X, tau2, crit_l, crit_u, maxiter, out):
    B = mask.shape[0]
    for c in prange(nchunks):
        qprofile_range(c * B // nchunks, (c + 1) * B // nchunks, yi, vi, mask, X, tau2, crit_l,
                       crit_u, maxiter, out)


def qprofile_members(yi, vi, mask, X, tau2, crit_l, crit_u, maxiter: int = 1000):
    """Q-profile limits for a batch: ``(lower, upper, capped)``.

    ``crit_l``, ``crit_u`` are the lower and upper ``alpha/2`` quantiles of
    chi² with ``k - p`` df (see :func:`sleepmeta.pooling.qprofile.tau2_ci_batch`).

    Examples
    --------
    >>> yi, vi = np.array([[0.1, 0.12, 0.09, 0.11]]), np.full((1, 4), 0.04)
    >>> lo, hi, capped = qprofile_members(yi, vi, np.ones((1, 4), bool), np.ones((1, 4, 1)),
    ...                                   np.zeros(1), np.array([0.2158]), np.array([9.3484]))
    >>> float(lo[0]), float(hi[0])   # Q(0) = 0.0125 is below both quantiles: the null set {0}
    (0.0, 0.0)
    """
    yi, vi, mask, X = _prepare(yi, vi, mask, X)
    B = mask.shape[0]
    out = np.empty((3, B))
    args = (yi, vi, mask, X, np.ascontiguousarray(tau2, dtype=np.float64),
            np.ascontiguousarray(crit_l, dtype=np.float64),
            np.ascontiguousarray(crit_u, dtype=np.float64), int(maxiter), out)
    if B < SERIAL_BELOW:
        qprofile_range(0, B, *args)
    else:
        _qprofile_parallel(_chunks(B), *args)
    return out[0], out[1], out[2].astype(bool)
