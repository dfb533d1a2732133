"""The scoring iterations of :mod:`.optimise`, compiled (numba), one member at a time.

The algorithm is the one the module docstring of :mod:`.optimise`
describes (Newton/Fisher scoring steps, parameters held on their bounds,
step halving, the tenfold-shrink rule and the three stopping rules); this
module runs it member by member without returning to Python between
iterations. The structures' maps from working parameters to the
coefficients of ``G`` on the pair basis (:meth:`.Structure.coef`) and
their boxes (:meth:`.Structure.clip`) are written out here for the codes
of :data:`CODES`; ``tests/pooling/multilevel/test_optimise_kernel.py``
checks them against the Python definitions.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sleepmeta.pooling.multilevel.kernel import eval_member, workspace

CODES = {"SIGMA": 0, "ID": 1, "DIAG": 2, "CS": 3, "HCS": 4, "UN": 5, "GEN": 6, "AR": 7,
         "HAR": 8}

__all__ = ["CODES", "coef_kernel", "maximise_kernel", "objective_kernel"]


@njit(cache=True, error_model="numpy")
def coef_kernel(theta, terms, pa, pb, c, J):
    """``c`` (L,) and ``J = dc/dtheta`` (L, P) of all terms at ``theta`` (P,).

    ``terms`` (T, 8) int: code, q, rho_fixed, varcor, theta offset, number
    of parameters, basis offset, number of basis pairs; ``pa``, ``pb`` (L,)
    the pair of inner levels of each basis coefficient.
    """
    q = 1
    for t in range(terms.shape[0]):
        q = max(q, terms[t, 1])
    _coef(theta, terms, pa, pb, c, J, np.empty((q, q)))


@njit(cache=True, error_model="numpy", _nrt=False)
def _coef(theta, terms, pa, pb, c, J, Lm):
    """:func:`coef_kernel` with a scratch ``Lm`` (at least q x q for every term)."""
    c[:] = 0.0
    J[:, :] = 0.0
    for t in range(terms.shape[0]):
        code, q, rf, vc, po, npar, bo, nb = (terms[t, 0], terms[t, 1], terms[t, 2] != 0,
                                             terms[t, 3] != 0, terms[t, 4], terms[t, 5],
                                             terms[t, 6], terms[t, 7])
        if code == 0:  # SIGMA
            c[bo] = theta[po]
            J[bo, po] = 1.0
        elif code == 1:  # ID
            for i in range(q):
                c[bo + i] = theta[po]
                J[bo + i, po] = 1.0
        elif code == 2:  # DIAG
            for i in range(q):
                c[bo + i] = theta[po + i]
                J[bo + i, po + i] = 1.0
        elif (code == 5 or code == 6) and vc:  # UN/GEN in SDs and correlations
            for i in range(q):
                sd = theta[po + i]
                c[bo + i] = sd * sd
                J[bo + i, po + i] = 2.0 * sd
            for j in range(nb - q):
                i = bo + q + j
                a, b = pa[i], pb[i]
                rho = theta[po + q + j]
                sa, sb = theta[po + a], theta[po + b]
                c[i] = rho * sa * sb
                J[i, po + q + j] = sa * sb
                J[i, po + a] += rho * sb
                J[i, po + b] += rho * sa
        elif code == 5 or code == 6:  # UN/GEN through the Cholesky factor Lm[b, a] = theta
            Lm[:q, :q] = 0.0
            for j in range(nb):
                Lm[pb[bo + j], pa[bo + j]] = theta[po + j]
            for i in range(nb):
                a, b = pa[bo + i], pb[bo + i]
                s = 0.0
                for e in range(q):
                    s += Lm[a, e] * Lm[b, e]
                c[bo + i] = s
                for j in range(nb):  # d G_ab / d Lm[f, e]
                    e, f = pa[bo + j], pb[bo + j]
                    if f == a:
                        J[bo + i, po + j] += Lm[b, e]
                    if f == b:
                        J[bo + i, po + j] += Lm[a, e]
        elif code == 3:  # CS
            for i in range(q):
                c[bo + i] = theta[po]
                J[bo + i, po] = 1.0
            if not rf:
                for i in range(q, nb):
                    if vc:
                        c[bo + i] = theta[po + 1] * theta[po]
                        J[bo + i, po] = theta[po + 1]
                        J[bo + i, po + 1] = theta[po]
                    else:
                        c[bo + i] = theta[po + 1]
                        J[bo + i, po + 1] = 1.0
        elif code == 4:  # HCS in SDs and rho
            for i in range(q):
                sd = theta[po + i]
                c[bo + i] = sd * sd
                J[bo + i, po + i] = 2.0 * sd
            if not rf:
                rho = theta[po + q]
                for i in range(q, nb):
                    a, b = pa[bo + i], pb[bo + i]
                    sa, sb = theta[po + a], theta[po + b]
                    c[bo + i] = rho * sa * sb
                    J[bo + i, po + q] = sa * sb
                    J[bo + i, po + a] = rho * sb
                    J[bo + i, po + b] = rho * sa
        elif code == 8:  # HAR: SDs and rho, rho^lag off the diagonal
            rho = 0.0 if rf else theta[po + q]
            for i in range(nb):
                a, b = pa[bo + i], pb[bo + i]
                lag = b - a
                sa, sb = theta[po + a], theta[po + b]
                c[bo + i] = rho**lag * sa * sb
                J[bo + i, po + a] += rho**lag * sb
                J[bo + i, po + b] += rho**lag * sa
                if not rf and lag > 0:
                    J[bo + i, po + q] = lag * rho ** (lag - 1) * sa * sb
        else:  # AR
            t2 = theta[po]
            rho = 0.0 if rf else theta[po + 1]
            for i in range(nb):
                lag = pb[bo + i] - pa[bo + i]
                c[bo + i] = t2 * rho**lag
                J[bo + i, po] = rho**lag
                if not rf and lag > 0:
                    J[bo + i, po + 1] = t2 * lag * rho ** (lag - 1)


@njit(cache=True, error_model="numpy")
def objective_kernel(theta, y, V, X, bases, sizes, k, reml, terms, pa, pb, grad):
    """One member's (restricted) log-likelihood at ``theta`` (P,), its gradient in ``grad``.

    ``y`` ... ``sizes`` are one member's blocks (as :func:`maximise_kernel`'s
    rows ``b``); the gradient is ``J' s`` (the chain rule of the scoring
    iterations). Where ``M`` or ``A`` is not positive definite the value is
    ``-inf`` and the gradient 0. For the quasi-Newton search of :mod:`.fallback`.
    """
    G, m = y.shape
    p = X.shape[2]
    L = bases.shape[1]
    P = theta.size
    q = 1
    for t in range(terms.shape[0]):
        q = max(q, terms[t, 1])
    c, J = np.empty(L), np.empty((L, P))
    beta, vb, sc = np.empty(p), np.empty((p, p)), np.empty(L)
    inf, obs = np.empty((L, L)), np.empty((L, L))
    _coef(theta, terms, pa, pb, c, J, np.empty((q, q)))
    ok, l1, l2, _, _ = eval_member(y, V, X, bases, sizes, c, k, reml, True,
                                   workspace(G, m, p, L), beta, vb, sc, inf, obs)
    for i in range(P):
        t = 0.0
        for l in range(L):
            t += J[l, i] * sc[l]
        grad[i] = t
    return l2 if reml else l1


@njit(cache=True, error_model="numpy", _nrt=False)
def _clip(theta, var_mask, cor_mask, cs_cov):
    for i in range(theta.size):
        if var_mask[i] and theta[i] < 0:
            theta[i] = 0.0
        if cor_mask[i]:
            theta[i] = min(max(theta[i], -1.0), 1.0)
    for i in range(cs_cov.size):  # a CS covariance within [-tau2, tau2]
        j = cs_cov[i]
        theta[j] = min(max(theta[j], -theta[j - 1]), theta[j - 1])


@njit(cache=True, error_model="numpy", _nrt=True)
def _information(info, observed, out):
    """Observed information where positive definite (Newton), else expected (scoring)."""
    L = info.shape[0]
    if L == 0:
        return
    for i in range(L):
        for j in range(L):
            out[i, j] = 0.5 * (observed[i, j] + observed[j, i])
    if np.linalg.eigvalsh(out).min() > 0:
        return
    out[:, :] = info


@njit(cache=True, error_model="numpy", _nrt=True)
def _eigh(a, w, vectors):
    """Eigenvalues ``w`` and eigenvectors (columns of ``vectors``) of the symmetric ``a``."""
    w0, v0 = np.linalg.eigh(a)
    w[:] = w0
    vectors[:, :] = v0


@njit(cache=True, error_model="numpy")
def maximise_kernel(y, V, X, bases, sizes, k, reml, theta, fixed, terms, pa, pb, var_mask, cor_mask,
                    cs_cov, vscale, maxiter, tol, converged, iters):
    """Run the scoring iterations for every member; ``theta`` (B, P) is updated in place."""
    B, G, m = y.shape
    p = X.shape[3]
    L = bases.shape[2]
    P = theta.shape[1]
    ws = workspace(G, m, p, L)
    q = 1
    for t in range(terms.shape[0]):
        q = max(q, terms[t, 1])
    beta, vb = np.empty(p), np.empty((p, p))
    sc, inf, obs, infm = np.empty(L), np.empty((L, L)), np.empty((L, L)), np.empty((L, L))
    sc2, inf2, obs2 = np.empty(L), np.empty((L, L)), np.empty((L, L))
    c, J, J2 = np.empty(L), np.empty((L, P)), np.empty((L, P))
    th, cand, step, s = np.empty(P), np.empty(P), np.empty(P), np.empty(P)
    I = np.empty((P, P))
    score, JtI, hold = np.empty(P), np.empty((P, L)), np.zeros(P, np.bool_)
    coefs, w, Ue = np.empty(P), np.empty(P), np.empty((P, P))
    scratch = (beta, vb, sc, inf, obs, infm, sc2, inf2, obs2, c, J, J2, th, cand, step, s, I,
               score, JtI, hold, coefs, w, Ue, np.empty((q, q)))
    _maximise_loop(y, V, X, bases, sizes, k, reml, theta, fixed, terms, pa, pb, var_mask,
                   cor_mask, cs_cov, vscale, maxiter, tol, converged, iters, ws, scratch)


@njit(cache=True, error_model="numpy", _nrt=False)
def _maximise_loop(y, V, X, bases, sizes, k, reml, theta, fixed, terms, pa, pb, var_mask,
                   cor_mask, cs_cov, vscale, maxiter, tol, converged, iters, ws, scratch):
    """The member loop of :func:`maximise_kernel` on its workspace (no allocation)."""
    B = y.shape[0]
    L = bases.shape[2]
    P = theta.shape[1]
    (beta, vb, sc, inf, obs, infm, sc2, inf2, obs2, c, J, J2, th, cand, step, s, I, score, JtI,
     hold, coefs, w, Ue, Lm) = scratch
    for b in range(B):
        for i in range(P):
            th[i] = theta[b, i]
        _clip(th, var_mask, cor_mask, cs_cov)
        iters[b] = 0
        if P == 0 or fixed[b].all():
            for i in range(P):
                theta[b, i] = th[i]
            converged[b] = True
            continue
        _coef(th, terms, pa, pb, c, J, Lm)
        ok, l1, l2, _, _ = eval_member(y[b], V[b], X[b], bases[b], sizes[b], c, k[b],
                                       reml, True, ws, beta, vb, sc, inf, obs)
        ll = l2 if reml else l1
        _information(inf, obs, infm)
        flat = 0
        converged[b] = False
        for it in range(1, maxiter + 1):
            for i in range(P):  # chain rule: score = J' s_c, information = J' I_c J
                t = 0.0
                for l in range(L):
                    t += J[l, i] * sc[l]
                score[i] = t
                for j in range(L):
                    t = 0.0
                    for l in range(L):
                        t += J[l, i] * infm[l, j]
                    JtI[i, j] = t
            for i in range(P):
                for j in range(P):
                    t = 0.0
                    for l in range(L):
                        t += JtI[i, l] * J[l, j]
                    I[i, j] = t
            for i in range(P):  # hold parameters on their bounds when the score points outward
                hold[i] = (fixed[b, i] or (var_mask[i] and th[i] <= 0 and score[i] <= 0)
                           or (cor_mask[i] and abs(th[i]) >= 1
                               and np.sign(th[i]) * score[i] >= 0))
                s[i] = 0.0 if hold[i] else score[i]
            for i in range(P):
                if hold[i]:
                    for j in range(P):
                        I[i, j] = 0.0
                        I[j, i] = 0.0
            for i in range(P):
                if hold[i]:
                    I[i, i] = 1.0
            _eigh(I, w, Ue)
            cut = 0.0  # 1e-10 max |w| (a NaN propagates, as in np.max)
            for j in range(P):
                a = abs(w[j])
                if a > cut or a != a:
                    cut = a
            cut *= 1e-10
            for j in range(P):  # step = I^+ s, dropping directions of no information
                t = 0.0
                for i in range(P):
                    t += Ue[i, j] * s[i]
                coefs[j] = t / w[j] if w[j] > cut else 0.0
            for i in range(P):
                t = 0.0
                for j in range(P):
                    t += Ue[i, j] * coefs[j]
                step[i] = t
            shrink = 1.0
            for i in range(P):
                if var_mask[i] and th[i] > 1e-6 * vscale[b]:
                    floor = -0.9 * th[i]
                    if step[i] < floor:
                        shrink = min(shrink, floor / step[i])
            for i in range(P):
                step[i] *= shrink
            big = 0.0
            for i in range(P):
                if var_mask[i]:
                    big = max(big, abs(th[i]))
            scale = max(big, 1e-3 * vscale[b])
            factor = 1.0
            accepted = False
            new_ll = ll
            for _ in range(50):
                for i in range(P):
                    cand[i] = th[i] + factor * step[i]
                _clip(cand, var_mask, cor_mask, cs_cov)
                for i in range(P):
                    if fixed[b, i]:
                        cand[i] = th[i]
                _coef(cand, terms, pa, pb, c, J2, Lm)
                ok, l1, l2, _, _ = eval_member(y[b], V[b], X[b], bases[b], sizes[b], c, k[b],
                                               reml, True, ws, beta, vb, sc2, inf2, obs2)
                lnew = l2 if reml else l1
                if ok and lnew >= ll - 1e-12 * abs(ll):
                    accepted = True
                    new_ll = lnew
                    break
                factor *= 0.5
            done = not accepted
            decrement = 0.0
            for i in range(P):
                decrement += s[i] * step[i]
            moved = True
            if accepted:
                moved = False
                for i in range(P):
                    size = 1.0 if cor_mask[i] else scale
                    if abs(cand[i] - th[i]) > tol * size:
                        moved = True
            done = done or not moved or decrement <= 1e-16 * max(abs(ll), 1.0)
            flat_now = abs(new_ll - ll) <= 1e-11 * max(abs(ll), 1.0)
            flat = flat + 1 if flat_now else 0
            done = done or flat >= 5
            if accepted:
                for i in range(P):
                    th[i] = cand[i]
                ll = new_ll
                for l in range(L):
                    sc[l] = sc2[l]
                _information(inf2, obs2, infm)
                for l in range(L):
                    for i in range(P):
                        J[l, i] = J2[l, i]
            iters[b] = it
            if done:
                converged[b] = True
                break
        for i in range(P):
            theta[b, i] = th[i]
