"""A second optimiser for fits that scoring does not bring to a verified maximum.

Fisher scoring (:mod:`.optimise`) can fail to converge, or stop on a flat
ridge or at a stationary point that is not the maximum (a zero of a UN/GEN
Cholesky factor's diagonal has zero score), when the restricted likelihood
of a model with several random terms is flat or has several maxima. Such a
member is refitted by a quasi-Newton method with box constraints —
L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995, ``scipy.optimize.minimize``), the
same kind of bounded quasi-Newton search as metafor's default ``nlminb``,
on the same likelihood — from two points: where scoring stopped, and
metafor's start values. Each quasi-Newton end point is then handed back to
scoring (fast near a maximum). The highest likelihood among the candidates
that either method verifies as converged is kept and marked in
:attr:`Rescue.used` so the caller can say so in its notes; a member that
no method brings to a maximum stays unconverged (the caller raises).

The parametrisation is the engine's, except that a CS term works in
``(tau2, rho)`` (a box) and a UN/GEN Cholesky factor is left unbounded
(as metafor's ``cholesky=TRUE``), so that a zero on its diagonal is not a
bound the search sticks to.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sleepmeta.pooling.multilevel.blocks import Blocks
from sleepmeta.pooling.multilevel.likelihood import evaluate
from sleepmeta.pooling.multilevel.optimise import Parameters, maximise
from sleepmeta.pooling.multilevel.optimise_kernel import objective_kernel

__all__ = ["Rescue", "needs_rescue", "rescue"]


@dataclass(frozen=True)
class Rescue:
    """Result of :func:`rescue`: updated ``theta``, ``converged``, ``iterations``, and
    ``used`` (B,) — the members whose kept fit came from the quasi-Newton search.

    >>> import numpy as np
    >>> r = Rescue(np.array([[1.15]]), np.array([True]), np.array([7]), np.array([False]))
    >>> r.converged.tolist(), r.used.tolist()
    ([True], [False])
    """

    theta: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    used: np.ndarray


def _loglik(blocks: Blocks, params: Parameters, method: str, theta: np.ndarray,
            derivs: bool = False):
    c, J = params.coef(theta)
    ev = evaluate(blocks, c, method, derivs=derivs)
    ll = ev.ll_reml if method == "REML" else ev.ll_ml
    ll = np.where(ev.ok, ll, -np.inf)
    if not derivs:
        return ll
    return ll, np.einsum("blp,bl->bp", J, ev.score), np.einsum("blp,blm,bmq->bpq", J, ev.info, J)


def needs_rescue(blocks: Blocks, params: Parameters, method: str, theta: np.ndarray,
                 converged: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """(B,) members that did not converge, or whose end point is not stationary.

    Stationary means the Newton decrement ``s' I^+ s`` over the parameters
    not held on a bound (a variance at 0 or a correlation at +-1 whose score
    points outward) is below ``tol``: the likelihood cannot rise by more
    than about ``tol / 2`` from there.

    >>> import numpy as np
    >>> from sleepmeta.pooling.multilevel.blocks import Term, build_blocks
    >>> from sleepmeta.pooling.multilevel.structures import Structure
    >>> t = Term(Structure("SIGMA", 1), np.array([[0, 1, 2, 3], [0, 1, 2, 3]]))
    >>> y = np.array([[0.0, 1.0, 2.0, 3.0]] * 2)
    >>> b = build_blocks(y, np.repeat(np.eye(4)[None] * 0.1, 2, axis=0),
    ...                  np.ones((2, 4, 1)), np.ones((2, 4), bool), [t])
    >>> p = Parameters([t.structure])
    >>> needs_rescue(b, p, "ML", np.array([[1.15], [0.5]]), np.array([True, True])).tolist()
    [False, True]
    """
    flag = ~np.asarray(converged, bool)
    if params.P == 0:
        return flag
    ll, s, info = _loglik(blocks, params, method, theta, derivs=True)
    out = ((params.variance & (theta <= 0) & (s <= 0))
           | (params.correlation & (np.abs(theta) >= 1) & (np.sign(theta) * s >= 0)))
    held = out | ~np.isfinite(ll)[:, None]
    s = np.where(held, 0.0, s)
    eye = np.eye(params.P, dtype=bool)[None]
    info = np.where(held[:, :, None] | held[:, None, :], 0.0, info) + (held[:, :, None] & eye)
    dec = np.einsum("bp,bpq,bq->b", s, np.linalg.pinv(info, rcond=1e-12), s)
    return flag | ~np.isfinite(dec) | (dec > tol)


def _search_params(params: Parameters) -> Parameters:
    return Parameters([dataclasses.replace(s, varcor=True) if s.struct == "CS" else s
                       for s in params.structures])


def _convert(src: Parameters, dst: Parameters, theta: np.ndarray) -> np.ndarray:
    parts = [d.from_report(*s.report(theta[:, sl]))
             for s, d, sl in zip(src.structures, dst.structures, src.slices)]
    return np.concatenate(parts, axis=1)


def _bounds(params: Parameters) -> list:
    chol = np.zeros(params.P, bool)
    for s, sl in zip(params.structures, params.slices):
        if s.struct in ("UN", "GEN") and not s.varcor:
            chol[sl] = True
    return [(None, None) if c else (0.0, None) if v else (-1.0, 1.0) if r else (None, None)
            for c, v, r in zip(chol, params.variance, params.correlation)]


def _lbfgsb(blocks: Blocks, params: Parameters, method: str, x0: np.ndarray):
    """Maximise one member's likelihood by L-BFGS-B from ``x0`` (P,): ``(x, success)``.

    The likelihood and its gradient come from the compiled
    :func:`~.optimise_kernel.objective_kernel` (the same likelihood and chain rule as
    :func:`_loglik`, without a batch's Python overhead per evaluation).
    """
    from scipy import optimize  # only a rescued fit pays for importing it (CLI start-up)

    terms, pa, pb, _ = params.kernel_arrays()
    one = (blocks.y[0], blocks.V[0], blocks.X[0], blocks.bases[0], blocks.sizes[0],
           float(blocks.k[0]), method == "REML", terms, pa, pb)
    grad = np.empty(params.P)

    def f(x):
        ll = objective_kernel(np.ascontiguousarray(x, float), *one, grad)
        if not np.isfinite(ll):
            return 1e300, np.zeros_like(x)
        return -ll, -grad

    res = optimize.minimize(f, x0, jac=True, method="L-BFGS-B", bounds=_bounds(params),
                            options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-9})
    return res.x, bool(res.success)


def rescue(blocks: Blocks, params: Parameters, method: str, theta: np.ndarray,
           converged: np.ndarray, iters: np.ndarray, start: np.ndarray, members, *,
           maxiter: int = 500, tol: float = 1e-9) -> Rescue:
    """Refit ``members`` (indices) by L-BFGS-B and scoring; keep the highest verified maximum.

    ``start`` (B, P) holds metafor's start values. See the module docstring.

    Four estimates 0, 1, 2, 3 with sampling variance 0.1 and one random
    intercept per estimate: the ML estimate of sigma2 is their variance with
    divisor k minus 0.1, 1.25 - 0.1 = 1.15 (by hand). A member left at 0.5
    and flagged as not converged is brought there:

    >>> import numpy as np
    >>> from sleepmeta.pooling.multilevel.blocks import Term, build_blocks
    >>> from sleepmeta.pooling.multilevel.structures import Structure
    >>> t = Term(Structure("SIGMA", 1), np.array([[0, 1, 2, 3]]))
    >>> b = build_blocks(np.array([[0.0, 1.0, 2.0, 3.0]]), np.eye(4)[None] * 0.1,
    ...                  np.ones((1, 4, 1)), np.ones((1, 4), bool), [t])
    >>> p = Parameters([t.structure])
    >>> r = rescue(b, p, "ML", np.array([[0.5]]), np.array([False]), np.zeros(1, int),
    ...            np.array([[0.5]]), [0])
    >>> round(float(r.theta[0, 0]), 6), r.converged.tolist(), r.used.tolist()
    (1.15, [True], [True])
    """
    theta, converged, iters = theta.copy(), converged.copy(), iters.copy()
    used = np.zeros(theta.shape[0], bool)
    with _one_blas_thread():
        _rescue_members(blocks, params, method, theta, converged, iters, used, start, members,
                        maxiter, tol)
    return Rescue(theta, converged, iters, used)


@lru_cache(maxsize=1)
def _blas_controller():
    from scipy import optimize  # noqa: F401  (loads SciPy's BLAS before the controller looks)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _one_blas_thread():
    """A context with one BLAS thread: SciPy's L-BFGS-B calls BLAS on vectors of a few
    entries, and waking the BLAS thread pool for each call cost more than the search
    itself (20-40x the CPU time on a loaded 2-core machine)."""
    return _blas_controller().limit(limits=1, user_api="blas")


def _rescue_members(blocks, params, method, theta, converged, iters, used, start, members,
                    maxiter, tol):
    """The loop of :func:`rescue`; updates ``theta``, ``converged``, ``iters`` and ``used``."""
    alt = _search_params(params)
    for b in np.asarray(members, int):
        sub = blocks.take(np.array([b]))
        best = _loglik(sub, params, method, theta[b:b + 1])[0] if converged[b] else -np.inf
        for x0 in (theta[b:b + 1], start[b:b + 1]):
            x, ok = _lbfgsb(sub, alt, method, _convert(params, alt, params.clip(x0))[0])
            cand = _convert(alt, params, x[None])
            th2, c2, it2 = maximise(sub, params, method, cand, maxiter=maxiter, tol=tol)
            iters[b] += it2[0]
            for th_c, ok_c in ((th2, c2[0]), (cand, ok)):
                ll_c = _loglik(sub, params, method, th_c)[0]
                if not (ok_c and np.isfinite(ll_c)):
                    continue
                if ll_c > best + 1e-13 * max(abs(best), 1.0) or (not converged[b]
                                                                  and ll_c >= best):
                    best, theta[b], converged[b], used[b] = ll_c, th_c[0], True, True
