"""Estimators of the between-study variance tau², one small function each.

Each estimator takes a :class:`Problem` (a batch of analyses) and returns
a :class:`Tau2Fit`. They follow the definitions as metafor 3.8 implements
them (``rma.uni``), including its starting values, stopping rules and
truncation at zero, so that the numbers agree with it:

* ``FE`` — common-effect model, tau² = 0.
* ``DL`` — DerSimonian & Laird (1986); with moderators, the generalised
  method of moments form of Raudenbush (2009).
* ``HE`` — Hedges (1983), Hedges & Olkin (1985); unweighted moments.
* ``HS`` / ``HSk`` — Hunter & Schmidt (2004), and its k-corrected version
  (Viechtbauer 2005 notation).
* ``SJ`` — Sidik & Jonkman (2005), one step from the variance of the yi.
* ``ML`` / ``REML`` — (restricted) maximum likelihood by Fisher scoring
  from the HE estimate (Viechtbauer 2005), with metafor's check that
  tau² = 0 does not give a higher likelihood.
* ``EB`` — empirical Bayes, Morris (1983), Berkey et al. (1995).
* ``PM`` — Paule & Mandel (1982): the generalised Q equals k - p, found with
  Brent's method as R's ``uniroot`` runs it (see :mod:`.zeroin`).

Standard errors of tau² are those of metafor (Viechtbauer 2005; NaN for FE).
A new estimator is one function and one line in :data:`ESTIMATORS`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sleepmeta.pooling._wls import rowsum as _rowsum
from sleepmeta.pooling.paule_mandel import pm
from sleepmeta.pooling.problem import (Problem, Tau2Fit, eb_pm_se, generalised_q, loglik,
                                       subset_problem)
from sleepmeta.pooling.problem import tau2_fit as _done
from sleepmeta.pooling.registry import DEFAULT_CONTROL, FALLBACK_CONTROL, Control
from sleepmeta.pooling.zeroin import DEFAULT_TOL


def _se_p_form(trP, kp, tau2, trPP):
    """Shared form of the DL/HS standard error, ``2(k-p) + 4 tau² tr(P) + 2 tau⁴ tr(PP)``."""
    t = np.maximum(tau2, 0)
    return 2 * kp + 4 * t * trP + 2 * t**2 * trPP


def fe(pr: Problem) -> Tau2Fit:
    """Common (fixed/equal) effect: tau² = 0.

    Examples
    --------
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> pr = Problem.of(es.yi, es.vi)
    >>> fe(pr).tau2.tolist()
    [0.0]
    """
    n = pr.k.shape[0]
    return _done(np.zeros(n), np.full(n, np.nan))


def dl(pr: Problem) -> Tau2Fit:
    """DerSimonian–Laird: ``(Q - (k - p)) / tr(P)`` with weights ``1/vi``, truncated at 0.

    Examples
    --------
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> pr = Problem.of(es.yi, es.vi)
    >>> fit = dl(pr)   # metafor 3.8 on dat.bcg (RR): rma(yi, vi, method="DL") -> tau² 0.3088, SE 0.2299
    >>> round(float(fit.tau2[0]), 4), round(float(fit.se[0]), 4)
    (0.3088, 0.2299)
    """
    f = pr.fit(1 / pr.vi)
    one = pr.m
    trP = f.tr_pd(one)
    tau2 = np.maximum(0, (f.rss - (pr.k - pr.p)) / trP)
    se = np.sqrt(_se_p_form(trP, pr.k - pr.p, tau2, f.tr_pdpd(one)) / trP**2)
    return _done(tau2, se)


def he(pr: Problem) -> Tau2Fit:
    """Hedges: ``(RSS_ols - tr(P0 V)) / (k - p)`` from an unweighted fit, truncated at 0.

    Examples
    --------
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> pr = Problem.of(es.yi, es.vi)
    >>> fit = he(pr)   # metafor 3.8 on dat.bcg (RR): rma(yi, vi, method="HE") -> tau² 0.3286, SE 0.2071
    >>> round(float(fit.tau2[0]), 4), round(float(fit.se[0]), 4)
    (0.3286, 0.2071)
    """
    tau2_raw, f = _he_raw(pr)
    tau2 = np.maximum(0, tau2_raw)
    kp = pr.k - pr.p
    trPV = f.tr_pd(pr.vi)
    se = np.sqrt((2 * f.tr_pdpd(pr.vi) + 4 * tau2 * trPV + 2 * tau2**2 * kp) / kp**2)
    return _done(tau2, se)


def _he_raw(pr: Problem):
    f = pr.fit(np.ones_like(pr.vi))
    return (f.rss - f.tr_pd(pr.vi)) / (pr.k - pr.p), f


def _hs_common(pr: Problem, scale: np.ndarray) -> Tau2Fit:
    f = pr.fit(1 / pr.vi)
    sw = _rowsum(f.w)
    one = pr.m
    tau2 = np.maximum(0, (scale * f.rss - pr.k) / sw)
    se = scale * np.sqrt(_se_p_form(f.tr_pd(one), pr.k - pr.p, tau2, f.tr_pdpd(one)) / sw**2)
    return _done(tau2, se)


def hs(pr: Problem) -> Tau2Fit:
    """Hunter–Schmidt: ``(Q - k) / sum(1/vi)``, truncated at 0.

    Examples
    --------
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> pr = Problem.of(es.yi, es.vi)
    >>> fit = hs(pr)   # metafor 3.8 on dat.bcg (RR): rma(yi, vi, method="HS") -> tau² 0.2284, SE 0.1279
    >>> round(float(fit.tau2[0]), 4), round(float(fit.se[0]), 4)
    (0.2284, 0.1279)
    """
    return _hs_common(pr, np.ones(pr.k.shape[0]))


def hsk(pr: Problem) -> Tau2Fit:
    """Hunter–Schmidt with the k-correction: ``(k/(k-p) Q - k) / sum(1/vi)``.

    Examples
    --------
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> pr = Problem.of(es.yi, es.vi)
    >>> fit = hsk(pr)   # metafor 3.8 on dat.bcg (RR): rma(yi, vi, method="HSk") -> tau² 0.2492, SE 0.1507
    >>> round(float(fit.tau2[0]), 4), round(float(fit.se[0]), 4)
    (0.2492, 0.1507)
    """
    return _hs_common(pr, pr.k / (pr.k - pr.p))


def sj(pr: Problem) -> Tau2Fit:
    """Sidik–Jonkman: ``tau0² Q(tau0²)/(k - p)`` with ``tau0² = sum((y - ybar)²)/k``.

    Examples
    --------
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> pr = Problem.of(es.yi, es.vi)
    >>> fit = sj(pr)   # metafor 3.8 on dat.bcg (RR): rma(yi, vi, method="SJ") -> tau² 0.3455, SE 0.1497
    >>> round(float(fit.tau2[0]), 4), round(float(fit.se[0]), 4)
    (0.3455, 0.1497)
    """
    tau0 = _rowsum(pr.ymc**2) / pr.k
    f = pr.fit(pr.inverse_weights(tau0))
    kp = pr.k - pr.p
    tau2 = np.maximum(0, tau0 * f.rss / kp)
    var = tau0**2 / kp**2 * (2 * f.tr_pdpd(pr.vi) + 4 * tau2 * f.tr_pdp(pr.vi)
                             + 2 * tau2**2 * f.tr_pdpd(pr.m))
    return _done(tau2, np.sqrt(var))


def _scoring(pr: Problem, step: Callable):
    """Fisher scoring from the (truncated) HE estimate, metafor's rules.

    Each member iterates until its change is at most ``control.threshold``;
    a step that would make tau² negative is halved until it does not. With
    the default control (``pr.control is None``), members that do not
    converge in ``maxiter`` steps (the algorithm can oscillate) are run again
    from the start with every step halved and up to 1000 iterations — the
    remedy metafor's documentation gives (``control=list(stepadj=0.5,
    maxiter=1000)``); they are flagged in ``fallback`` and results report it.
    An explicit control is used as given (no remedy), as metafor does.
    """
    con = DEFAULT_CONTROL if pr.control is None else pr.control
    start = np.maximum(0, _he_raw(pr)[0])
    tau2, iters, converged = _iterate(pr, step, start.copy(), con)
    fallback = ~converged if pr.control is None else np.zeros_like(converged)
    if fallback.any():
        idx = np.flatnonzero(fallback)
        t2, it, ok = _iterate(subset_problem(pr, idx), step, start[idx], FALLBACK_CONTROL)
        tau2[idx], iters[idx], converged[idx] = t2, it, ok
    return tau2, iters, converged, fallback


def _iterate(pr: Problem, step: Callable, tau2, con: Control):
    """Scoring steps (times ``con.stepadj``) until each member's change is at most ``con.threshold``.

    Converged members are frozen (their step is discarded) and leave the
    working set once it is half converged, so late iterations cost only as
    much as the members still iterating, without copying the batch each time.
    """
    n = tau2.shape[0]
    iters = np.zeros(n, int)
    idx = np.arange(n)
    cur = tau2.copy()
    live = np.ones(n, bool)
    sub = pr
    for _ in range(con.maxiter + 1):
        if not live.any():
            break
        adj = step(sub, cur)
        adj = _halve_into_range(cur, np.where(live & ~np.isnan(adj), adj, 0.0) * con.stepadj)
        cur = cur + adj
        iters[idx[live]] += 1
        live &= np.abs(adj) > con.threshold
        if live.sum() * 2 < live.size:
            tau2[idx] = cur
            keep = np.flatnonzero(live)
            idx, cur, live, sub = idx[keep], cur[keep], live[keep], subset_problem(sub, keep)
    tau2[idx] = cur
    converged = np.ones(n, bool)
    converged[idx[live]] = False
    return tau2, iters, converged


def _halve_into_range(cur: np.ndarray, adj: np.ndarray) -> np.ndarray:
    """metafor's step-halving: halve ``adj`` until ``cur + adj >= 0``.

    The number of halvings is found directly (halving is exact in binary
    floating point), not one halving of the whole batch at a time: at
    ``cur = 0`` metafor's loop runs until the step underflows to zero (about
    1075 halvings), which here is the step 0.
    """
    neg = cur + adj < 0
    if not neg.any():
        return adj
    a, c = adj[neg], cur[neg]
    pos = c > 0
    with np.errstate(divide="ignore"):
        h = np.where(pos, np.ceil(np.log2(-a / np.where(pos, c, 1.0))), 0).astype(int)
    h = np.maximum(h, 0)
    while np.any(down := pos & (h > 0) & (c + np.ldexp(a, -(h - 1)) >= 0)):
        h = np.where(down, h - 1, h)
    while np.any(up := pos & (c + np.ldexp(a, -h) < 0)):
        h = np.where(up, h + 1, h)
    out = adj.copy()
    out[neg] = np.where(pos, np.ldexp(a, -h), 0.0)
    return out


def _ml_step(pr: Problem, tau2):
    # Fisher scoring for ML (Viechtbauer 2005, J Educ Behav Stat 30:261-293; metafor's
    # rma.uni, method "ML"): with w_i = 1/(v_i + tau²) and residuals e_i = y_i - x_i'beta(tau²),
    #   tau²_new = tau² + [sum w_i² e_i² - sum w_i] / sum w_i²
    # (the score of the ML log-likelihood divided by its expected information, sum w_i² / 2).
    f = pr.fit(pr.inverse_weights(tau2))
    w = f.w
    return (_rowsum((w * f.resid) ** 2) - _rowsum(w)) / _rowsum(w**2)


def _reml_step(pr: Problem, tau2):
    # Fisher scoring for REML (Viechtbauer 2005, REML estimation; metafor's rma.uni, "REML"):
    # with P = W - W X (X'WX)^-1 X'W, W = diag(1/(v_i + tau²)),
    #   tau²_new = tau² + [y'PPy - tr(P)] / tr(PP),
    # y'PPy = sum (w_i e_i)² (P y = w * e; the traces by the identities of _wls).
    f = pr.fit(pr.inverse_weights(tau2))
    return (_rowsum((f.w * f.resid) ** 2) - f.tr_pd(pr.m)) / f.tr_pdpd(pr.m)


def _eb_step(pr: Problem, tau2):
    # Empirical Bayes (Morris 1983, JASA 78:47-55; Berkey et al. 1995, Stat Med 14:395-411),
    # iterated as metafor's rma.uni, method "EB":
    #   tau²_new = tau² + [k/(k - p) y'Py - k] / sum w_i,
    # i.e. the fixed point where the generalised Q, scaled by k/(k - p), equals k.
    f = pr.fit(pr.inverse_weights(tau2))
    return (f.rss * pr.k / (pr.k - pr.p) - pr.k) / _rowsum(f.w)


def _ll0check(pr: Problem, tau2, converged, restricted):
    """metafor's check: if tau² = 0 has a higher likelihood, use tau² = 0."""
    ll0 = loglik(pr, np.zeros_like(tau2))[restricted]
    ll = loglik(pr, tau2)[restricted]
    con = DEFAULT_CONTROL if pr.control is None else pr.control
    reset = converged & (ll0 - ll > DEFAULT_TOL) & (tau2 > con.threshold)
    return np.where(reset, 0.0, tau2)


