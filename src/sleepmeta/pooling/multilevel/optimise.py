"""Maximising the (restricted) likelihood: batched Fisher scoring with step halving.

metafor 3.8 maximises the likelihood of ``rma.mv`` with ``nlminb`` over
log-variances and atanh-correlations (Cholesky factors for UN/GEN). The
maximum does not depend on the algorithm, so sleepmeta reaches it by Fisher
scoring (Harville 1977; Jennrich & Schluchter 1986) in the structures'
working parameters, which is fast and batched:

* the step solves ``I(theta) d = s(theta)`` (score and information from
  :mod:`.likelihood`, chained through the structure's Jacobian), with the
  observed information where it is positive definite (a Newton step, fast
  near the maximum) and the expected information elsewhere (Fisher scoring,
  safe far from it);
* a variance at 0 whose score points below 0 (or a correlation at +-1
  pointing outward) is held on its bound — the estimate is on the boundary,
  which metafor approaches through ``exp()`` of a large negative number;
* a step that lowers the likelihood or leaves the parameter space is halved
  (up to 50 times), and a variance may shrink at most tenfold in one step
  (so a long step cannot jump past the maximum onto a local maximum at 0);
* a member stops when every parameter moves less than ``tol`` relative to
  the size of the variance components, or the Newton decrement ``s' I^-1 s``
  is below 1e-16 relative to the likelihood, or the likelihood has not
  changed (1e-11 relative) for five iterations (a flat ridge, e.g. a
  correlation of -1); after ``maxiter`` iterations it is flagged unconverged.

The iterations run compiled, member after member
(:mod:`.optimise_kernel`); a member's iterations do not depend on the rest
of its batch, so a batch gives what one-by-one fits give.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from sleepmeta.pooling.multilevel.blocks import Blocks
from sleepmeta.pooling.multilevel.optimise_kernel import CODES, maximise_kernel
from sleepmeta.pooling.multilevel.structures import pairs

__all__ = ["Parameters", "maximise"]


@lru_cache(maxsize=256)
def _layout(structures: tuple) -> dict:
    """Sizes, slices and bound masks of a tuple of structures (shared, read-only arrays)."""
    sizes = [s.n_params for s in structures]
    nbasis = [s.n_basis for s in structures]
    slices, bslices = [], []
    o = 0
    for n in sizes:
        slices.append(slice(o, o + n))
        o += n
    o = 0
    for n in nbasis:
        bslices.append(slice(o, o + n))
        o += n
    variance = (np.concatenate([s.variance_mask() for s in structures]) if structures
                else np.zeros(0, bool))
    correlation = (np.concatenate([s.correlation_mask() for s in structures]) if structures
                   else np.zeros(0, bool))
    variance.flags.writeable = False
    correlation.flags.writeable = False
    return {"structures": structures, "sizes": sizes, "nbasis": nbasis, "P": int(sum(sizes)),
            "L": int(sum(nbasis)), "slices": slices, "bslices": bslices, "variance": variance,
            "correlation": correlation}


class Parameters:
    """The working parameters of all terms of a model, concatenated.

    >>> from sleepmeta.pooling.multilevel.structures import Structure
    >>> p = Parameters([Structure("SIGMA", 1), Structure("UN", 2)])
    >>> p.P, p.L, p.slices[1]
    (4, 4, slice(1, 4, None))
    """

    def __init__(self, structures):
        self.__dict__.update(_layout(tuple(structures)))

    def coef(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        B = theta.shape[0]
        c = np.zeros((B, self.L))
        J = np.zeros((B, self.L, self.P))
        for s, ps, bs in zip(self.structures, self.slices, self.bslices):
            cs, Js = s.coef(theta[:, ps])
            c[:, bs] = cs
            J[:, bs, ps] = Js
        return c, J

    def clip(self, theta):
        out = theta.copy()
        for s, ps in zip(self.structures, self.slices):
            out[:, ps] = s.clip(theta[:, ps])
        return out

    def feasible(self, theta):
        ok = np.ones(theta.shape[0], bool)
        for s, ps in zip(self.structures, self.slices):
            ok &= s.feasible(theta[:, ps])
        return ok

    def kernel_arrays(self):
        """The terms for :func:`.optimise_kernel.maximise_kernel`: ``terms`` (T, 8), the pairs
        of every basis coefficient and the positions of CS covariances (bounded by tau2)."""
        rows, pa, pb, cs_cov = [], [], [], []
        for s, ps, bs in zip(self.structures, self.slices, self.bslices):
            rows.append([CODES[s.struct], s.q, s.rho_fixed, s.varcor, ps.start, s.n_params,
                         bs.start, s.n_basis])
            prs = [(0, 0)] if s.struct == "SIGMA" else pairs(s.q)
            pa += [a for a, _ in prs]
            pb += [b for _, b in prs]
            if s.struct == "CS" and not s.varcor and not s.rho_fixed:
                cs_cov.append(ps.start + 1)
        return (np.array(rows, np.int64).reshape(-1, 8), np.array(pa, np.int64),
                np.array(pb, np.int64), np.array(cs_cov, np.int64))

    def start(self, total):
        return np.concatenate([s.start(total) for s in self.structures], axis=1) \
            if self.structures else np.zeros((total.shape[0], 0))


def maximise(blocks: Blocks, params: Parameters, method: str, theta0: np.ndarray,
             fixed: np.ndarray | None = None, *, maxiter: int = 500, tol: float = 1e-9):
    """Run Fisher scoring from ``theta0`` (B, P); ``fixed`` (B, P) bool holds parameters.

    The iterations (the module docstring) run in the compiled kernel
    :func:`~.optimise_kernel.maximise_kernel`. Returns ``theta, converged, iterations``.

    >>> import numpy as np
    >>> from sleepmeta.pooling.multilevel.blocks import Term, build_blocks
    >>> from sleepmeta.pooling.multilevel.structures import Structure
    >>> t = Term(Structure("SIGMA", 1), np.array([[0, 1, 2, 3]]))
    >>> b = build_blocks(np.array([[0.0, 1.0, 2.0, 3.0]]), np.eye(4)[None] * 0.1,
    ...                  np.ones((1, 4, 1)), np.ones((1, 4), bool), [t])
    >>> theta, ok, it = maximise(b, Parameters([t.structure]), "ML", np.array([[1.0]]))
    >>> round(float(theta[0, 0]), 6), bool(ok[0])  # ML: var(y) (divisor k) - v = 1.25 - 0.1
    (1.15, True)
    """
    B, P = theta0.shape
    theta = np.array(theta0, dtype=float, order="C")
    fixed = np.zeros((B, P), bool) if fixed is None else np.ascontiguousarray(fixed, bool)
    converged = np.zeros(B, bool)
    iters = np.zeros(B, np.int64)
    dv = np.diagonal(blocks.V, axis1=-2, axis2=-1)
    vscale = (dv * blocks.mask).sum(axis=(1, 2)) / np.maximum(blocks.mask.sum(axis=(1, 2)), 1)
    if params.variance.any() and any(s.struct == "HCS" or s.varcor for s in params.structures):
        vscale = np.sqrt(vscale)  # SDs are working parameters: compare on their scale
    terms, pa, pb, cs_cov = params.kernel_arrays()
    maximise_kernel(blocks.y, blocks.V, blocks.X, blocks.bases, blocks.sizes,
                    blocks.k.astype(float), method == "REML", theta, fixed, terms, pa, pb,
                    params.variance,
                    params.correlation, cs_cov, vscale, maxiter, tol, converged, iters)
    return theta, converged, iters
