"""Few-study inference side by side, and sensitivity analyses per outcome.

Inference (:func:`inference_alternatives`): the pooled estimate under a
common-effect model and under REML random effects with each test --
Wald ``z``; ``t`` (t quantile with k - 1 df, variance unchanged); ``knha``
(Hartung-Knapp-Sidik-Jonkman); ``adhoc`` (HKSJ with the ad hoc correction
that never lets the interval be narrower than the Wald one; Röver, Knapp &
Friede 2015, BMC Med Res Methodol 15:99) -- all fitted by
:func:`sleepmeta.pooling.meta_analysis` (metafor's ``rma(test=...)``).

The review's default for k < ``few_studies_k`` (5) is REML with ``adhoc``:
Cochrane's Statistical Methods Group recommends REML for tau² and the HKSJ
interval for the summary effect (endorsed by Cochrane in September 2022,
https://methods.cochrane.org/methods-cochrane/random-effects-meta-analysis-methods-intervention-reviews),
and Röver et al. (2015) recommend the ad hoc modification when there are
few studies of varying precision, where plain HKSJ can be narrower than the
Wald interval.

The prediction interval (:func:`prediction_interval`) uses a t quantile with
k - 2 df (Higgins, Thompson & Spiegelhalter 2009, J R Stat Soc A 172:137;
Cochrane Handbook v6.4, 10.10.4.3), as metafor's ``predict(pi.type =
"riley")``: estimable for k >= 3 only, "not estimable" at k = 2.

Sensitivity analyses (:func:`sensitivity_analyses`): common vs random
effects; Mantel-Haenszel and Peto for binary outcomes (RevMan's defaults;
metafor's ``rma.mh``/``rma.peto``); leave-one-out; excluding results at high
risk of bias; adding the rows that print only a bound on p with a
conservative SE (the bound taken as the p-value: Cochrane Handbook v6.4,
6.3.2); and the split-control versus multilevel handling of shared controls
(the multilevel model's estimate where arms share a control, else why not).
Each gives the verdict of the same rule, and says when it differs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sleepmeta import distributions as stats
from sleepmeta.errors import ModelError, SpecError

__all__ = ["INFERENCE_TESTS", "inference_alternatives", "p_bound_effect", "prediction_interval",
           "sensitivity_analyses"]

INFERENCE_TESTS = ("z", "t", "knha", "adhoc")
_BOUND = __import__("re").compile(r"^\s*p?\s*[<≤]=?\s*(0?\.\d+|\d\.\d*e-?\d+)\s*$", 2)


def prediction_interval(res, level: float = 0.95) -> dict:
    """The prediction interval with t on k - 2 df (k >= 3), else "not estimable".

    ``mu ± t(k-2) sqrt(se² + tau²)`` on the analysis scale, with the model's
    own SE (metafor's ``predict(res, pi.type = "riley")`` for an
    intercept-only model).

    Examples
    --------
    Hand calculation: mu = 1, se = 0.2, tau² = 0.05, k = 4:
    1 ± t(0.975, 2) x sqrt(0.04 + 0.05) = 1 ± 4.302653 x 0.3 = [-0.2908, 2.2908].

    >>> from types import SimpleNamespace as NS
    >>> pi = prediction_interval(NS(k=4, estimate=1.0, se=0.2, tau2=0.05))
    >>> round(pi["low"], 4), round(pi["high"], 4), pi["df"]
    (-0.2908, 2.2908, 2)
    >>> prediction_interval(NS(k=2, estimate=1.0, se=0.2, tau2=0.05))["note"]
    'not estimable with k = 2 (t with k - 2 = 0 df)'
    """
    k = int(res.k)
    if k < 3:
        why = f"not estimable with k = {k} (t with k - 2 = {k - 2} df)" if k == 2 else \
            "not estimable with one study"
        return {"low": None, "high": None, "df": None, "note": why}
    crit = float(stats.t.ppf(1 - (1 - level) / 2, k - 2))
    half = crit * math.sqrt(float(res.se) ** 2 + float(res.tau2))
    return {"low": float(res.estimate) - half, "high": float(res.estimate) + half, "df": k - 2,
            "note": f"t quantile with k - 2 = {k - 2} df (Higgins et al. 2009)"}


def _shared_control_entry(a, ratio: bool) -> dict:
    """Split controls (Cochrane Handbook ch. 23) against the multilevel model with the
    Gleser-Olkin covariance of arms sharing a control (:mod:`sleepmeta.review.shared_control`)."""
    name = "shared controls: multilevel model (rma.mv) instead of split controls"
    ml = getattr(a, "multilevel", None)
    if ml is not None:
        return _entry(name, ml, ratio, studies=a.studies,
                      note="arms sharing a control: random effects for study and arm, "
                           "Gleser & Olkin 2009 covariance")
    split = a.pooled_rows["split"] if "split" in a.pooled_rows.columns else None
    shared = split is not None and bool((split.astype(float) > 1).any())
    return {"analysis": name, "k": None,
            "note": ("no arms share a control group: nothing to compare" if not shared else
                     "multilevel model not fitted (see the outcome's notes); split controls "
                     "only")}


def _entry(name, res, natural, **extra) -> dict:
    f = math.exp if natural else (lambda v: v)
    est, lo, hi = float(res.estimate), float(res.ci_low), float(res.ci_high)
    return {"analysis": name, "k": int(res.k), "estimate": est, "ci_low": lo, "ci_high": hi,
            "natural": {"estimate": f(est), "ci_low": f(lo), "ci_high": f(hi)}, **extra}


def inference_alternatives(yi, vi, labels, *, measure: str, level: float, method: str = "REML"
                           ) -> list[dict]:
    """The pooled estimate under FE and under ``method`` with each test of :data:`INFERENCE_TESTS`.

    Examples
    --------
    >>> rows = inference_alternatives([0.2, 0.5, 0.1], [0.04, 0.05, 0.03], ["a", "b", "c"],
    ...                               measure="MD", level=0.95)
    >>> [r["analysis"] for r in rows]
    ['common effect (FE), z', 'REML, z', 'REML, t', 'REML, knha', 'REML, adhoc']
    """
    from sleepmeta.pooling import meta_analysis

    ratio = measure == "RR"
    out = [_entry("common effect (FE), z",
                  meta_analysis(yi, vi, labels=labels, method="FE", level=level, measure=measure),
                  ratio, test="z", method="FE")]
    if len(yi) < 2:
        return out
    for test in INFERENCE_TESTS:
        res = meta_analysis(yi, vi, labels=labels, method=method, test=test, level=level,
                            measure=measure)
        out.append(_entry(f"{method}, {test}", res, ratio, test=test, method=method,
                          df=None if test == "z" else int(res.k) - 1))
    return out


def p_bound_effect(row: dict):
    """``(yi, vi, conversion)`` for a difference that prints only a bound on p, or None.

    The bound is taken as the p-value (conservative: the true p is smaller,
    so the true SE is smaller; Cochrane Handbook v6.4, 6.3.2):
    ``SE = |diff| / t(1 - bound/2, n1 + n2 - 2)``, the normal quantile when n
    is not printed.

    >>> yi, vi, how = p_bound_effect({"diff": -0.9, "p_value_text": "<0.0001"})
    >>> round(math.sqrt(vi), 4)  # 0.9 / z(0.99995) = 0.9 / 3.8906
    0.2313
    """
    diff = row.get("diff")
    text = row.get("p_value_text")
    if diff is None or not isinstance(text, str) or pd.isna(diff) or diff == 0:
        return None
    m = _BOUND.match(text)
    if not m:
        return None
    p = float(m.group(1))
    if not 0 < p < 1:
        return None
    nt, nc = row.get("n_treat"), row.get("n_ctrl")
    if nt is not None and nc is not None and not pd.isna(nt) and not pd.isna(nc):
        crit, how = float(stats.t.isf(p / 2, nt + nc - 2)), f"t with {nt + nc - 2:g} df"
    else:
        crit, how = float(stats.norm.isf(p / 2)), "normal quantile (n not printed)"
    se = abs(float(diff)) / crit
    return float(diff), se * se, (f"conservative SE from the bound p {text.strip()} taken as "
                                  f"p = {p:g}: |diff| / {how} = {se:.4g}")


def _verdict_of(entry, a, claimed, spec, certainty, k_studies) -> str:
    from sleepmeta.review.verdict import verdict

    return verdict(k=k_studies, ci_low=entry["ci_low"], ci_high=entry["ci_high"],
                   claimed=claimed, margin=a.outcome.margin, ratio=a.outcome.measure == "RR",
                   min_k=spec.min_studies_supported, certainty=certainty)[0]


def _refit(a, spec, rows: pd.DataFrame):
    from sleepmeta.review.fitting import fit_rows

    return fit_rows(a.outcome, spec, rows), int(rows["study_id"].nunique())


def _with_p_bounds(a, spec):
    extra = []
    for _, r in a.rows[a.rows["status"] == "reported, not poolable"].iterrows():
        got = p_bound_effect(r.to_dict())
        if got is not None:
            rec = r.to_dict()
            rec.update(yi=got[0], vi=got[1], conversion=got[2], status="pooled")
            extra.append(rec)
    if not extra:
        return None, "no row prints a difference with only a bound on p"
    from sleepmeta.review.evidence import split_shared_controls

    rows = pd.concat([a.pooled_rows.drop(columns=["split"], errors="ignore"),
                      pd.DataFrame(extra)], ignore_index=True)
    note = f"{len(extra)} row(s) added with a conservative SE from a bound on p"
    try:
        rows = split_shared_controls(rows, a.outcome.measure, a.outcome.key)
    except SpecError:
        # n not printed: equal arm sizes assumed, the split factor becomes (1 + m) / 2
        rows = rows.copy()
        miss = rows["n_treat"].isna() | rows["n_ctrl"].isna()
        rows.loc[miss, ["n_treat", "n_ctrl"]] = 1.0
        rows = split_shared_controls(rows, a.outcome.measure, a.outcome.key)
        note += "; a shared control without printed n is split assuming equal arm sizes"
    return rows, note


def sensitivity_analyses(a, spec, rob=None, *, claimed: int | None = None,
                         certainty: str | None = None) -> list[dict]:
    """Sensitivity analyses of one outcome analysis (see the module docstring).

    Each entry: ``analysis``, ``k``, ``estimate``, ``ci_low``, ``ci_high``
    (analysis scale), ``natural``, ``note``, and with ``claimed`` the
    ``verdict`` and ``changes`` (the verdict differs from the main one).

    Examples
    --------
    >>> from sleepmeta.data import data_path
    >>> from sleepmeta.review.analyse import analyse_outcome, load_tables
    >>> from sleepmeta.review.spec import load_spec
    >>> spec = load_spec(data_path("pregabalin_review.toml"))
    >>> a = analyse_outcome(spec, spec.outcomes["dizziness"], load_tables(spec))
    >>> s = sensitivity_analyses(a, spec, claimed=1, certainty="very low")
    >>> mh = next(e for e in s if e["analysis"] == "Mantel-Haenszel risk ratio")
    >>> round(mh["natural"]["estimate"], 2), round(mh["natural"]["ci_low"], 2)
    (4.05, 2.61)
    """
    from sleepmeta.pooling import meta_analysis

    res = a.result
    if res is None:
        return []
    ratio = a.outcome.measure == "RR"
    yi, vi, labels = a.effects
    out = [_entry("main analysis (as in the review)", res, ratio, note=f"{res.method}, "
                  f"test {res.test}")]
    if len(yi) >= 2:
        out.append(_entry("common effect (inverse variance)", meta_analysis(
            yi, vi, labels=labels, method="FE", level=spec.level, measure=a.outcome.measure),
            ratio, note="FE model"))
    if ratio and len(yi) >= 1:
        import sleepmeta

        pr = a.pooled_rows
        cells = [pr[c].astype(float).to_numpy() for c in ("ai", "n1i", "ci", "n2i")]
        mh = sleepmeta.mantel_haenszel(*cells, measure="RR", level=spec.level)
        pe = sleepmeta.peto(*cells, level=spec.level)
        out.append(_entry("Mantel-Haenszel risk ratio", mh, True, note="rma.mh, RR"))
        out.append(_entry("Peto odds ratio", pe, True,
                          note="rma.peto: an odds ratio, not a risk ratio"))
    if len(yi) >= 2:
        loo = res.leave_one_out()
        ids = a.pooled_rows["study_id"].to_numpy()
        for i, (lab, r) in enumerate(loo.iterrows()):
            if bool(r.get("ok", True)):
                out.append(_entry(f"leave out {lab}", r, ratio, note="leave-one-out",
                                  studies=len(set(np.delete(ids, i)))))
    if rob is not None:
        col = a.outcome.column
        high = np.array([rob.judgement(str(s), "overall", str(o)) == "high"
                         for s, o in zip(a.pooled_rows["study_id"], a.pooled_rows[col])])
        if high.any() and not high.all():
            fit, n = _refit(a, spec, a.pooled_rows[~high])
            out.append(_entry("excluding results at high risk of bias", fit, ratio, studies=n,
                              note=f"{int(high.sum())} result(s) left out"))
        else:
            out.append({"analysis": "excluding results at high risk of bias", "k": None,
                        "note": "no result at high risk of bias" if not high.any()
                        else "every result is at high risk of bias: nothing left"})
    if not ratio:
        rows, note = _with_p_bounds(a, spec)
        if rows is None:
            out.append({"analysis": "adding conservative SEs from p bounds", "k": None,
                        "note": note})
        else:
            try:
                fit, n = _refit(a, spec, rows)
                out.append(_entry("adding conservative SEs from p bounds", fit, ratio,
                                  studies=n, note=note))
            except ModelError as exc:
                out.append({"analysis": "adding conservative SEs from p bounds", "k": None,
                            "note": f"not possible: {exc}"})
    out.append(_shared_control_entry(a, ratio))
    if claimed is not None:
        main = _verdict_of(out[0], a, claimed, spec, certainty, a.studies)
        for e in out:
            if e.get("k") is None:
                continue
            v = _verdict_of(e, a, claimed, spec, certainty, e.get("studies", a.studies))
            e["verdict"], e["changes"] = v, v != main
    return out
