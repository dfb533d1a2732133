"""Run a review's outcomes through the one engine (effects -> pooling -> benefit-risk).

Nothing here computes a pooled number itself: effect sizes come from
:func:`sleepmeta.effects.effect_size` (or the row's own converted SE), pooled
estimates from :func:`sleepmeta.pooling.meta_analysis` (subgroups and dose
meta-regression included), small-study tests from
:mod:`sleepmeta.pooling.bias`, and NNH from :mod:`sleepmeta.benefit_risk`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sleepmeta.errors import ConvergenceError, ModelError, SpecError
from sleepmeta.review.evidence import classify, split_shared_controls
from sleepmeta.review.fitting import comparison_labels, effects_of, fit_model
from sleepmeta.review.spec import ReviewSpec
from sleepmeta.review.tables import (REQUIRED, check_against_data, check_numbers, check_studies,
                                     read_table)

__all__ = ["OutcomeAnalysis", "ReviewAnalysis", "analyse", "analyse_outcome", "load_tables"]

def load_tables(spec: ReviewSpec) -> dict:
    """Read the spec's data files (paths relative to the spec) into one table per role.

    Raises :class:`SpecError` naming ``data.<role>[i]`` for a missing file or
    a missing required column.
    """
    from sleepmeta.data import read_evidence_table

    base = Path(spec.path).parent
    tables = {}
    for role, files in spec.data.items():
        frames = []
        for i, name in enumerate(files):
            path = spec.file(f"data.{role}[{i}]", name)
            if not path.is_file():
                raise SpecError(f"data.{role}[{i}]: file {name!r} not found (relative to "
                                f"{str(base)!r})")
            where = f"data.{role}[{i}]"
            df = check_numbers(check_studies(read_table(path, where, read_evidence_table), where,
                                             name), where, name)
            missing = [c for c in REQUIRED[role] if c not in df.columns]
            if missing:
                raise SpecError(f"data.{role}[{i}]: file {name!r} has no column {missing[0]!r} "
                                f"(required: {', '.join(REQUIRED[role])})")
            stem = Path(name).stem
            df.insert(0, "row_id", [f"{stem}:{j + 2}" for j in range(len(df))])
            df.insert(1, "source_file", Path(name).name)
            frames.append(df)
        if frames:
            t = pd.concat(frames, ignore_index=True)
            t["published_summary"] = t["notes"].fillna("").astype(str).str.contains(
                "pooled", case=False)
            tables[role] = t
    check_against_data(spec, tables)
    return tables


@dataclass
class OutcomeAnalysis:
    """One outcome (in one population): its rows, pooled result and checks."""

    outcome: object
    population: tuple
    rows: pd.DataFrame
    pooled_rows: pd.DataFrame
    result: object = None  # MetaResult, or None when no row is poolable
    subgroups: dict = field(default_factory=dict)  # name -> SubgroupResult
    subgroup_notes: list = field(default_factory=list)
    small_study: dict = field(default_factory=dict)
    dose_regression: object = None
    dose_note: str = ""
    baseline: object = None
    nnh: object = None
    participants: int = 0
    participants_unknown: int = 0
    notes: list = field(default_factory=list)
    by_dose: dict = field(default_factory=dict)  # dose label -> MetaResult (ratio outcomes)
    effects: tuple = ()  # (yi, vi, labels) exactly as pooled
    pi: dict = field(default_factory=dict)  # prediction interval, t with k - 2 df (k >= 3)
    inference: list = field(default_factory=list)  # FE and REML with z, t, knha, adhoc
    grade: object = None  # GRADE rating for this analysis's population
    sensitivity: list = field(default_factory=list)
    dose_curve: object = None  # review.dose_curves.DoseCurve when [dose_response] names it
    multilevel: object = None  # MultilevelResult: arms sharing a control (primary when set)

    @property
    def k(self) -> int:
        """Number of pooled comparisons."""
        return 0 if self.result is None else int(self.result.k)

    @property
    def studies(self) -> int:
        """Number of distinct studies among the pooled comparisons."""
        return int(self.pooled_rows["study_id"].nunique()) if len(self.pooled_rows) else 0


@dataclass
class ReviewAnalysis:
    """Everything the report shows: the outcomes, the claims' analyses, the tables."""

    spec: ReviewSpec
    tables: dict
    outcomes: dict  # key -> OutcomeAnalysis over all populations
    claims: list  # one dict per claim: claim, analyses (list of OutcomeAnalysis), verdict
    lhh: list
    rob: object = None  # RiskOfBias of the review (None: no table in the spec)


