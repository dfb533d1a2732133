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

MAXITER = 1000  # uniroot's iteration limit in confint.rma.uni


def tau2_ci_batch(yi, vi, mask, X, tau2: np.ndarray, level: float = 0.95):
    """Q-profile limits of tau² for a batch (``(B or 1, k)`` data, ``(B, k)`` mask).

    Returns ``(lower, upper, upper_capped)``; ``upper_capped`` marks an
    upper limit at the search bound (metafor prints it as ``>bound``).
    The quantiles are chi²'s (``scipy.special``, as ``scipy.stats.chi2``
    computes them): upper ``alpha/2`` for the lower limit, lower ``alpha/2``
    for the upper limit.
    """
    alpha = 1 - level
    mask = np.asarray(mask, bool)
    kp = (mask.sum(axis=1) - np.shape(X)[-1]).astype(float)
    crit_u = special.chdtri(kp, alpha / 2)
    crit_l = 2 * special.gammaincinv(kp / 2, alpha / 2)
    return qprofile_members(yi, vi, mask, X, np.asarray(tau2, float), crit_l, crit_u, MAXITER)
