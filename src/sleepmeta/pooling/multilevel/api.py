"""``meta_analysis_mv``: multilevel and multivariate meta-analysis, as metafor's ``rma.mv``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from sleepmeta import distributions as stats
from sleepmeta.errors import ConvergenceError, InputError, unknown_option
from sleepmeta.pooling.design import design_matrix
from sleepmeta.pooling.multilevel.blocks import build_blocks
from sleepmeta.pooling.multilevel.engine import fit_blocks
from sleepmeta.pooling.multilevel.inputs import (check_identifiable, resolve_random,
                                                  resolve_structs, resolve_yv)
from sleepmeta.pooling.multilevel.likelihood import LOG2PI, evaluate
from sleepmeta.pooling.multilevel.optimise import Parameters
from sleepmeta.pooling.multilevel.result import Component, MultilevelResult, Model
from sleepmeta.pooling.multilevel.vcov import check_positive_definite

METHODS = ("REML", "ML")
TESTS = ("z", "t")

__all__ = ["meta_analysis_mv"]


def meta_analysis_mv(yi=None, V=None, *, random="~ 1 | study", struct: str = "CS", mods=None,
                     data: pd.DataFrame | None = None, method: str = "REML", test: str = "z",
                     level: float = 0.95, labels=None, measure: str | None = None,
                     sparse: bool | None = None) -> MultilevelResult:
    """Fit a multilevel or multivariate meta-analysis (metafor's ``rma.mv``).

    The model is ``y = X beta + sum of random effects + e`` with
    ``Var(e) = V`` (Konstantopoulos 2011; Berkey et al. 1998; Viechtbauer
    2010, and metafor's ``rma.mv`` help page for the parametrisation).

    Parameters
    ----------
    yi : array-like or str
        Estimates (or a column of ``data``; default ``"yi"``).
    V : array-like or str
        Sampling variances (a vector or a column) or the full, usually
        block-diagonal, variance–covariance matrix of the estimates (see
        :func:`~sleepmeta.pooling.multilevel.vcov.shared_control_vcov`).
    random : str, list of str or None
        ``None``: no random effects (the multivariate common-effect model,
        generalised least squares with ``V``). Otherwise random effects as
        metafor writes them: ``"~ 1 | district/school"`` (nested intercepts,
        one ``sigma2`` per level, any depth), and up to two
        ``"~ inner | outer"`` terms (``"~ outcome | study"``): the first has
        covariance matrix ``G`` (metafor's ``tau2``, ``rho``), the second ``H``
        (``gamma2``, ``phi``), each of its structure in ``struct``; with
        ``struct="GEN"`` the inner part lists random-slope covariates
        (``"~ dose - 1 | study"``).
    struct : str or sequence of two str
        Structure of the ``inner | outer`` terms, each one of "CS", "HCS",
        "UN", "ID", "DIAG", "AR", "HAR", "GEN" (metafor's default ``CS``); one name
        is used for both terms, as metafor recycles ``struct``.
    mods : str, optional
        Moderators, a formula on ``data`` (``"~ outcome - 1"``).
    method : {"REML", "ML"}
    test : {"z", "t"}
        Wald z tests, or t and F tests with metafor's default ``k - p`` df.
    level : float
        Confidence level (0.95).
    labels : str or sequence, optional
        Row labels used in messages (a column of ``data``).
    sparse : bool, optional
        Accepted for metafor compatibility; the engine always works on the
        block-diagonal structure (see :mod:`.blocks`).

    Returns
    -------
    MultilevelResult

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.35, 0.6, 0.2, 0.5], "vi": [0.01] * 6,
    ...                   "study": [1, 1, 2, 2, 3, 3], "arm": [1, 2, 1, 2, 1, 2]})
    >>> res = meta_analysis_mv("yi", "vi", random="~ 1 | study/arm", data=d)
    >>> res.k, len(res.sigma2)
    (6, 2)
    """
    if method not in METHODS:
        raise unknown_option("method", method, METHODS)
    if test not in TESTS:
        raise unknown_option("test", test, TESTS)
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    y, Vm, labs = resolve_yv(yi, V, data, labels)
    n = y.size
    design = design_matrix(mods, data.reset_index(drop=True) if data is not None else None, n, labs)
    infos = [] if random is None else resolve_random(random, struct, data, labs, n)
    check_identifiable(infos, n, design.X.shape[1], labs)
    check_positive_definite(Vm, labs)
    terms = [i.engine for i in infos]
    blocks = build_blocks(y[None], Vm[None], design.X[None], np.ones((1, n), bool), terms)
    structures = [t.structure for t in terms]
    params = Parameters(structures)
    fixed = np.zeros((1, params.P), bool)
    theta0 = None
    notes = []
    if any(i.fixed_zero for i in infos):
        from sleepmeta.pooling.multilevel.engine import start_values

        theta0 = start_values(blocks, params)
        for j, i in enumerate(infos):
            if i.fixed_zero:
                fixed[0, params.slices[j]] = True
                theta0[0, params.slices[j]] = 0.0
                notes.append(f"random factor {i.term.label!r} has a single level: its sigma2 is "
                             "fixed at 0 (as metafor)")
    fit = fit_blocks(blocks, structures, method, theta0=theta0, fixed=fixed)
    if not fit.converged[0]:
        raise ConvergenceError(f"the {method} fit of the multilevel model did not converge after "
                               f"{int(fit.iterations[0])} iterations; check the random structure")
    if fit.rescued is not None and fit.rescued[0]:
        notes.append("Fisher scoring did not reach a verified maximum; the fit kept is the "
                     "highest likelihood found by L-BFGS-B (from the scoring end point and "
                     "metafor's start values) followed by scoring")
    model = Model(blocks=blocks, structures=tuple(structures), fixed=fixed, theta=fit.theta,
                  X=design.X, y=y, V=Vm, labels=tuple(labs), data=data, mods=mods, random=random,
                  struct=struct, spec=getattr(design, "spec", None))
    return _assemble(fit, model, infos, design, method=method, test=test, level=level,
                    measure=measure, notes=tuple(notes))


def _wald(beta, vb, k, p, test, level, intercept):
    """Coefficient table and omnibus test as rma.mv computes them (df = k - p for t)."""
    se = np.sqrt(np.diag(vb))
    z = beta / se
    df = k - p
    # scipy.special's distribution functions (what scipy.stats' sf/isf call), without the
    # argument-checking overhead of scipy.stats
    if test == "t":
        pval = 2 * special.stdtr(df, -np.abs(z))
        crit = -special.stdtrit(df, (1 - level) / 2)
    else:
        pval = 2 * special.ndtr(-np.abs(z))
        crit = -special.ndtri((1 - level) / 2)
    btt = np.arange(1, p) if intercept and p > 1 else np.arange(p)
    m = btt.size
    qm = float(beta[btt] @ np.linalg.solve(vb[np.ix_(btt, btt)], beta[btt]))
    if test == "t":
        qm /= m
        qm_p = float(special.fdtrc(m, df, qm))
        qm_df = (m, df)
    else:
        qm_p = float(special.chdtrc(m, qm))
        qm_df = (m, None)
    table = np.column_stack([beta, se, z, pval, beta - crit * se, beta + crit * se])
    return table, qm, qm_df, qm_p, btt


def _fit_statistics(ll_ml, ll_reml, k, p, parms, logdet_v):
    """metafor's fit.stats: logLik, deviance, AIC, BIC, AICc for ML and REML."""
    ll_qe = -0.5 * k * LOG2PI - 0.5 * logdet_v
    out = {}
    for name, ll, n in (("ML", ll_ml, k), ("REML", ll_reml, k - p)):
        dev = -2 * (ll - ll_qe) if name == "ML" else -2 * ll
        big = max(n, parms + 2)
        out[name] = {"ll": ll, "dev": dev, "AIC": -2 * ll + 2 * parms,
                     "BIC": -2 * ll + parms * np.log(n),
                     "AICc": -2 * ll + 2 * parms * big / (big - parms - 1)}
    return out


def _assemble(fit, model, infos, design, *, method, test, level, measure, notes, b: int = 0):
    """Build the :class:`MultilevelResult` of member ``b`` of a fit."""
    blocks = model.blocks.take(np.array([b]))
    k = int(blocks.k[0])
    p = design.X.shape[1]
    beta, vb = fit.beta[b], fit.vb[b]
    table, qm, qm_df, qm_p, btt = _wald(beta, vb, k, p, test, level, design.intercept)
    fe = evaluate(blocks, np.zeros((1, Parameters(model.structures).L)), "ML")
    qe = float(fe.rss[0])  # r'V^-1 r at the GLS fit without random effects
    qe_df = k - p
    qe_p = float(special.chdtrc(qe_df, qe)) if qe_df > 0 else 1.0
    logdet_v = float(fe.logdet[0])
    # metafor 3.8 counts every parameter not fixed, including the unused correlation of
    # a UN/GEN term with a single inner level (its rho is never fixed there)
    phantom = sum(1 for s in model.structures if s.struct in ("UN", "GEN") and s.q == 1)
    parms = p + int((~model.fixed[b]).sum()) + phantom
    fs = _fit_statistics(float(fit.ll_ml[b]), float(fit.ll_reml[b]), k, p, parms, logdet_v)
    comps = []
    sig = 0
    for j, info in enumerate(infos):
        tau2, rho = fit.components(j)
        st = info.engine.structure
        if st.struct == "SIGMA":
            sig += 1
            comps.append(Component("sigma2", info.term.label, float(tau2[b, 0]), info.nlevels,
                                   bool(model.fixed[b, Parameters(model.structures).slices[j]].all()),
                                   f"sigma^2.{sig}"))
    inners = [_inner_term(fit, model, infos, i, b) for i in infos if not i.term.is_intercept]
    first = inners[0] if inners else _NO_INNER
    second = inners[1] if len(inners) > 1 else _NO_INNER
    structs = resolve_structs(model.struct)
    return MultilevelResult(
        method=method, test=test, level=level, k=k, p=p,
        struct=first["struct"] or structs[0],
        coef_table=table, terms=tuple(design.terms), vcov=vb, btt=tuple(int(i) for i in btt),
        sigma2_components=tuple(comps), tau2=first["values"], rho=first["cor"], G=first["G"],
        inner=first["label"], inner_levels=first["levels"], inner_k=first["k"],
        outer_nlevels=first["nlevels"],
        qe=qe, qe_df=qe_df, qe_pvalue=qe_p, qm=qm, qm_df=qm_df, qm_pvalue=qm_p,
        df=float(k - p) if test == "t" else None, fit_stats=fs, parms=parms,
        intercept=design.intercept, measure=measure, notes=notes,
        iterations=int(fit.iterations[b]), model=model,
        gamma2=second["values"], phi=second["cor"], H=second["G"], inner2=second["label"],
        inner2_levels=second["levels"], inner2_k=second["k"], outer2_nlevels=second["nlevels"],
        struct2=second["struct"])


_NO_INNER = {"values": (), "cor": (), "G": None, "label": None, "levels": (), "k": (),
             "nlevels": 0, "struct": None}


def _inner_term(fit, model, infos, info, b):
    """What the result reports of one ``inner | outer`` term (tau2/rho or gamma2/phi)."""
    j = infos.index(info)
    t2, rh = fit.components(j)
    st = info.engine.structure
    G = st.G(fit.theta[b:b + 1, Parameters(model.structures).slices[j]])[0]
    return {"values": tuple(map(float, t2[b])), "cor": tuple(map(float, rh[b])), "G": G,
            "label": info.term.label, "levels": info.inner_levels, "k": info.inner_k,
            "nlevels": info.nlevels, "struct": st.struct}