def _in_population(rows: pd.DataFrame, population: tuple) -> pd.DataFrame:
    if not population or rows.empty:
        return rows
    return rows[rows["condition"].astype("string").isin(population).fillna(False).astype(bool)]


def _participants(pooled: pd.DataFrame) -> tuple[int, int]:
    total, unknown = 0, 0
    for _, grp in pooled.groupby("study_id", sort=True):
        nt = pd.to_numeric(grp["n_treat"], errors="coerce")
        nc = pd.to_numeric(grp["n_ctrl"], errors="coerce")
        if nt.isna().any() or nc.isna().any():
            unknown += len(grp)
            continue
        total += int(nt.sum() + nc.drop_duplicates().sum())  # a shared control counted once
    return total, unknown


def _subgroups(a: OutcomeAnalysis, spec, yi, vi, labels, measure) -> None:
    from sleepmeta.pooling import meta_analysis

    for name in a.outcome.subgroups:
        col = "condition" if name == "condition" else "dose"
        values = a.pooled_rows[col].astype(str).to_numpy()
        groups = pd.Series(values).value_counts()
        if len(groups) < 2:
            continue
        if len(yi) <= len(groups):
            a.subgroup_notes.append(
                f"Subgroups by {name} ({len(groups)} groups, k = {len(yi)}): too few comparisons "
                "to test subgroup differences (needs k > number of groups); each group's "
                "comparisons are shown in the forest plot.")
            continue
        single = bool((groups == 1).any())
        sub = meta_analysis(yi, vi, labels=labels, method=spec.method, test=spec.test,
                            level=spec.level, measure=measure, subgroup=list(values),
                            tau2_common=single)
        a.subgroups[name] = sub
        if single:
            one = ", ".join(sorted(groups[groups == 1].index))
            a.subgroup_notes.append(
                f"Subgroups by {name}: group(s) {one} have one study; a common tau² across "
                "groups (mixed-effects model on the subgroup factor) is used.")


def _small_study(a: OutcomeAnalysis, spec) -> None:
    """Egger's test, the rank test and trim-and-fill (metafor's regtest, ranktest, trimfill).

    A check that cannot run is reported with its reason in ``notes`` (its entry
    is ``None``), as subgroup analyses are; the others still run.
    """
    k = a.k
    need = spec.small_study_min_k
    if k < need:
        a.small_study = {"done": False, "reason": (
            f"k = {k}: tests for small-study effects (Egger's regression, Begg's rank test) and "
            f"funnel plots need at least {need} studies (Cochrane Handbook 13.3.5.4); not done.")}
        return
    from sleepmeta.pooling.bias import egger_test, rank_test
    from sleepmeta.pooling.trimfill import trim_and_fill

    out: dict = {"done": True, "egger": None, "rank": None, "trimfill": None, "notes": []}
    checks = (
        ("egger", "Egger's regression test", egger_test,
         lambda eg: {"statistic": eg.statistic, "pvalue": eg.pvalue, "df": eg.df,
                     "limit_estimate": eg.limit_estimate}),
        ("rank", "Begg's rank test", rank_test,
         lambda rk: {"statistic": rk.tau, "pvalue": rk.pvalue, "exact": rk.exact}),
        ("trimfill", "Trim-and-fill", trim_and_fill,
         lambda tf: {"k0": tf.k0, "side": tf.side, "se_k0": tf.se_k0,
                     "estimate": tf.adjusted.estimate, "ci_low": tf.adjusted.ci_low,
                     "ci_high": tf.adjusted.ci_high, "pvalue": tf.adjusted.pvalue}),
    )
    for key, name, run, fields in checks:
        try:
            got = run(a.result)
        except (ModelError, ConvergenceError) as exc:
            out["notes"].append(f"{name} not possible: {exc}")
            continue
        out[key] = fields(got)
        if key == "trimfill":
            out["trimfill_object"] = got
    a.small_study = out


