"""The report's numbers as one JSON-safe mapping (``report.json``; the HTML shows the same).

Numbers are kept at full precision (rounded only for display); keys are
sorted when written and nothing depends on the clock, so the same spec and
data give byte-identical JSON.
"""

from __future__ import annotations

import math

import pandas as pd

from sleepmeta.jsonsafe import clean

__all__ = ["DISCLAIMER", "report_payload", "to_json"]

DISCLAIMER = ("This report summarises published evidence. It gives no advice on the use or dose "
              "of any medicine, and it does not recommend any drug, dose or purchase.")

ROW_FIELDS = ("row_id", "source_file", "study_id", "condition", "design", "weeks", "dose",
              "dose_min_mg", "dose_max_mg", "comparator", "outcome", "event", "unit", "timepoint",
              "n_treat", "n_ctrl", "events_treat", "events_ctrl", "pct_treat", "pct_ctrl", "diff",
              "diff_ci_low", "diff_ci_high", "p_value", "p_value_text", "mean_treat", "mean_ctrl",
              "status", "form", "conversion", "direction", "direction_source", "yi", "vi", "ai",
              "n1i", "ci", "n2i", "split", "url", "citation", "pmid", "doi", "source_location",
              "notes")


def to_json(payload: dict) -> str:
    """Serialise deterministically: sorted keys, no NaN, UTF-8 text."""
    import json

    return json.dumps(clean(payload), sort_keys=True, indent=1, ensure_ascii=False,
                      allow_nan=False) + "\n"


