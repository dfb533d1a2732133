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
    """Q-profile limits of tau² for a batch.

    ``yi``, ``vi``, ``mask`` are ``(B, k)`` (or ``(1, k)`` shared) and ``X``
    is ``(B or 1, k, p)``, as :func:`.engine.fit_batch` takes them; ``tau2``
    the ``(B,)`` estimates (they set the search bound ``max(100, 10 tau²)``).
    Returns ``(lower, upper, upper_capped)``; ``upper_capped`` marks an
    upper limit at the search bound (metafor prints it as ``>bound``).

    Examples
    --------
    >>> import numpy as np
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> yi, vi = np.asarray(es.yi)[None], np.asarray(es.vi)[None]
    >>> lo, hi, _ = tau2_ci_batch(yi, vi, np.ones(yi.shape, bool), np.ones((1, 13, 1)),
    ...                           np.array([0.3132]), 0.95)
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)   # metafor: confint(rma(yi, vi))
    (0.1197, 1.1115)
    """
    alpha = 1 - level
    mask = np.asarray(mask, bool)
    kp = (mask.sum(axis=1) - np.shape(X)[-1]).astype(float)
    # chi² quantiles as scipy.stats.chi2 computes them: isf = chdtri, ppf = 2 gammaincinv(df/2, .)
    crit_u = special.chdtri(kp, alpha / 2)
    crit_l = 2 * special.gammaincinv(kp / 2, alpha / 2)
    return qprofile_members(yi, vi, mask, X, np.asarray(tau2, float), crit_l, crit_u, MAXITER)
