"""Arm-level dose data: validation at the boundary and contrasts per study.

One row per dose arm, the reference arm included. Within a study the rows
must be in increasing order of dose (as a dose table prints them), the
reference arm (dose equal to ``reference``, default 0) must be present, and
there must be at least one other arm. Each study becomes a
:class:`StudyContrasts`: the doses, the contrasts of the non-reference arms
against the reference and their covariance
(:mod:`sleepmeta.dose.covariance`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sleepmeta import distributions as stats
from sleepmeta.dose import covariance as cov
from sleepmeta.errors import ColumnError, InputError, unknown_option
from sleepmeta.pooling.multilevel.vcov import check_positive_definite

__all__ = ["MEASURES", "StudyContrasts", "se_from_ci", "study_contrasts"]

#: Measures and the columns each needs (beside ``study`` and ``dose``).
MEASURES = {
    "RR": ("events", "n"),
    "OR": ("events", "n"),
    "MD": ("mean", "sd", "n"),
    "SMD": ("mean", "sd", "n"),
}
COVARIANCES = {"RR": ("gl", "hamling"), "OR": ("gl", "hamling"), "MD": ("gleser-olkin",),
               "SMD": ("gleser-olkin",)}


@dataclass(frozen=True)
class StudyContrasts:
    """One study's contrasts against its reference arm."""

    study: object
    reference_dose: float
    doses: np.ndarray          # non-reference doses
    y: np.ndarray              # contrasts (log ratio, MD or SMD)
    S: np.ndarray              # their covariance
    corrected: bool = False    # 1/2 added to zero cells

    @property
    def se(self) -> np.ndarray:
        """Standard errors of the contrasts."""
        return np.sqrt(np.diag(self.S))


def _column(data: pd.DataFrame, name: str, field: str) -> np.ndarray:
    if name not in data.columns:
        raise ColumnError(f"{field}={name!r} is not a column; columns: {', '.join(map(str, data.columns))}")
    return data[name].to_numpy()


def _numeric(values, study_labels, field, *, positive=False, integer=False, allow_nan=False,
             signed=False):
    x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    for i, v in enumerate(x):
        bad = (not np.isfinite(v) and not (allow_nan and np.isnan(v))) or (positive and v <= 0) \
            or (not positive and not signed and v < 0) \
            or (integer and np.isfinite(v) and v != round(v))
        if bad:
            rule = "> 0" if positive else ("" if signed else ">= 0")
            raise InputError(f"study {study_labels[i]!r} (row {i}): {field} must be a finite "
                             f"number {rule}{' (a count)' if integer else ''}, got {values[i]!r}")
    return x


def se_from_ci(data: pd.DataFrame, *, study: str, lb: str, ub: str) -> np.ndarray:
    """SEs of log ratios from their 95% confidence limits: ``(log ub - log lb) / (2 z)``.

    Rows whose limits are both missing (a reference arm) get NaN; limits must
    otherwise be finite with ``0 < lb <= ub``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"id": ["A", "A"], "lb": [1.0, 0.51], "ub": [1.0, 1.27]})
    >>> [round(float(x), 5) for x in se_from_ci(df, study="id", lb="lb", ub="ub")]
    [0.0, 0.23275]

    (``log(1.27 / 0.51) / (2 * 1.959964) = 0.912362 / 3.919928``.)
    """
    labels = _column(data, study, "study")
    lo = pd.to_numeric(pd.Series(_column(data, lb, "lb")), errors="coerce").to_numpy(float)
    hi = pd.to_numeric(pd.Series(_column(data, ub, "ub")), errors="coerce").to_numpy(float)
    both_missing = np.isnan(lo) & np.isnan(hi)
    bad = ~both_missing & ~(np.isfinite(lo) & np.isfinite(hi) & (lo > 0) & (hi >= lo))
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"study {labels[i]!r} (row {i}): confidence limits must be finite with "
                         f"0 < lb <= ub, got lb={lo[i]!r}, ub={hi[i]!r}")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(both_missing, np.nan,
                        (np.log(hi) - np.log(lo)) / (2 * stats.norm.ppf(0.975)))


