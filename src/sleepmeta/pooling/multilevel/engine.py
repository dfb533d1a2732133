"""The multilevel engine: fit B models of one random structure at once.

UN and GEN terms are optimised through the Cholesky factor of ``G`` (as
metafor does), CS terms in ``(tau2, tau2 * rho)``; members that do not
converge that way, and members whose CS correlation ends on its bound
(``rho = +-1``, where the box of ``(tau2, cov)`` is not a simple bound
to hold a parameter on), are refitted in standard deviations and
correlations (:func:`_retry_varcor`) and the better fit is kept. A member that still has
not converged, or whose end point is not stationary (its Newton decrement
over the free parameters exceeds 1e-11), is refitted by the quasi-Newton
fallback of :mod:`.fallback` (``MVFit.rescued`` marks it) — unless it only
stopped short of a singular UN/GEN ``G``, which :func:`_finish_singular`
completes in SDs and correlations.

:func:`fit_blocks` is the only place a multilevel/multivariate model is
fitted; the public :func:`~sleepmeta.pooling.multilevel.api.meta_analysis_mv`,
the profile CIs and the dose–response models call it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmeta.pooling.multilevel.blocks import Blocks
from sleepmeta.pooling.multilevel.fallback import needs_rescue, rescue
from sleepmeta.pooling.multilevel.likelihood import evaluate
from sleepmeta.pooling.multilevel.optimise import Parameters, maximise

__all__ = ["MVFit", "fit_blocks", "start_values"]


@dataclass(frozen=True)
class MVFit:
    """B fitted models (arrays over the batch).

    Attributes
    ----------
    theta : (B, P) working parameters of all terms, term after term.
    beta, vb : (B, p), (B, p, p) fixed effects and their covariance ``(X'WX)^-1``.
    ll_ml, ll_reml : (B,) log-likelihoods at the estimates (both, as metafor's fit.stats).
    converged : (B,) bool; iterations : (B,) int.
    structures : the terms' :class:`~.structures.Structure` objects.
    method : "REML" or "ML".

    >>> import numpy as np
    >>> from sleepmeta.pooling.multilevel import Structure, Term, build_blocks
    >>> t = Term(Structure("SIGMA", 1), np.array([[0, 0, 1, 1, 2, 2]]))
    >>> y = np.array([[0.1, 0.3, 0.5, 0.4, 0.9, 0.8]])
    >>> b = build_blocks(y, np.eye(6)[None] * 0.01, np.ones((1, 6, 1)), np.ones((1, 6), bool), [t])
    >>> fit = fit_blocks(b, [t.structure])
    >>> fit.sigma2.shape, bool(fit.converged[0])
    ((1, 1), True)
    """

    theta: np.ndarray
    beta: np.ndarray
    vb: np.ndarray
    ll_ml: np.ndarray
    ll_reml: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    structures: tuple
    method: str
    rescued: np.ndarray | None = None  # (B,) bool: kept fit from the quasi-Newton fallback

    @property
    def ll(self) -> np.ndarray:
        """The maximised log-likelihood (REML or ML)."""
        return self.ll_reml if self.method == "REML" else self.ll_ml

    def components(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """``(tau2, rho)`` of term ``j`` as metafor reports them (sigma2 for ``~ 1 | f``)."""
        params = Parameters(self.structures)
        return self.structures[j].report(self.theta[:, params.slices[j]])

    @property
    def sigma2(self) -> np.ndarray:
        """(B, s): the variances of the ``~ 1 | f`` terms, in order."""
        cols = [self.components(j)[0] for j, s in enumerate(self.structures) if s.struct == "SIGMA"]
        return np.concatenate(cols, axis=1) if cols else np.zeros((self.theta.shape[0], 0))


def start_values(blocks: Blocks, params: Parameters) -> np.ndarray:
    """metafor's start values: the residual variance of a fixed-effects fit, shared equally.

    ``total = max(0.001 * n_vc, var(y - X beta_FE) - 1 / mean(1 / diag V))``,
    divided by the number of variance terms (``rma.mv``'s ``sigma2.init`` and
    ``tau2.init``); correlations start at 0.5.

    Examples
    --------
    ``y = 0, 1, 2, 3`` with ``v = 0.1`` and one ``~ 1 | f`` term: the
    intercept-only residual variance is 5/3 (divisor k - 1), so the start is
    5/3 - 0.1:

    >>> import numpy as np
    >>> from sleepmeta.pooling.multilevel import Structure, Term, build_blocks
    >>> t = Term(Structure("SIGMA", 1), np.array([[0, 1, 2, 3]]))
    >>> b = build_blocks(np.array([[0.0, 1.0, 2.0, 3.0]]), np.eye(4)[None] * 0.1,
    ...                  np.ones((1, 4, 1)), np.ones((1, 4), bool), [t])
    >>> round(float(start_values(b, Parameters([t.structure]))[0, 0]), 6)
    1.566667
    """
    ev = evaluate(blocks, np.zeros((blocks.y.shape[0], 0)) if params.L == 0 else
                  np.zeros((blocks.y.shape[0], params.L)), "ML")
    r = blocks.y - np.einsum("bgip,bp->bgi", blocks.X, ev.beta)
    m = blocks.mask
    k = blocks.k.astype(float)
    mean = (r * m).sum(axis=(1, 2)) / k
    var = (((r - mean[:, None, None]) ** 2) * m).sum(axis=(1, 2)) / np.maximum(k - 1, 1)
    dv = np.diagonal(blocks.V, axis1=-2, axis2=-1)
    with np.errstate(divide="ignore"):
        inv_mean = (np.where(m, 1 / np.where(m, dv, 1), 0)).sum(axis=(1, 2)) / k
    n_vc = sum(s.n_tau2 if s.struct != "SIGMA" else 1 for s in params.structures)
    total = np.maximum(0.001 * n_vc, var - 1 / inv_mean)
    return params.start(total / max(n_vc, 1))


def _retry_varcor(blocks, params, method, theta, conv, iters, maxiter, tol):
    """Refit unconverged UN/GEN members in SDs and correlations (see the module docstring).

    The Cholesky factor of a ``G`` heading for a correlation of +-1 with a
    near-zero variance can crawl along a ridge; the same maximum is reached
    quickly in metafor's variance/correlation form. The better of the two
    is kept, expressed in the caller's parametrisation.
    """
    import dataclasses

    redo = ~conv & any(s.struct in ("UN", "GEN") and not s.varcor for s in params.structures)
    for s, sl in zip(params.structures, params.slices):
        if s.struct == "CS" and not s.varcor and not s.rho_fixed:
            th = theta[:, sl]
            redo |= (th[:, 0] > 0) & (np.abs(th[:, 1]) >= th[:, 0] * (1 - 1e-8))
    if not redo.any():
        return theta, conv, iters
    alt = Parameters([dataclasses.replace(s, varcor=True) if s.struct in ("UN", "GEN", "CS")
                      else s for s in params.structures])
    bad = np.flatnonzero(redo)
    sub = blocks.take(bad)
    start = _convert(params, alt, theta[bad])
    th2, c2, it2 = maximise(sub, alt, method, start, maxiter=maxiter, tol=tol)
    back = _convert(alt, params, th2)
    old = evaluate(sub, params.coef(theta[bad])[0], method)
    new = evaluate(sub, params.coef(back)[0], method)
    l_new = new.ll_reml if method == "REML" else new.ll_ml
    l_old = old.ll_reml if method == "REML" else old.ll_ml
    take = c2 & ((l_new > l_old) | (~conv[bad] & (l_new >= l_old)))
    theta, conv, iters = theta.copy(), conv.copy(), iters.copy()
    theta[bad[take]] = back[take]
    conv[bad[take]] = True
    iters[bad] += it2
    return theta, conv, iters


def _try_boundary(blocks, params, method, theta, conv, iters, maxiter, tol):
    """Compare each maximum with the same point with one ``sigma2`` at 0 (and refit from there).

    The likelihood of a variance can have an interior local maximum beside a
    higher one on the boundary (k = 5 estimates can show it); scoring from
    metafor's start value finds the interior one. A member whose likelihood
    is higher with a ``~ 1 | f`` variance set to 0 is refitted from that
    point, and the better fit is kept.
    """
    sig = [sl.start for s, sl in zip(params.structures, params.slices) if s.struct == "SIGMA"]
    if not sig:
        return theta, conv, iters
    pick = (lambda e: e.ll_reml) if method == "REML" else (lambda e: e.ll_ml)
    base = pick(evaluate(blocks, params.coef(theta)[0], method))
    for j in sig:
        cand = theta.copy()
        cand[:, j] = 0.0
        better = conv & (theta[:, j] > 0) & (pick(evaluate(blocks, params.coef(cand)[0], method))
                                             > base + 1e-10 * np.maximum(np.abs(base), 1.0))
        if not better.any():
            continue
        idx = np.flatnonzero(better)
        th2, c2, it2 = maximise(blocks.take(idx), params, method, cand[idx], maxiter=maxiter,
                                tol=tol)
        l2 = pick(evaluate(blocks.take(idx), params.coef(th2)[0], method))
        take = c2 & (l2 > base[idx])
        theta, iters, base = theta.copy(), iters.copy(), base.copy()
        theta[idx[take]] = th2[take]
        base[idx[take]] = l2[take]
        iters[idx] += it2
    return theta, conv, iters


def _restart_singular(blocks, params, method, theta, conv, iters, maxiter, tol):
    """Refit members whose UN/GEN ``G`` ends singular through a zero of its Cholesky factor.

    A zero on the factor's diagonal has zero score (``G`` depends on ``L_aa``
    through ``L_aa L_ba``), so the iterations can settle there, on the
    boundary, below a higher maximum that they would reach from elsewhere
    (with several random slopes and few studies the restricted likelihood
    is flat and has several local maxima near singular ``G``). Such members
    are refitted from three more starts — the working parameters of
    metafor's start values times 10 and times 0.1, and the start with the
    Cholesky factors' off-diagonal entries at 0 (a diagonal ``G``) — and the
    highest likelihood among the converged fits is kept.
    """
    sing = np.zeros(theta.shape[0], bool)
    for s, sl in zip(params.structures, params.slices):
        if s.struct in ("UN", "GEN") and not s.varcor and s.q > 1:
            d = np.abs(theta[:, sl][:, :s.q])
            sing |= (d.max(axis=1) > 0) & (d.min(axis=1) <= 1e-8 * d.max(axis=1))
    idx = np.flatnonzero(sing & conv)
    if idx.size == 0:
        return theta, conv, iters
    sub = blocks.take(idx)
    pick = (lambda e: e.ll_reml) if method == "REML" else (lambda e: e.ll_ml)
    best = pick(evaluate(sub, params.coef(theta[idx])[0], method))
    start = start_values(sub, params)
    diag = start.copy()
    for s, sl in zip(params.structures, params.slices):
        if s.struct in ("UN", "GEN") and not s.varcor:
            diag[:, sl.start + s.q:sl.stop] = 0.0  # off-diagonal Cholesky entries
    theta, iters = theta.copy(), iters.copy()
    for th0 in (10.0 * start, 0.1 * start, diag):
        th2, c2, it2 = maximise(sub, params, method, th0, maxiter=maxiter, tol=tol)
        l2 = pick(evaluate(sub, params.coef(th2)[0], method))
        take = c2 & (l2 > best + 1e-10 * np.maximum(np.abs(best), 1.0))
        theta[idx[take]] = th2[take]
        best = np.where(take, l2, best)
        iters[idx] += it2
    return theta, conv, iters


def _finish_singular(blocks, params, method, theta, conv, iters, flag, maxiter, tol):
    """Finish, in SDs and correlations, converged members that stop just short of a singular G.

    Scoring in a UN/GEN Cholesky factor approaches a singular ``G`` (a factor
    diagonal heading to 0) only linearly, and can stop while that diagonal
    is still about 1e-6, a point the stationarity check flags. From there the
    same model in SDs and correlations reaches the boundary (a correlation of
    +-1, held on its bound) in a few steps. A flagged member is taken from
    there when that fit converges, is stationary in its own parametrisation
    (:func:`~.fallback.needs_rescue`, the same test) and raises the likelihood
    by at most 1e-6 relative (so scoring had stopped short of this maximum,
    not somewhere else); the other flagged members go to the quasi-Newton
    fallback. Returns ``theta, iters, flag`` updated.
    """
    import dataclasses

    if not any(s.struct in ("UN", "GEN") and not s.varcor and s.q > 1
               for s in params.structures):
        return theta, iters, flag
    alt = Parameters([dataclasses.replace(s, varcor=True) if s.struct in ("UN", "GEN") else s
                      for s in params.structures])
    idx = np.flatnonzero(flag & conv)
    if idx.size == 0:
        return theta, iters, flag
    sub = blocks.take(idx)
    th2, c2, it2 = maximise(sub, alt, method, _convert(params, alt, theta[idx]),
                            maxiter=maxiter, tol=tol)
    psd = np.ones(idx.size, bool)  # a G the Cholesky form can express (not G = 0, and
    for s, sl in zip(alt.structures, alt.slices):  # correlations need not make G PSD, q > 2)
        if s.struct in ("UN", "GEN"):
            w = np.linalg.eigvalsh(s.G(th2[:, sl]))
            psd &= (w[:, -1] > 0) & (w[:, 0] >= -1e-15 * w[:, -1])
    back = theta[idx].copy()
    try:
        if psd.any():
            back[psd] = _convert(alt, params, th2[psd])
    except np.linalg.LinAlgError:  # one G too near singular for a Cholesky factor: row by row
        for i in np.flatnonzero(psd):
            try:
                back[i] = _convert(alt, params, th2[i:i + 1])[0]
            except np.linalg.LinAlgError:
                psd[i] = False
    pick = (lambda e: e.ll_reml) if method == "REML" else (lambda e: e.ll_ml)
    l_old = pick(evaluate(sub, params.coef(theta[idx])[0], method))
    l_new = pick(evaluate(sub, params.coef(back)[0], method))
    take = (psd & c2 & ~needs_rescue(sub, alt, method, th2, c2, tol=1e-11)
            & (l_new >= l_old) & (l_new - l_old <= 1e-6 * np.maximum(np.abs(l_old), 1.0)))
    theta, iters, flag = theta.copy(), iters.copy(), flag.copy()
    theta[idx[take]] = back[take]
    flag[idx[take]] = False
    iters[idx] += it2
    return theta, iters, flag


def _convert(src: Parameters, dst: Parameters, theta: np.ndarray) -> np.ndarray:
    """Re-express working parameters of one parametrisation in another (same model)."""
    parts = []
    for s, d, sl in zip(src.structures, dst.structures, src.slices):
        parts.append(d.from_report(*s.report(theta[:, sl])))
    return np.concatenate(parts, axis=1)


def fit_blocks(blocks: Blocks, structures, method: str = "REML", *, theta0=None, fixed=None,
               maxiter: int = 500, tol: float = 1e-9) -> MVFit:
    """Fit B multilevel models laid out as :class:`~.blocks.Blocks`.

    Parameters
    ----------
    blocks : Blocks
        Padded data (:func:`~.blocks.build_blocks`).
    structures : sequence of Structure
        One per random term, in the order of the bases in ``blocks``.
    method : {"REML", "ML"}
    theta0 : (B, P) array, optional
        Start values (default: metafor's, :func:`start_values`).
    fixed : (B, P) bool array, optional
        Parameters held at their ``theta0`` value (profile likelihood).

    Examples
    --------
    >>> import numpy as np
    >>> from sleepmeta.pooling.multilevel import Structure, Term, build_blocks
    >>> t = Term(Structure("SIGMA", 1), np.array([[0, 0, 1, 1, 2, 2]]))
    >>> y = np.array([[0.1, 0.3, 0.5, 0.4, 0.9, 0.8]])
    >>> b = build_blocks(y, np.eye(6)[None] * 0.01, np.ones((1, 6, 1)), np.ones((1, 6), bool), [t])
    >>> fit = fit_blocks(b, [t.structure])
    >>> round(float(fit.beta[0, 0]), 4)  # equal clusters and v: GLS = the plain mean, 3/6
    0.5
    """
    params = Parameters(structures)
    B = blocks.y.shape[0]
    rescued = np.zeros(B, bool)
    if theta0 is None:
        theta0 = start_values(blocks, params)
    theta, conv, iters = maximise(blocks, params, method, np.asarray(theta0, float), fixed,
                                  maxiter=maxiter, tol=tol)
    if fixed is None or not np.asarray(fixed).any():
        theta, conv, iters = _retry_varcor(blocks, params, method, theta, conv, iters, maxiter, tol)
    if fixed is None or not np.asarray(fixed).any():
        theta, conv, iters = _try_boundary(blocks, params, method, theta, conv, iters, maxiter,
                                           tol)
        theta, conv, iters = _restart_singular(blocks, params, method, theta, conv, iters,
                                               maxiter, tol)
        flag = needs_rescue(blocks, params, method, theta, conv, tol=1e-11)
        if flag.any():
            theta, iters, flag = _finish_singular(blocks, params, method, theta, conv, iters,
                                                  flag, maxiter, tol)
        if flag.any():
            res = rescue(blocks, params, method, theta, conv, iters,
                         start_values(blocks, params), np.flatnonzero(flag), maxiter=maxiter,
                         tol=tol)
            theta, conv, iters, rescued = res.theta, res.converged, res.iterations, res.used
    c, _ = params.coef(theta) if params.P else (np.zeros((B, 0)), None)
    ev = evaluate(blocks, c, method)
    return MVFit(theta, ev.beta, ev.vb, ev.ll_ml, ev.ll_reml, conv & ev.ok, iters,
                 tuple(structures), method, rescued)
