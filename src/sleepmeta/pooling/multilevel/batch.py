"""``meta_analysis_mv_batch``: B multilevel analyses of one random structure at once.

The batched counterpart of :func:`~.api.meta_analysis_mv` for simulation
studies and sweeps: padded ``(B, n)`` arrays with a mask, grouping columns
given as arrays, one call of the engine (:func:`~.engine.fit_blocks`).
Member ``b`` gives the same numbers as ``meta_analysis_mv`` on its rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmeta import distributions as stats
from sleepmeta.errors import ConvergenceError, InputError, unknown_option
from sleepmeta.pooling.multilevel.blocks import Term, build_blocks
from sleepmeta.pooling.multilevel.engine import fit_blocks
from sleepmeta.pooling.multilevel.random import parse_random_list
from sleepmeta.pooling.multilevel.structures import STRUCTS, Structure

__all__ = ["MVBatch", "meta_analysis_mv_batch"]


@dataclass(frozen=True)
class MVBatch:
    """Arrays over the batch: coefficients (B, p) and variance components.

    >>> import numpy as np
    >>> fit = meta_analysis_mv_batch(np.array([[0.1, 0.3, 0.2, 0.5]]), np.full((1, 4), 0.01),
    ...                              random="~ 1 | s", groups={"s": [1, 1, 2, 2]})
    >>> fit.estimate.shape, fit.sigma2.shape, bool(fit.converged[0])
    ((1, 1), (1, 1), True)
    """

    terms: tuple
    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    sigma2: np.ndarray   # (B, number of ~ 1 | f terms)
    tau2: np.ndarray     # (B, n_tau2) of the inner | outer term (empty without one)
    rho: np.ndarray
    ll: np.ndarray
    k: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray


def _codes(groups, names, shape, where):
    code = np.zeros(shape, dtype=np.int64)
    for name in names:
        if name not in groups:
            raise InputError(f"random: {name!r} ({where}) is not one of groups= "
                             f"({', '.join(map(str, groups))})")
        vals = np.broadcast_to(np.asarray(groups[name]), shape)
        _, sub = np.unique(vals, return_inverse=True)
        code = code * (int(sub.max()) + 1) + sub.reshape(shape)
    return code


def meta_analysis_mv_batch(yi, vi=None, *, V=None, mask=None, groups: dict, random: str,
                           struct: str = "CS", X=None, method: str = "REML", test: str = "z",
                           level: float = 0.95, errors: str = "raise") -> MVBatch:
    """Fit B multilevel models of one random structure (see the module docstring).

    Parameters
    ----------
    yi : (B, n) array; vi : (B, n) sampling variances, or V : (B, n, n) covariances.
    mask : (B, n) bool, optional
        Rows of each analysis (default: all); padding rows may hold NaN.
    groups : dict of name -> (n,) or (B, n) array
        The columns the random formula names (clusters, arms, outcomes; GEN slopes).
    random, struct, method, test, level
        As :func:`~.api.meta_analysis_mv`.
    X : (n, p) or (B, n, p) array, optional
        Design matrix (default: intercept only).
    errors : {"raise", "flag"}
        An analysis that does not converge raises :class:`ConvergenceError`, or
        is flagged in ``converged``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(0.3, 0.3, (4, 6))
    >>> fit = meta_analysis_mv_batch(y, np.full((4, 6), 0.02), random="~ 1 | study/arm",
    ...                              groups={"study": [1, 1, 2, 2, 3, 3], "arm": [1, 2] * 3})
    >>> fit.estimate.shape, fit.sigma2.shape
    ((4, 1), (4, 2))
    """
    if method not in ("REML", "ML"):
        raise unknown_option("method", method, ("REML", "ML"))
    if test not in ("z", "t"):
        raise unknown_option("test", test, ("z", "t"))
    if struct not in STRUCTS:
        raise unknown_option("struct", struct, STRUCTS)
    if errors not in ("raise", "flag"):
        raise unknown_option("errors", errors, ("raise", "flag"))
    y = np.atleast_2d(np.asarray(yi, float))
    B, n = y.shape
    mask = np.isfinite(y) if mask is None else np.broadcast_to(np.asarray(mask, bool), (B, n))
    if V is None:
        if vi is None:
            raise InputError("meta_analysis_mv_batch needs vi (B, n) or V (B, n, n)")
        v = np.broadcast_to(np.asarray(vi, float), (B, n))
        Vm = np.where(mask, v, 1.0)[:, :, None] * np.eye(n)
    else:
        Vm = np.broadcast_to(np.asarray(V, float), (B, n, n))
    diag = np.diagonal(Vm, axis1=1, axis2=2)
    bad = mask & ~(np.isfinite(y) & np.isfinite(diag) & (diag > 0))
    if bad.any():
        b, i = map(int, np.argwhere(bad)[0])
        raise InputError(f"analysis {b}, row {i}: yi must be finite and its sampling variance "
                         f"finite and > 0, got yi={y[b, i]!r}, v={diag[b, i]!r}")
    y = np.where(mask, y, 0.0)
    Xm = np.ones((1, n, 1)) if X is None else np.asarray(X, float)
    Xm = np.broadcast_to(Xm[None] if Xm.ndim == 2 else Xm, (B, n, Xm.shape[-1]))
    terms = []
    for t in parse_random_list(random):
        outer = _codes(groups, t.outer, (B, n), "outer")
        if t.is_intercept:
            terms.append(Term(Structure("SIGMA", 1), outer))
            continue
        if struct == "GEN":
            cols = [np.ones((B, n))] if t.intercept else []
            cols += [np.broadcast_to(np.asarray(groups[c], float), (B, n)) for c in t.inner]
            Z = np.stack(cols, axis=-1)
        else:
            Z = np.eye(int(_codes(groups, t.inner, (B, n), "inner").max()) + 1)[
                _codes(groups, t.inner, (B, n), "inner")]
        q = Z.shape[-1]
        rho_fixed = struct in ("CS", "HCS", "AR", "HAR") and q == 1
        terms.append(Term(Structure(struct, q, rho_fixed), outer, Z))
    if not terms:
        raise InputError("random: no random-effects term")
    coarsest = min(terms, key=lambda t: len(np.unique(t.outer)))
    blocks = build_blocks(y, Vm, Xm, mask, terms, block=coarsest.outer)
    fit = fit_blocks(blocks, [t.structure for t in terms], method)
    if errors == "raise" and not fit.converged.all():
        b = int(np.flatnonzero(~fit.converged)[0])
        raise ConvergenceError(f"analysis {b}: the {method} fit did not converge after "
                               f"{int(fit.iterations[b])} iterations")
    p = Xm.shape[-1]
    se = np.sqrt(np.diagonal(fit.vb, axis1=1, axis2=2))
    z = fit.beta / se
    df = (blocks.k - p).astype(float)[:, None]
    if test == "t":
        pval, crit = 2 * stats.t.sf(np.abs(z), df), stats.t.isf((1 - level) / 2, df)
    else:
        pval, crit = 2 * stats.norm.sf(np.abs(z)), stats.norm.isf((1 - level) / 2)
    inner = [j for j, t in enumerate(terms) if t.structure.struct != "SIGMA"]
    tau2, rho = fit.components(inner[0]) if inner else (np.zeros((B, 0)), np.zeros((B, 0)))
    names = tuple(f"x{j}" for j in range(p)) if X is not None else ("intrcpt",)
    return MVBatch(names, fit.beta, se, z, pval, fit.beta - crit * se, fit.beta + crit * se,
                   fit.sigma2, tau2, rho, fit.ll, blocks.k, fit.converged, fit.iterations)
