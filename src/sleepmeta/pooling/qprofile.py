"""Q-profile confidence intervals for tau² (Viechtbauer 2007).

The limits are the values of tau² at which the generalised Q statistic
equals the upper and lower ``alpha/2`` quantiles of chi² with ``k - p``
degrees of freedom, searched on ``[0, max(100, 10 tau²)]`` with Brent's
method and R's ``uniroot`` tolerance, as metafor's ``confint.rma.uni``
does; a limit that falls below 0 is reported as 0, and a CI that lies
wholly below 0 is the null set {0}. The intervals for tau, I² and H²
follow by transformation (I² and H² with the model's typical within-study
variance).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from sleepmeta.pooling.problem import Problem, generalised_q, subset_problem
from sleepmeta.pooling.zeroin import zeroin


def tau2_ci_batch(pr: Problem, tau2: np.ndarray, level: float = 0.95):
    """Q-profile limits of tau² for a batch.

    Returns ``(lower, upper, upper_capped)``; ``upper_capped`` marks an
    upper limit at the search bound (metafor prints it as ``>bound``).

    Examples
    --------
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> from sleepmeta.pooling.estimators import Problem, reml
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> pr = Problem.of(es.yi, es.vi)
    >>> lo, hi, _ = tau2_ci_batch(pr, reml(pr).tau2, 0.95)
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)   # metafor: confint(rma(yi, vi))
    (0.1197, 1.1115)
    """
    alpha = 1 - level
    kp = (pr.k - pr.p).astype(float)
    crit_u = stats.chi2.isf(alpha / 2, kp)
    crit_l = stats.chi2.ppf(alpha / 2, kp)
    hi = np.maximum(100.0, 10 * tau2)
    lo = np.zeros_like(tau2)
    q_lo = generalised_q(pr, lo, y=pr.yi)
    q_hi = generalised_q(pr, hi, y=pr.yi)
    upper = np.where(q_lo < crit_l, lo, hi)
    lower = np.where(q_hi > crit_u, hi, lo)
    capped = (q_lo >= crit_l) & (q_hi > crit_l)
    find_u = (q_lo >= crit_l) & (q_hi <= crit_l)
    find_l = (q_hi <= crit_u) & (q_lo >= crit_u)
    upper[find_u] = _root(pr, np.flatnonzero(find_u), crit_l, lo, hi, q_lo, q_hi)
    lower[find_l] = _root(pr, np.flatnonzero(find_l), crit_u, lo, hi, q_lo, q_hi)
    return lower, upper, capped


def _root(pr, idx, target, lo, hi, q_lo, q_hi):
    if idx.size == 0:
        return np.empty(0)
    sub = subset_problem(pr, idx)
    tgt = target[idx]

    def f(x, j):
        s = subset_problem(sub, j)
        return generalised_q(s, x, y=s.yi) - tgt[j]

    root, _, _ = zeroin(f, lo[idx], hi[idx], q_lo[idx] - tgt, q_hi[idx] - tgt, maxiter=1000)
    return root
