"""Recover means, SDs and standard errors from what trials report.

* :func:`mean_sd_from_median` -- median with range and/or IQR to mean and SD
  (Luo et al. 2018 for the mean, Wan et al. 2014 for the SD).
* :func:`se_from_ci` -- SE from a confidence interval.
* :func:`se_from_p` -- SE from an estimate and its two-sided p-value.
* :func:`sd_from_se` -- SD from the SE of a mean.

All functions work element-wise on arrays.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri, stdtrit

from sleepmeta.errors import InputError

__all__ = ["mean_sd_from_median", "sd_from_se", "se_from_ci", "se_from_p"]


def _arr(name: str, value) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} must be finite, got {value!r}")
    return arr


def _ordered(pairs) -> None:
    for (lo_name, lo), (hi_name, hi) in pairs:
        if np.any(lo > hi):
            raise InputError(f"{lo_name} must be <= {hi_name}")


def mean_sd_from_median(median, n, *, q1=None, q3=None, minimum=None, maximum=None):
    """Estimate the sample mean and SD from the median and range and/or IQR.

    Three scenarios, chosen by what is given (``a`` = minimum, ``b`` =
    maximum, ``m`` = median, ``n`` = sample size):

    * S1 ``{a, m, b}``:
      mean = ``w (a + b)/2 + (1 - w) m`` with ``w = 4 / (4 + n^0.75)``;
      SD = ``(b - a) / xi``, ``xi = 2 Phi^-1((n - 0.375)/(n + 0.25))``.
    * S3 ``{q1, m, q3}``:
      mean = ``(0.7 + 0.39/n) (q1 + q3)/2 + (0.3 - 0.39/n) m``;
      SD = ``(q3 - q1) / eta``, ``eta = 2 Phi^-1((0.75 n - 0.125)/(n + 0.25))``.
    * S2 ``{a, q1, m, q3, b}``:
      mean = ``w1 (a + b)/2 + w2 (q1 + q3)/2 + (1 - w1 - w2) m`` with
      ``w1 = 2.2 / (2.2 + n^0.75)`` and ``w2 = 0.7 - 0.72 / n^0.55``;
      SD = ``((b - a)/xi + (q3 - q1)/eta) / 2``.

    Means: Luo D, Wan X, Liu J, Tong T (2018). Optimally estimating the
    sample mean from the sample size, median, mid-range, and/or mid-quartile
    range. Stat Methods Med Res 27(6):1785-1805 (eqs. 7, 11, 15).
    SDs: Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean and
    standard deviation from the sample size, median, range and/or
    interquartile range. BMC Med Res Methodol 14:135 (eqs. 7, 12, 16).

    Parameters
    ----------
    median, n : array_like
    q1, q3, minimum, maximum : array_like, optional
        Give ``minimum`` and ``maximum`` together, ``q1`` and ``q3`` together.

    Returns
    -------
    mean, sd : ndarray

    Examples
    --------
    A sample of n = 100 with median 5 and IQR 4 to 6 (symmetric, so the mean
    is the median; the SD tends to IQR / (2 * 0.6745) = 1.48 as n grows):

    >>> mean, sd = mean_sd_from_median(5.0, 100, q1=4.0, q3=6.0)
    >>> float(mean), round(float(sd), 1)
    (5.0, 1.5)
    """
    m = _arr("median", median)
    n = _arr("n", n)
    if np.any(n < 1):
        raise InputError(f"n must be >= 1, got {n!r}")
    has_range = minimum is not None or maximum is not None
    has_iqr = q1 is not None or q3 is not None
    if has_range and (minimum is None or maximum is None):
        raise InputError("give minimum and maximum together")
    if has_iqr and (q1 is None or q3 is None):
        raise InputError("give q1 and q3 together")
    if not (has_range or has_iqr):
        raise InputError("give minimum and maximum, or q1 and q3, or all four")
    xi = 2 * ndtri((n - 0.375) / (n + 0.25))
    eta = 2 * ndtri((0.75 * n - 0.125) / (n + 0.25))
    if has_range:
        a, b = _arr("minimum", minimum), _arr("maximum", maximum)
    if has_iqr:
        lo, hi = _arr("q1", q1), _arr("q3", q3)
    if has_range and has_iqr:
        _ordered([(("minimum", a), ("q1", lo)), (("q1", lo), ("median", m)),
                  (("median", m), ("q3", hi)), (("q3", hi), ("maximum", b))])
        w1 = 2.2 / (2.2 + n**0.75)
        w2 = 0.7 - 0.72 / n**0.55
        mean = w1 * (a + b) / 2 + w2 * (lo + hi) / 2 + (1 - w1 - w2) * m
        sd = ((b - a) / xi + (hi - lo) / eta) / 2
    elif has_range:
        _ordered([(("minimum", a), ("median", m)), (("median", m), ("maximum", b))])
        w = 4 / (4 + n**0.75)
        mean = w * (a + b) / 2 + (1 - w) * m
        sd = (b - a) / xi
    else:
        _ordered([(("q1", lo), ("median", m)), (("median", m), ("q3", hi))])
        mean = (0.7 + 0.39 / n) * (lo + hi) / 2 + (0.3 - 0.39 / n) * m
        sd = (hi - lo) / eta
    return mean, sd


def _critical(level: float, df) -> np.ndarray:
    if np.any((np.asarray(level) <= 0) | (np.asarray(level) >= 1)):
        raise InputError(f"level must be in (0, 1), got {level!r}")
    q = 0.5 + level / 2
    if df is None:
        return ndtri(q)
    df = _arr("df", df)
    if np.any(df <= 0):
        raise InputError(f"df must be > 0, got {df!r}")
    return stdtrit(df, q)


def se_from_ci(low, high, level: float = 0.95, log: bool = False, df=None):
    """Standard error from a symmetric confidence interval.

    ``SE = (high - low) / (2 z)`` with ``z = Phi^-1((1 + level)/2)``, or the
    t quantile with ``df`` degrees of freedom when ``df`` is given; for a
    ratio (``log=True``) the interval is taken on the log scale,
    ``SE = (log high - log low) / (2 z)``, the SE of the log ratio.
    Cochrane Handbook for Systematic Reviews of Interventions, version 6.4,
    section 6.3.1 (Higgins, Li & Deeks 2023).

    Examples
    --------
    >>> round(float(se_from_ci(0.2, 1.8)), 6) == round(1.6 / (2 * 1.959963984540054), 6)
    True
    """
    low, high = _arr("low", low), _arr("high", high)
    if log:
        if np.any(low <= 0) or np.any(high <= 0):
            raise InputError("with log=True the interval limits must be > 0")
        low, high = np.log(low), np.log(high)
    if np.any(low > high):
        raise InputError("low must be <= high")
    return (high - low) / (2 * _critical(level, df))


def se_from_p(estimate, p, df=None):
    """Standard error from an estimate and its two-sided p-value.

    ``|z| = Phi^-1(1 - p/2)`` (or the t quantile with ``df``), then
    ``SE = |estimate| / |z|``. Altman DG, Bland JM (2011). How to obtain the
    confidence interval from a P value. BMJ 343:d2090.

    Examples
    --------
    A p-value of 0.05 means |z| = 1.96:

    >>> round(float(se_from_p(0.392, 0.05)), 4)
    0.2
    """
    est, p = _arr("estimate", estimate), _arr("p", p)
    if np.any((p <= 0) | (p >= 1)):
        raise InputError(f"p must be in (0, 1), got {p!r}")
    if np.any(est == 0):
        raise InputError("estimate must be non-zero to recover a SE from p")
    crit = _critical(1 - p, df)
    return np.abs(est) / crit


def sd_from_se(se, n):
    """Standard deviation from the standard error of a mean: ``SD = SE * sqrt(n)``.

    Cochrane Handbook, version 6.4, section 6.5.2.2.

    Examples
    --------
    >>> float(sd_from_se(0.5, 16))
    2.0
    """
    se, n = _arr("se", se), _arr("n", n)
    if np.any(se < 0):
        raise InputError(f"se must be >= 0, got {se!r}")
    if np.any(n < 1):
        raise InputError(f"n must be >= 1, got {n!r}")
    return se * np.sqrt(n)