def _dose_regression(a: OutcomeAnalysis, spec, yi, vi, labels, measure) -> None:
    pr = a.pooled_rows
    fixed = (pr["dose_min_mg"].notna() & (pr["dose_min_mg"] == pr["dose_max_mg"])).to_numpy()
    k_fixed = int(fixed.sum())
    doses = pr.loc[fixed, "dose_min_mg"].astype(float).to_numpy()
    need = spec.dose_regression_min_k
    if k_fixed < need or len(np.unique(doses)) < 2:
        a.dose_note = (f"{k_fixed} fixed-dose comparison(s) with {len(np.unique(doses))} distinct "
                       f"dose(s): a meta-regression on dose needs at least {need} fixed-dose "
                       "comparisons at 2 or more doses (flexible-dose arms are not used); "
                       "not done.")
        return
    data = pd.DataFrame({"dose_100mg": doses / 100.0})
    a.dose_regression = fit_model(spec, yi[fixed], vi[fixed],
                                  [labels[i] for i in np.flatnonzero(fixed)],
                                  measure, mods="~ dose_100mg", data=data)
    a.dose_note = ("Meta-regression of the effect on daily dose (per 100 mg/day) over "
                   f"{k_fixed} fixed-dose comparisons; flexible-dose arms are not used.")


def _nnh(a: OutcomeAnalysis, spec) -> None:
    from sleepmeta.benefit_risk import baseline_risk, number_needed_uncertain_baseline

    pr = a.pooled_rows
    base = baseline_risk(pr["ci"].astype(float).to_numpy(), pr["n2i"].astype(float).to_numpy(),
                         labels=comparison_labels(pr), method=spec.method, test="z",
                         level=spec.level)
    a.baseline = base
    r = a.result
    events = "harmful" if a.outcome.better == "lower" else "beneficial"
    conds = sorted(pr["condition"].dropna().astype(str).unique())
    if len(conds) > 1:
        a.notes.append("The control risk for the NNH is pooled over several conditions ("
                       + ", ".join(conds) + "); a claim naming one population gets its own.")
    # control risk from the same studies (this analysis's population); its CI is carried
    # into the NNH's CI by the delta method
    a.nnh = number_needed_uncertain_baseline(
        float(np.exp(r.estimate)), float(np.exp(r.ci_low)), float(np.exp(r.ci_high)),
        base.estimate, base.ci_low, base.ci_high, level=spec.level, events=events)


def analyse_outcome(spec: ReviewSpec, outcome, tables: dict, population: tuple = (),
                    classified: pd.DataFrame | None = None) -> OutcomeAnalysis:
    """Classify, pool and check one outcome in one population (``()`` = all).

    Examples
    --------
    >>> from sleepmeta.data import data_path
    >>> from sleepmeta.review.spec import load_spec
    >>> spec = load_spec(data_path("pregabalin_review.toml"))
    >>> a = analyse_outcome(spec, spec.outcomes["WASO"], load_tables(spec))
    >>> a.k, a.result.labels
    (1, ('Roth 2012, 300-450 mg/day',))
    """
    if classified is None:
        classified = classify(outcome, tables[outcome.table], spec)
    rows = _in_population(classified, population)
    pooled = rows[rows["status"] == "pooled"] if len(rows) else rows
    a = OutcomeAnalysis(outcome=outcome, population=tuple(population), rows=rows,
                        pooled_rows=pooled)
    if spec.dose_response is not None and outcome.key in spec.dose_response.outcomes and len(rows):
        from sleepmeta.review.dose_curves import fit_dose_curve

        a.dose_curve = fit_dose_curve(rows, spec.dose_response, level=spec.level)
    if pooled.empty:
        a.small_study = {"done": False, "reason": "No poolable rows: nothing to test."}
        a.dose_note = "No poolable rows: no dose meta-regression."
        return a
    unsplit = pooled
    pooled = split_shared_controls(pooled, outcome.measure, outcome.key)
    a.pooled_rows = pooled
    yi, vi, labels, correction = effects_of(pooled, outcome.measure)
    if correction:
        a.notes.append(correction)
    a.result = fit_model(spec, yi, vi, labels, outcome.measure)
    a.effects = (yi, vi, labels)
    if spec.shared_control == "multilevel" and (pooled["split"] > 1).any():
        from sleepmeta.review.shared_control import multilevel_fit

        uyi, uvi, _, _ = effects_of(unsplit, outcome.measure)
        a.multilevel, note = multilevel_fit(unsplit, uyi, uvi, labels, outcome.measure, spec)
        if note:
            a.notes.append(note)
    a.participants, a.participants_unknown = _participants(pooled)
    try:
        _subgroups(a, spec, yi, vi, labels, outcome.measure)
    except (ModelError, ConvergenceError) as exc:
        a.subgroup_notes.append(f"Subgroup analysis not possible: {exc}")
    _small_study(a, spec)
    _dose_regression(a, spec, yi, vi, labels, outcome.measure)
    if outcome.measure == "RR":
        _nnh(a, spec)
        _by_dose(a, spec, yi, vi, labels)
    return a


