"""Adapter: dose–response models fitted on the multilevel engine (random slopes, GEN).

The one-stage dose–response model (dosresmeta's ``proc = "1stage"``) is,
for study ``i`` with contrasts ``y_i``, design ``X_i`` and within-study
covariance ``S_i``,

    y_i = X_i beta + X_i b_i + e_i,   b_i ~ N(0, Psi),   e_i ~ N(0, S_i),

so ``V_i = S_i + X_i Psi X_i'``: metafor's ``rma.mv(y, V, mods = ~ 0 + X,
random = ~ 0 + X | study, struct = "GEN")``. The second stage of the
two-stage model is the same with ``X_i = I``. :func:`fit_random_slopes`
hands these models to the one multilevel engine
(:func:`sleepmeta.pooling.multilevel.fit_blocks` with a ``GEN`` term whose
slope covariates are the dose columns, no random intercept; the padded
block layout is written directly by :func:`slope_blocks`), a chunk at a
time, and reads back beta, its covariance, Psi and the log-likelihood
(metafor's, REML with ``+ 1/2 log|X'X|``). The fixed-effect model (Psi = 0)
and the heterogeneity Q are the closed-form GLS of the same data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmeta.errors import ModelError

__all__ = ["SlopesFit", "fit_random_slopes", "pad_blocks", "slope_blocks"]

_LOG2PI = np.log(2 * np.pi)


@dataclass(frozen=True)
class SlopesFit:
    """Batched fit: arrays with a leading batch axis ``B``."""

    beta: np.ndarray        # (B, p)
    vcov: np.ndarray        # (B, p, p)
    psi: np.ndarray         # (B, p, p)
    loglik: np.ndarray      # (B,)
    qe: np.ndarray          # (B,)  GLS residual Q with Psi = 0
    n_obs: np.ndarray       # (B,)
    converged: np.ndarray   # (B,)
    iterations: np.ndarray  # (B,)


def pad_blocks(ys, Ss, Xs, *, a: int | None = None):
    """Pad per-study lists into ``(m, a)``, ``(m, a, a)``, ``(m, a, p)`` arrays and a mask.

    Examples
    --------
    >>> y, S, X, mask = pad_blocks([[1.0], [1.0, 2.0]], [[[1.0]], [[1, 0], [0, 1.0]]],
    ...                            [[[1.0]], [[1.0], [2.0]]])
    >>> y.shape, mask.tolist()
    ((2, 2), [[True, False], [True, True]])
    """
    m = len(ys)
    a = a or max(len(v) for v in ys)
    p = np.asarray(Xs[0]).shape[1]
    y = np.zeros((m, a))
    S = np.broadcast_to(np.eye(a), (m, a, a)).copy()
    X = np.zeros((m, a, p))
    mask = np.zeros((m, a), dtype=bool)
    for i, (yi, Si, Xi) in enumerate(zip(ys, Ss, Xs)):
        k = len(yi)
        y[i, :k], S[i, :k, :k], X[i, :k], mask[i, :k] = yi, Si, Xi, True
    return y, S, X, mask


def _gls(y, S, X):
    """GLS with Psi = 0: beta, A = X'S^-1X, the quadratic form (Q), log|S| and the score.

    The last item is the score of Psi at 0 for one random slope, per study:
    ``u_i = x_i' S_i^-1 r_i`` and ``G_i = x_i' S_i^-1 x_i``.
    """
    rhs = np.concatenate([X, y[..., None]], axis=-1)
    sol = np.linalg.solve(S, rhs)
    WX, Wy = sol[..., :-1], sol[..., -1]
    G = np.einsum("bmap,bmaq->bmpq", X, WX)
    gi = np.einsum("bmap,bma->bmp", X, Wy)
    A, g = G.sum(axis=1), gi.sum(axis=1)
    beta = np.linalg.solve(A, g[..., None])[..., 0]
    quad = np.einsum("bma,bma->b", y, Wy) - np.einsum("bp,bp->b", beta, g)
    logdet = np.linalg.slogdet(S)[1].sum(axis=1)
    u = gi - np.einsum("bmpq,bq->bmp", G, beta)
    return beta, A, quad, logdet, (u, G)


def _score_at_zero(method, A, u, G):
    """dl/dtau2 at tau2 = 0 for one random slope (REML adds sum G_i^2 / A)."""
    s = (u[..., 0] ** 2 - G[..., 0, 0]).sum(axis=1)
    if method == "REML":
        s = s + (G[..., 0, 0] ** 2).sum(axis=1) / A[:, 0, 0]
    return 0.5 * s


def slope_blocks(y, S, X, mask):
    """The multilevel engine's :class:`~sleepmeta.pooling.multilevel.Blocks` for random slopes.

    Each study is one block already (``(B, m, a)`` with ``a`` contrasts), so
    the padded layout that :func:`~sleepmeta.pooling.multilevel.build_blocks`
    would compute from a full ``(B, n, n)`` covariance is written directly:
    ``V`` is ``S``, and the GEN term's basis matrices are ``x_a x_c' + x_c x_a'``
    (``x_a x_a'`` on the diagonal pairs) of the slope columns, in the order of
    ``pairs(p)``. (The tests check it against ``build_blocks``.)
    """
    from sleepmeta.pooling.multilevel import Blocks
    from sleepmeta.pooling.multilevel.structures import pairs

    B, m, a = y.shape
    p = X.shape[-1]
    bases = []
    for u, w in pairs(p):
        outer = X[..., :, u, None] * X[..., None, :, w]
        bases.append(outer if u == w else outer + np.swapaxes(outer, -1, -2))
    rows = np.where(mask, np.arange(m * a).reshape(m, a), -1)
    return Blocks(y, S, X, mask, np.stack(bases, axis=2), rows, mask.sum(axis=(1, 2)))


def _refit_held_variances(y, S, X, mask, method, fit):
    """Refit, in SDs and correlations, the members whose estimate has a variance of exactly 0.

    In the Cholesky parametrisation a zero diagonal element of the factor has a
    zero score (``d Psi_aa / d L_aa = 2 L_aa``), so an optimiser that reaches
    it stays there even where the likelihood rises off the boundary (seen in
    about 1 member in 500 of ``benchmarks/bench_dose.py``, 0.4 log-likelihood
    units below the maximum). Those members are fitted again in metafor's
    variance/correlation form; the higher likelihood is kept.
    """
    b, v, ps, lls, cv, it = (a.copy() for a in fit)
    held = np.flatnonzero(np.any(np.einsum("bpp->bp", ps) == 0, axis=1)
                          & np.any(np.einsum("bpp->bp", ps) > 0, axis=1))
    if held.size:
        b2, v2, ps2, ll2, cv2, it2 = _engine_chunk(y[held], S[held], X[held], mask[held],
                                                   method, varcor=True)
        better = cv2 & (ll2 > lls[held])
        i = held[better]
        b[i], v[i], ps[i], lls[i], cv[i] = b2[better], v2[better], ps2[better], ll2[better], True
        it[held] += it2
    return b, v, ps, lls, cv, it


def _engine_chunk(y, S, X, mask, method, varcor=False):
    from sleepmeta.pooling.multilevel import Parameters, Structure, fit_blocks

    structure = Structure("GEN", X.shape[-1], varcor=varcor)
    fit = fit_blocks(slope_blocks(y, S, X, mask), [structure], method=method)
    psi = structure.G(fit.theta[:, Parameters([structure]).slices[0]])
    return fit.beta, fit.vb, psi, fit.ll, fit.converged, fit.iterations


def fit_random_slopes(y, S, X, mask, *, method: str = "REML", chunk: int = 1024) -> SlopesFit:
    """Fit ``y_i = X_i beta + X_i b_i + e_i`` for a batch of data sets.

    Parameters
    ----------
    y : array_like, shape (B, m, a)
        Contrasts, padded with 0 where ``mask`` is False.
    S : array_like, shape (B, m, a, a)
        Within-study covariances, identity on padded rows.
    X : array_like, shape (B or 1, m, a, p)
        Designs (also the random-slope covariates), 0 on padded rows.
    mask : array_like of bool, shape (B, m, a)
    method : {"REML", "ML", "FE"}
        ``"FE"`` fixes Psi = 0 (dosresmeta's ``method = "fixed"``).
    chunk : int
        Members handed to the engine at a time (bounds memory).

    Returns
    -------
    SlopesFit

    Examples
    --------
    One study, two contrasts, FE: the GLS slope ``x'S^-1 y / x'S^-1 x``:

    >>> f = fit_random_slopes([[[1.0, 2.0]]], [[[[1.0, 0.0], [0.0, 1.0]]]],
    ...                       [[[[1.0], [2.0]]]], [[[True, True]]], method="FE")
    >>> float(f.beta[0, 0])
    1.0
    """
    y = np.asarray(y, dtype=float)
    S = np.asarray(S, dtype=float)
    mask = np.asarray(mask, dtype=bool)
    X = np.broadcast_to(np.asarray(X, dtype=float), y.shape + (np.shape(X)[-1],))
    B, p = y.shape[0], X.shape[-1]
    n = mask.sum(axis=(1, 2)).astype(float)
    XX = np.einsum("bmap,bmaq->bpq", X, X)
    sign, logdet_xx = np.linalg.slogdet(XX)
    if np.any(sign <= 0) or np.any(n <= p):
        raise ModelError(f"the dose model has {p} coefficients; it needs more than {p} contrasts "
                         "and doses that separate its columns")
    beta0, A0, quad0, logdet0, (u0, G0) = _gls(y, S, X)
    ll_ml0 = -0.5 * (n * _LOG2PI + logdet0 + quad0)
    if method == "FE":
        return SlopesFit(beta0, np.linalg.inv(A0), np.zeros((B, p, p)), ll_ml0, quad0, n,
                         np.ones(B, bool), np.zeros(B, int))
    at_zero = np.zeros(B, bool)
    if p == 1:
        # One random slope: when the likelihood falls from tau2 = 0 the estimate is the
        # boundary, where the engine's Cholesky parametrisation converges only linearly.
        at_zero = _score_at_zero(method, A0, u0, G0) <= 0
    ll0 = ll_ml0 if method == "ML" else \
        -0.5 * ((n - p) * _LOG2PI + logdet0 + np.linalg.slogdet(A0)[1] + quad0) + 0.5 * logdet_xx
    beta, vb = beta0.copy(), np.linalg.inv(A0)
    psi, ll = np.zeros((B, p, p)), ll0.copy()
    conv, iters = np.ones(B, bool), np.zeros(B, int)
    todo = np.flatnonzero(~at_zero)
    if todo.size == 0:
        return SlopesFit(beta, vb, psi, ll, quad0, n, conv, iters)
    # Columns scaled to unit root-mean-square (dose and dose^2 differ by orders
    # of magnitude); beta, Var(beta) and Psi are scaled back. Both metafor
    # log-likelihoods are invariant to this reparametrisation.
    d = np.sqrt(np.einsum("bpp->bp", XX) / n[:, None])[todo]
    Xs = X[todo] / d[:, None, None, :]
    parts = [_engine_chunk(y[todo][s], S[todo][s], Xs[s], mask[todo][s], method)
             for s in (slice(i, i + chunk) for i in range(0, todo.size, chunk))]
    b, v, ps, lls, cv, it = (np.concatenate(z) for z in zip(*parts))
    if p > 1:
        b, v, ps, lls, cv, it = _refit_held_variances(y[todo], S[todo], Xs, mask[todo], method,
                                                      (b, v, ps, lls, cv, it))
    outer = d[:, :, None] * d[:, None, :]
    # Psi = 0 is a point of the parameter space that the engine's Cholesky
    # parametrisation reaches only in the limit: where the likelihood there is
    # higher than at the engine's estimate (several slopes, all variances on
    # the boundary), the boundary is the estimate (as mixmeta finds it).
    keep = ~(ll0[todo] > lls)
    beta[todo[keep]], vb[todo[keep]], psi[todo[keep]] = (b / d)[keep], (v / outer)[keep], \
        (ps / outer)[keep]
    ll[todo[keep]], conv[todo], iters[todo] = lls[keep], cv | ~keep, it
    return SlopesFit(beta, vb, psi, ll, quad0, n, conv, iters)
