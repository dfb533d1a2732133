"""Pooling 2x2 tables directly: Mantel-Haenszel and Peto (common-effect models).

The numbers match metafor's ``rma.mh`` and ``rma.peto`` with their defaults:
raw counts for the pooled estimate (no continuity correction, studies with
no events in both groups kept), ``escalc`` effects with a 1/2 correction for
zero cells and double-zero studies left out for Q (see
:mod:`sleepmeta.pooling._counts_heterogeneity`).

Every routine runs on a leading batch axis: :func:`mantel_haenszel_batch` and
:func:`peto_batch` take ``(B, k)`` arrays and a boolean mask;
:func:`mantel_haenszel` and :func:`peto` are batches of one.

References
----------
Mantel N, Haenszel W (1959). J Natl Cancer Inst 22:719-748.
Robins J, Breslow N, Greenland S (1986). Biometrics 42:311-323 (variance of the log MH OR).
Greenland S, Robins JM (1985). Biometrics 41:55-68 (log MH RR).
Sato T, Greenland S, Robins JM (1989). Biometrics 45:1323-1324 (MH RD).
Breslow NE, Day NE (1980); Tarone RE (1985). Biometrika 72:91-95.
Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Prog Cardiovasc Dis 27:335-371.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.special import chdtrc, ndtr, ndtri

from sleepmeta.effects import binary
from sleepmeta.effects._columns import (
    as_frame,
    check_finite,
    handle_missing,
    resolve_columns,
    resolve_labels,
)
from sleepmeta.errors import InputError, ModelError, unknown_option
from sleepmeta.pooling._counts_heterogeneity import inverse_variance_q, peto_q, tarone

__all__ = [
    "CountsBatch",
    "CountsResult",
    "mantel_haenszel",
    "mantel_haenszel_batch",
    "peto",
    "peto_batch",
]

MH_MEASURES = ("OR", "RR", "RD")


@dataclass(frozen=True, eq=False)
class CountsBatch:
    """Results of B analyses, one entry per row of the batch (NaN where not estimable)."""

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


@dataclass(frozen=True)
class CountsResult:
    """A Mantel-Haenszel or Peto meta-analysis of 2x2 tables.

    ``estimate, se, statistic (z), pvalue, ci_low, ci_high`` are on the log
    scale for OR and RR (and Peto's OR), on the raw scale for RD.
    ``estimate_exp, ci_low_exp, ci_high_exp`` are the back-transformed
    ratios; for RD, an additive measure, they repeat the raw values (so they
    are never None or NaN). ``i2`` is a percentage (0-100), as in metafor.
    For the MH odds ratio, ``cmh``/``cmh_pvalue`` hold the Cochran-Mantel-
    Haenszel test (with continuity correction) and ``tarone``/
    ``tarone_pvalue`` Tarone's test for heterogeneity (df = the number of
    informative tables - 1); they are None for other measures. ``q_df`` is
    the number of studies entering Q minus 1 (double-zero studies leave Q).
    """

    estimate: float
    se: float
    statistic: float
    pvalue: float
    ci_low: float
    ci_high: float
    estimate_exp: float
    ci_low_exp: float
    ci_high_exp: float
    q: float
    q_df: int
    q_pvalue: float
    i2: float
    h2: float
    k: int
    measure: str
    method: str
    level: float = 0.95
    cmh: float | None = None
    cmh_pvalue: float | None = None
    tarone: float | None = None
    tarone_pvalue: float | None = None
    labels: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain JSON-safe values (NaN becomes None)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = None
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row with every scalar field."""
        row = {k: v for k, v in asdict(self).items() if k != "labels"}
        return pd.DataFrame([row])

    def summary(self) -> str:
        """A text summary a person can read."""
        name = {"MH": "Mantel-Haenszel", "PETO": "Peto"}[self.method]
        scale = "log " if self.measure in ("OR", "RR") else ""
        pct = round(100 * self.level)
        lines = [
            f"Common-effect model, {name} method, measure {self.measure} (k = {self.k})",
            f"  {scale}estimate {self.estimate:.4f}  se {self.se:.4f}  z {self.statistic:.4f}  "
            f"p {self.pvalue:.4g}  {pct}% CI [{self.ci_low:.4f}, {self.ci_high:.4f}]",
        ]
        if self.measure != "RD":
            lines.append(
                f"  {self.measure} {self.estimate_exp:.4f}  {pct}% CI "
                f"[{self.ci_low_exp:.4f}, {self.ci_high_exp:.4f}]"
            )
        lines.append(
            f"  Heterogeneity: Q({self.q_df}) = {self.q:.4f}, p = {self.q_pvalue:.4g}, "
            f"I2 = {self.i2:.2f}%, H2 = {self.h2:.4f}"
        )
        if self.cmh is not None:
            lines.append(
                f"  Cochran-Mantel-Haenszel test: CMH = {self.cmh:.4f}, df = 1, "
                f"p = {self.cmh_pvalue:.4g}"
            )
        if self.tarone is not None and math.isfinite(self.tarone):
            lines.append(
                f"  Tarone's test for heterogeneity: X2 = {self.tarone:.4f}, "
                f"p = {self.tarone_pvalue:.4g}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# ----------------------------------------------------------------------------- batch input


def _batch_cells(events1, n1, events2, n2, mask):
    arrays = [np.atleast_2d(np.asarray(x, dtype=float)) for x in (events1, n1, events2, n2)]
    shape = arrays[0].shape
    if arrays[0].ndim != 2 or any(x.shape != shape for x in arrays):
        shapes = [x.shape for x in arrays]
        raise InputError(f"events1, n1, events2, n2 must be (B, k) arrays of one shape, got {shapes}")
    mask = np.ones(shape, dtype=bool) if mask is None else np.atleast_2d(np.asarray(mask, dtype=bool))
    if mask.shape != shape:
        raise InputError(f"mask must have shape {shape}, got {mask.shape}")
    names = ("events1", "n1", "events2", "n2")
    for name, x in zip(names, arrays):
        bad = mask & ~np.isfinite(x)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise InputError(f"batch row {row}, study {col}: {name} must be finite, got {x[row, col]}")
    e1, m1, e2, m2 = (np.where(mask, x, 0.0) for x in arrays)
    for ev, n, en, nn in ((e1, m1, "events1", "n1"), (e2, m2, "events2", "n2")):
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
    z = ndtri(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    return stat, 2 * ndtr(-np.abs(stat)), beta - z * se, beta + z * se


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1), got {level!r}")


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


def _cmh(a, b, c, d, n, mask):
    """Cochran-Mantel-Haenszel test with continuity correction (Mantel & Haenszel 1959)."""
    n1, n2, xt, yt = a + b, c + d, a + c, b + d
    ok = (xt.sum(axis=1) > 0) & (yt.sum(axis=1) > 0)
    num = (np.abs((a - n1 * xt / n).sum(axis=1)) - 0.5) ** 2
    den = ((n1 / n) * (n2 / n) * xt * yt / np.where(mask, n - 1, 1.0)).sum(axis=1)
    cmh = np.where(ok, num / np.where(ok, den, 1.0), np.nan)
    return cmh, np.where(ok, chdtrc(1, np.where(ok, cmh, 0.0)), np.nan)


def mantel_haenszel_batch(events1, n1, events2, n2, mask=None, measure="OR", level=0.95) -> CountsBatch:
    """Mantel-Haenszel common-effect analyses of B sets of 2x2 tables at once.

    Parameters
    ----------
    events1, n1, events2, n2 : array_like, shape (B, k)
        Events and group sizes (group 1 = treatment); a 1-D input is a batch of one.
    mask : array_like of bool, shape (B, k), optional
        Which studies take part in each analysis (default: all).
    measure : {"OR", "RR", "RD"}
    level : float

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
    _check_level(level)
    a, b, c, d, mask = _batch_cells(events1, n1, events2, n2, mask)
    n = np.where(mask, a + b + c + d, 1.0)
    beta, se = _MH[measure](a, b, c, d, n, mask)
    stat, pval, lo, hi = _wald(beta, se, level)
    q, q_df, q_p, i2, h2 = inverse_variance_q(measure, a, b, c, d, mask, beta)
    extra = {}
    if measure == "OR":
        cmh, cmh_p = _cmh(a, b, c, d, n, mask)
        ta, ta_p = tarone(a, b, c, d, n, mask, beta)
        extra = {"cmh": cmh, "cmh_pvalue": cmh_p, "tarone": ta, "tarone_pvalue": ta_p}
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


# ----------------------------------------------------------------------------- one analysis


def _single_inputs(events1, n1, events2, n2, data, labels):
    frame = as_frame(data)
    cols = {"events1": events1, "n1": n1, "events2": events2, "n2": n2}
    arrays = resolve_columns("counts", binary.COLUMNS, cols, frame)
    study_labels = resolve_labels(labels, frame, len(arrays["n1"]))
    arrays, study_labels, _ = handle_missing(arrays, study_labels, "raise")
    check_finite(arrays, study_labels)
    binary.FAMILY.validate(arrays, study_labels, "counts")
    return arrays, study_labels


def _to_result(batch: CountsBatch, labels: list[str]) -> CountsResult:
    def scalar(x):
        return None if x is None else float(x[0])

    est, lo, hi = scalar(batch.estimate), scalar(batch.ci_low), scalar(batch.ci_high)
    se = scalar(batch.se)
    if not (math.isfinite(est) and math.isfinite(se) and se > 0):
        raise ModelError(
            f"the {batch.method} {batch.measure} is not estimable from these tables "
            "(an outcome never occurs in the informative tables of one group or of all)"
        )
    back = (lambda v: v) if batch.measure == "RD" else math.exp
    return CountsResult(
        estimate=est, se=se, statistic=scalar(batch.statistic),
        pvalue=scalar(batch.pvalue), ci_low=lo, ci_high=hi,
        estimate_exp=back(est), ci_low_exp=back(lo), ci_high_exp=back(hi),
        q=scalar(batch.q), q_df=int(batch.q_df[0]), q_pvalue=scalar(batch.q_pvalue),
        i2=scalar(batch.i2), h2=scalar(batch.h2), k=int(batch.k[0]),
        measure=batch.measure, method=batch.method, level=batch.level,
        cmh=scalar(batch.cmh), cmh_pvalue=scalar(batch.cmh_pvalue),
        tarone=scalar(batch.tarone), tarone_pvalue=scalar(batch.tarone_pvalue),
        labels=labels,
    )


def mantel_haenszel(events1, n1, events2, n2, *, measure="OR", data=None, labels=None,
                    level=0.95) -> CountsResult:
    """Mantel-Haenszel common-effect meta-analysis of 2x2 tables (metafor's ``rma.mh``).

    OR: ``sum(a d/N) / sum(b c/N)`` with the Robins-Breslow-Greenland (1986)
    variance; RR: ``sum(a n2/N) / sum(c n1/N)`` with the Greenland-Robins
    (1985) variance; RD: ``sum((a n2 - c n1)/N) / sum(n1 n2/N)`` with the
    Sato-Greenland-Robins (1989) variance. For OR, also the Cochran-Mantel-
    Haenszel test and Tarone's test. Q, I² and H² as described in
    :mod:`sleepmeta.pooling._counts_heterogeneity`.

    Parameters
    ----------
    events1, n1, events2, n2 : array_like or str
        Events and group sizes (group 1 = treatment), or column names of ``data``.
    measure : {"OR", "RR", "RD"}
    data : DataFrame, optional
    labels : str or sequence, optional
    level : float

    Examples
    --------
    >>> res = mantel_haenszel([4, 6], [123, 306], [11, 29], [139, 303], measure="RR")
    >>> res.k, res.method, res.estimate < 0
    (2, 'MH', True)
    """
    if measure not in MH_MEASURES:
        raise unknown_option("measure", measure, MH_MEASURES)
    arrays, study_labels = _single_inputs(events1, n1, events2, n2, data, labels)
    batch = mantel_haenszel_batch(arrays["events1"], arrays["n1"], arrays["events2"], arrays["n2"],
                                  measure=measure, level=level)
    return _to_result(batch, study_labels)


def peto(events1, n1, events2, n2, *, data=None, labels=None, level=0.95) -> CountsResult:
    """Peto's one-step common-effect odds ratio (metafor's ``rma.peto``).

    ``log OR = sum(O - E) / sum(V)``, ``se = 1/sqrt(sum V)`` from the raw
    counts (Yusuf et al. 1985); heterogeneity by Peto's statistic
    ``sum (O - E)^2 / V - (sum (O - E))^2 / sum V``.

    Parameters
    ----------
    events1, n1, events2, n2 : array_like or str
        Events and group sizes (group 1 = treatment), or column names of ``data``.
    data : DataFrame, optional
    labels : str or sequence, optional
    level : float

    Raises
    ------
    ModelError
        When one outcome never occurs in any table (``sum V = 0``).

    Examples
    --------
    >>> res = peto([4, 6], [123, 306], [11, 29], [139, 303])
    >>> res.measure, res.method, res.estimate_exp < 1
    ('OR', 'PETO', True)
    """
    arrays, study_labels = _single_inputs(events1, n1, events2, n2, data, labels)
    batch = peto_batch(arrays["events1"], arrays["n1"], arrays["events2"], arrays["n2"], level=level)
    return _to_result(batch, study_labels)
