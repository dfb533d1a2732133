"""The text summary of a :class:`~sleepmeta.pooling.result.MetaResult`."""

from __future__ import annotations

import math

from sleepmeta.pooling.registry import ESTIMATOR_INFO, TESTS


def _p(p: float) -> str:
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


def format_summary(r) -> str:
    """Format a result like metafor's ``print.rma.uni`` (four decimals).

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> print(format_summary(meta_analysis([0.1, 0.3], [0.01, 0.02], method="FE")).splitlines()[0])
    Common-effect model (k = 2)
    """
    est = ESTIMATOR_INFO[r.method]
    if not est.estimates_tau2:
        head = f"Common-effect model (k = {r.k})"
    else:
        kind = "Mixed-effects" if r.p > 1 else "Random-effects"
        head = f"{kind} model (k = {r.k}; tau^2 estimator: {r.method}, {est.label})"
    lines = [head, ""]
    if est.estimates_tau2:
        se = "" if math.isnan(r.tau2_se) else f" (SE = {r.tau2_se:.4f})"
        resid = "residual " if r.p > 1 else ""
        lines.append(f"tau^2 ({resid}heterogeneity): {r.tau2:.4f}{se}")
        lines.append(f"tau   (square root of tau^2): {r.tau:.4f}")
    lines.append(f"I^2 ({'residual ' if r.p > 1 else ''}heterogeneity / total variability): {r.i2:.2f}%")
    lines.append(f"H^2 (total variability / sampling variability): {r.h2:.2f}")
    if r.r2 is not None:
        lines.append(f"R^2 (amount of heterogeneity accounted for): {r.r2:.2f}%")
    qname = "QE" if r.p > 1 else "Q"
    lines += ["", f"Test for {'residual ' if r.p > 1 else ''}heterogeneity:",
              f"{qname}(df = {r.q_df}) = {r.q:.4f}, p-val {_pval_text(r.q_pvalue)}"]
    if r.p > 1:
        m, d = r.qm_df
        dist = f"QM(df = {m})" if d is None else f"F(df1 = {m}, df2 = {int(d)})"
        lines += ["", f"Test of moderators (coefficients {', '.join(r.coefficients.index[list(range(r.p - m, r.p))])}):",
                  f"{dist} = {r.qm:.4f}, p-val {_pval_text(r.qm_pvalue)}"]
    stat = "tval" if TESTS[r.test].residual_df else "zval"
    lines += ["", "Model results:", "",
              f"{'':<12}{'estimate':>10}{'se':>9}{stat:>10}{'pval':>9}{'ci.lb':>10}{'ci.ub':>10}"]
    for term, row in r.coefficients.iterrows():
        lines.append(f"{str(term)[:12]:<12}{row.estimate:>10.4f}{row.se:>9.4f}{row.statistic:>10.4f}"
                     f"{_p(row.pvalue):>9}{row.ci_low:>10.4f}{row.ci_high:>10.4f}")
    if r.p == 1:
        lvl = round(100 * r.level)
        lines += ["", f"Prediction interval ({lvl}%): [{r.pi_low:.4f}, {r.pi_high:.4f}]"]
        if r.is_ratio:
            lines.append(
                f"Back-transformed (exp): estimate {math.exp(r.estimate):.4f}, "
                f"{lvl}% CI [{math.exp(r.ci_low):.4f}, {math.exp(r.ci_high):.4f}], "
                f"PI [{math.exp(r.pi_low):.4f}, {math.exp(r.pi_high):.4f}]")
    if TESTS[r.test].summary_note:
        lines.append(TESTS[r.test].summary_note)
    lines += [f"Note: {n}" for n in r.notes]
    return "\n".join(lines)


def _pval_text(p: float) -> str:
    return "< .0001" if p < 1e-4 else f"= {p:.4f}"
