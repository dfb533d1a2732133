"""The Paule-Mandel estimator of tau² (Paule & Mandel 1982), as metafor 3.8's ``rma.uni``.

tau² is the root of ``Q(tau²) = k - p`` (the generalised Q statistic equals its
degrees of freedom) on ``[0, max(100, 10 mad(yi)²)]``, found with Brent's
method as R's ``uniroot`` runs it (:mod:`.zeroin`); tau² = 0 when
``Q(0) < k - p``. Its standard error is that of the EB estimator.
"""

from __future__ import annotations

import numpy as np

from sleepmeta.pooling.problem import Problem, eb_pm_se, generalised_q, subset_problem, tau2_fit
from sleepmeta.pooling.registry import DEFAULT_CONTROL
from sleepmeta.pooling.zeroin import zeroin

__all__ = ["pm", "tau2_search_max"]

TAU2_MAX = 100.0  # metafor's upper bound for the PM search (made adaptive below)


def _mad2(pr: Problem) -> np.ndarray:
    """R's ``mad(yi)^2`` per analysis (median absolute deviation, constant 1.4826)."""
    y = np.where(pr.mask, pr.yi, np.nan)
    med = np.nanmedian(y, axis=1, keepdims=True)
    return (1.4826 * np.nanmedian(np.abs(y - med), axis=1)) ** 2


def tau2_search_max(pr: Problem) -> np.ndarray:
    """metafor's upper bound of the PM search, ``max(100, 10 mad(yi)²)``.

    Examples
    --------
    >>> float(tau2_search_max(Problem.of([0.1, 0.2, 0.3], [0.01, 0.01, 0.01]))[0])   # max(100, .)
    100.0
    """
    return np.maximum(TAU2_MAX, 10 * _mad2(pr))


def pm(pr: Problem) -> Tau2Fit:
    """Paule–Mandel: root of ``Q(tau²) = k - p`` on ``[0, max(100, 10 mad²)]``.

    Examples
    --------
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> pr = Problem.of(es.yi, es.vi)
    >>> fit = pm(pr)   # metafor 3.8 on dat.bcg (RR): rma(yi, vi, method="PM") -> tau² 0.3181, SE 0.1737
    >>> round(float(fit.tau2[0]), 4), round(float(fit.se[0]), 4)
    (0.3181, 0.1737)
    """
    n = pr.k.shape[0]
    target = (pr.k - pr.p).astype(float)
    upper = tau2_search_max(pr)
    q0 = generalised_q(pr, np.zeros(n)) - target
    qmax = generalised_q(pr, upper) - target
    tau2 = np.zeros(n)
    iters = np.zeros(n, int)
    converged = qmax <= 0  # otherwise the root lies above the search bound
    search = np.flatnonzero((q0 >= 0) & converged)
    if search.size:
        sub = subset_problem(pr, search)

        def f(x, idx):
            return generalised_q(subset_problem(sub, idx), x) - target[search][idx]

        con = DEFAULT_CONTROL if pr.control is None else pr.control
        root, it, ok = zeroin(f, np.zeros(search.size), upper[search], q0[search], qmax[search],
                              maxiter=con.maxiter)
        tau2[search], iters[search], converged[search] = root, it, ok
    tau2 = np.maximum(0, tau2)
    return tau2_fit(tau2, eb_pm_se(pr, tau2), iters, converged)