def study_contrasts(data: pd.DataFrame, *, study: str, dose: str, measure: str,
                    columns: dict, covariance: str | None = None, reference: float | None = 0.0,
                    type: str = "ci") -> list[StudyContrasts]:
    """Validate arm rows and build each study's contrasts and covariance.

    Parameters
    ----------
    data : DataFrame
        One row per arm.
    study, dose : str
        Columns with the study label and the dose.
    measure : {"RR", "OR", "MD", "SMD"}
    columns : dict
        Column names for ``events``, ``n`` (counts) or ``mean``, ``sd``, ``n``;
        optionally ``logrr`` with ``se`` (adjusted log ratios; ``v = se^2``).
    covariance : {"gl", "hamling", "gleser-olkin"}, optional
        Default: ``"gl"`` for ratios, ``"gleser-olkin"`` for MD/SMD.
    reference : float or None
        The reference dose each study must have (its lowest dose); None
        takes each study's lowest dose as its reference.
    type : {"ci", "cc", "ir"} or str
        Design of adjusted ratio data (``logrr`` given): cumulative
        incidence, case-control or incidence rate; or the name of a column
        holding it per study (as dosresmeta's ``type``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"id": ["A"] * 3, "dose": [0, 150, 300],
    ...                    "events": [5, 10, 20], "n": [100, 100, 100]})
    >>> [s.doses.tolist() for s in study_contrasts(df, study="id", dose="dose", measure="RR",
    ...                                            columns={"events": "events", "n": "n"})]
    [[150.0, 300.0]]
    """
    if measure not in MEASURES:
        raise unknown_option("measure", measure, tuple(MEASURES))
    covariance = covariance or COVARIANCES[measure][0]
    if covariance not in COVARIANCES[measure]:
        raise unknown_option(f"covariance for {measure}", covariance, COVARIANCES[measure])
    adjusted = "logrr" in columns
    need = ("events", "n", "logrr", "se") if adjusted else MEASURES[measure]
    missing = [f for f in need if f not in columns]
    if missing:
        raise InputError(f"measure {measure!r} needs the column argument(s) {', '.join(missing)}")
    if adjusted and measure not in ("RR", "OR"):
        raise InputError("logrr/se (adjusted log ratios) go with measure RR or OR")
    if covariance == "hamling" and not adjusted:
        raise InputError("covariance='hamling' needs adjusted log ratios (logrr, se) beside the "
                         "counts; from counts alone the crude covariance is exact (use 'gl')")
    labels = _column(data, study, "study")
    types = np.full(len(data), type, dtype=object) if type in cov.TYPES or not adjusted \
        else _column(data, type, "type")
    d = _numeric(_column(data, dose, "dose"), labels, "dose")
    vals = {f: _numeric(_column(data, columns[f], f), labels, f,
                        positive=f in ("n", "sd"), integer=f == "events" and not adjusted,
                        allow_nan=adjusted and f in ("logrr", "se"),
                        signed=f in ("mean", "logrr"))
            for f in need}
    if "events" in vals and not adjusted and np.any(vals["events"] > vals["n"]):
        i = int(np.argmax(vals["events"] > vals["n"]))
        raise InputError(f"study {labels[i]!r} (row {i}): events must be <= n, got "
                         f"{vals['events'][i]:g} > {vals['n'][i]:g}")
    out = []
    order = pd.unique(pd.Series(labels))
    for lab in order:
        rows = np.flatnonzero(labels == lab)
        dd = d[rows]
        if len(rows) < 2:
            raise InputError(f"study {lab!r}: has one arm; a dose-response contrast needs the "
                             "reference arm and at least one other dose")
        if np.any(np.diff(dd) <= 0):
            raise InputError(f"study {lab!r}: doses must increase within a study as given, got "
                             f"{dd.tolist()}")
        if reference is not None and dd[0] != reference:
            raise InputError(f"study {lab!r}: no reference arm (dose {reference:g}); its lowest "
                             f"dose is {dd[0]:g}")
        kind = types[rows[0]]
        if kind not in cov.TYPES:
            raise unknown_option(f"type of study {lab!r}", kind, cov.TYPES)
        one = _one_study(lab, dd, {f: v[rows] for f, v in vals.items()}, measure, covariance,
                         adjusted, kind)
        # e.g. every participant of every arm had the event: the contrasts' covariance is
        # singular and no fit can use the study (the multilevel stage's rule, naming it)
        check_positive_definite(one.S, [lab] * len(one.y), cluster=np.zeros(len(one.y)))
        out.append(one)
    return out


def _one_study(lab, dd, v, measure, covariance, adjusted, type):
    if measure in ("MD", "SMD"):
        fn = cov.shared_control_md if measure == "MD" else cov.shared_control_smd
        y, S = fn(v["mean"], v["sd"], v["n"])
        return StudyContrasts(lab, dd[0], dd[1:], y, S)
    if not adjusted:
        y, S, corrected = cov.crude_ratio_contrasts(v["events"], v["n"], measure=measure,
                                                    study=lab)
        return StudyContrasts(lab, dd[0], dd[1:], y, S, corrected)
    y, se = v["logrr"].copy(), v["se"].copy()
    if not np.isfinite(y[1:]).all() or not np.isfinite(se[1:]).all() or np.any(se[1:] <= 0):
        raise InputError(f"study {lab!r}: logrr and se must be given (se > 0) for every "
                         "non-reference arm")
    y[0], se[0] = 0.0, 0.0
    kind = "cc" if measure == "OR" else type
    if measure == "RR" and type == "cc":
        kind = "cc"  # case-control studies report odds ratios as their "relative risks"
    fn = cov.greenland_longnecker if covariance == "gl" else cov.hamling
    S = fn(y, se ** 2, v["events"], v["n"], type=kind, study=lab)
    return StudyContrasts(lab, dd[0], dd[1:], y[1:], S)
