"""Brent's root finder as R's ``uniroot`` runs it: one compiled step, shared.

metafor finds the Paule–Mandel estimate and the Q-profile confidence limits
of tau² with R's ``uniroot(..., tol = .Machine$double.eps^0.25)``, whose
answer is only as precise as that tolerance. To give metafor's numbers
rather than merely nearby ones, this module runs the same algorithm —
Brent (1973), *Algorithms for Minimization without Derivatives*, ch. 4,
in the form of the classic ``zeroin`` routine that R uses (``R_zeroin2``).

The algorithm is written once, as a compiled state machine on a state
vector ``(a, b, c, fa, fb, fc)``: :func:`brent_start` checks the ends,
:func:`brent_propose` does one iteration up to the next point to evaluate
(or says the root is found), :func:`brent_accept` takes the function value
there. The compiled tau² kernels (:mod:`.kernels`) drive it with their own
compiled functions; :func:`zeroin` drives it for a batch with any Python
function.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit

DEFAULT_TOL = float(np.finfo(float).eps) ** 0.25
EPS = float(np.finfo(float).eps)
FOUND_A, FOUND_B, SEARCH = 0, 1, 2  # outcomes of brent_start


@njit(cache=True, error_model="numpy")
def brent_start(st, lower, upper, f_lower, f_upper):
    """Set up the state; an end that is itself a root is returned at once, as zeroin does."""
    st[0], st[1], st[2] = lower, upper, lower
    st[3], st[4], st[5] = f_lower, f_upper, f_lower
    if f_lower == 0:
        return FOUND_A
    if f_upper == 0:
        return FOUND_B
    return SEARCH


@njit(cache=True, error_model="numpy")
def brent_propose(st, tol):
    """One Brent iteration up to the next point: ``(True, root)`` when done, else ``(False, x)``."""
    a, b, c, fa, fb, fc = st[0], st[1], st[2], st[3], st[4], st[5]
    prev_step = b - a
    if abs(fc) < abs(fb):  # b is the best approximation so far
        a, b, c = b, c, b
        fa, fb, fc = fb, fc, fb
    tol_act = 2 * EPS * abs(b) + tol / 2
    new_step = (c - b) / 2
    if abs(new_step) <= tol_act or fb == 0:
        st[0], st[1], st[2], st[3], st[4], st[5] = a, b, c, fa, fb, fc
        return True, b
    if abs(prev_step) >= tol_act and abs(fa) > abs(fb):  # interpolation may be tried
        cb = c - b
        if a == c:  # linear interpolation
            t1 = fb / fa
            p = cb * t1
            q = 1.0 - t1
        else:  # inverse quadratic interpolation
            q = fa / fc
            t1 = fb / fc
            t2 = fb / fa
            p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
            q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
        if p > 0:
            q = -q
        else:
            p = -p
        if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
            new_step = p / q
    if abs(new_step) < tol_act:  # adjust the step to be not less than the tolerance
        new_step = tol_act if new_step > 0 else -tol_act
    st[0], st[3] = b, fb  # save the previous approximation
    st[1] = b + new_step
    st[2], st[5] = c, fc
    return False, st[1]


@njit(cache=True, error_model="numpy")
def brent_accept(st, fx):
    """Take ``f`` at the proposed point; keep ``c`` on the other side of the root."""
    st[4] = fx
    if (fx > 0 and st[5] > 0) or (fx < 0 and st[5] < 0):
        st[2], st[5] = st[0], st[3]


@njit(cache=True, error_model="numpy")
def _propose_all(states, active, tol, x, done):
    for j in range(active.shape[0]):
        d, x[j] = brent_propose(states[active[j]], tol)
        done[j] = d


@njit(cache=True, error_model="numpy")
def _accept_all(states, active, fx):
    for j in range(active.shape[0]):
        brent_accept(states[active[j]], fx[j])


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
        A member that did not stop within ``maxiter`` iterations (or whose
        function value was not finite) is not converged; its root is the
        last point.

    Examples
    --------
    >>> f = lambda x, idx: x**2 - np.array([2.0, 3.0])[idx]
    >>> lo, hi = np.zeros(2), np.full(2, 2.0)
    >>> root, it, ok = zeroin(f, lo, hi, f(lo, np.arange(2)), f(hi, np.arange(2)), tol=1e-12)
    >>> np.round(root, 8).tolist(), ok.tolist()
    ([1.41421356, 1.73205081], [True, True])
    """
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    f_lower, f_upper = np.asarray(f_lower, float), np.asarray(f_upper, float)
    n = lower.shape[0]
    states = np.empty((n, 6))
    root = np.full(n, np.nan)
    iters = np.zeros(n, dtype=int)
    done = np.zeros(n, dtype=bool)
    for j in range(n):
        s = brent_start(states[j], lower[j], upper[j], f_lower[j], f_upper[j])
        if s != SEARCH:
            root[j], done[j] = (lower[j] if s == FOUND_A else upper[j]), True
    act = np.flatnonzero(~done)
    for it in range(maxiter + 1):
        if act.size == 0:
            break
        x = np.empty(act.size)
        stop = np.zeros(act.size, bool)
        _propose_all(states, act, tol, x, stop)
        root[act[stop]], iters[act[stop]], done[act[stop]] = x[stop], it, True
        act, x = act[~stop], x[~stop]
        if act.size == 0:
            break
        fx = np.asarray(f(x, act), float)
        bad = ~np.isfinite(fx)  # a non-finite value cannot bracket a root: give up on it
        act_bad = act[bad]
        root[act_bad], iters[act_bad] = x[bad], it + 1
        act, fx = act[~bad], fx[~bad]
        _accept_all(states, act, fx)
    left = ~done
    iters[left & np.isnan(root)] = maxiter
    root[left & np.isnan(root)] = states[left & np.isnan(root), 1]
    return root, iters, done
