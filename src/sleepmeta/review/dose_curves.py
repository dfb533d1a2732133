"""Pooled dose curves of harms for the review (spec section ``[dose_response]``).

From an outcome's classified rows, every **fixed-dose** arm that prints a
count (or a percentage with its n, turned into a count halves up, as
everywhere in the review) and its control arm become arm-level rows: the
control arm is the reference (dose 0). Rows of one source that share one
control group are **one study** with several dose arms -- in particular a
pooled table (the label's dose columns against one pooled placebo column)
is one "study" with a shared reference, never several independent ones, and
it stays labelled as a published summary. Flexible-dose arms have no single
dose and are left out. The curve is :func:`sleepmeta.dose.dose_response`
(one stage; random slopes when there are 2 or more studies, a fixed-effect
curve for one); the report gives the risk ratio and the extra events per
1,000 at the spec's doses, with the control-group risk pooled from the same
reference arms (:func:`sleepmeta.benefit_risk.baseline_risk`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sleepmeta.errors import InputError

__all__ = ["DoseCurve", "dose_arms", "fit_dose_curve"]


@dataclass
class DoseCurve:
    """One outcome's dose curve, or why there is none."""

    result: object = None             # DoseResponseResult
    arms: pd.DataFrame | None = None  # the arm-level rows used
    predictions: list = field(default_factory=list)
    baseline: object = None
    notes: list = field(default_factory=list)
    reason: str = ""                  # why there is no curve

    @property
    def k(self) -> int:
        """Studies (a pooled table counts once)."""
        return 0 if self.result is None else int(self.result.k)

    def to_dict(self) -> dict:
        """JSON-safe summary for the report."""
        if self.result is None:
            return {"fitted": False, "reason": self.reason, "notes": list(self.notes)}
        r = self.result
        ov = r.overall
        nl = r.nonlinearity
        return {"fitted": True, "model": r.model, "knots": list(r.basis.knots),
                "k": r.k, "arms": r.n_contrasts, "method": r.method,
                "studies": sorted({str(s) for s in self.arms["study"]}),
                "published_summary": bool(self.arms["published_summary"].any()),
                "overall": ov.to_dict(), "nonlinearity": nl.to_dict() if nl else None,
                "heterogeneity": {"q": r.qe, "df": r.qe_df, "i2": r.i2},
                "baseline_risk": None if self.baseline is None else self.baseline.to_dict(),
                "predictions": self.predictions, "notes": list(self.notes) + list(r.notes)}


def _count(events, pct, n):
    from sleepmeta.review.evidence import round_half_up

    if events == events and events is not None:
        return float(events)
    if pct == pct and pct is not None and n == n:
        return float(round_half_up(float(pct) * float(n) / 100.0))
    return math.nan


def dose_arms(rows: pd.DataFrame) -> tuple[pd.DataFrame, list]:
    """Arm-level rows (``study``, ``dose``, ``events``, ``n``, ``published_summary``).

    Returns the rows and notes on what was left out.
    """
    notes: list = []
    keep = rows[(rows["status"] != "other comparator")
                & (rows["dose_min_mg"] == rows["dose_max_mg"])].copy()
    if keep.empty:
        return pd.DataFrame(columns=["study", "dose", "events", "n", "published_summary"]), notes
    keep["e1"] = [_count(e, p, n) for e, p, n in zip(keep["events_treat"], keep["pct_treat"],
                                                     keep["n_treat"])]
    keep["e0"] = [_count(e, p, n) for e, p, n in zip(keep["events_ctrl"], keep["pct_ctrl"],
                                                     keep["n_ctrl"])]
    usable = keep[["e1", "n_treat", "e0", "n_ctrl"]].notna().all(axis=1)
    out = []
    for (sid, e0, n0), g in keep[usable].groupby(["study_id", "e0", "n_ctrl"], sort=False):
        g = g.sort_values("dose_min_mg").drop_duplicates("dose_min_mg")
        label = sid if keep.loc[usable & (keep["study_id"] == sid)].groupby(
            ["e0", "n_ctrl"]).ngroups == 1 else f"{sid} (control {int(e0)}/{int(n0)})"
        if e0 == 0:
            notes.append(f"{label}: 0 events in the control arm, no log ratios against it; "
                         "left out")
            continue
        pub = bool(g["published_summary"].any())
        out.append((label, 0.0, e0, float(n0), pub))
        out += [(label, float(d), e, float(n), pub) for d, e, n in
                zip(g["dose_min_mg"], g["e1"], g["n_treat"])]
    return pd.DataFrame(out, columns=["study", "dose", "events", "n", "published_summary"]), notes


def fit_dose_curve(rows: pd.DataFrame, dspec, *, level: float = 0.95) -> DoseCurve:
    """The pooled dose curve of one harm (see the module docstring)."""
    from sleepmeta.benefit_risk import baseline_risk
    from sleepmeta.dose import dose_response
    from sleepmeta.dose.benefit import dose_number_needed

    arms, notes = dose_arms(rows)
    curve = DoseCurve(arms=arms, notes=notes)
    doses = arms[arms["dose"] > 0]["dose"] if len(arms) else pd.Series(dtype=float)
    p = {"linear": 1, "quadratic": 2, "emax": 2}.get(dspec.model, max(len(dspec.knots) - 1, 2))
    if doses.nunique() < p + 1 or len(doses) < p + 1:
        curve.reason = (f"{len(doses)} fixed-dose arm(s) with counts at {doses.nunique()} "
                        f"dose(s): the {dspec.model} curve needs arms at {p + 1} or more doses")
        return curve
    k = arms["study"].nunique()
    try:
        res = dose_response(arms, study="study", dose="dose", events="events", n="n",
                            model=dspec.model, knots=list(dspec.knots) or None,
                            reference=dspec.reference, random="slope" if k > 1 else None,
                            level=level)
    except InputError as exc:
        curve.reason = f"no curve: {exc}"
        return curve
    if k == 1:
        curve.notes.append("one study (or pooled table): a fixed-effect curve, no "
                           "between-study variation can be estimated")
    refs = arms[arms["dose"] == dspec.reference]
    curve.result = res
    curve.baseline = baseline_risk(refs["events"], refs["n"], labels=list(refs["study"]),
                                   level=level)
    nn = dose_number_needed(res, list(dspec.doses), curve.baseline.estimate,
                            reference=dspec.reference)
    curve.predictions = [{k_: (None if isinstance(v, float) and not np.isfinite(v) else v)
                          for k_, v in r.items()} for r in nn.to_dict("records")]
    return curve
