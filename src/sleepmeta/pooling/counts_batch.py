"""Mantel-Haenszel and Peto pooling of B sets of 2x2 tables at once (the batch kernels).

The numbers match metafor's ``rma.mh`` and ``rma.peto`` with their defaults;
see :mod:`sleepmeta.pooling.counts` for the one-analysis entry points and the
references, and :mod:`sleepmeta.pooling.counts_heterogeneity` for Q, I², H²
and the Breslow-Day/Tarone tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmeta.distributions import chi2, norm
from sleepmeta.effects import binary
from sleepmeta.effects.intervals import wald_interval
from sleepmeta.errors import InputError, unknown_option
from sleepmeta.pooling.counts_heterogeneity import breslow_day, inverse_variance_q, peto_q
from sleepmeta.pooling.inputs import COUNT_MAX, check_level

__all__ = ["MH_MEASURES", "CountsBatch", "mantel_haenszel_batch", "peto_batch"]

MH_MEASURES = ("OR", "RR", "RD")


@dataclass(frozen=True, eq=False)
class CountsBatch:
    """Results of B analyses, one entry per row of the batch (NaN where not estimable).

    Examples
    --------
    >>> out = peto_batch([[4, 6]], [[123, 306]], [[11, 29]], [[139, 303]])
    >>> out.estimate.shape, out.method
    ((1,), 'PETO')
    """

    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    q: np.ndarray
    q_df: np.ndarray
    q_pvalue: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    k: np.ndarray
    measure: str
    method: str
    level: float
    cmh: np.ndarray | None = None
    cmh_pvalue: np.ndarray | None = None
    tarone: np.ndarray | None = None
    tarone_pvalue: np.ndarray | None = None
    breslow_day: np.ndarray | None = None
    breslow_day_pvalue: np.ndarray | None = None


# ----------------------------------------------------------------------------- batch input


def _batch_cells(events1, n1, events2, n2, mask):
    names = ("events1", "n1", "events2", "n2")
    arrays = []
    for name, x in zip(names, (events1, n1, events2, n2)):
        try:
            arrays.append(np.atleast_2d(np.asarray(x, dtype=float)))
        except (OverflowError, TypeError, ValueError) as exc:
            raise InputError(f"{name} must be numbers (counts), got {type(exc).__name__}: "
                             f"{exc}") from None
    shape = arrays[0].shape
    if arrays[0].ndim != 2 or any(x.shape != shape for x in arrays):
        shapes = [x.shape for x in arrays]
        raise InputError(f"events1, n1, events2, n2 must be (B, k) arrays of one shape, got {shapes}")
    mask = np.ones(shape, dtype=bool) if mask is None else np.atleast_2d(np.asarray(mask, dtype=bool))
    if mask.shape != shape:
        raise InputError(f"mask must have shape {shape}, got {mask.shape}")
    for name, x in zip(names, arrays):
        bad = mask & ~np.isfinite(x)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise InputError(f"batch row {row}, study {col}: {name} must be finite, got {x[row, col]}")
    e1, m1, e2, m2 = (np.where(mask, x, 0.0) for x in arrays)
    for ev, n, en, nn in ((e1, m1, "events1", "n1"), (e2, m2, "events2", "n2")):
        big = mask & (n > COUNT_MAX)
        if big.any():
            row, col = np.argwhere(big)[0]
            raise InputError(f"batch row {row}, study {col}: {nn} must be <= {COUNT_MAX:g} "
                             f"(counts beyond it lose the precision of the table's "
                             f"variances), got {nn}={n[row, col]:g}")
        bad = mask & ((n < 1) | (ev < 0) | (ev > n))
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise InputError(
                f"batch row {row}, study {col}: need {nn} >= 1 and 0 <= {en} <= {nn}, "
                f"got {en}={ev[row, col]:g}, {nn}={n[row, col]:g}"
            )
    a, b, c, d = binary.cells(e1, m1, e2, m2)
    return a, b, c, d, mask


def _wald(beta, se, level):
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    return (stat, 2 * norm.sf(np.abs(stat)), *wald_interval(beta, se, level))


def _check_level(level: float) -> None:
    check_level(level)


# ----------------------------------------------------------------------------- Mantel-Haenszel


def _mh_or(a, b, c, d, n, mask):
    """Log MH odds ratio with the Robins-Breslow-Greenland variance."""
    r_i, s_i = a * d / n, b * c / n
    p_i, q_i = (a + d) / n, (b + c) / n
    r, s = r_i.sum(axis=1), s_i.sum(axis=1)
    ok = (r > 0) & (s > 0)
    r_, s_ = np.where(ok, r, 1.0), np.where(ok, s, 1.0)
    var = 0.5 * (
        (p_i * r_i).sum(axis=1) / r_**2
        + (p_i * s_i + q_i * r_i).sum(axis=1) / (r_ * s_)
        + (q_i * s_i).sum(axis=1) / s_**2
    )
    return np.where(ok, np.log(r_ / s_), np.nan), np.where(ok, np.sqrt(var), np.nan)


def _mh_rr(a, b, c, d, n, mask):
    """Log MH risk ratio with the Greenland-Robins variance."""
    n1, n2 = a + b, c + d
    r, s = (a * n2 / n).sum(axis=1), (c * n1 / n).sum(axis=1)
    ok = (a.sum(axis=1) > 0) & (c.sum(axis=1) > 0)
    r_, s_ = np.where(ok, r, 1.0), np.where(ok, s, 1.0)
    var = (n1 * n2 * (a + c) / n**2 - a * c / n).sum(axis=1) / (r_ * s_)
    return np.where(ok, np.log(r_ / s_), np.nan), np.where(ok, np.sqrt(var), np.nan)


def _mh_rd(a, b, c, d, n, mask):
    """MH risk difference with the Sato-Greenland-Robins variance."""
    n1, n2 = a + b, c + d
    w = (n1 * n2 / n).sum(axis=1)
    beta = (a * n2 / n - c * n1 / n).sum(axis=1) / w
    part = (c * (n1 / n) ** 2 - a * (n2 / n) ** 2 + (n1 / n) * (n2 / n) * (n2 - n1) / 2).sum(axis=1)
    rest = (a * (n2 - c) / n + c * (n1 - a) / n).sum(axis=1) / 2
    return beta, np.sqrt((beta * part + rest) / w**2)


_MH = {"OR": _mh_or, "RR": _mh_rr, "RD": _mh_rd}


def _cmh(a, b, c, d, n, mask, correct: bool = True):
    """Cochran-Mantel-Haenszel test (Mantel & Haenszel 1959), as metafor's ``MH``.

    ``(|sum(a - n1 xt / N)| - 0.5)² / sum(n1 n2 xt yt / (N² (N - 1)))``; the
    0.5 continuity correction only with ``correct`` (metafor's ``correct=``).
    """
    n1, n2, xt, yt = a + b, c + d, a + c, b + d
    ok = (xt.sum(axis=1) > 0) & (yt.sum(axis=1) > 0)
    num = (np.abs((a - n1 * xt / n).sum(axis=1)) - (0.5 if correct else 0.0)) ** 2
    den = ((n1 / n) * (n2 / n) * xt * yt / np.where(mask, n - 1, 1.0)).sum(axis=1)
    cmh = np.where(ok, num / np.where(ok, den, 1.0), np.nan)
    return cmh, np.where(ok, chi2.sf(np.where(ok, cmh, 0.0), 1), np.nan)


def mantel_haenszel_batch(events1, n1, events2, n2, mask=None, measure="OR", level=0.95,
                          correct: bool = True) -> CountsBatch:
    """Mantel-Haenszel common-effect analyses of B sets of 2x2 tables at once.

    Parameters
    ----------
    events1, n1, events2, n2 : array_like, shape (B, k)
        Events and group sizes (group 1 = treatment); a 1-D input is a batch of one.
    mask : array_like of bool, shape (B, k), optional
        Which studies take part in each analysis (default: all).
    measure : {"OR", "RR", "RD"}
    level : float
    correct : bool
        Continuity correction of the Cochran-Mantel-Haenszel test (OR only;
        metafor's ``correct=``, default True).

    Returns
    -------
    CountsBatch
        Arrays of length B; NaN where the estimate is not defined (OR: no
        table with ``a d > 0`` or none with ``b c > 0``; RR: no events in
        one group).

    Examples
    --------
    >>> out = mantel_haenszel_batch([[4, 6], [4, 6]], [[123, 306], [123, 306]],
    ...                             [[11, 29], [11, 29]], [[139, 303], [139, 303]],
    ...                             mask=[[True, True], [True, False]], measure="RR")
    >>> out.k.tolist()
    [2, 1]
    """
    if measure not in MH_MEASURES:
        raise unknown_option("measure", measure, MH_MEASURES)
    if not isinstance(correct, (bool, np.bool_)):
        raise InputError(f"correct must be True or False, got {correct!r}")
    _check_level(level)
    a, b, c, d, mask = _batch_cells(events1, n1, events2, n2, mask)
    n = np.where(mask, a + b + c + d, 1.0)
    beta, se = _MH[measure](a, b, c, d, n, mask)
    stat, pval, lo, hi = _wald(beta, se, level)
    q, q_df, q_p, i2, h2 = inverse_variance_q(measure, a, b, c, d, mask, beta)
    extra = {}
    if measure == "OR":
        cmh, cmh_p = _cmh(a, b, c, d, n, mask, correct)
        bd, bd_p, ta, ta_p = breslow_day(a, b, c, d, n, mask, beta)
        extra = {"cmh": cmh, "cmh_pvalue": cmh_p, "tarone": ta, "tarone_pvalue": ta_p,
                 "breslow_day": bd, "breslow_day_pvalue": bd_p}
    return CountsBatch(beta, se, stat, pval, lo, hi, q, q_df, q_p, i2, h2, mask.sum(axis=1),
                       measure, "MH", level, **extra)


# ----------------------------------------------------------------------------- Peto


def peto_batch(events1, n1, events2, n2, mask=None, level=0.95) -> CountsBatch:
    """Peto's one-step log odds ratio for B sets of 2x2 tables at once.

    ``beta = sum(O - E) / sum(V)`` and ``se = 1/sqrt(sum V)`` with ``O = a``,
    ``E = (a + c) n1 / N`` and ``V = (a + c)(b + d) n1 n2 / (N^2 (N - 1))``
    on the raw counts (Yusuf et al. 1985). NaN where ``sum V = 0``.

    Examples
    --------
    >>> out = peto_batch([[4, 6]], [[123, 306]], [[11, 29]], [[139, 303]])
    >>> int(out.k[0]), out.method
    (2, 'PETO')
    """
    _check_level(level)
    a, b, c, d, mask = _batch_cells(events1, n1, events2, n2, mask)
    n = np.where(mask, a + b + c + d, 2.0)
    n1_, n2_ = a + b, c + d
    expected = (a + c) * n1_ / n
    var = np.where(mask, (a + c) * (b + d) * (n1_ / n) * (n2_ / n) / (n - 1), 0.0)
    sum_v = var.sum(axis=1)
    ok = sum_v > 0
    beta = np.where(ok, np.where(mask, a - expected, 0.0).sum(axis=1) / np.where(ok, sum_v, 1.0), np.nan)
    se = np.where(ok, 1 / np.sqrt(np.where(ok, sum_v, 1.0)), np.nan)
    stat, pval, lo, hi = _wald(beta, se, level)
    k_yi = (mask & ~((a == 0) & (c == 0) | (b == 0) & (d == 0))).sum(axis=1)
    q, q_df, q_p, i2, h2 = peto_q(a, expected, var, mask, k_yi)
    q, q_p, i2, h2 = (np.where(ok, x, np.nan) for x in (q, q_p, i2, h2))
    return CountsBatch(beta, se, stat, pval, lo, hi, q, q_df, q_p, i2, h2, mask.sum(axis=1),
                       "OR", "PETO", level)


