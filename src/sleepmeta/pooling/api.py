"""Public entry points of the pooling stage: :func:`meta_analysis`,
:func:`meta_analysis_subgroups` and :func:`meta_analysis_batch`. Inputs are
validated here, once (names by :mod:`.registry`, study counts by
:mod:`.feasibility`); the engine (:func:`sleepmeta.pooling.engine.fit_batch`)
trusts them.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from sleepmeta.errors import InputError, ModelError, unknown_option
from sleepmeta.pooling.design import design_matrix
from sleepmeta.pooling.engine import BatchFit, fit_batch
from sleepmeta.pooling.feasibility import check_fit, k1_note
from sleepmeta.pooling.inputs import column_or_values, resolve_inputs
from sleepmeta.pooling.regression import pseudo_r2
from sleepmeta.pooling.inputs import (first_invalid, nonfinite_error, nonfinite_members,
                                     out_of_range_text, studies_per_analysis)
from sleepmeta.pooling.registry import ESTIMATOR_INFO, TESTS, Control, check_options
from sleepmeta.pooling.result import MetaResult, raise_unconverged
from sleepmeta.pooling.subgroups import SubgroupResult, subgroup_analysis

__all__ = ["meta_analysis", "meta_analysis_batch", "meta_analysis_subgroups"]


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
    control: Control | dict | None = None,
):
    """Pool effect sizes with a common- or random-effects model (or meta-regression).

    Parameters
    ----------
    yi, vi : array-like, str or EffectSizes
        Effect sizes and their sampling variances; with ``data=``, column
        names (default ``"yi"`` and ``"vi"``). An :class:`EffectSizes` as
        ``yi`` brings its own ``vi``, labels and measure.
    method : str
        tau² estimator, one of :data:`.registry.ESTIMATOR_INFO`: ``FE``
        (common effect), ``DL``, ``HE``, ``HS``, ``HSk``, ``SJ``, ``ML``,
        ``REML`` (default), ``EB``, ``PM`` — as metafor's ``rma``.
    test : {"z", "t", "knha", "adhoc"}
        One of :data:`.registry.TESTS`: Wald-type z tests; ``"t"``, t tests
        with k - p df and the variance unchanged; ``"knha"``, the Knapp &
        Hartung (2003) adjustment (t with k - p df); ``"adhoc"``, Knapp-Hartung
        with its scale factor floored at 1, never narrower than the Wald
        interval (Röver, Knapp & Friede 2015, BMC Med Res Methodol 15:99) --
        metafor's ``test = "t"`` and ``"adhoc"``. With one study, ``z`` is used
        (as metafor; said in ``notes``).
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
        Kept for convenience: the same as :func:`meta_analysis_subgroups`
        (which returns a :class:`~sleepmeta.pooling.subgroups.SubgroupResult`).
    tau2_common : bool
        With ``subgroup``: one tau² for all groups (see
        :func:`meta_analysis_subgroups`).
    control : Control or dict, optional
        metafor's ``control=`` for the iterative estimators: ``threshold``,
        ``maxiter``, ``stepadj`` (see :class:`.registry.Control`).

    Returns
    -------
    MetaResult
        (a :class:`SubgroupResult` with ``subgroup=``). A meta-regression
        also gets ``r2`` (metafor's pseudo-R², see
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
    if subgroup is not None:
        if mods is not None:
            raise InputError("subgroup= and mods= cannot be combined; put the subgroup factor "
                             "in the formula (mods='~ C(group)') for a meta-regression")
        return meta_analysis_subgroups(yi, vi, subgroup, method=method, test=test, level=level,
                                       data=data, labels=labels, missing=missing,
                                       measure=measure, tau2_common=tau2_common, control=control)
    control = _check_common(method, test, level, control)
    inp = resolve_inputs(yi, vi, data=data, labels=labels, missing=missing, measure=measure)
    k = inp.yi.size
    design = design_matrix(mods, inp.data, k, inp.labels)
    check_fit(k, design.X.shape[1], method, test)
    fit = fit_batch(inp.yi[None], inp.vi[None], np.ones((1, k), bool), design.X[None],
                    method=method, test=test, level=level, intercept=design.intercept,
                    control=control)
    raise_unconverged(fit, method)
    if nonfinite_members(fit)[0]:
        raise nonfinite_error(fit, 0, inp.yi, inp.vi, "meta_analysis")
    notes = list(inp.notes)
    if not ESTIMATOR_INFO[method].estimates_tau2 and k == 1:
        notes.append("k = 1: the common-effect estimate is the single study's effect")
    r2, r2_note = pseudo_r2(fit, inp.yi, inp.vi, design.intercept)
    if r2_note:
        notes.append(r2_note)
    extras = {} if design.spec is None else {"model_spec": design.spec}
    if control is not None:
        extras["control"] = control
    return MetaResult.from_fit(fit, 0, inp.yi, inp.vi, design, inp.labels, inp.measure, notes,
                               r2=r2, extras=extras)


def _check_common(method, test, level, control) -> Control | None:
    """Validate the options every entry point shares; return the control."""
    check_options(method, test)
    if isinstance(level, bool) or not isinstance(level, (int, float, np.number)) \
            or not 0 < level < 1:
        raise InputError(f"level must be a number between 0 and 1 (e.g. 0.95), got {level!r}")
    return Control.of(control)


def meta_analysis_subgroups(
    yi=None,
    vi=None,
    subgroup=None,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    data: pd.DataFrame | None = None,
    labels=None,
    missing: str = "raise",
    measure: str | None = None,
    tau2_common: bool = False,
    control: Control | dict | None = None,
) -> SubgroupResult:
    """Pool each subgroup and test for differences between them.

    Parameters
    ----------
    yi, vi, method, test, level, data, labels, missing, measure, control
        As :func:`meta_analysis`.
    subgroup : str or sequence
        A column of ``data``, or one value per study.
    tau2_common : bool
        One tau² for all groups (a mixed-effects model on the subgroup
        factor, as metafor's ``rma(yi, vi, mods = ~ factor(g))``) instead of
        one per group (default). See :mod:`.subgroups` for both models.

    Returns
    -------
    SubgroupResult

    Examples
    --------
    >>> res = meta_analysis_subgroups([0.1, 0.2, 0.5, 0.6], [0.01] * 4, ["a", "a", "b", "b"],
    ...                               method="FE")
    >>> res.table()["estimate"].round(4).tolist(), res.df_between
    ([0.15, 0.55], 1)
    """
    if subgroup is None:
        raise InputError("meta_analysis_subgroups needs subgroup= (a column of data or one "
                         "value per study)")
    control = _check_common(method, test, level, control)
    data, sub_col = _attach_subgroup(subgroup, data, yi)
    inp = resolve_inputs(yi, vi, data=data, labels=labels, missing=missing, measure=measure)
    return subgroup_analysis(
        inp.yi, inp.vi, inp.labels, inp.data[sub_col].to_numpy(),
        name=subgroup if isinstance(subgroup, str) else "subgroup", method=method, test=test,
        level=level, measure=inp.measure, notes=inp.notes, tau2_common=tau2_common,
        control=control)


def _attach_subgroup(subgroup, data, yi):
    """Return ``data`` holding the subgroup values, and the name of that column."""
    if isinstance(subgroup, str):
        column_or_values(data, subgroup, "subgroup")  # names a missing column or a missing data=
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
    control: Control | dict | None = None,
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
        such failures). So is a member whose numbers are not finite in
        double precision (:class:`ModelError` with ``"raise"``). Values
        outside the accepted range (``|yi| <= 1e50``, ``1e-50 <= vi <=
        1e50``; see :mod:`sleepmeta.pooling.inputs`) raise
        :class:`InputError` either way.
    control : Control or dict, optional
        As :func:`meta_analysis`.

    Returns
    -------
    BatchFit
        Arrays of the same fields as :class:`MetaResult` (``estimate``,
        ``se``, ``ci_low``, ..., ``tau2``, ``i2``, ``q``, ``k``, ``converged``).
        A member with one study under ``test="knha"`` is tested with ``z``
        (metafor's k = 1 rule), flagged in ``z_fallback`` and said in ``notes``.

    Examples
    --------
    >>> import numpy as np
    >>> yi = np.array([[0.1, 0.3, 0.5], [0.2, 0.2, np.nan]])
    >>> vi = np.array([[0.01, 0.02, 0.03], [0.01, 0.01, np.nan]])
    >>> fit = meta_analysis_batch(yi, vi, ~np.isnan(yi), method="FE")
    >>> fit.k.tolist(), np.round(fit.estimate, 4).tolist()
    ([3, 2], [0.2273, 0.2])
    """
    control = _check_common(method, test, level, control)
    if errors not in ("raise", "flag"):
        raise unknown_option("errors", errors, ("raise", "flag"))
    yi = np.atleast_2d(np.asarray(yi, float))
    vi = np.atleast_2d(np.asarray(vi, float))
    if yi.shape != vi.shape:
        raise InputError(f"yi has shape {yi.shape} but vi has shape {vi.shape}")
    # no mask: every study, as a read-only broadcast (no (B, k) array is allocated)
    every = mask is None
    mask = (np.broadcast_to(True, yi.shape) if every
            else np.atleast_2d(np.asarray(mask, bool)))
    if mask.shape != yi.shape:
        raise InputError(f"mask has shape {mask.shape} but yi has shape {yi.shape}")
    X = np.ones((1, yi.shape[1], 1)) if X is None else np.asarray(X, float)
    if X.ndim == 2:
        X = X[None]
    # one compiled pass, no (B, k) temporaries (no mask: one row of True for every analysis)
    kind, b, j = first_invalid(yi, vi, np.ones((1, yi.shape[1]), bool) if every else mask)
    if kind == 1:
        raise InputError(f"analysis {b}, study {j}: yi must be finite and vi finite and > 0, "
                         f"got yi={yi[b, j]!r}, vi={vi[b, j]!r}")
    if kind == 2:
        raise InputError(f"analysis {b}, study {j}: {out_of_range_text(yi[b, j], vi[b, j])}")
    k = np.full(yi.shape[0], yi.shape[1]) if every else studies_per_analysis(mask)
    need = ESTIMATOR_INFO[method].min_k(X.shape[-1])
    if (small := k < need).any():
        b = int(np.flatnonzero(small)[0])
        raise ModelError(f"analysis {b}: {int(k[b])} studies; {method} with {X.shape[-1]} "
                         f"coefficient(s) needs at least {need}")
    if TESTS[test].residual_df and (flat := (k > 1) & (k <= X.shape[-1])).any():
        b = int(np.flatnonzero(flat)[0])
        raise ModelError(f"analysis {b}: {int(k[b])} studies for {X.shape[-1]} coefficient(s): "
                         f"the {test} test has k - p = 0 degrees of freedom; use test='z'")
    fit = fit_batch(yi, vi, mask, X, method=method, test=test, level=level, intercept=intercept,
                    control=control)
    fit.notes = {int(b): k1_note(test) for b in np.flatnonzero(fit.z_fallback)}
    if errors == "raise":
        raise_unconverged(fit, method)
    bad = nonfinite_members(fit)
    if bad.any():
        if errors == "raise":
            b = int(np.flatnonzero(bad)[0])
            raise nonfinite_error(fit, b, yi[b][mask[b]], vi[b][mask[b]], f"analysis {b}")
        fit.converged = fit.converged & ~bad  # counted as failures, like non-convergence
    return fit
