"""How the review fits its model: labels and effects of pooled rows, the test chosen by k.

Shared by the main analysis (:mod:`sleepmeta.review.analyse`) and the
sensitivity analyses (:mod:`sleepmeta.review.sensitivity`), so both fit the
same model the same way.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["chosen_test", "fit_effects", "fit_rows", "row_effects", "study_labels"]


def study_labels(pooled: pd.DataFrame) -> list[str]:
    """A label per pooled row: study, daily dose, and the row id where two rows would clash."""
    labels = []
    for _, r in pooled.iterrows():
        lab = str(r["study_id"])
        if r["dose"] != "not printed":
            lab += f", {r['dose']} mg/day"
        labels.append(lab)
    seen: dict = {}
    out = []
    for lab, rid in zip(labels, pooled["row_id"]):
        out.append(lab if labels.count(lab) == 1 else f"{lab} [{rid}]")
        seen[lab] = True
    return out


def row_effects(pooled: pd.DataFrame, measure: str):
    """``(yi, vi, labels, correction note)`` of pooled rows (log RR from counts, else the row's own)."""
    from sleepmeta.effects import effect_size

    labels = study_labels(pooled)
    if measure == "RR":
        es = effect_size("RR", events1=pooled["ai"].astype(float).to_numpy(),
                         n1=pooled["n1i"].astype(float).to_numpy(),
                         events2=pooled["ci"].astype(float).to_numpy(),
                         n2=pooled["n2i"].astype(float).to_numpy(), labels=labels)
        return es.yi, es.vi, labels, es.correction
    return (pooled["yi"].astype(float).to_numpy(), pooled["vi"].astype(float).to_numpy(),
            labels, "")


def chosen_test(spec, k: int) -> str:
    """The review's test for k comparisons: ``z`` for one study, the spec's
    ``few_studies_test`` when k < ``few_studies_k``, else the spec's ``test``.

    >>> from types import SimpleNamespace as NS
    >>> s = NS(test="knha", few_studies_test="adhoc", few_studies_k=5)
    >>> chosen_test(s, 1), chosen_test(s, 4), chosen_test(s, 5)
    ('z', 'adhoc', 'knha')
    """
    if k < 2:
        return "z"  # one study: its own estimate and Wald CI (no t with 0 df)
    return spec.few_studies_test if k < spec.few_studies_k else spec.test


def fit_effects(spec, yi, vi, labels, measure, **kw):
    """The review's model (estimator and test chosen by k) fitted to ``yi``, ``vi``."""
    from sleepmeta.pooling import meta_analysis

    single = len(yi) < 2
    method = spec.single_study_method if single else spec.method
    return meta_analysis(yi, vi, labels=labels, method=method, test=chosen_test(spec, len(yi)),
                         level=spec.level, measure=measure, **kw)


def fit_rows(outcome, spec, rows: pd.DataFrame):
    """Fit the review's model to already classified (and split) pooled rows."""
    yi, vi, labels, _ = row_effects(rows, outcome.measure)
    return fit_effects(spec, yi, vi, labels, outcome.measure)
