"""Certainty of each analysis: few-study inference, prediction interval, GRADE, sensitivity.

:func:`assess` completes an :class:`~sleepmeta.review.analyse.OutcomeAnalysis`
with the prediction interval (t, k - 2 df), the inference alternatives, the
GRADE rating for its population and the sensitivity analyses;
:func:`claim_evidence` picks, for each outcome of a claim, the analysis in
the claim's population or, when that population has no row at all, the
analysis over all populations as indirect evidence, and grades it against
the claim's population.
"""

from __future__ import annotations

from sleepmeta.review.grade import grade_analysis
from sleepmeta.review.rob import read_rob
from sleepmeta.review.sensitivity import (
    inference_alternatives, prediction_interval, sensitivity_analyses,
)

__all__ = ["assess", "claim_evidence", "default_claimed", "load_rob"]


def load_rob(spec, tables: dict):
    """The spec's risk-of-bias table, checked against the review's studies (None if not given).

    Examples
    --------
    >>> from sleepmeta.data import data_path
    >>> from sleepmeta.review.analyse import load_tables
    >>> from sleepmeta.review.spec import load_spec
    >>> spec = load_spec(data_path("pregabalin_review.toml"))
    >>> load_rob(spec, load_tables(spec)).judgement("Boyle 2012")
    'high'
    """
    if not spec.risk_of_bias:
        return None
    studies = set()
    for t in tables.values():
        studies |= set(t["study_id"].astype(str))
    return read_rob(spec.file("data.risk_of_bias", spec.risk_of_bias), studies)


def default_claimed(spec, outcome) -> int:
    """The claimed direction for an outcome's own sensitivity verdicts: the first claim
    naming it, else benefit for efficacy and harm for adverse events.

    Examples
    --------
    >>> from sleepmeta.data import data_path
    >>> from sleepmeta.review.spec import load_spec
    >>> spec = load_spec(data_path("pregabalin_review.toml"))
    >>> default_claimed(spec, spec.outcomes["dizziness"]), default_claimed(spec, spec.outcomes["SOL"])
    (1, -1)
    """
    from sleepmeta.review.verdict import claimed_sign

    for c in spec.claims:
        if outcome.key in c.outcomes and c.expects != "dose":
            return claimed_sign(outcome, c.expects)
    return claimed_sign(outcome, "harm" if outcome.table == "harms" else "benefit")


def _grade(a, spec, rob, population):
    pi = (a.pi.get("low"), a.pi.get("high")) if a.pi else None
    return grade_analysis(a, rob, population=population, overrides=spec.grade_overrides,
                          small_study_min_k=spec.small_study_min_k, pi=pi)


def assess(a, spec, rob):
    """Add prediction interval, inference alternatives, GRADE and sensitivity to ``a``.

    Examples
    --------
    >>> from sleepmeta.data import data_path
    >>> from sleepmeta.review.analyse import analyse_outcome, load_tables
    >>> from sleepmeta.review.spec import load_spec
    >>> spec = load_spec(data_path("pregabalin_review.toml"))
    >>> tables = load_tables(spec)
    >>> a = assess(analyse_outcome(spec, spec.outcomes["dizziness"], tables), spec,
    ...            load_rob(spec, tables))
    >>> a.pi["note"], a.grade.label
    ('not estimable with k = 2 (t with k - 2 = 0 df)', 'very low')
    """
    if a.result is None:
        return a
    a.pi = prediction_interval(a.result, spec.level)
    yi, vi, labels = a.effects
    a.inference = inference_alternatives(yi, vi, labels, measure=a.outcome.measure,
                                         level=spec.level, method=spec.method)
    a.grade = _grade(a, spec, rob, a.population)
    a.sensitivity = sensitivity_analyses(a, spec, rob, claimed=default_claimed(spec, a.outcome),
                                         certainty=a.grade.label if a.grade else None)
    return a


def _has_rows(a) -> bool:
    return a.rows is not None and len(a.rows) > 0 and bool(
        (a.rows["status"] != "other comparator").any())


def claim_evidence(claim, get, spec, rob):
    """``(analyses, grades, indirect)`` for a claim's outcomes (see the module docstring).

    ``get(key, population)`` returns the (assessed) analysis of an outcome in
    a population; :func:`sleepmeta.review.analyse.analyse` passes its cache.
    """
    analyses, grades, indirect = [], [], []
    for key in claim.outcomes:
        a = get(key, claim.population)
        ind = False
        if claim.population and not _has_rows(a):
            other = get(key, ())
            if _has_rows(other):
                a, ind = other, True
        analyses.append(a)
        indirect.append(ind)
        grades.append(None if a.result is None else _grade(a, spec, rob, claim.population))
    return analyses, grades, indirect
