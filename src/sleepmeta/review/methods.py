"""The methods section (from the spec and the analysis) and the plain-language summary.

Text fit for a paper's supplement: estimators, tests, conversions used per
row, handling of shared control groups, of percentages, of zero events, the
verdict rule with its thresholds, and the software versions.
"""

from __future__ import annotations

from sleepmeta.pooling.registry import ESTIMATOR_INFO, TESTS
from sleepmeta.review.software import software_versions

__all__ = ["VERDICT_RULE", "methods_payload", "plain_summary"]


def verdict_rule(spec) -> list:
    """The verdict rule in words, with the spec's thresholds."""
    k = spec.min_studies_supported
    pub = ("published summaries (label tables, pooled reviews) count as non-poolable rows"
           if spec.count_published_summaries else "published summaries are not counted")
    return [
        f"supported: the pooled CI (with the review's few-study inference) excludes no effect "
        f"on the claimed side (both limits beyond 0, or beyond 1 for a risk ratio), k >= {k} "
        "distinct studies, and the GRADE certainty is high or moderate.",
        f"limited evidence: the CI excludes no effect on the claimed side but k < {k} studies "
        "or the certainty is low or very low.",
        "not supported: the CI excludes the claimed side, or lies entirely within the "
        "outcome's margin of no effect (checked first).",
        "uncertain: otherwise (the CI includes no effect); or no poolable row, only rows "
        f"stating a direction ({pub}): direction-only evidence is listed with its sources, "
        "each source counted once, but never counts as support on its own.",
        "no data in this review: no row reports the claim's outcomes.",
        "Rows from another population than the claim's are used only when the claim's "
        "population has none; they are indirect evidence and GRADE rates them down for "
        "indirectness.",
        "A claim takes the verdict of its first listed outcome that has any row; a dose claim "
        "uses the pooled dose curve where one is fitted (the risk ratio of the highest against "
        "the lowest reported dose), else the slope of a meta-regression on daily dose (no "
        "GRADE rating). k counts distinct studies: several rows or dose arms of one source "
        "(a pooled table too) count once.",
    ]


VERDICT_RULE = verdict_rule