def _by_dose(a: OutcomeAnalysis, spec, yi, vi, labels) -> None:
    """Pool each dose group on its own; a group with one study is that study (k = 1)."""
    doses = a.pooled_rows["dose"].astype(str).to_numpy()
    for d in sorted(set(doses), key=lambda s: (s == "not printed", s)):
        idx = np.flatnonzero(doses == d)
        a.by_dose[d] = fit_model(spec, yi[idx], vi[idx], [labels[i] for i in idx], "RR")


def analyse(spec: ReviewSpec, tables: dict | None = None, progress=None) -> ReviewAnalysis:
    """Analyse every outcome (all populations) and every claim's outcomes (its populations).

    ``progress`` is an optional callable taking a short message per step.
    """
    from sleepmeta.review.certainty import assess, claim_evidence, load_rob
    from sleepmeta.review.verdict import claim_verdict

    tables = load_tables(spec) if tables is None else tables
    rob = load_rob(spec, tables)
    cache: dict = {}
    classified: dict = {}

    def get(key, population):
        ck = (key, tuple(population))
        if ck not in cache:
            if progress:
                progress(f"outcome {key}" + (f" ({', '.join(population)})" if population else ""))
            o = spec.outcomes[key]
            if key not in classified:
                classified[key] = classify(o, tables[o.table], spec)
            cache[ck] = assess(analyse_outcome(spec, o, tables, tuple(population),
                                               classified[key]), spec, rob)
        return cache[ck]

    outcomes = {key: get(key, ()) for key in spec.outcomes}
    claims = []
    for claim in spec.claims:
        analyses, grades, indirect = claim_evidence(claim, get, spec, rob)
        claims.append(claim_verdict(claim, analyses, spec, grades, indirect))
    lhh = [_lhh(pair, get(pair["benefit"], pair["population"]),
                get(pair["harm"], pair["population"])) for pair in spec.lhh]
    return ReviewAnalysis(spec=spec, tables=tables, outcomes=outcomes, claims=claims, lhh=lhh,
                          rob=rob)


def _lhh(pair: dict, benefit: OutcomeAnalysis, harm: OutcomeAnalysis) -> dict:
    from sleepmeta.benefit_risk import likelihood_helped_harmed

    out = {"benefit": pair["benefit"], "harm": pair["harm"],
           "population": list(pair["population"]), "lhh": None}
    if benefit.nnh is None or harm.nnh is None:
        missing = [n for n, a in ((pair["benefit"], benefit), (pair["harm"], harm)) if a.nnh is None]
        out["reason"] = (f"not computable: no pooled risk ratio for {', '.join(missing)} in this "
                         "population (LHH needs a binary benefit and a binary harm pooled in "
                         "the same population)")
        return out
    if benefit.nnh.kind != "NNT" or harm.nnh.kind != "NNH":
        out["reason"] = "not computable: the benefit outcome does not favour treatment or the harm does not occur more often"
        return out
    out["lhh"] = likelihood_helped_harmed(benefit.nnh.value, harm.nnh.value)
    out["reason"] = "LHH = NNH / NNT (Citrome & Ketter 2013)"
    return out
