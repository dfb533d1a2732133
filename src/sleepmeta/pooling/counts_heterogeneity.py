"""Heterogeneity statistics for the Mantel-Haenszel and Peto analyses (batched).

Both follow metafor's ``rma.mh`` and ``rma.peto``: the study effects that
enter Q are ``escalc``'s with ``add=1/2, to="only0", drop00=TRUE`` (studies
with no events, or only events, in both groups leave Q; the pooled estimate
still uses their raw counts). I² and H² are derived from Q as in Higgins &
Thompson (2002, Stat Med 21:1539-1558): ``I2 = max(0, 100 (Q - df)/Q)``,
``H2 = Q/df``; with fewer than two studies in Q, ``Q = 0, p = 1, I2 = 0,
H2 = 1``.

>>> import numpy as np
>>> a = np.array([[0.0, 3.0]]); b = np.array([[10.0, 7.0]])
>>> c = np.array([[0.0, 1.0]]); d = np.array([[10.0, 9.0]])
>>> double_zero(a, b, c, d).tolist()
[[True, False]]
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

from sleepmeta.effects.binary import MEASURES as TABLE_MEASURES
from sleepmeta.effects.binary import continuity_correct
from sleepmeta.pooling.heterogeneity import i2_h2_from_q


def double_zero(a, b, c, d) -> np.ndarray:
    """Tables with no events in both groups, or only events in both groups.

    Examples
    --------
    >>> import numpy as np
    >>> double_zero(np.array([0.0, 1.0]), np.array([5.0, 4.0]), np.array([0.0, 2.0]),
    ...             np.array([5.0, 3.0])).tolist()
    [True, False]
    """
    return ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))


def table_effects(measure: str, a, b, c, d, mask):
    """``escalc`` effects for Q: corrected (1/2, only0), double-zero tables left out.

    Returns ``yi, vi`` (0 where unused) and the boolean array ``used``.

    Examples
    --------
    >>> import numpy as np
    >>> yi, vi, used = table_effects("OR", *(np.array([[x]]) for x in (4.0, 6.0, 2.0, 8.0)),
    ...                              np.ones((1, 1), bool))
    >>> bool(np.isclose(yi[0, 0], np.log(4 * 8 / (6 * 2)))), used.tolist()   # log(ad / bc)
    (True, [[True]])
    """
    used = mask & ~double_zero(a, b, c, d)
    spec = TABLE_MEASURES[measure]
    # unused entries get a harmless 1-1-1-1 table so no 0/0 is ever computed
    cells = [np.where(used, x, 1.0) for x in (a, b, c, d)]
    ca, cb, cc, cd, _ = continuity_correct(*cells, spec.add)
    yi, vi = spec.compute(a=ca, b=cb, c=cc, d=cd)
    return np.where(used, yi, 0.0), np.where(used, vi, 1.0), used


def summarise_q(q, k_yi, estimable=None):
    """p-value, I² and H² from Q with ``k_yi - 1`` degrees of freedom (batched).

    Examples
    --------
    >>> import numpy as np
    >>> q, df, p, i2, h2 = summarise_q(np.array([20.0]), np.array([11]))
    >>> int(df[0]), float(i2[0]), float(h2[0])   # I² = 100 (20 - 10) / 20, H² = 20 / 10
    (10, 50.0, 2.0)
    """
    q = np.asarray(q, dtype=float)
    k_yi = np.asarray(k_yi)
    df = np.maximum(k_yi - 1, 0)
    several = k_yi > 1
    safe_df = np.where(several, df, 1)
    i2, h2 = i2_h2_from_q(q, safe_df)
    q_out = np.where(several, q, 0.0)
    pval = np.where(several, chi2.sf(q, safe_df), 1.0)
    i2 = np.where(several, i2, 0.0)
    h2 = np.where(several, h2, 1.0)
    if estimable is not None:
        nan = ~estimable
        q_out, pval, i2, h2 = (np.where(nan, np.nan, x) for x in (q_out, pval, i2, h2))
    return q_out, df, pval, i2, h2


def inverse_variance_q(measure: str, a, b, c, d, mask, beta):
    """Cochran's Q of the corrected study effects around the pooled ``beta`` (one per row).

    Examples
    --------
    >>> import numpy as np
    >>> a, b, c, d = (np.array([[x, x]]) for x in (4.0, 6.0, 2.0, 8.0))
    >>> q, df, p, i2, h2 = inverse_variance_q("OR", a, b, c, d, np.ones((1, 2), bool),
    ...                                       np.log(np.array([32 / 12])))
    >>> float(np.round(q[0], 12)), int(df[0])   # two identical tables around their own OR
    (0.0, 1)
    """
    yi, vi, used = table_effects(measure, a, b, c, d, mask)
    k_yi = used.sum(axis=1)
    resid = np.where(used, (yi - beta[:, None]) ** 2 / vi, 0.0)
    q = np.maximum(0.0, resid.sum(axis=1))
    return summarise_q(q, k_yi, estimable=np.isfinite(beta))


def peto_q(a, expected, var, mask, k_yi):
    """Peto's heterogeneity statistic ``sum (O-E)^2/V - (sum (O-E))^2 / sum V`` (Yusuf et al. 1985).

    Tables with ``V = 0`` are left out; with fewer than two tables of
    positive variance, ``p = 1, I2 = 0, H2 = 1`` (``Q`` itself is kept, as in
    metafor).

    Examples
    --------
    >>> import numpy as np
    >>> q, df, p, i2, h2 = peto_q(np.array([[3.0, 3.0]]), np.array([[2.0, 2.0]]),
    ...                           np.array([[1.0, 1.0]]), np.ones((1, 2), bool), np.array([2]))
    >>> float(q[0]), int(df[0])   # equal (O - E)/V in both tables: no heterogeneity
    (0.0, 1)
    """
    pos = mask & (var > 0)
    oe = np.where(mask, a - expected, 0.0)
    first = np.where(pos, oe**2 / np.where(pos, var, 1.0), 0.0).sum(axis=1)
    sum_v = np.where(pos, var, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.maximum(0.0, first - oe.sum(axis=1) ** 2 / sum_v)
    k_pos = pos.sum(axis=1)
    _, df, pval, i2, h2 = summarise_q(q, np.where(k_pos > 1, k_yi, 1))
    df = np.maximum(k_yi - 1, 0)
    return q, df, pval, i2, h2


def breslow_day(a, b, c, d, n, mask, beta):
    """Breslow-Day test and Tarone's (1985) corrected version, for the MH odds ratio.

    The fitted count ``A`` of each table solves the quadratic for a common
    odds ratio ``exp(beta)`` (Breslow & Day 1980, eq. 4.32); tables with
    ``A > 0`` and both outcomes present contribute ``(a - A)² / Var(A)``,
    ``Var(A) = (1/A + 1/B + 1/C + 1/D)^-1`` over the fitted table. Tarone
    (1985, Biometrika 72:91-95) subtracts ``(sum(a - A))² / sum Var(A)``.
    Both are chi² with df = number of contributing tables - 1 (p is NaN
    with fewer than 2), as metafor's ``rma.mh`` (``BD``, ``TA``).

    Returns ``(bd, bd_pvalue, tarone, tarone_pvalue)``.

    Examples
    --------
    >>> import numpy as np
    >>> a, b = np.array([[2.0, 4.0]]), np.array([[8.0, 6.0]])
    >>> c, d = np.array([[4.0, 2.0]]), np.array([[6.0, 8.0]])
    >>> bd, bd_p, ta, ta_p = breslow_day(a, b, c, d, a + b + c + d, np.ones((1, 2), bool),
    ...                                  np.array([0.0]))
    >>> round(float(bd[0]), 4) == round(float(ta[0]), 4)   # sum(a - A) = 0 at OR = 1
    True
    """
    n1, n2, xt, yt = a + b, c + d, a + c, b + d
    psi = np.exp(beta)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        lin = psi * (n1 + xt) + (n2 - xt)
        root = np.sqrt(lin**2 - 4 * n1 * xt * psi * (psi - 1))
        fitted = np.where(psi == 1, n1 * xt / n, (lin - root) / (2 * (psi - 1)))
        pos = mask & (fitted > 0) & (xt > 0) & (yt > 0)
        f11 = np.where(pos, fitted, 1.0)
        inv_var = (
            1 / f11
            + 1 / np.where(pos, n1 - f11, 1.0)
            + 1 / np.where(pos, xt - f11, 1.0)
            + 1 / np.where(pos, f11 - n1 - xt + n, 1.0)
        )
        dev = np.where(pos, a - f11, 0.0)
        bd = np.maximum(0.0, (dev**2 * inv_var).sum(axis=1))
        ta = np.maximum(0.0, bd - dev.sum(axis=1) ** 2 / np.where(pos, 1 / inv_var, 0.0).sum(axis=1))
    k_pos = pos.sum(axis=1)
    est = np.isfinite(beta)
    df = np.maximum(k_pos - 1, 1)
    out = []
    for stat in (bd, ta):
        stat = np.where(est, stat, np.nan)
        pval = np.where(est & (k_pos > 1), chi2.sf(np.where(est, stat, 0.0), df), np.nan)
        out += [stat, pval]
    return tuple(out)
