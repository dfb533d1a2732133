"""The review's model, fitted to classified rows: labels, effect sizes, the test by k.

Used by :mod:`sleepmeta.review.analyse` (the main analysis) and
:mod:`sleepmeta.review.sensitivity` (refits of subsets and of rows added
with conservative SEs), so both fit exactly the same model.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["chosen_test", "comparison_labels", "effects_of", "fit_model", "fit_rows"]


def comparison_labels(pooled: pd.DataFrame, dose_text=None) -> list[str]:
    """One label per pooled row: study, dose, and the row id where two rows would share one.

    ``dose_text(dose_min_mg, dose_max_mg)`` words the dose for display (the
    report's ``300–450 mg/day``); by default the row's own ``dose`` text.

    >>> comparison_labels(pd.DataFrame({"study_id": ["A", "A"], "dose": ["300", "300"],
    ...                                 "row_id": ["e:2", "e:3"]}))
    ['A, 300 mg/day [e:2]', 'A, 300 mg/day [e:3]']
    """
    labels, keys = [], []
    none = [None] * len(pooled)  # a column the table lacks (iterrows is slow on small frames)
    lows, highs = (pooled[c] if c in pooled.columns else none
                   for c in ("dose_min_mg", "dose_max_mg"))
    for study, dose, low, high in zip(pooled["study_id"], pooled["dose"], lows, highs):
        key = lab = str(study)
        if dose != "not printed":
            key += f", {dose} mg/day"
            lab += f", {dose} mg/day" if dose_text is None else ", " + dose_text(low, high)
        labels.append(lab)
        keys.append(key)
    return [lab if keys.count(key) == 1 else f"{lab} [{rid}]"
            for lab, key, rid in zip(labels, keys, pooled["row_id"])]


def effects_of(pooled: pd.DataFrame, measure: str):
    """``(yi, vi, labels, correction)`` of pooled rows: log RR from counts, else the row's own.

    >>> yi, vi, labels, _ = effects_of(pd.DataFrame({"study_id": ["A"], "dose": ["300"],
    ...     "row_id": ["e:2"], "yi": [-3.0], "vi": [1.0]}), "MD")
    >>> yi.tolist(), labels
    ([-3.0], ['A, 300 mg/day'])
    """
    from sleepmeta.effects import effect_size

    labels = comparison_labels(pooled)
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


def fit_model(spec, yi, vi, labels, measure, **kw):
    """The review's model: the spec's estimator and the test for this k (one study: FE, z)."""
    from sleepmeta.pooling import meta_analysis

    single = len(yi) < 2
    method = spec.single_study_method if single else spec.method
    return meta_analysis(yi, vi, labels=labels, method=method, test=chosen_test(spec, len(yi)),
                         level=spec.level, measure=measure, **kw)


def fit_rows(outcome, spec, rows: pd.DataFrame):
    """Fit the review's model to already classified (and split) pooled rows."""
    yi, vi, labels, _ = effects_of(rows, outcome.measure)
    return fit_model(spec, yi, vi, labels, outcome.measure)
