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
from scipy import special

from sleepmeta.pooling.kernels.batch import qprofile_members
from sleepmeta.pooling.problem import Problem


MAXITER = 1000  # uniroot's iteration limit in confint.rma.uni


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
    # chi² quantiles as scipy.stats.chi2 computes them: isf = chdtri, ppf = 2 gammaincinv(df/2, .)
    crit_u = special.chdtri(kp, alpha / 2)
    crit_l = 2 * special.gammaincinv(kp / 2, alpha / 2)
    return qprofile_members(pr.yi, pr.vi, pr.mask, pr.X, np.asarray(tau2, float), crit_l, crit_u,
                            MAXITER)
