"""The text summary of a :class:`~.result.MultilevelResult`, as metafor's ``print.rma.mv``."""

from __future__ import annotations

import math

__all__ = ["format_summary"]


def _p(p: float) -> str:
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


def _pv(p: float) -> str:
    return "< .0001" if p < 1e-4 else f"= {p:.4f}"


def _inner_block(r, var, cor, values, cors, struct, label, levels, ks, nlevels) -> list[str]:
    """The lines of one ``inner | outer`` term (``tau^2``/``rho`` or ``gamma^2``/``phi``)."""
    inner, outer = label.split(" | ")
    lines = [f"outer factor: {outer} (nlvls = {nlevels})",
             f"inner {'term' if struct == 'GEN' else 'factor'}: {inner} (nlvls = {len(levels)})", ""]
    many = len(values) > 1
    lines.append(f"{'':<12}{'estim':>8}{'sqrt':>8}{'k.lvl':>7}{'level':>12}")
    for i, t in enumerate(values):
        name = f"{var}.{i + 1}" if many else var
        lvl = levels[i] if many else ""
        kl = ks[i] if many else r.k
        lines.append(f"{name:<12}{t:>8.4f}{math.sqrt(t):>8.4f}{kl:>7}{lvl:>12}")
    if struct not in ("ID", "DIAG"):
        for i, rho in enumerate(cors):
            name = f"{cor}.{i + 1}" if len(cors) > 1 else cor
            lines.append(f"{name:<12}{rho:>8.4f}")
    lines.append("")
    return lines


def format_summary(r) -> str:
    """Four decimals, the blocks of ``print.rma.mv`` in its order.

    >>> import pandas as pd
    >>> from sleepmeta.pooling.multilevel import meta_analysis_mv
    >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.35, 0.6], "vi": [0.01] * 4, "s": [1, 1, 2, 2]})
    >>> format_summary(meta_analysis_mv("yi", "vi", random="~ 1 | s", data=d)).splitlines()[0]
    'Multivariate Meta-Analysis Model (k = 4; method: REML)'
    """
    fs = r.fit_stats[r.method]
    lines = [f"Multivariate Meta-Analysis Model (k = {r.k}; method: {r.method})", "",
             f"{'logLik':>10}{'Deviance':>11}{'AIC':>11}{'BIC':>11}{'AICc':>11}",
             f"{fs['ll']:>10.4f}{fs['dev']:>11.4f}{fs['AIC']:>11.4f}{fs['BIC']:>11.4f}"
             f"{fs['AICc']:>11.4f}", ""]
    if not r.sigma2_components and r.inner is None:
        lines += ["Variance Components: none", ""]
    else:
        lines += ["Variance Components:", ""]
    if r.sigma2_components:
        width = max(len(c.factor) for c in r.sigma2_components) + 2
        lines.append(f"{'':<12}{'estim':>8}{'sqrt':>8}{'nlvls':>7}{'fixed':>7}{'factor':>{width}}")
        for c in r.sigma2_components:
            lines.append(f"{c.name:<12}{c.estimate:>8.4f}{math.sqrt(c.estimate):>8.4f}"
                         f"{c.nlevels:>7}{'yes' if c.fixed else 'no':>7}{c.factor:>{width}}")
        lines.append("")
    if r.inner is not None:
        lines += _inner_block(r, "tau^2", "rho", r.tau2, r.rho, r.struct, r.inner,
                              r.inner_levels, r.inner_k, r.outer_nlevels)
    if r.inner2 is not None:
        lines += _inner_block(r, "gamma^2", "phi", r.gamma2, r.phi, r.struct2, r.inner2,
                              r.inner2_levels, r.inner2_k, r.outer2_nlevels)
    resid = "Residual " if r.p > 1 else ""
    lines += [f"Test for {resid}Heterogeneity:",
              f"{'QE' if r.p > 1 else 'Q'}(df = {r.qe_df}) = {r.qe:.4f}, p-val {_pv(r.qe_pvalue)}"]
    if r.p > 1:
        m, d = r.qm_df
        dist = f"QM(df = {m})" if d is None else f"F(df1 = {m}, df2 = {int(d)})"
        names = ", ".join(r.terms[i] for i in r.btt)
        lines += ["", f"Test of Moderators (coefficients {names}):",
                  f"{dist} = {r.qm:.4f}, p-val {_pv(r.qm_pvalue)}"]
    stat = "tval" if r.test == "t" else "zval"
    lines += ["", "Model Results:", "",
              f"{'':<14}{'estimate':>10}{'se':>9}{stat:>10}{'pval':>9}{'ci.lb':>10}{'ci.ub':>10}"]
    for term, row in r.coefficients.iterrows():
        lines.append(f"{str(term)[:14]:<14}{row.estimate:>10.4f}{row.se:>9.4f}{row.statistic:>10.4f}"
                     f"{_p(row.pvalue):>9}{row.ci_low:>10.4f}{row.ci_high:>10.4f}")
    if r.test == "t":
        lines.append(f"t and F tests with k - p = {r.k - r.p} degrees of freedom.")
    lines += [f"Note: {n}" for n in r.notes]
    return "\n".join(lines)