def ml(pr: Problem) -> Tau2Fit:
    """Maximum likelihood by Fisher scoring; se ``sqrt(2 / sum(w²))``.

    Examples
    --------
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> pr = Problem.of(es.yi, es.vi)
    >>> fit = ml(pr)   # metafor 3.8 on dat.bcg (RR): rma(yi, vi, method="ML") -> tau² 0.28, SE 0.1443
    >>> round(float(fit.tau2[0]), 4), round(float(fit.se[0]), 4)
    (0.28, 0.1443)
    """
    tau2, it, ok, fb = _scoring(pr, _ml_step)
    tau2 = _ll0check(pr, tau2, ok, restricted=False)
    w = pr.inverse_weights(tau2)
    return _done(tau2, np.sqrt(2 / _rowsum(w**2)), it, ok, fb)


def reml(pr: Problem) -> Tau2Fit:
    """Restricted maximum likelihood by Fisher scoring; se ``sqrt(2 / tr(PP))``.

    Examples
    --------
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> pr = Problem.of(es.yi, es.vi)
    >>> fit = reml(pr)   # metafor 3.8 on dat.bcg (RR): rma(yi, vi) -> tau² 0.3132, SE 0.1664
    >>> round(float(fit.tau2[0]), 4), round(float(fit.se[0]), 4)
    (0.3132, 0.1664)
    """
    tau2, it, ok, fb = _scoring(pr, _reml_step)
    tau2 = _ll0check(pr, tau2, ok, restricted=True)
    f = pr.fit(pr.inverse_weights(tau2))
    return _done(tau2, np.sqrt(2 / f.tr_pdpd(pr.m)), it, ok, fb)


def eb(pr: Problem) -> Tau2Fit:
    """Empirical Bayes by metafor's fixed-point scoring.

    Examples
    --------
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> pr = Problem.of(es.yi, es.vi)
    >>> fit = eb(pr)   # metafor 3.8 on dat.bcg (RR): rma(yi, vi, method="EB") -> tau² 0.3181, SE 0.1737
    >>> round(float(fit.tau2[0]), 4), round(float(fit.se[0]), 4)
    (0.3181, 0.1737)
    """
    tau2, it, ok, fb = _scoring(pr, _eb_step)
    return _done(tau2, eb_pm_se(pr, tau2), it, ok, fb)


ESTIMATORS: dict[str, Callable[[Problem], Tau2Fit]] = {
    "FE": fe,
    "DL": dl,
    "HE": he,
    "HS": hs,
    "HSk": hsk,
    "SJ": sj,
    "ML": ml,
    "REML": reml,
    "EB": eb,
    "PM": pm,
}
"""Registry of tau² estimators keyed by metafor's abbreviations."""
