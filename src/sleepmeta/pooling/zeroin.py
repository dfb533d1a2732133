"""A batched version of Brent's root finder, as R's ``uniroot`` runs it.

metafor finds the Paule–Mandel estimate and the Q-profile confidence limits
of tau² with R's ``uniroot(..., tol = .Machine$double.eps^0.25)``, whose
answer is only as precise as that tolerance. To give metafor's numbers
rather than merely nearby ones, this module runs the same algorithm —
Brent (1973), *Algorithms for Minimization without Derivatives*, ch. 4,
in the form of the classic ``zeroin`` routine that R uses — on every member
of a batch at once, each stopping by the same rule.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

DEFAULT_TOL = float(np.finfo(float).eps) ** 0.25


def zeroin(
    f: Callable[[np.ndarray, np.ndarray], np.ndarray],
    lower: np.ndarray,
    upper: np.ndarray,
    f_lower: np.ndarray,
    f_upper: np.ndarray,
    *,
    tol: float = DEFAULT_TOL,
    maxiter: int = 1000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Find a root of ``f`` in ``[lower, upper]`` for each member of a batch.

    Parameters
    ----------
    f : callable
        ``f(x, idx)`` evaluates the function of the members ``idx`` (an
        integer index array) at the points ``x`` (same length).
    lower, upper, f_lower, f_upper : ndarray
        Bracket and function values at its ends; each member needs a sign
        change (the caller checks).
    tol, maxiter : float, int
        R's ``uniroot`` tolerance and iteration limit.

    Returns
    -------
    root, iterations, converged : ndarray

    Examples
    --------
    >>> f = lambda x, idx: x**2 - np.array([2.0, 3.0])[idx]
    >>> lo, hi = np.zeros(2), np.full(2, 2.0)
    >>> root, it, ok = zeroin(f, lo, hi, f(lo, np.arange(2)), f(hi, np.arange(2)), tol=1e-12)
    >>> np.round(root, 8).tolist(), ok.tolist()
    ([1.41421356, 1.73205081], [True, True])
    """
    eps = np.finfo(float).eps
    a = np.asarray(lower, float).copy()
    b = np.asarray(upper, float).copy()
    fa = np.asarray(f_lower, float).copy()
    fb = np.asarray(f_upper, float).copy()
    c, fc = a.copy(), fa.copy()
    n = a.shape[0]
    root = np.full(n, np.nan)
    iters = np.zeros(n, dtype=int)
    done = np.zeros(n, dtype=bool)
    # an end that is itself a root is returned at once, as zeroin does
    hit_a = fa == 0
    root[hit_a], done[hit_a] = a[hit_a], True
    hit_b = ~done & (fb == 0)
    root[hit_b], done[hit_b] = b[hit_b], True

    for it in range(maxiter + 1):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        A, Bv, C = a[act], b[act], c[act]
        FA, FB, FC = fa[act], fb[act], fc[act]
        prev_step = Bv - A
        swap = np.abs(FC) < np.abs(FB)
        A = np.where(swap, Bv, A)
        Bv, C = np.where(swap, C, Bv), np.where(swap, A, C)
        FA = np.where(swap, FB, FA)
        FB, FC = np.where(swap, FC, FB), np.where(swap, FA, FC)
        tol_act = 2 * eps * np.abs(Bv) + tol / 2
        new_step = (C - Bv) / 2
        stop = (np.abs(new_step) <= tol_act) | (FB == 0)
        idx = act[stop]
        root[idx], iters[idx], done[idx] = Bv[stop], it, True
        interp = ~stop & (np.abs(prev_step) >= tol_act) & (np.abs(FA) > np.abs(FB))
        with np.errstate(divide="ignore", invalid="ignore"):
            cb = C - Bv
            linear = A == C
            t1 = FB / FA
            p_lin, q_lin = cb * t1, 1.0 - t1
            q0, t1q, t2q = FA / FC, FB / FC, FB / FA
            p_quad = t2q * (cb * q0 * (q0 - t1q) - (Bv - A) * (t1q - 1.0))
            q_quad = (q0 - 1.0) * (t1q - 1.0) * (t2q - 1.0)
            p = np.where(linear, p_lin, p_quad)
            q = np.where(linear, q_lin, q_quad)
            q = np.where(p > 0, -q, q)
            p = np.abs(p)
            accept = interp & (p < 0.75 * cb * q - np.abs(tol_act * q) / 2) & (p < np.abs(prev_step * q / 2))
            new_step = np.where(accept, p / q, new_step)
        new_step = np.where(np.abs(new_step) < tol_act, np.where(new_step > 0, tol_act, -tol_act), new_step)
        keep = ~stop
        act, A, Bv, C, FB, FC, new_step = (act[keep], A[keep], Bv[keep], C[keep], FB[keep], FC[keep],
                                           new_step[keep])
        if act.size == 0:
            continue
        A_new, FA_new = Bv, FB
        B_new = Bv + new_step
        FB_new = f(B_new, act)
        same_side = ((FB_new > 0) & (FC > 0)) | ((FB_new < 0) & (FC < 0))
        a[act], fa[act], b[act], fb[act] = A_new, FA_new, B_new, FB_new
        c[act] = np.where(same_side, A_new, C)
        fc[act] = np.where(same_side, FA_new, FC)
    converged = done.copy()
    iters[~done] = maxiter
    root[~done] = b[~done]
    return root, iters, converged
