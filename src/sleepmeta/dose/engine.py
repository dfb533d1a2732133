"""The fitting adapter: GLS with random slopes and an unstructured Psi, batched.

The one-stage dose–response model (dosresmeta's ``proc = "1stage"``) is,
for study ``i`` with contrasts ``y_i``, design ``X_i`` and within-study
covariance ``S_i``,

    y_i = X_i beta + X_i b_i + e_i,   b_i ~ N(0, Psi),   e_i ~ N(0, S_i),

so ``V_i = S_i + X_i Psi X_i'``: metafor's ``rma.mv(y, V, mods = ~ 0 + X,
random = ~ 0 + X | study, struct = "GEN")``. The second stage of the
two-stage model is the same with ``X_i = I``. :func:`fit_random_slopes` is
the only place these models are fitted; it takes a leading batch axis.

This module is an adapter: the multilevel engine of issue 13 (``rma.mv``
with ``struct="GEN"``) is meant to be the one engine for these models. Until
it is, REML/ML are maximised here by Fisher scoring on the elements of Psi
(Harville DA. Maximum likelihood approaches to variance component
estimation. JASA 1977;72:320-38), with step halving and projection onto the
positive semi-definite matrices; everything is expressed through the
``p x p`` matrices ``G_i = X_i' V_i^-1 X_i`` so no ``n x n`` matrix is formed:

* score ``dl/dPsi = 1/2 sum_i (u_i u_i' - G_i + G_i A^-1 G_i)`` with
  ``A = sum G_i``, ``u_i = X_i' V_i^-1 r_i`` (the last term only for REML);
* expected information ``1/2 tr(P D_r P D_s)`` expanded in the ``G_i``.

Padded rows (``mask`` False) have ``y = 0``, ``X = 0`` and unit variance:
they add nothing. The log-likelihoods are metafor's (REML with
``+ 1/2 log|X'X|``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmeta.errors import ModelError

__all__ = ["SlopesFit", "fit_random_slopes", "pad_blocks"]

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


def _sym_basis(p: int) -> np.ndarray:
    """Basis matrices E_r of symmetric p x p matrices, vech order (column-wise)."""
    out = []
    for c in range(p):
        for r in range(c, p):
            e = np.zeros((p, p))
            e[r, c] = e[c, r] = 1.0
            out.append(e)
    return np.array(out)


def _gls(y, S, X, psi):
    """GLS pieces at ``psi``: beta, A, G_i, u_i, logdet V, quadratic form."""
    V = S + np.einsum("bmap,bpq,bmcq->bmac", X, psi, X, optimize=True)
    L = np.linalg.cholesky(V)
    rhs = np.concatenate([X, y[..., None]], axis=-1)
    sol = np.linalg.solve(V, rhs)
    WX, Wy = sol[..., :-1], sol[..., -1]
    G = np.einsum("bmap,bmaq->bmpq", X, WX)
    g = np.einsum("bmap,bma->bmp", X, Wy)
    A = G.sum(axis=1)
    beta = np.linalg.solve(A, g.sum(axis=1)[..., None])[..., 0]
    u = g - np.einsum("bmpq,bq->bmp", G, beta)
    quad = np.einsum("bma,bma->b", y, Wy) - np.einsum("bp,bp->b", beta, g.sum(axis=1))
    logdet = 2 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(axis=(1, 2))
    return beta, A, G, u, logdet, quad


def _loglik(method, n, p, logdet, quad, A, logdet_xx):
    if method == "ML":
        return -0.5 * (n * _LOG2PI + logdet + quad)
    return -0.5 * ((n - p) * _LOG2PI + logdet + np.linalg.slogdet(A)[1] + quad) + 0.5 * logdet_xx


def _score_info(method, A, G, u, E):
    Ainv = np.linalg.inv(A)
    M = np.einsum("bmp,bmq->bpq", u, u) - G.sum(axis=1)
    T = lambda P1, P2: np.einsum("bmij,rjk,bmkl,sli->brs", P1, E, P2, E, optimize=True)  # noqa: E731
    info = T(G, G)
    if method == "REML":
        GAG = np.einsum("bmij,bjk,bmkl->bmil", G, Ainv, G)
        M = M + GAG.sum(axis=1)
        H = np.einsum("bmij,rjk,bmkl->bril", G, E, G)
        info = (info - T(G, GAG) - T(GAG, G)
                + np.einsum("bij,brjk,bkl,bsli->brs", Ainv, H, Ainv, H, optimize=True))
    score = np.einsum("bij,rji->br", M, E)
    return 0.5 * score, 0.5 * info


def _psd(psi):
    w, Q = np.linalg.eigh(psi)
    return np.einsum("bij,bj,bkj->bik", Q, np.clip(w, 0.0, None), Q)


def fit_random_slopes(y, S, X, mask, *, method: str = "REML", max_iter: int = 200,
                      tol: float = 1e-10, psi_start=None) -> SlopesFit:
    """Fit ``y_i = X_i beta + X_i b_i + e_i`` for a batch of data sets.

    Parameters
    ----------
    y : array_like, shape (B, m, a)
        Contrasts, padded with 0 where ``mask`` is False.
    S : array_like, shape (B, m, a, a)
        Within-study covariances, identity on padded rows.
    X : array_like, shape (B or 1, m, a, p)
        Designs (also the random-effects designs), 0 on padded rows.
    mask : array_like of bool, shape (B, m, a)
    method : {"REML", "ML", "FE"}
        ``"FE"`` fixes Psi = 0 (dosresmeta's ``method = "fixed"``).

    Returns
    -------
    SlopesFit

    Examples
    --------
    One study, one contrast, FE: beta = y / x, Var = S / x^2:

    >>> f = fit_random_slopes([[[2.0]]], [[[[4.0]]]], [[[[2.0]]]], [[[True]]], method="FE")
    >>> float(f.beta[0, 0]), float(f.vcov[0, 0, 0])
    (1.0, 1.0)
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
    zero = np.zeros((B, p, p))
    beta0, A0, G0, u0, logdet0, quad0 = _gls(y, S, X, zero)
    if method == "FE":
        ll = _loglik("ML", n, p, logdet0, quad0, A0, logdet_xx)
        return SlopesFit(beta0, np.linalg.inv(A0), zero, ll, quad0, n, np.ones(B, bool),
                         np.zeros(B, int))
    E = _sym_basis(p)
    idx = np.array([(r, c) for c in range(p) for r in range(c, p)])
    if psi_start is None:
        m = mask.any(axis=2).sum(axis=1).astype(float)
        psi = np.einsum("b,bpp->bp", m, np.linalg.inv(A0))[..., None] * np.eye(p) * 0.5
    else:
        psi = np.broadcast_to(np.asarray(psi_start, dtype=float), (B, p, p)).copy()
    cur = _gls(y, S, X, psi)
    ll = _loglik(method, n, p, cur[4], cur[5], cur[1], logdet_xx)
    done = np.zeros(B, bool)
    iters = np.zeros(B, int)
    for it in range(max_iter):
        beta, A, G, u, logdet, quad = cur
        score, info = _score_info(method, A, G, u, E)
        step = np.einsum("brs,bs->br", np.linalg.pinv(info), score)
        step[done] = 0.0
        trial_psi, trial_ll, trial = psi, ll, cur
        frac = np.ones(B)
        for _ in range(30):
            d = np.zeros((B, p, p))
            d[:, idx[:, 0], idx[:, 1]] = step * frac[:, None]
            d[:, idx[:, 1], idx[:, 0]] = step * frac[:, None]
            cand = _psd(psi + d)
            cand_fit = _gls(y, S, X, cand)
            cand_ll = _loglik(method, n, p, cand_fit[4], cand_fit[5], cand_fit[1], logdet_xx)
            worse = cand_ll < ll - 1e-12 * (1 + np.abs(ll))
            if not worse.any():
                break
            frac = np.where(worse, frac / 2, frac)
        trial_psi, trial_ll, trial = cand, cand_ll, cand_fit
        change = np.abs(trial_psi - psi).max(axis=(1, 2))
        scale = 1e-8 + np.abs(trial_psi).max(axis=(1, 2))
        iters = np.where(done, iters, it + 1)
        newly = (change <= tol * 100 * scale) & (np.abs(trial_ll - ll) <= tol * (1 + np.abs(ll)))
        psi, ll, cur = trial_psi, trial_ll, trial
        done |= newly
        if done.all():
            break
    for b in np.flatnonzero(np.linalg.eigvalsh(psi)[:, 0] <= 1e-6 * np.abs(psi).max(axis=(1, 2))):
        if p > 1:  # a boundary Psi: maximise over its Cholesky factor
            psi[b], ll[b] = _polish(y[b:b + 1], S[b:b + 1], X[b:b + 1], psi[b], method, n[b:b + 1],
                                    logdet_xx[b:b + 1], ll[b])
    cur = _gls(y, S, X, psi)
    beta, A = cur[0], cur[1]
    return SlopesFit(beta, np.linalg.inv(A), psi, ll, quad0, n, done, iters)


def _polish(y, S, X, psi, method, n, logdet_xx, ll0):
    """Quasi-Newton on the Cholesky factor L (Psi = L L') from a boundary Psi.

    The gradient is ``dl/dL = 2 M L`` with ``M`` the score matrix of Psi.
    """
    from scipy import optimize

    p = psi.shape[0]
    tril = np.tril_indices(p)
    w, Q = np.linalg.eigh(psi)
    L0 = np.linalg.cholesky(Q @ np.diag(np.clip(w, 0, None) + 1e-10 * max(w.max(), 1e-300)) @ Q.T)
    scale = np.sqrt(max(np.abs(psi).max(), 1e-300))

    def fun(par):
        L = np.zeros((p, p))
        L[tril] = par * scale
        cand = (L @ L.T)[None]
        beta, A, G, u, logdet, quad = _gls(y, S, X, cand)
        val = _loglik(method, n, p, logdet, quad, A, logdet_xx)[0]
        M = np.einsum("bmp,bmq->bpq", u, u) - G.sum(axis=1)
        if method == "REML":
            M = M + np.einsum("bmij,bjk,bmkl->bil", G, np.linalg.inv(A), G)
        grad = (M[0] @ L)[tril] * scale  # 1/2 * 2 M L
        return -val, -grad

    opt = optimize.minimize(fun, L0[tril] / scale, jac=True, method="BFGS",
                            options={"gtol": 1e-12, "maxiter": 2000})
    if -opt.fun < ll0:
        return psi, ll0
    L = np.zeros((p, p))
    L[tril] = opt.x * scale
    return L @ L.T, -opt.fun
