"""Public entry points of the pooling stage: :func:`meta_analysis` and
:func:`meta_analysis_batch`. Inputs are validated here, once; the engine
(:func:`sleepmeta.pooling.engine.fit_batch`) trusts them.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from sleepmeta.errors import ConvergenceError, InputError, ModelError, unknown_option
from sleepmeta.pooling.design import design_matrix
from sleepmeta.pooling.engine import BatchFit, check_options, fit_batch
from sleepmeta.pooling.estimators import ESTIMATORS, Problem
from sleepmeta.pooling.regression import pseudo_r2
from sleepmeta.pooling.result import MetaResult
from sleepmeta.pooling.subgroups import subgroup_analysis
from sleepmeta.pooling._inputs import _column, resolve_inputs


def meta_analysis(
    yi=None,
    vi=None,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    data: pd.DataFrame | None = None,
    labels=None,
    mods=None,
    missing: str = "raise",
    measure: str | None = None,
    subgroup=None,
    tau2_common: bool = False,
):
    """Pool effect sizes with a common- or random-effects model (or meta-regression).

    Parameters
    ----------
    yi, vi : array-like, str or EffectSizes
        Effect sizes and their sampling variances; with ``data=``, column
        names (default ``"yi"`` and ``"vi"``). An :class:`EffectSizes` as
        ``yi`` brings its own ``vi``, labels and measure.
    method : str
        tau² estimator: ``FE`` (common effect), ``DL``, ``HE``, ``HS``, ``HSk``,
        ``SJ``, ``ML``, ``REML`` (default), ``EB``, ``PM`` — as metafor's ``rma``.
    test : {"z", "knha"}
        Wald-type z tests, or the Knapp & Hartung (2003) adjustment (t with
        k - p df).
    level : float
        Confidence level of the intervals (0.95).
    data : DataFrame, optional
        Table that column names refer to.
    labels : str or sequence, optional
        Study labels (a column of ``data`` or a sequence).
    mods : str, DataFrame or array, optional
        Moderators: a formula on ``data`` (formulaic, e.g. ``"~ ablat"``), or
        a matrix (an intercept is added).
    missing : {"raise", "drop"}
        What to do with studies with missing values: raise an error naming
        them, or drop them and say so in ``notes``.
    measure : str, optional
        The effect measure (for back-transforming log ratios in summaries).
    subgroup : str or sequence, optional
        A column of ``data`` (or one value per study): pool each group and
        test for differences between them (see :mod:`.subgroups`); returns a
        :class:`~sleepmeta.pooling.subgroups.SubgroupResult`.
    tau2_common : bool
        With ``subgroup``: one tau² for all groups (a mixed-effects model on
        the subgroup factor, as metafor) instead of one per group (default).

    Returns
    -------
    MetaResult or SubgroupResult
        A meta-regression also gets ``r2`` (metafor's pseudo-R², see
        :func:`.regression.pseudo_r2`) and keeps its formulaic model spec in
        ``extras["model_spec"]`` for :meth:`MetaResult.predict`.

    Examples
    --------
    >>> from sleepmeta import effect_size, meta_analysis
    >>> from sleepmeta.data import bcg
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2",
    ...                  labels="study")
    >>> res = meta_analysis(es)          # REML, as rma(yi, vi)
    >>> round(res.estimate, 4), round(res.tau2, 4), round(res.i2, 2)
    (-0.7145, 0.3132, 92.22)
    """
    check_options(method, test)
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    sub_col = None
    if subgroup is not None:
        if mods is not None:
            raise InputError("subgroup= and mods= cannot be combined; put the subgroup factor "
                             "in the formula (mods='~ C(group)') for a meta-regression")
        data, sub_col = _attach_subgroup(subgroup, data, yi)
    inp = resolve_inputs(yi, vi, data=data, labels=labels, missing=missing, measure=measure)
    k = inp.yi.size
    mod_data = inp.data
    if sub_col is not None:
        return subgroup_analysis(
            inp.yi, inp.vi, inp.labels, inp.data[sub_col].to_numpy(),
            name=subgroup if isinstance(subgroup, str) else "subgroup", method=method, test=test,
            level=level, measure=inp.measure, notes=inp.notes, tau2_common=tau2_common)
    design = design_matrix(mods, mod_data, k, inp.labels)
    if method != "FE" and k == 1:
        raise ModelError(f"k = 1 (study {inp.labels[0]!r}): a random-effects model ({method}) "
                         "cannot estimate tau² from one study; use method='FE'")
    if method != "FE" and k <= design.X.shape[1]:
        raise ModelError(f"k = {k} studies for {design.X.shape[1]} coefficients: tau² cannot be "
                         "estimated; use fewer moderators or method='FE'")
    if test == "knha" and k <= design.X.shape[1]:
        raise ModelError(f"k = {k} studies for {design.X.shape[1]} coefficient(s): the Knapp-Hartung "
                         "test has k - p = 0 degrees of freedom; use test='z'")
    fit = fit_batch(inp.yi[None], inp.vi[None], np.ones((1, k), bool), design.X[None],
                    method=method, test=test, level=level, intercept=design.intercept)
    _raise_unconverged(fit, method, labels=None)
    notes = list(inp.notes)
    if test == "knha" and fit.s2w[0] == 0:
        notes.append("Knapp-Hartung scale s² = 0 (the model fits the yi exactly): the standard "
                     "errors are 0, as in metafor")
    if fit.fallback[0]:
        notes.append(f"Fisher scoring for {method} oscillated with full steps; it converged with "
                     "halved steps (metafor: control=list(stepadj=0.5, maxiter=1000))")
    if method == "FE" and k == 1:
        notes.append("k = 1: the common-effect estimate is the single study's effect")
    r2, r2_note = pseudo_r2(fit, inp.yi, inp.vi, design.intercept)
    if r2_note:
        notes.append(r2_note)
    return result_from_fit(fit, 0, inp.yi, inp.vi, design, inp.labels, inp.measure, tuple(notes),
                           r2=r2, extras={} if design.spec is None else {"model_spec": design.spec})


def _attach_subgroup(subgroup, data, yi):
    """Return ``data`` holding the subgroup values, and the name of that column."""
    if isinstance(subgroup, str):
        _column(data, subgroup, "subgroup")  # names a missing column or a missing data=
        return data, subgroup
    values = list(subgroup)
    if data is None:
        n = len(yi.yi) if hasattr(yi, "yi") else np.size(yi)
        if len(values) != n:
            raise InputError(f"subgroup has {len(values)} values but there are {n} studies")
        return pd.DataFrame({"__subgroup__": values}), "__subgroup__"
    if len(values) != len(data):
        raise InputError(f"subgroup has {len(values)} values but data has {len(data)} rows")
    return data.assign(__subgroup__=values), "__subgroup__"


def result_from_fit(fit: BatchFit, b: int, yi, vi, design, labels, measure, notes, *,
                    r2: float | None = None, extras: dict | None = None) -> MetaResult:
    """Build the :class:`MetaResult` of member ``b`` of a batch fit."""
    m = fit.k[b] > 0
    w = fit.weights[b]
    coef = np.column_stack([fit.beta[b], fit.se_beta[b], fit.stat_beta[b], fit.pval_beta[b],
                            fit.ci_low_beta[b], fit.ci_high_beta[b]])
    df = None if np.isnan(fit.df[b]) else float(fit.df[b])
    qm_df = (fit.qm_df[0], None if fit.qm_df[1] is None else int(fit.qm_df[1][b]))
    return MetaResult(
        method=fit.method, test=fit.test, level=fit.level, k=int(fit.k[b]), p=fit.p,
        estimate=float(fit.estimate[b]), se=float(fit.se[b]), statistic=float(fit.statistic[b]),
        pvalue=float(fit.pvalue[b]), ci_low=float(fit.ci_low[b]), ci_high=float(fit.ci_high[b]),
        pi_low=float(fit.pi_low[b]), pi_high=float(fit.pi_high[b]), tau2=float(fit.tau2[b]),
        tau2_se=float(fit.tau2_se[b]), i2=float(fit.i2[b]), h2=float(fit.h2[b]), q=float(fit.q[b]),
        q_df=int(fit.q_df[b]), q_pvalue=float(fit.q_pvalue[b]), df=df, qm=float(fit.qm[b]),
        qm_df=qm_df, qm_pvalue=float(fit.qm_pvalue[b]), coef_table=coef, terms=tuple(design.terms), vcov=fit.vb[b],
        yi=np.asarray(yi, float), vi=np.asarray(vi, float), X=design.X, labels=tuple(labels),
        weights=100 * w[: len(yi)] / w.sum() if m else w, vt=float(fit.vt[b]),
        ll_ml=float(fit.ll_ml[b]), ll_reml=float(fit.ll_reml[b]),
        iterations=int(fit.iterations[b]), intercept=design.intercept, measure=measure, notes=notes,
        r2=r2, extras={} if extras is None else extras,
    )


def _raise_unconverged(fit: BatchFit, method: str, labels) -> None:
    bad = np.flatnonzero(~fit.converged)
    if bad.size:
        b = int(bad[0])
        where = f"analysis {b}" if labels is None else f"analysis {labels[b]!r}"
        raise ConvergenceError(
            f"{where}: the {method} estimator of tau² did not converge after "
            f"{int(fit.iterations[b])} iterations (last tau² = {fit.tau2[b]:.6g}); "
            "try method='DL' or 'PM', or check the data")


def _problem_of(res: MetaResult) -> Problem:
    """The one-analysis :class:`Problem` of a fitted result (for refits)."""
    k = res.k
    return Problem(X=res.X[None], yi=res.yi[None], vi=res.vi[None], mask=np.ones((1, k), bool),
                   k=np.array([k]), p=res.p)


def meta_analysis_batch(
    yi,
    vi,
    mask=None,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    X=None,
    intercept: bool = True,
    errors: str = "raise",
) -> BatchFit:
    """Fit B meta-analyses of up to k studies at once (padded arrays and a mask).

    Parameters
    ----------
    yi, vi : array-like, shape (B, k)
        Effect sizes and sampling variances; entries outside ``mask`` are
        ignored (they may be NaN).
    mask : array-like of bool, shape (B, k), optional
        Which studies belong to each analysis (default: all).
    X : array-like, shape (k, p) or (B, k, p), optional
        Design matrix shared by or given per analysis (default: intercept).
    errors : {"raise", "flag"}
        A member that does not converge raises :class:`ConvergenceError`
        (default), or is flagged in ``converged`` (simulation studies count
        such failures).

    Returns
    -------
    BatchFit
        Arrays of the same fields as :class:`MetaResult` (``estimate``,
        ``se``, ``ci_low``, ..., ``tau2``, ``i2``, ``q``, ``k``, ``converged``).

    Examples
    --------
    >>> import numpy as np
    >>> yi = np.array([[0.1, 0.3, 0.5], [0.2, 0.2, np.nan]])
    >>> vi = np.array([[0.01, 0.02, 0.03], [0.01, 0.01, np.nan]])
    >>> fit = meta_analysis_batch(yi, vi, ~np.isnan(yi), method="FE")
    >>> fit.k.tolist(), np.round(fit.estimate, 4).tolist()
    ([3, 2], [0.2273, 0.2])
    """
    if method not in ESTIMATORS:
        raise unknown_option("method", method, ESTIMATORS)
    if errors not in ("raise", "flag"):
        raise unknown_option("errors", errors, ("raise", "flag"))
    yi = np.atleast_2d(np.asarray(yi, float))
    vi = np.atleast_2d(np.asarray(vi, float))
    if yi.shape != vi.shape:
        raise InputError(f"yi has shape {yi.shape} but vi has shape {vi.shape}")
    mask = np.ones(yi.shape, bool) if mask is None else np.atleast_2d(np.asarray(mask, bool))
    if mask.shape != yi.shape:
        raise InputError(f"mask has shape {mask.shape} but yi has shape {yi.shape}")
    X = np.ones((1, yi.shape[1], 1)) if X is None else np.asarray(X, float)
    if X.ndim == 2:
        X = X[None]
    bad = mask & ~(np.isfinite(yi) & np.isfinite(vi) & (vi > 0))
    if bad.any():
        b, i = map(int, np.argwhere(bad)[0])
        raise InputError(f"analysis {b}, study {i}: yi must be finite and vi finite and > 0, "
                         f"got yi={yi[b, i]!r}, vi={vi[b, i]!r}")
    k = mask.sum(axis=1)
    need = X.shape[-1] + (0 if method == "FE" else 1)
    if (small := k < max(need, 1)).any():
        b = int(np.flatnonzero(small)[0])
        raise ModelError(f"analysis {b}: {int(k[b])} studies; {method} with {X.shape[-1]} "
                         f"coefficient(s) needs at least {max(need, 1)}")
    fit = fit_batch(yi, vi, mask, X, method=method, test=test, level=level, intercept=intercept)
    if errors == "raise":
        _raise_unconverged(fit, method, labels=None)
    return fit