def methods_payload(ra) -> dict:
    """Methods paragraphs and the per-row conversion table."""
    spec = ra.spec
    est = f"{ESTIMATOR_INFO[spec.method].label} ({spec.method})"
    paras = [
        f"Data: the extraction tables named in {spec.path.name} (sha256 {spec.sha256[:12]}...), "
        "read as printed; nothing was imputed. Each row is one study, arm, outcome and time "
        "point with its source address.",
        "Effect measures: mean differences in natural units (minutes, score points) for "
        "continuous outcomes; risk ratios for events (analysed on the log scale, shown "
        "back-transformed).",
        "Conversions: a difference with a 95% CI gives SE = (upper - lower) / (2 x 1.96) "
        "(Cochrane Handbook v6.4, 6.3.1); a difference with an exact p-value gives "
        "SE = |difference| / t(1 - p/2, n1 + n2 - 2), or the normal quantile when n is not "
        "printed (Handbook 6.3.2; Altman & Bland 2011); per-arm SEs give SDs as SE x sqrt(n) "
        "(Handbook 6.5.2.2); percentages with n give counts as percent x n rounded to the "
        "nearest whole number (halves up). Rows that print only a bound on p (e.g. '<0.0001') "
        "or only a direction are listed as 'reported, not poolable' with their direction; no "
        "SE is invented.",
        "Published summaries: rows whose notes say they are pooled across trials (label "
        "tables, Cochrane and other pooled analyses) are never pooled with trials; they are "
        "shown beside the pooled results.",
        _shared_control_text(spec),
        f"Pooling: inverse-variance random-effects models with the {est} estimator of tau² "
        f"and {TESTS[spec.test].label}, at the {spec.level:.0%} level; with fewer "
        f"than {spec.few_studies_k} comparisons, "
        f"{TESTS[spec.few_studies_test].label}, following Cochrane's "
        "Statistical Methods Group (REML and the Hartung-Knapp-Sidik-Jonkman interval, "
        "endorsed by Cochrane in 2022) and Röver, Knapp & Friede 2015 (BMC Med Res Methodol "
        "15:99: the ad hoc correction when few studies of varying precision are pooled); "
        "the alternatives (common effect; REML with z, t, Knapp-Hartung and ad hoc) are "
        "shown side by side per outcome. Prediction intervals use t with k - 2 df (Higgins, "
        "Thompson & Spiegelhalter 2009; Cochrane Handbook 10.10.4.3) and are not estimable "
        "with k = 2; a single study is shown as its own estimate with a Wald CI "
        "(common-effect model). Subgroups by condition and dose are analysed when there are "
        "more comparisons than groups (a common tau² when a group has one study); each dose "
        "group is also pooled on its own (a group with one study is that study). Studies with "
        "zero events in both arms carry no information on the risk ratio and are listed, not "
        "pooled; other zero cells get escalc's 1/2 continuity correction.",
        f"Small-study effects (Egger's regression test, Begg's rank test, trim-and-fill, "
        f"funnel plots) are assessed only when k >= {spec.small_study_min_k}. Dose-response: "
        f"a meta-regression on daily dose (per 100 mg/day) when at least "
        f"{spec.dose_regression_min_k} fixed-dose comparisons at two or more doses exist; "
        "flexible-dose arms are not used.",
    ]
    if spec.dose_response is not None:
        dr = spec.dose_response
        knots = f" with knots at {', '.join(f'{k:g}' for k in dr.knots)} mg/day" if dr.knots else ""
        paras.append(
            f"Dose curves ({', '.join(dr.outcomes)}): a one-stage dose-response meta-analysis "
            f"(Crippa et al. 2019; dosresmeta's one-stage model, fitted as metafor's rma.mv with "
            f"random slopes) of log risk ratios of every fixed-dose arm against its study's "
            f"control arm, with the Greenland-Longnecker covariance of contrasts sharing a "
            f"control; {dr.model} in dose{knots} (restricted cubic splines as rms::rcs). A "
            f"pooled table's dose arms against its one placebo column are one study; "
            f"flexible-dose arms are not used; one study gives a fixed-effect curve. Extra "
            f"events per 1,000 and NNH at {', '.join(f'{d:g}' for d in dr.doses)} mg/day use "
            f"the control risk pooled from the same reference arms.")
    paras += [
        "Benefit-risk: NNH (or NNT) = 1 / RD with RD = p0 (RR - 1) at the baseline risk p0, "
        "the control-group risk pooled from the same studies within the analysis's population "
        "(the claim's, where it names one; logit scale, back-transformed); its CI carries the "
        "uncertainty of both the RR and p0 by the delta method (var RD = (p0 RR)² var(log RR) "
        "+ ((RR - 1) p0 (1 - p0))² var(logit p0), independence assumed; Oehlert 1992) and is "
        "reported as NNTB/NNTH when it crosses no effect (Altman 1998). LHH = NNH / NNT where a binary benefit and harm "
        "share a population (Citrome & Ketter 2013).",
    ]
    paras += _certainty_paragraphs(spec, ra)
    conversions = []
    for key, a in ra.outcomes.items():
        if len(a.rows) == 0:
            continue
        cols = ("row_id", "study_id", "status", "form", "conversion")
        for row_id, study, status, form, conversion in zip(*(a.rows[c] for c in cols)):
            conversions.append({"outcome": key, "row_id": row_id, "study": study,
                                "status": status, "form": form, "conversion": conversion})
    sw = software_versions()
    paras.append("Software: " + ", ".join(f"{k} {v}" for k, v in sorted(sw.items()))
                 + "; pooling by sleepmeta's engine, validated against R's metafor 3.8.")
    return {"paragraphs": paras, "verdict_rule": verdict_rule(spec),
            "conversions": conversions}


