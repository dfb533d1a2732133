"""Take each row of an extraction table for what it is.

:func:`classify` turns the rows an outcome selects into one table saying,
for every row, whether it is pooled, and how its effect and SE were
obtained (the conversion), or why it is not poolable:

========================================  =============================================
what the row prints                       what the review does
========================================  =============================================
notes say "pooled" (label, Cochrane)      published summary: shown beside, never pooled
another comparator than the review's      listed, not analysed
difference with a 95% CI                  SE = (upper - lower) / (2 x 1.959964)
difference with its SE                    SE as printed
difference with an exact p (and n)        SE = |diff| / t(1 - p/2, n1 + n2 - 2)  (z without n)
per-arm mean, SD (or SE) and n            mean difference (SD = SE x sqrt(n))
per-arm counts and n                      risk ratio
per-arm percent and n                     percent x n rounded to a count, risk ratio
a bound on p, or a direction only         reported, not poolable (direction kept)
zero events in both arms                  not poolable for a ratio (no information)
========================================  =============================================

Conversions follow the Cochrane Handbook v6.4, sections 6.3.1 (CI),
6.3.2 (p-value; Altman & Bland 2011) and 6.5.2.2 (SE to SD). When a
study contributes several dose arms against one shared control group to
the same analysis, the control group's n (and events) are split evenly
among the arms (Cochrane Handbook v6.4, section 23.3.4); for a
difference with a SE the variance is scaled by
``(1/n1 + m/n2) / (1/n1 + 1/n2)``, the same split applied to the mean
difference's variance ``s^2 (1/n1 + 1/n2)``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sleepmeta.effects import conversions
from sleepmeta.errors import SpecError

__all__ = ["STATUS", "binary_counts", "classify", "dose_label", "round_half_up"]

#: The statuses a row can have.
STATUS = ("pooled", "reported, not poolable", "published summary", "other comparator")


def round_half_up(x: float) -> int:
    """Round to the nearest whole number, halves up (not Python's banker's rounding).

    >>> round_half_up(2.5), round_half_up(3.5), round_half_up(22.96)
    (3, 4, 23)
    """
    return int(math.floor(x + 0.5))


def dose_label(lo, hi) -> str:
    """``"300"`` for a fixed dose, ``"300-450"`` for a range, ``"not printed"`` when blank.

    >>> dose_label(300.0, 300.0), dose_label(150.0, 600.0), dose_label(float("nan"), None)
    ('300', '150-600', 'not printed')
    """
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return "not printed"
    lo, hi = float(lo), float(hi)
    return f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"


def _num(row, col):
    v = row.get(col)
    return None if v is None or pd.isna(v) else float(v)


def _p_exact(row):
    p = _num(row, "p_value")
    return p if p is not None and 0 < p < 1 else None


def _direction_from_numbers(row) -> tuple[int | None, str]:
    diff = _num(row, "diff")
    if diff is not None:
        return int(np.sign(diff)), "sign of the printed difference"
    mt, mc = _num(row, "mean_treat"), _num(row, "mean_ctrl")
    if mt is not None and mc is not None:
        return int(np.sign(mt - mc)), "printed means (treatment minus control)"
    et, nt, ec, nc = (_num(row, c) for c in ("events_treat", "n_treat", "events_ctrl", "n_ctrl"))
    if None not in (et, nt, ec, nc) and nt > 0 and nc > 0:
        return int(np.sign(et / nt - ec / nc)), "printed counts (risk, treatment minus control)"
    pt, pc = _num(row, "pct_treat"), _num(row, "pct_ctrl")
    if pt is not None and pc is not None:
        return int(np.sign(pt - pc)), "printed percentages (treatment minus control)"
    return None, ""


def _coded_direction(row, outcome_col: str, directions) -> tuple[int | None, str]:
    for d in directions:
        if d.study != row["study_id"] or d.outcome != row[outcome_col]:
            continue
        if d.comparator != row.get("comparator"):
            continue
        if d.dose is not None and (d.dose[0], d.dose[1]) != (_num(row, "dose_min_mg"),
                                                             _num(row, "dose_max_mg")):
            continue
        sign = {"increase": 1, "decrease": -1, "no difference": 0}[d.direction]
        return sign, f"reviewer coding of the source's words: {d.quote}"
    return None, ""


def _continuous(row):
    """(yi, vi, form, conversion) for a mean-difference row, or None."""
    diff = _num(row, "diff")
    lo, hi, se = _num(row, "diff_ci_low"), _num(row, "diff_ci_high"), _num(row, "diff_se")
    nt, nc = _num(row, "n_treat"), _num(row, "n_ctrl")
    if diff is not None and lo is not None and hi is not None and lo < hi:
        s = float(conversions.se_from_ci(lo, hi, level=0.95))
        return diff, s * s, "difference with 95% CI", \
            f"SE from the 95% CI: ({hi:g} - ({lo:g})) / (2 x 1.96) = {s:.4g}"
    if diff is not None and se is not None and se > 0:
        return diff, se * se, "difference with SE", "SE as printed"
    p = _p_exact(row)
    if diff is not None and diff != 0 and p is not None:
        if nt is not None and nc is not None and nt + nc > 2:
            df = nt + nc - 2
            how = f"t quantile with {nt + nc - 2:g} df (n = {nt:g} + {nc:g})"
        else:
            df = None
            how = "normal quantile (n not printed)"
        s = float(conversions.se_from_p(diff, p, df=df))
        return diff, s * s, "difference with exact p", \
            f"SE from the exact p = {p:g}: |diff| / {how} = {s:.4g}"
    mt, mc = _num(row, "mean_treat"), _num(row, "mean_ctrl")
    if None not in (mt, mc, nt, nc):
        sdt, sdc = _num(row, "sd_treat"), _num(row, "sd_ctrl")
        how = "per-arm means and SDs"
        if sdt is None or sdc is None:
            st, sc = _num(row, "se_treat"), _num(row, "se_ctrl")
            if st is None or sc is None or st <= 0 or sc <= 0:
                return None
            sdt, sdc = (float(conversions.sd_from_se(se_arm, n))
                        for se_arm, n in ((st, nt), (sc, nc)))
            how = "per-arm means and SEs (SD = SE x sqrt(n))"
        if sdt > 0 and sdc > 0:
            from sleepmeta.effects import effect_size

            es = effect_size("MD", mean1=[mt], sd1=[sdt], n1=[nt], mean2=[mc], sd2=[sdc], n2=[nc])
            return float(es.yi[0]), float(es.vi[0]), how, \
                f"mean difference from {how}: SD1 = {sdt:.4g}, SD2 = {sdc:.4g}"
    return None


def _arm_count(row, arm: str):
    e, n, pct = (_num(row, f"{c}_{arm}") for c in ("events", "n", "pct"))
    if n is None or n <= 0:
        return None, None, False
    if e is not None:
        return e, n, False
    if pct is not None:
        return float(round_half_up(pct / 100 * n)), n, True
    return None, n, False


def binary_counts(row):
    """(events_treat, n_treat, events_ctrl, n_ctrl, form, conversion) or a reason string.

    Counts as printed, or percent x n rounded half up (see the module docstring).

    Examples
    --------
    >>> binary_counts({"events_treat": 3, "n_treat": 50, "events_ctrl": 1, "n_ctrl": 48})[:5]
    (3.0, 50.0, 1.0, 48.0, 'counts with n')
    """
    et, nt, rt = _arm_count(row, "treat")
    ec, nc, rc = _arm_count(row, "ctrl")
    if nt is None or nc is None:
        return "no n printed for an arm: no pooling"
    if et is None or ec is None:
        return "no count or percent printed for an arm"
    if et == 0 and ec == 0:
        return "zero events in both arms: no information on the risk ratio"
    if rt or rc:
        conv = ("percent x n rounded to a count: "
                + ", ".join(f"{lab} {row[f'pct_{arm}']:g}% x {row[f'n_{arm}']:g} = {e:g}"
                            for lab, arm, e, r in (("treatment", "treat", et, rt),
                                                   ("control", "ctrl", ec, rc)) if r))
        return et, nt, ec, nc, "percent with n", conv
    return et, nt, ec, nc, "counts with n", "counts as printed"


def _not_poolable_form(row, binary: bool) -> str:
    if _num(row, "diff") is not None:
        if isinstance(row.get("p_value_text"), str):
            return f"difference with a bound on p only ({row['p_value_text']})"
        return "difference without SE, CI or p"
    if isinstance(row.get("p_value_text"), str):
        return f"bound on p only ({row['p_value_text']})"
    if _p_exact(row) is not None:
        return f"exact p = {_p_exact(row):g} without the difference"
    if binary:
        return "no counts with n"
    if _num(row, "mean_treat") is not None:
        return "per-arm means without SD or SE"
    return "direction only"


def classify(outcome, table: pd.DataFrame, spec) -> pd.DataFrame:
    """Classify the rows an outcome selects; one output row per input row.

    Parameters
    ----------
    outcome : Outcome
        The spec's outcome (which rows, measure, better direction).
    table : DataFrame
        The efficacy or harms table (``row_id`` and the data-dictionary columns).
    spec : ReviewSpec
        For the review comparator and the reviewer-coded directions.

    Returns
    -------
    DataFrame
        The selected rows with ``status`` (one of :data:`STATUS`), ``form``,
        ``conversion``, ``direction`` (+1 / -1 / 0 on the scale treatment
        minus control, or None), ``direction_source``, ``dose``, and for
        pooled rows ``yi``/``vi`` (MD) or counts ``ai, n1i, ci, n2i`` (RR).

    Raises
    ------
    SpecError
        The rows mix incompatible measures (units, or binary and continuous
        results) -- naming the outcome key and the study.
    """
    mask = pd.Series(True, index=table.index)
    for col, values in outcome.select.items():
        mask &= table[col].astype("string").isin(values).fillna(False).astype(bool)
    rows = table[mask]
    out = []
    binary = outcome.measure == "RR"
    for _, row in rows.iterrows():
        rec = {c: (None if (not isinstance(v, str) and pd.isna(v)) else v)
               for c, v in row.items()}
        rec.update(dose=dose_label(rec.get("dose_min_mg"), rec.get("dose_max_mg")),
                   yi=None, vi=None, ai=None, n1i=None, ci=None, n2i=None, conversion="",
                   form="", status="")
        sign, src = _direction_from_numbers(rec)
        if sign is None:
            sign, src = _coded_direction(rec, outcome.column, spec.directions)
        rec["direction"], rec["direction_source"] = sign, (src or "not stated")
        if rec.get("published_summary"):
            rec["status"], rec["form"] = "published summary", "pooled across trials by its source"
        elif rec.get("comparator") != spec.comparator:
            rec["status"], rec["form"] = "other comparator", f"versus {rec.get('comparator')}"
        elif binary:
            got = binary_counts(rec)
            if isinstance(got, str):
                rec["status"], rec["form"] = "reported, not poolable", got
            else:
                rec.update(ai=got[0], n1i=got[1], ci=got[2], n2i=got[3], form=got[4],
                           conversion=got[5], status="pooled")
        else:
            got = _continuous(rec)
            if got is None:
                rec["status"] = "reported, not poolable"
                rec["form"] = _not_poolable_form(rec, binary)
            else:
                rec.update(yi=got[0], vi=got[1], form=got[2], conversion=got[3], status="pooled")
        out.append(rec)
    frame = pd.DataFrame(out)
    _check_compatible(outcome, frame)
    return frame


def _check_compatible(outcome, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    pooled = frame[frame["status"] == "pooled"]
    if outcome.measure == "MD":
        units = pooled["unit"].dropna().unique() if "unit" in pooled else []
        if len(units) > 1:
            first = pooled.iloc[0]
            other = pooled[pooled["unit"] != first["unit"]].iloc[0]
            raise SpecError(
                f"outcomes.{outcome.key}: rows mix incompatible measures: study "
                f"{first['study_id']!r} is in {first['unit']!r} but study {other['study_id']!r} "
                f"is in {other['unit']!r}; define one outcome per unit")
        has_counts = frame[[c for c in ("events_treat", "pct_treat") if c in frame]].notna().any(axis=1)
        cont = frame["status"] == "pooled"
        if (has_counts & ~frame["published_summary"].astype(bool)).any() and cont.any():
            bad = frame[has_counts].iloc[0]
            raise SpecError(
                f"outcomes.{outcome.key}: rows mix incompatible measures: study "
                f"{bad['study_id']!r} reports counts/percentages (a binary result) while "
                f"measure is MD; define a separate RR outcome for it")


def split_shared_controls(pooled: pd.DataFrame, measure: str, outcome_key: str) -> pd.DataFrame:
    """Split a control group shared by several arms of one study (Cochrane Handbook 23.3.4).

    Arms of one study in the same analysis share its control group when
    their ``study_id`` and ``n_ctrl`` agree. The control n (and events) are
    divided by the number of arms m; for a contrast with an SE the variance
    is scaled by ``(1/n1 + m/n2) / (1/n1 + 1/n2)``. Adds ``split`` (m) and
    a note to ``conversion``.

    Raises
    ------
    SpecError
        A study contributes several arms but does not print the n needed
        to split its control group (naming the outcome and the study).
    """
    pooled = pooled.copy()
    pooled["split"] = 1
    for study, grp in pooled.groupby("study_id", sort=False):
        if len(grp) < 2:
            continue
        m = len(grp)
        for idx, row in grp.iterrows():
            note = f"; shared control group split among {m} arms (Cochrane Handbook 23.3.4)"
            if measure == "RR":
                pooled.loc[idx, "ci"] = row["ci"] / m
                pooled.loc[idx, "n2i"] = row["n2i"] / m
            else:
                n1, n2 = row.get("n_treat"), row.get("n_ctrl")
                if n1 is None or n2 is None or pd.isna(n1) or pd.isna(n2):
                    raise SpecError(
                        f"outcomes.{outcome_key}: study {study!r} contributes {m} arms against "
                        "one control group but prints no n to split it; select one arm "
                        "(e.g. select.dose_min_mg) for this outcome")
                pooled.loc[idx, "vi"] = row["vi"] * (1 / n1 + m / n2) / (1 / n1 + 1 / n2)
            pooled.loc[idx, "split"] = m
            pooled.loc[idx, "conversion"] = row["conversion"] + note
    return pooled
