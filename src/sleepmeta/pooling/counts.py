"""Pooling 2x2 tables directly: Mantel-Haenszel and Peto (common-effect models).

The numbers match metafor's ``rma.mh`` and ``rma.peto`` with their defaults:
raw counts for the pooled estimate (no continuity correction, studies with
no events in both groups kept), ``escalc`` effects with a 1/2 correction for
zero cells and double-zero studies left out for Q (see
:mod:`sleepmeta.pooling.counts_heterogeneity`).

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

import pandas as pd

from sleepmeta.effects import binary
from sleepmeta.effects.columns import (
    as_frame,
    check_finite,
    handle_missing,
    resolve_columns,
    resolve_labels,
)
from sleepmeta.errors import ModelError, unknown_option
from sleepmeta.jsonsafe import clean
from sleepmeta.pooling.counts_batch import (
    MH_MEASURES,
    CountsBatch,
    mantel_haenszel_batch,
    peto_batch,
)

__all__ = [
    "CountsBatch",
    "CountsResult",
    "mantel_haenszel",
    "mantel_haenszel_batch",
    "peto",
    "peto_batch",
]

@dataclass(frozen=True)
class CountsResult:
    """A Mantel-Haenszel or Peto meta-analysis of 2x2 tables.

    ``estimate, se, statistic (z), pvalue, ci_low, ci_high`` are on the log
    scale for OR and RR (and Peto's OR), on the raw scale for RD.
    ``estimate_exp, ci_low_exp, ci_high_exp`` are the back-transformed
    ratios; for RD, an additive measure, they repeat the raw values (so they
    are never None or NaN). ``i2`` is a percentage (0-100), as in metafor.
    For the MH odds ratio, ``cmh``/``cmh_pvalue`` hold the Cochran-Mantel-
    Haenszel test (with continuity correction unless ``correct=False``),
    ``breslow_day``/``breslow_day_pvalue`` the Breslow-Day test and
    ``tarone``/``tarone_pvalue`` Tarone's corrected version of it (df = the
    number of informative tables - 1); they are None for other measures. ``q_df`` is
    the number of studies entering Q minus 1 (double-zero studies leave Q).

    Examples
    --------
    >>> res = mantel_haenszel([4, 6], [123, 306], [11, 29], [139, 303])
    >>> res.method, res.measure, res.estimate_exp < 1, res.to_dict()["k"]
    ('MH', 'OR', True, 2)
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
    breslow_day: float | None = None
    breslow_day_pvalue: float | None = None
    correct: bool = True

    def to_dict(self) -> dict:
        """Plain JSON-safe values (NaN becomes None)."""
        return clean(asdict(self))

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
        if self.breslow_day_pvalue is not None and math.isfinite(self.breslow_day_pvalue):
            lines.append(
                f"  Breslow-Day test for heterogeneity: X2 = {self.breslow_day:.4f}, "
                f"p = {self.breslow_day_pvalue:.4g}"
            )
        if self.tarone_pvalue is not None and math.isfinite(self.tarone_pvalue):
            lines.append(
                f"  Tarone's test for heterogeneity: X2 = {self.tarone:.4f}, "
                f"p = {self.tarone_pvalue:.4g}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


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


def _to_result(batch: CountsBatch, labels: list[str], correct: bool = True) -> CountsResult:
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
    if batch.measure != "RD" and max(abs(est), abs(lo), abs(hi)) > 709:  # exp overflows
        raise ModelError(
            f"the {batch.method} {batch.measure}'s CI on the log scale [{lo:.4g}, {hi:.4g}] "
            "cannot be back-transformed (beyond the double range): the tables carry almost "
            "no information on it")
    return CountsResult(
        estimate=est, se=se, statistic=scalar(batch.statistic),
        pvalue=scalar(batch.pvalue), ci_low=lo, ci_high=hi,
        estimate_exp=back(est), ci_low_exp=back(lo), ci_high_exp=back(hi),
        q=scalar(batch.q), q_df=int(batch.q_df[0]), q_pvalue=scalar(batch.q_pvalue),
        i2=scalar(batch.i2), h2=scalar(batch.h2), k=int(batch.k[0]),
        measure=batch.measure, method=batch.method, level=batch.level,
        cmh=scalar(batch.cmh), cmh_pvalue=scalar(batch.cmh_pvalue),
        tarone=scalar(batch.tarone), tarone_pvalue=scalar(batch.tarone_pvalue),
        breslow_day=scalar(batch.breslow_day),
        breslow_day_pvalue=scalar(batch.breslow_day_pvalue), labels=labels, correct=correct,
    )


def mantel_haenszel(events1, n1, events2, n2, *, measure="OR", data=None, labels=None,
                    level=0.95, correct: bool = True) -> CountsResult:
    """Mantel-Haenszel common-effect meta-analysis of 2x2 tables (metafor's ``rma.mh``).

    OR: ``sum(a d/N) / sum(b c/N)`` with the Robins-Breslow-Greenland (1986)
    variance; RR: ``sum(a n2/N) / sum(c n1/N)`` with the Greenland-Robins
    (1985) variance; RD: ``sum((a n2 - c n1)/N) / sum(n1 n2/N)`` with the
    Sato-Greenland-Robins (1989) variance. For OR, also the Cochran-Mantel-
    Haenszel test (``correct``: with its 0.5 continuity correction, metafor's
    ``correct=``), the Breslow-Day test and Tarone's test. Q, I² and H² as
    described in
    :mod:`sleepmeta.pooling.counts_heterogeneity`.

    Parameters
    ----------
    events1, n1, events2, n2 : array_like or str
        Events and group sizes (group 1 = treatment), or column names of ``data``.
    measure : {"OR", "RR", "RD"}
    data : DataFrame, optional
    labels : str or sequence, optional
    level : float
    correct : bool
        Continuity correction of the CMH test (OR only), as metafor's ``correct=``.

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
                                  measure=measure, level=level, correct=correct)
    return _to_result(batch, study_labels, correct)


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
