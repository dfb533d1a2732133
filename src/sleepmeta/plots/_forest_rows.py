"""The rows of a forest plot: what each line of the figure says, before drawing.

A :class:`MetaResult` gives study rows, the pooled row, the prediction
interval and notes; a subgroup result (anything with ``groups`` and
``overall``) gives, per group, a header, its studies, a subtotal and a
heterogeneity line, then the overall rows and the test for subgroup
differences.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sleepmeta.effects.intervals import wald_interval
from sleepmeta.errors import InputError
from sleepmeta.plots._style import fmt, fmt_p
from sleepmeta.pooling.registry import ESTIMATOR_INFO, TESTS


@dataclass(frozen=True)
class Row:
    """One line of a forest plot.

    ``kind`` is ``study``, ``group`` (a subgroup header), ``subtotal``,
    ``pooled``, ``pi`` (prediction interval), ``note`` or ``blank``. Numbers
    are on the plotting scale (already exponentiated for ratio measures).
    A note with ``wide=True`` lies below the last interval and may run into
    the plot panel; other notes must fit the label column.
    """

    kind: str
    label: str = ""
    est: float = math.nan
    lo: float = math.nan
    hi: float = math.nan
    weight: float = math.nan
    text: str = ""
    wide: bool = False


def is_subgroup(result) -> bool:
    """Whether ``result`` is a subgroup analysis (has ``groups`` and ``overall``)."""
    return hasattr(result, "groups") and hasattr(result, "overall")


def forest_rows(result, *, labels, back: bool, digits: int, show_pi: bool) -> list[Row]:
    """All rows of the forest plot of ``result``, top to bottom (header excluded)."""
    if is_subgroup(result):
        return _subgroup_rows(result, labels, back, digits, show_pi)
    _check_intercept_only(result, "result")
    names = _labels(result, labels)
    rows = _study_rows(result, names, result.weights, back, digits)
    rows.append(Row("blank"))
    rows += _pooled_rows(result, "pooled", _model_label(result), back, digits, show_pi)
    if result.k > 1:  # one study: heterogeneity is not estimable, so no line about it
        rows.append(Row("note", _heterogeneity(result, full=True), wide=True))
    rows.append(Row("note", _overall_test(result), wide=True))
    return rows


def _subgroup_rows(sg, labels, back, digits, show_pi) -> list[Row]:
    overall = sg.overall
    _check_intercept_only(overall, "overall")
    if labels is not None and not isinstance(labels, Mapping):
        raise InputError("forest_plot: for a subgroup result, labels must be a mapping "
                         "{study label: shown label}, got a "
                         f"{type(labels).__name__}")
    overall_w = _weights_by_label(overall)
    rows: list[Row] = []
    for name, g in sg.groups.items():
        _check_intercept_only(g, f"group {name!r}")
        names = _labels(g, labels)
        if overall_w is not None:
            weights = np.array([overall_w[lab] for lab in g.labels])
        else:
            weights = np.asarray(g.weights, float)
        rows.append(Row("group", str(name)))
        rows += _study_rows(g, names, weights, back, digits)
        sub = _pooled_rows(g, "subtotal", f"Subtotal (k = {g.k})", back, digits, False)
        rows.append(_with_weight(sub[0], float(np.sum(weights))))
        if g.k > 1:
            rows.append(Row("note", _heterogeneity(g, full=False)))
        rows.append(Row("blank"))
    label = "Overall, " + _model_label(overall)[0].lower() + _model_label(overall)[1:]
    rows += _pooled_rows(overall, "pooled", label, back, digits, show_pi)
    rows += [Row("note", _heterogeneity(overall, full=True), wide=True),
             Row("note", _overall_test(overall), wide=True),
             Row("note", _between_test(sg), wide=True)]
    return rows


def _between_test(sg) -> str:
    """The test for subgroup differences: Q (separate tau²), QM or F (common tau²)."""
    df = int(sg.df_between)
    stat = f"Q({df})"
    model = getattr(sg, "model", None)
    if getattr(sg, "tau2_common", False) and model is not None:
        stat = f"F({df}, {model.k - model.p})" if TESTS[model.test].residual_df else f"QM({df})"
    return (f"Test for subgroup differences: {stat} = {fmt(float(sg.q_between), 2)}, "
            f"{fmt_p(float(sg.p_between))}")


def _check_intercept_only(res, what: str) -> None:
    if getattr(res, "p", 1) != 1:
        terms = ", ".join(map(str, res.coefficients.index))
        raise InputError(f"forest_plot: {what} is a meta-regression (terms {terms}); a forest "
                         "plot shows an intercept-only model: use bubble_plot for moderators")


def _labels(res, labels) -> list[str]:
    if labels is None:
        return [str(lab) for lab in res.labels]
    if isinstance(labels, Mapping):
        return [str(labels.get(lab, lab)) for lab in res.labels]
    names = [str(lab) for lab in labels]
    if len(names) != res.k:
        raise InputError(f"forest_plot: labels has {len(names)} entries but the result has "
                         f"k = {res.k} studies")
    return names


def _weights_by_label(overall) -> dict | None:
    labs = list(overall.labels)
    if len(set(labs)) != len(labs):
        return None
    return dict(zip(labs, np.asarray(overall.weights, float)))


def _study_rows(res, names, weights, back, digits) -> list[Row]:
    yi = np.asarray(res.yi, float)
    low, high = wald_interval(yi, np.sqrt(np.asarray(res.vi, float)), res.level)  # as metafor
    rows = []
    for name, y, lo_, hi_, w in zip(names, yi, low, high, np.asarray(weights, float)):
        est, lo, hi = _scale((y, lo_, hi_), back)
        rows.append(Row("study", name, est, lo, hi, float(w), _interval(est, lo, hi, digits)))
    return rows


def _pooled_rows(res, kind, label, back, digits, show_pi) -> list[Row]:
    est, lo, hi = _scale((res.estimate, res.ci_low, res.ci_high), back)
    rows = [Row(kind, label, est, lo, hi, 100.0, _interval(est, lo, hi, digits))]
    if show_pi and ESTIMATOR_INFO[res.method].estimates_tau2:
        plo, phi = _scale((res.pi_low, res.pi_high), back)
        lvl = f"{100 * res.level:g}%"
        rows.append(Row("pi", f"{lvl} prediction interval", est, plo, phi,
                        text=f"[{fmt(plo, digits)}, {fmt(phi, digits)}]"))
    return rows


def _with_weight(row: Row, weight: float) -> Row:
    return Row(row.kind, row.label, row.est, row.lo, row.hi, weight, row.text, row.wide)


def _scale(values, back: bool):
    return tuple(math.exp(v) if back else float(v) for v in values)


def _interval(est, lo, hi, digits) -> str:
    return f"{fmt(est, digits)} [{fmt(lo, digits)}, {fmt(hi, digits)}]"


def _model_label(res) -> str:
    short = TESTS[res.test].short
    knha = f", {short}" if short else ""
    if not ESTIMATOR_INFO[res.method].estimates_tau2:
        return f"Common-effect model{f' ({short})' if short else ''}"
    return f"Random-effects model ({res.method}{knha})"


def _heterogeneity(res, *, full: bool) -> str:
    parts = [] if not ESTIMATOR_INFO[res.method].estimates_tau2 else [f"\u03c4\u00b2 = {fmt(res.tau2, 2)}"]
    parts.append(f"I\u00b2 = {res.i2:.1f}%")
    if full:
        parts.append(f"Q({res.q_df}) = {fmt(res.q, 2)}, {fmt_p(res.q_pvalue)}")
    return "Heterogeneity: " + "; ".join(parts)


def _overall_test(res) -> str:
    stat = "z" if res.df is None else f"t({res.df:g})"
    return f"Test for overall effect: {stat} = {fmt(res.statistic, 2)}, {fmt_p(res.pvalue)}"