def _certainty_paragraphs(spec, ra) -> list:
    rob = ("Risk of bias: RoB 2 (Sterne et al. 2019) judgements per study, and per outcome "
           f"where they differ, from {spec.risk_of_bias}; a domain is judged only where the "
           "source read supports it, otherwise 'not assessed'." if spec.risk_of_bias else
           "Risk of bias: no risk-of-bias table is named in the spec; every result is "
           "'not assessed'.")
    return [rob, (
        "Certainty: GRADE, starting at high for randomised trials and rating down 0, 1 or 2 "
        "levels per domain by documented rules: risk of bias from the weight of results not "
        "at low risk (2 when >= 50% is at high risk; 1 when >= 50% is not at low risk, "
        "including not assessed); inconsistency from I² (>= 50% serious; >= 75% very serious "
        "when the prediction interval includes effects in both directions); indirectness "
        "when >= 50% of the weight is from another population than the claim's; imprecision "
        "from the CI against the outcome's margin (or RR 1.25) and the optimal information "
        "size (300 events, 400 participants; Guyatt et al. 2011); publication bias from "
        f"Egger's test when k >= {spec.small_study_min_k}, else not assessable. Reviewer "
        "overrides from the spec are printed with their reasons."), (
        "Sensitivity analyses per outcome: common vs random effects; Mantel-Haenszel and "
        "Peto for binary outcomes; leave-one-out; excluding results at high risk of bias; "
        "adding rows that print only a bound on p with a conservative SE (the bound taken as "
        "p; Cochrane Handbook 6.3.2); the multilevel handling of shared controls is not yet "
        "available. A verdict that changes under a sensitivity analysis is flagged.")]


def plain_summary(payload: dict) -> list:
    """A few sentences a non-specialist reads first, built from the verdicts."""
    by = {}
    for c in payload["claims"]:
        by.setdefault(c["verdict"], []).append(c["text"])
    out = [f"We set {len(payload['claims'])} common claims about {payload['drug']} beside the "
           "published evidence bundled with this review, and pooled the studies where their "
           "numbers allowed it."]
    words = {"supported": "The evidence here supports", "limited evidence":
             "There is only limited evidence (one study, or low or very low certainty) for",
             "not supported": "The evidence here does not support", "uncertain":
             "The evidence is uncertain for", "no data in this review":
             "This review found no data for"}
    for v in ("supported", "limited evidence", "not supported", "uncertain",
              "no data in this review"):
        if v in by:
            out.append(f"{words[v]}: " + "; ".join(t[0].lower() + t[1:] for t in by[v]) + ".")
    out.append("Most sleep outcomes rest on one or two studies with usable numbers; many "
               "results were printed only as 'significant'. Read every verdict with the "
               "number of studies beside it.")
    return out


def _shared_control_text(spec) -> str:
    split = ("the control group's n and events are split evenly among the arms (Cochrane "
             "Handbook v6.4, 23.3.4), so no control participant is counted twice; for a "
             "difference with an SE its variance is scaled by (1/n1 + m/n2)/(1/n1 + 1/n2)")
    if getattr(spec, "shared_control", "split") == "multilevel":
        return ("Shared control groups: when a study contributes several dose arms against one "
                "control group to the same analysis, the primary analysis is a multilevel model "
                "(random effects for studies and for arms within studies, metafor's rma.mv) "
                "with the covariance the shared control group induces between the arms' "
                "contrasts (Gleser & Olkin 2009); as a sensitivity analysis, and where that "
                f"covariance cannot be computed (no control SD printed), {split}.")
    return ("Shared control groups: when a study contributes several dose arms against one "
            f"control group to the same analysis, {split} (analysis.shared_control = 'split'; "
            "the multilevel model with the shared-control covariance is the alternative).")