def _natural(res, ratio: bool) -> dict:
    f = math.exp if ratio else (lambda v: v)
    return {n: f(getattr(res, n)) for n in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")}


def pooled_payload(res, ratio: bool, studies: int | None = None) -> dict | None:
    """The pooled numbers of a MetaResult, on the analysis and the natural scale."""
    if res is None:
        return None
    out = {n: getattr(res, n) for n in ("k", "method", "test", "level", "estimate", "se",
                                         "pvalue", "ci_low", "ci_high", "pi_low", "pi_high",
                                         "tau2", "i2", "h2", "q", "q_df", "q_pvalue")}
    out["scale"] = "log risk ratio" if ratio else "mean difference"
    out["natural"] = _natural(res, ratio)
    out["studies"] = studies if studies is not None else res.k
    sf = res.study_frame()
    out["study_effects"] = [
        {"label": lab, "yi": r.yi, "vi": r.vi, "ci_low": r.ci_low, "ci_high": r.ci_high,
         "weight": r.weight, "natural": {k: (math.exp(v) if ratio else v) for k, v in
                                         (("yi", r.yi), ("ci_low", r.ci_low), ("ci_high", r.ci_high))}}
        for lab, r in sf.iterrows()]
    out["notes"] = list(res.notes)
    return out


def _rows(df: pd.DataFrame) -> list:
    if df is None or df.empty:
        return []
    return [{c: rec.get(c) for c in ROW_FIELDS} for rec in df.to_dict("records")]


def _per_arm_rr(row) -> dict:
    """Risk ratio of one arm against its control (not pooled), from counts or percent x n."""
    from sleepmeta.effects import effect_size
    from sleepmeta.review.evidence import binary_counts

    got = binary_counts(row)
    if isinstance(got, str):
        return {"rr": None, "rr_low": None, "rr_high": None, "rr_note": got}
    es = effect_size("RR", events1=[got[0]], n1=[got[1]], events2=[got[2]], n2=[got[3]])
    f = es.to_frame()
    return {"rr": math.exp(f.yi[0]), "rr_low": math.exp(f.ci_low[0]),
            "rr_high": math.exp(f.ci_high[0]), "rr_note": got[5]}


def _risk(row, arm: str):
    pct = row.get(f"pct_{arm}")
    if pct is not None and not pd.isna(pct):
        return float(pct)
    e, n = row.get(f"events_{arm}"), row.get(f"n_{arm}")
    if e is not None and n is not None and not pd.isna(e) and not pd.isna(n) and n > 0:
        return 100.0 * float(e) / float(n)
    return None


def harms_by_dose(a) -> list:
    """One entry per arm that prints a risk: trials and published summaries alike."""
    out = []
    for _, r in a.rows.iterrows():
        if r["status"] == "other comparator":
            continue
        rt, rc = _risk(r, "treat"), _risk(r, "ctrl")
        if rt is None:
            continue
        entry = {"row_id": r["row_id"], "source": r["study_id"], "status": r["status"],
                 "condition": r.get("condition"), "event": r.get("event", r.get("outcome")),
                 "dose": r["dose"], "dose_min": r.get("dose_min_mg"),
                 "dose_max": r.get("dose_max_mg"), "risk_treat": rt, "risk_ctrl": rc,
                 "n_treat": r.get("n_treat"), "n_ctrl": r.get("n_ctrl"), "url": r.get("url")}
        entry.update(_per_arm_rr(r.to_dict()))
        out.append(entry)
    return out


def outcome_payload(a) -> dict:
    """Everything about one outcome analysis."""
    o = a.outcome
    ratio = o.measure == "RR"
    dose_reg = None
    if a.dose_regression is not None:
        dose_reg = {"coefficients": a.dose_regression.coefficients.reset_index().to_dict("records"),
                    "k": a.dose_regression.k, "per": "100 mg/day"}
    return {
        "key": o.key, "label": o.label, "table": o.table, "measure": o.measure,
        "better": o.better, "unit": o.unit, "margin": o.margin,
        "population": list(a.population) or "all",
        "pooled": pooled_payload(a.result, ratio, a.studies),
        "multilevel": _multilevel_payload(getattr(a, "multilevel", None)),
        "participants": a.participants, "participants_unknown_rows": a.participants_unknown,
        "rows": _rows(a.rows),
        "counts": {s: int((a.rows["status"] == s).sum()) if len(a.rows) else 0
                   for s in ("pooled", "reported, not poolable", "published summary",
                             "other comparator")},
        "subgroups": {n: {"groups": {g: pooled_payload(r, ratio) for g, r in s.groups.items()},
                          "q_between": s.q_between, "df_between": s.df_between,
                          "p_between": s.p_between, "tau2_common": s.tau2_common}
                      for n, s in a.subgroups.items()},
        "subgroup_notes": list(a.subgroup_notes),
        "small_study": {k: v for k, v in a.small_study.items() if k != "trimfill_object"},
        "dose_regression": dose_reg, "dose_note": a.dose_note,
        "by_dose": {d: pooled_payload(r, ratio) for d, r in a.by_dose.items()},
        "baseline_risk": a.baseline.to_dict() if a.baseline is not None else None,
        "nnh": a.nnh.to_dict() if a.nnh is not None else None,
        "harms_by_dose": harms_by_dose(a) if ratio else [],
        "dose_curve": a.dose_curve.to_dict() if a.dose_curve is not None else None,
        "notes": list(a.notes),
        **certainty_payload(a),
    }


def certainty_payload(a) -> dict:
    """Prediction interval (t, k - 2), inference alternatives, GRADE, sensitivity, RoB."""
    ratio = a.outcome.measure == "RR"
    pi = dict(a.pi)
    if pi.get("low") is not None:
        f = math.exp if ratio else (lambda v: v)
        pi["natural"] = {"low": f(pi["low"]), "high": f(pi["high"])}
    return {"prediction_interval": pi, "inference": list(a.inference),
            "grade": a.grade.to_dict() if a.grade is not None else None,
            "sensitivity": list(a.sensitivity),
            "sensitivity_changes": [e["analysis"] for e in a.sensitivity if e.get("changes")]}


def _claim_payload(c: dict) -> dict:
    claim = c["claim"]
    per = []
    for a, v in zip(c["analyses"], c["per_outcome"]):
        ratio = a.outcome.measure == "RR"
        per.append({**v, "label": a.outcome.label, "unit": a.outcome.unit,
                    "measure": a.outcome.measure,
                    "pooled": None if a.result is None else {
                        "k": a.k, "studies": a.studies, **_natural(a.result, ratio)},
                    "participants": a.participants,
                    "participants_unknown_rows": a.participants_unknown,
                    "counts": {s: int((a.rows["status"] == s).sum()) if len(a.rows) else 0
                               for s in ("pooled", "reported, not poolable",
                                         "published summary")}})
    return {"id": claim.id, "text": claim.text, "outcomes": list(claim.outcomes),
            "population": list(claim.population) or "all", "expects": claim.expects,
            "verdict": c["verdict"], "reason": c["reason"], "primary": c["primary"],
            "certainty": next((p["certainty"] for p in c["per_outcome"]
                               if p["outcome"] == c["primary"]), None),
            "per_outcome": per, "missing": claim.missing}


def _rob_payload(ra) -> dict:
    """The RoB table and the studies of the pooled analyses that could not be assessed."""
    pooled = set()
    for a in ra.outcomes.values():
        if len(a.pooled_rows):
            pooled |= set(a.pooled_rows["study_id"].astype(str))
    rob = ra.rob
    if rob is None:
        return {"file": None, "table": [], "not_assessed": sorted(pooled)}
    return {"file": ra.spec.risk_of_bias, "table": rob.to_records(),
            "not_assessed": rob.not_assessed(pooled)}


def report_payload(ra) -> dict:
    """The whole report as a JSON-safe mapping (see :func:`to_json`)."""
    from sleepmeta.review.methods import methods_payload
    from sleepmeta.review.software import software_versions
    from sleepmeta.review.sof import sof_table

    spec = ra.spec
    published = []
    for key, a in ra.outcomes.items():
        for row in _rows(a.rows[a.rows["status"] == "published summary"] if len(a.rows) else a.rows):
            published.append({**row, "outcome_key": key})
    used = set()
    for a in ra.outcomes.values():
        used |= set(a.rows["row_id"]) if len(a.rows) else set()
    evidence = []
    for role, t in sorted(ra.tables.items()):
        for _, r in t.iterrows():
            evidence.append({"table": role, "used": r["row_id"] in used,
                             **{c: (r[c] if c in t.columns else None) for c in ROW_FIELDS}})
    return clean({
        "title": spec.title, "drug": spec.drug, "comparator": spec.comparator,
        "disclaimer": DISCLAIMER,
        "spec": {"file": spec.path.name, "sha256": spec.sha256},
        "settings": {"method": spec.method, "test": spec.test, "level": spec.level,
                     "single_study_method": spec.single_study_method,
                     "small_study_min_k": spec.small_study_min_k,
                     "dose_regression_min_k": spec.dose_regression_min_k,
                     "few_studies_test": spec.few_studies_test,
                     "few_studies_k": spec.few_studies_k,
                     "min_studies_supported": spec.min_studies_supported,
                     "count_published_summaries": spec.count_published_summaries},
        "summary_of_findings": sof_table(ra),
        "risk_of_bias": _rob_payload(ra),
        "claims": [_claim_payload(c) for c in ra.claims],
        "outcomes": {k: outcome_payload(a) for k, a in ra.outcomes.items()},
        "lhh": ra.lhh,
        "labels": dict(spec.labels),
        "published_summaries": published,
        "evidence": evidence,
        "methods": methods_payload(ra),
        "software": software_versions(),
    })


def _multilevel_payload(res):
    """The shared-control multilevel model of an outcome (None when not fitted)."""
    if res is None:
        return None
    d = res.to_dict()
    first = next(iter(d["coefficients"].values()))
    return {"estimate": first["estimate"], "se": first["se"], "ci_low": first["ci_low"],
            "ci_high": first["ci_high"], "sigma2": d["sigma2"], "k": d["k"],
            "method": d["method"], "test": d["test"]}
