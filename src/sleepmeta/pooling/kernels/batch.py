"""Batch drivers: every analysis of a ``(B, k)`` batch through the compiled kernels.

:func:`fit_members` fits each analysis (tau², the weighted least-squares
fit at tau², the Q statistic with weights ``1/vi``, ``tr(P)`` for the
typical within-study variance, and the ML/REML log-likelihoods);
:func:`qprofile_members` finds Q-profile limits. Each runs on the threads
of numba's ``prange`` over contiguous chunks of the batch (each chunk
allocates its workspace once, so memory does not grow with the batch);
a small batch — a single meta-analysis is a batch of one — runs the same
chunk function on the calling thread, without waking the thread pool.

``yi``, ``vi`` are ``(B or 1, k)`` and ``X`` is ``(B or 1, k, p)``: one row
shared by the batch is not copied (leave-one-out, permutation tests).
Values outside the mask are never read.
"""

from __future__ import annotations

import math

import numpy as np
from numba import get_num_threads, njit, prange

from sleepmeta.pooling.kernels.tau2 import (
    LOG_2PI, NVEC, ONE, SUM, V, Y, YC, logdet_xwx, q_at, root_of_q, tau2_member,
    trp_trpp,
)
from sleepmeta.pooling.kernels.wls import logdet_of, xdx

# rows of the scalar output array (NOUT, B)
TAU2, SE, CONV, ITERS, FALLBACK, RSS, Q, TRP, LL_ML, LL_REML = range(10)
NOUT = 10
SERIAL_BELOW = 256  # batches smaller than this run on the calling thread
CHUNKS_PER_THREAD = 8


@njit(cache=True, error_model="numpy")
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
    return n


@njit(cache=True, error_model="numpy")
def fit_range(lo, hi, code, yi, vi, mask, X, ctl, out, beta, vb):
    """Fit analyses ``lo .. hi - 1`` (see module docstring)."""
    k = mask.shape[1]
    p = X.shape[2]
    vec = np.empty((NVEC, max(k, 8)))
    vec[ONE, :] = 1.0
    Xc = np.empty((k, p))
    mats = np.empty((4, p, p))
    bw = np.empty(p)
    st = np.empty(6)
    tmp = np.empty(k)
    for b in range(lo, hi):
        n = _gather(b, yi, vi, mask, X, vec, Xc)
        t, se, ok, it, fb = tau2_member(code, Xc, ctl, n, p, vec, mats, bw, st, tmp)
        out[SE, b], out[ITERS, b], out[FALLBACK, b] = se, it, fb
        if not math.isfinite(t):  # the estimator could not proceed: nothing else is defined
            ok = False
            t = math.nan
        out[TAU2, b] = t
        rss = q_at(Xc, Y, t, n, p, vec, mats, bw)
        out[RSS, b] = rss
        for r in range(p):
            beta[b, r] = bw[r]
            for c in range(p):
                vb[b, r, c] = mats[0, r, c]
            if not math.isfinite(bw[r]):
                ok = False
        out[CONV, b] = ok
        lv = 0.0
        for i in range(n):
            lv += math.log(vec[V, i] + t)
        ldw = logdet_xwx(p, mats)
        xdx(Xc, vec[ONE], n, p, mats[1])
        ldx = math.log(mats[1, 0, 0]) if p == 1 else logdet_of(mats[1], p, mats[2])
        out[LL_ML, b] = -0.5 * n * LOG_2PI - 0.5 * lv - 0.5 * rss
        out[LL_REML, b] = -0.5 * (n - p) * LOG_2PI + 0.5 * ldx - 0.5 * lv - 0.5 * ldw - 0.5 * rss
        # Cochran's Q (weights 1/vi) and tr(P) for the typical within-study variance
        out[Q, b] = q_at(Xc, YC, 0.0, n, p, vec, mats, bw)
        out[TRP, b] = trp_trpp(Xc, n, p, vec, mats)[0]


@njit(parallel=True, cache=True, error_model="numpy")
def _fit_parallel(nchunks, code, yi, vi, mask, X, ctl, out, beta, vb):
    B = mask.shape[0]
    for c in prange(nchunks):
        fit_range(c * B // nchunks, (c + 1) * B // nchunks, code, yi, vi, mask, X, ctl, out,
                  beta, vb)


def _chunks(B: int) -> int:
    return max(1, min(B // 64, get_num_threads() * CHUNKS_PER_THREAD))


def _prepare(yi, vi, mask, X):
    return (np.ascontiguousarray(yi, dtype=np.float64), np.ascontiguousarray(vi, dtype=np.float64),
            np.ascontiguousarray(mask, dtype=np.bool_), np.ascontiguousarray(X, dtype=np.float64))


def fit_members(code: int, yi, vi, mask, X, threshold: float, maxiter: int, stepadj: float,
                fb_maxiter: int, fb_stepadj: float):
    """Run the fit kernel on a batch: ``(out, beta, vb)`` (see module docstring).

    The control of the iterative estimators: ``threshold``, ``maxiter`` and
    ``stepadj`` (metafor's ``control=``), and the halved-step remedy's
    ``fb_maxiter``, ``fb_stepadj`` (``fb_maxiter < 0``: no remedy).

    Examples
    --------
    >>> yi, vi = np.array([[0.1, 0.3, 0.5]]), np.array([[0.01, 0.02, 0.04]])
    >>> out, beta, vb = fit_members(1, yi, vi, np.ones((1, 3), bool), np.ones((1, 3, 1)),
    ...                             1e-5, 100, 1.0, 1000, 0.5)   # code 1: DerSimonian-Laird
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
    ctl = np.array([threshold, maxiter, stepadj, fb_maxiter, fb_stepadj], dtype=np.float64)
    args = (code, yi, vi, mask, X, ctl, out, beta, vb)
    if B < SERIAL_BELOW:
        fit_range(0, B, *args)
    else:
        _fit_parallel(_chunks(B), *args)
    return out, beta, vb


@njit(cache=True, error_model="numpy")
def qprofile_range(lo, hi, yi, vi, mask, X, tau2, crit_l, crit_u, maxiter, out):
    """Q-profile limits of analyses ``lo .. hi - 1`` into ``out`` rows (lower, upper, capped).

    As metafor's ``confint.rma.uni``: search on ``[0, max(100, 10 tau²)]``
    for ``Q(t) = crit`` with the generalised Q of the (uncentred) yi.
    """
    k = mask.shape[1]
    p = X.shape[2]
    vec = np.empty((NVEC, max(k, 8)))
    vec[ONE, :] = 1.0
    Xc = np.empty((k, p))
    mats = np.empty((4, p, p))
    bw = np.empty(p)
    st = np.empty(6)
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
