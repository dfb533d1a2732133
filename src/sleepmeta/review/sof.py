"""The Summary-of-findings table and GRADE's wording of findings.

One row per outcome, as Cochrane reviews print it (Cochrane Handbook v6.4,
chapter 14, section 14.1.5; Schünemann et al.): the assumed risk with the
comparator and the corresponding risk with the drug per 1,000 people, with
its CI, at the pooled control risk of the studies and at the low and high
control risks the spec gives (``control_risks = [low, high]`` per outcome);
the relative effect with its CI; participants (studies); the certainty; and
comments (the reasons for rating down). The corresponding risk is the
assumed control risk times the risk ratio, and its CI the same product with
the ratio's CI limits (Handbook 14.1.5.1): a control risk of 86 per 1,000 and
RR 3.52 give 86 x 3.52 = 302.7, i.e. 303 per 1,000.

For continuous outcomes: the mean (or mean change) in the control group
where the studies print it, and the mean difference with its CI.

Claims are worded as GRADE recommends for each certainty (Santesso et al.
2020, GRADE guidelines 26, J Clin Epidemiol 119:126): high "reduces",
moderate "probably reduces", low "may reduce", very low "the evidence is
very uncertain about the effect"; an effect within the outcome's margin is
"little to no difference".
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sleepmeta.errors import InputError, SpecError

__all__ = ["check_control_risks", "corresponding_risk", "grade_statement", "sof_row",
           "sof_table"]


def check_control_risks(value, key: str, measure: str) -> tuple:
    """Validate an outcome's ``control_risks = [low, high]`` (spec key ``key``); () if absent.

    >>> check_control_risks([0.05, 0.11], "outcomes.x.control_risks", "RR")
    (0.05, 0.11)
    >>> check_control_risks([0.05, 1.0], "outcomes.x.control_risks", "RR")
    Traceback (most recent call last):
    ...
    sleepmeta.errors.SpecError: outcomes.x.control_risks: a control risk must be in (0, 1), got 1.0
    """
    if value is None:
        return ()
    if measure != "RR":
        raise SpecError(f"{key}: control risks apply to risk ratios only (measure is {measure})")
    if not (isinstance(value, list) and len(value) == 2
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)):
        raise SpecError(f"{key}: must be [low, high], two risks in (0, 1), got {value!r}")
    for x in value:
        if not 0 < x < 1:
            raise SpecError(f"{key}: a control risk must be in (0, 1), got {x!r}")
    if not value[0] < value[1]:
        raise SpecError(f"{key}: low must be below high, got {value!r}")
    return (float(value[0]), float(value[1]))


def corresponding_risk(control_risk: float, ratio: float, ci_low: float, ci_high: float
                       ) -> dict:
    """Assumed and corresponding risk per 1,000 from a control risk and a risk ratio.

    Parameters
    ----------
    control_risk : float
        Assumed risk with the comparator, in (0, 1).
    ratio, ci_low, ci_high : float
        The risk ratio and its CI (ratio scale).

    Returns
    -------
    dict
        ``assumed``, ``corresponding``, ``ci_low``, ``ci_high`` per 1,000 and
        the risk difference per 1,000 (``difference``, ``difference_low``,
        ``difference_high``); a corresponding risk is capped at 1,000.

    Examples
    --------
    86 per 1,000 with placebo and RR 3.52 (hand calculation: 86 x 3.52 = 302.72):

    >>> r = corresponding_risk(0.086, 3.52, 2.61, 4.75)
    >>> round(r["corresponding"]), round(r["ci_low"]), round(r["difference"])
    (303, 224, 217)
    """
    if not (isinstance(control_risk, (int, float)) and 0 < control_risk < 1):
        raise InputError(f"control risk must be in (0, 1), got {control_risk!r}")
    if not 0 < ci_low <= ratio <= ci_high:
        raise InputError(f"need 0 < ci_low <= ratio <= ci_high, got {ci_low}, {ratio}, {ci_high}")
    a = 1000 * control_risk
    c = [min(1000.0, a * r) for r in (ratio, ci_low, ci_high)]
    return {"assumed": a, "corresponding": c[0], "ci_low": c[1], "ci_high": c[2],
            "difference": c[0] - a, "difference_low": c[1] - a, "difference_high": c[2] - a}


_VERBS = {  # (claimed direction word, certainty) -> phrasing
    "high": "{drug} {verb} {what}",
    "moderate": "{drug} probably {verb} {what}",
    "low": "{drug} may {verb_base} {what}",
}


def grade_statement(drug: str, what: str, *, direction: int, certainty: str,
                    within_margin: bool = False, words=("increase", "reduce")) -> str:
    """A finding worded as GRADE recommends for its certainty (Santesso et al. 2020).

    Parameters
    ----------
    drug : str
    what : str
        The outcome, e.g. ``"dizziness"``.
    direction : {+1, -1, 0}
        Sign of the point estimate (treatment minus control; log scale for ratios).
    certainty : {"high", "moderate", "low", "very low"}
    within_margin : bool
        The CI lies within the margin of no important effect.
    words : (str, str)
        The verbs for a positive and a negative direction, e.g.
        ``("improve", "worsen")`` with ``direction`` +1 for an effect in the
        outcome's better direction.

    Examples
    --------
    >>> grade_statement("Pregabalin", "dizziness", direction=1, certainty="moderate")
    'Pregabalin probably increases dizziness'
    >>> grade_statement("Pregabalin", "dizziness", direction=1, certainty="low")
    'Pregabalin may increase dizziness'
    >>> grade_statement("Pregabalin", "sleep latency", direction=-1, certainty="very low")
    'The evidence is very uncertain about the effect of pregabalin on sleep latency'
    >>> grade_statement("Pregabalin", "WASO", direction=-1, certainty="high", within_margin=True)
    'Pregabalin results in little to no difference in WASO'
    >>> grade_statement("Pregabalin", "sleep quality", direction=1, certainty="low",
    ...                 words=("improve", "worsen"))
    'Pregabalin may improve sleep quality'
    """
    if certainty not in ("high", "moderate", "low", "very low"):
        raise InputError(f"unknown certainty {certainty!r}")
    if certainty == "very low":
        return f"The evidence is very uncertain about the effect of {drug.lower()} on {what}"
    if within_margin or direction == 0:
        verb, base = "results in little to no difference in", "result in little to no difference in"
    else:
        base = words[0] if direction > 0 else words[1]
        verb = base + "s"
    return _VERBS[certainty].format(drug=drug, verb=verb, verb_base=base, what=what)


def _control_means(pr: pd.DataFrame):
    if "mean_ctrl" not in pr:
        return None
    m = pd.to_numeric(pr["mean_ctrl"], errors="coerce").dropna()
    if m.empty:
        return None
    return {"low": float(m.min()), "high": float(m.max()), "n": int(len(m))}


def sof_row(a, grade, *, control_risks=(), baseline=None, level: float = 0.95) -> dict:
    """One row of the Summary-of-findings table for an outcome analysis.

    ``baseline`` is the pooled control risk (a :class:`~sleepmeta.benefit_risk.BaselineRisk`)
    for ratio outcomes; ``control_risks`` the spec's low and high control risks.

    Examples
    --------
    >>> from sleepmeta.data import data_path
    >>> from sleepmeta.review.analyse import analyse_outcome, load_tables
    >>> from sleepmeta.review.grade import grade_analysis
    >>> from sleepmeta.review.spec import load_spec
    >>> spec = load_spec(data_path("pregabalin_review.toml"))
    >>> a = analyse_outcome(spec, spec.outcomes["dizziness"], load_tables(spec))
    >>> row = sof_row(a, grade_analysis(a, None), control_risks=(0.05, 0.11), baseline=a.baseline)
    >>> [q["basis"] for q in row["risks"]], round(row["risks"][1]["assumed"])
    (['pooled control risk', 'low control risk', 'high control risk'], 50)
    """
    o = a.outcome
    row = {"outcome": o.key, "label": o.label, "measure": o.measure, "unit": o.unit,
           "population": list(a.population) or "all", "studies": a.studies, "k": a.k,
           "participants": a.participants, "participants_unknown_rows": a.participants_unknown,
           "certainty": grade.label if grade is not None else None,
           "comments": grade.reasons if grade is not None else ["nothing pooled"],
           "risks": [], "relative": None, "difference": None, "control_mean": None}
    res = a.result
    if res is None:
        return row
    if o.measure == "RR":
        rr = [math.exp(x) for x in (res.estimate, res.ci_low, res.ci_high)]
        row["relative"] = {"measure": "RR", "estimate": rr[0], "ci_low": rr[1],
                           "ci_high": rr[2], "level": level}
        risks = []
        if baseline is not None:
            risks.append(("pooled control risk", baseline.estimate))
        for name, p in zip(("low control risk", "high control risk"), control_risks):
            risks.append((name, p))
        for name, p in risks:
            row["risks"].append({"basis": name, **corresponding_risk(p, *rr)})
    else:
        row["difference"] = {"measure": "MD", "estimate": float(res.estimate),
                             "ci_low": float(res.ci_low), "ci_high": float(res.ci_high),
                             "level": level}
        row["control_mean"] = _control_means(a.pooled_rows)
    return row


def direction_of(res) -> int:
    """Sign of a pooled estimate (0 for exactly no effect).

    >>> from types import SimpleNamespace as NS
    >>> direction_of(NS(estimate=-0.2))
    -1
    """
    return int(np.sign(res.estimate))


def _within_margin(res, outcome) -> bool:
    m = outcome.margin
    if m <= 0 or (outcome.measure == "RR" and m <= 1):
        return False
    t = math.log(m) if outcome.measure == "RR" else m
    return -t <= float(res.ci_low) and float(res.ci_high) <= t


def _what(label: str) -> str:
    """An outcome label as a phrase: "Dizziness" -> "dizziness"; "HAM-D ..." kept."""
    head = label.split(" (")[0]
    return head if head[:2].isupper() else head[:1].lower() + head[1:]


def sof_table(ra) -> list[dict]:
    """One Summary-of-findings row per claim (its deciding outcome, in its population).

    Each row adds to :func:`sof_row` the claim, its verdict, whether the
    evidence is indirect, and the finding worded as GRADE recommends.

    Examples
    --------
    >>> from sleepmeta.data import data_path
    >>> from sleepmeta.review.analyse import analyse
    >>> from sleepmeta.review.spec import load_spec
    >>> rows = sof_table(analyse(load_spec(data_path("pregabalin_review.toml"))))
    >>> next(r["statement"] for r in rows if r["claim"] == "maintenance")
    'Pregabalin may improve wake after sleep onset'
    """
    rows = []
    for c in ra.claims:
        claim = c["claim"]
        if claim.expects == "dose" or not c["analyses"]:
            continue
        keys = [a.outcome.key for a in c["analyses"]]
        i = keys.index(c["primary"]) if c["primary"] in keys else 0
        a, g, ind = c["analyses"][i], c["grades"][i], c["indirect"][i]
        base = a.baseline if a.outcome.measure == "RR" else None
        row = sof_row(a, g, control_risks=a.outcome.control_risks, baseline=base,
                      level=ra.spec.level)
        what = _what(a.outcome.label)
        if a.result is None:
            row["statement"] = (f"No result could be pooled for {what}; "
                                f"{c['reason']}")
        else:
            sign = direction_of(a.result)
            if a.outcome.table == "harms":
                words = ("increase", "reduce")
            else:  # efficacy: +1 when the estimate lies in the outcome's better direction
                words = ("improve", "worsen")
                sign = sign if a.outcome.better == "higher" else -sign
            row["statement"] = grade_statement(
                ra.spec.drug.capitalize(), what, direction=sign, certainty=g.label,
                within_margin=_within_margin(a.result, a.outcome), words=words)
        row.update(claim=claim.id, claim_text=claim.text, verdict=c["verdict"],
                   indirect=bool(ind), claim_population=list(claim.population) or "all")
        if ind:
            row["comments"] = ["indirect: rows from other populations than the claim's"] + \
                row["comments"]
        rows.append(row)
    return rows
