"""Sweeps: one meta-analysis specification over every group of a long table.

A long table has one row per study and analysis (e.g. drug x endpoint x
subgroup x study). :func:`sweep` pads every group into one ``(G, k_max)``
batch with a mask and fits them all with one call of the engine
(:func:`sleepmeta.pooling.meta_analysis_batch`), so each row of its result
equals ``meta_analysis(yi, vi, method=..., test=...)`` on that group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sleepmeta.errors import ColumnError, ConvergenceError, InputError, ModelError, \
    unknown_option
from sleepmeta.pooling import meta_analysis_batch
from sleepmeta.pooling.registry import ESTIMATOR_INFO, TESTS, check_options

_FIELDS = ("estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "pi_low", "pi_high",
           "tau2", "tau2_se", "i2", "h2", "q", "q_df", "q_pvalue")


def sweep(data: pd.DataFrame, by, yi: str = "yi", vi: str = "vi", *, method: str = "REML",
          test: str = "z", level: float = 0.95, missing: str = "raise",
          too_few: str = "raise", errors: str = "raise", random: str | None = None
          ) -> pd.DataFrame:
    """Fit the same meta-analysis to every group of ``data``, as one batch.

    Parameters
    ----------
    data : DataFrame
        Long table, one row per study within a group.
    by : str or list of str
        Columns whose combinations define the groups (sorted as pandas
        ``groupby`` sorts them; missing keys form their own group).
    yi, vi : str
        Columns of effect sizes and sampling variances.
    method, test, level
        As in :func:`sleepmeta.pooling.meta_analysis`.
    missing : {"raise", "drop"}
        A row with a missing ``yi`` or ``vi`` raises an error naming its
        group and row, or is dropped (listed in ``result.attrs["dropped"]``).
    too_few : {"raise", "drop"}
        A group with too few studies for ``method`` (2, or 1 for ``FE``;
        :meth:`.registry.Estimator.min_k`)
        raises :class:`ModelError`, or is left out (listed in
        ``result.attrs["skipped"]``).
    errors : {"raise", "flag"}
        A group whose tau² estimator does not converge raises
        :class:`ConvergenceError` naming it, or is flagged in ``converged``.
    random : str, optional
        Nested random intercepts (``"~ 1 | study/arm"``, columns of
        ``data``): every group is fitted as a multilevel model
        (:func:`sleepmeta.meta_analysis_mv`, method REML or ML, test z or t)
        in one batch; the result then has ``sigma2_<factor>`` columns
        (``sigma2_study``, ``sigma2_study_arm``) instead of the tau² fields.

    Returns
    -------
    DataFrame
        One row per group: the ``by`` columns, ``k``, ``estimate``, ``se``,
        ``statistic``, ``pvalue``, ``ci_low``, ``ci_high``, ``pi_low``,
        ``pi_high``, ``tau2``, ``tau2_se``, ``i2``, ``h2``, ``q``, ``q_df``,
        ``q_pvalue``, ``df`` (Knapp-Hartung only), ``converged`` and ``note``
        (e.g. a group of one study under Knapp-Hartung is tested with z, as
        metafor's ``k = 1`` rule; empty otherwise). The notes are also
        listed in ``result.attrs["notes"]``.

    Examples
    --------
    >>> long = pd.DataFrame({"drug": ["a", "a", "a", "b", "b"],
    ...                      "yi": [0.1, 0.3, 0.2, -0.2, 0.0],
    ...                      "vi": [0.01, 0.02, 0.015, 0.02, 0.03]})
    >>> res = sweep(long, by="drug", method="DL")
    >>> res[["drug", "k"]].to_dict("list")
    {'drug': ['a', 'b'], 'k': [3, 2]}
    """
    by = [by] if isinstance(by, str) else list(by)
    check_options(method, test)
    for opt, value in (("missing", missing), ("too_few", too_few)):
        if value not in ("raise", "drop"):
            raise unknown_option(opt, value, ("raise", "drop"))
    if errors not in ("raise", "flag"):
        raise unknown_option("errors", errors, ("raise", "flag"))
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if not by:
        raise InputError("by must name at least one column")
    for col in [*by, yi, vi]:
        if col not in data.columns:
            raise ColumnError(f"column {col!r} is not in data; columns: "
                              f"{', '.join(map(str, data.columns))}")
    extra = [] if random is None else _random_columns(random, data, by)
    frame = data[[*by, yi, vi, *extra]].copy()
    frame.columns = [*by, "_yi", "_vi", *extra]
    frame, dropped = _missing(frame, by, missing)
    _check_values(frame, by)
    frame = frame.astype({"_yi": float, "_vi": float})
    groups = frame.groupby(by, sort=True, dropna=False)
    keys = groups.size().reset_index(name="k")
    need = ESTIMATOR_INFO[method].min_k(1)
    small = keys["k"] < need
    skipped = [_describe(by, row) for row in keys[small][by].to_dict("records")]
    if small.any() and too_few == "raise":
        i = int(np.flatnonzero(small)[0])
        raise ModelError(f"group {skipped[0]}: {int(keys['k'][i])} stud"
                         f"{'y' if keys['k'][i] == 1 else 'ies'}; {method} needs at least {need}")
    if random is not None:
        from sleepmeta.scale.multilevel import sweep_multilevel

        keep = frame.set_index(by).index.isin(keys[~small].set_index(by).index)
        out = sweep_multilevel(frame[keep], by, extra, random=random, method=method, test=test,
                               level=level, errors=errors)
        out.attrs.update(method=method, test=test, level=level, dropped=dropped,
                         skipped=skipped, random=random)
        return out
    code = groups.ngroup().to_numpy()
    pos = groups.cumcount().to_numpy()
    n_groups, k_max = len(keys), int(keys["k"].max())
    Y, V = np.zeros((n_groups, k_max)), np.ones((n_groups, k_max))
    M = np.zeros((n_groups, k_max), bool)
    Y[code, pos], V[code, pos], M[code, pos] = frame["_yi"], frame["_vi"], True
    keep = ~small.to_numpy()
    fit = meta_analysis_batch(Y[keep], V[keep], M[keep], method=method, test=test,
                              level=level, errors="flag")
    out = keys[keep].reset_index(drop=True)
    for name in _FIELDS:
        out[name] = np.asarray(getattr(fit, name), float)
    if TESTS[test].residual_df:
        out["df"] = fit.df
    out["converged"] = fit.converged
    out["note"] = [fit.notes.get(b, "") for b in range(len(out))]
    notes = [f"group {_describe(by, out.loc[b, by].to_dict())}: {n}" for b, n in fit.notes.items()]
    bad = np.flatnonzero(~fit.converged)
    if bad.size and errors == "raise":
        b = int(bad[0])
        raise ConvergenceError(
            f"group {_describe(by, out.loc[b, by].to_dict())}: the {method} estimator of tau² "
            f"did not converge after {int(fit.iterations[b])} iterations (last tau² = "
            f"{fit.tau2[b]:.6g}); try method='DL' or 'PM', or errors='flag'")
    out.attrs.update(method=method, test=test, level=level, dropped=dropped, skipped=skipped,
                     notes=notes)
    return out


def _random_columns(random, data, by) -> list[str]:
    """The columns a multilevel sweep's formula names (nested intercepts only)."""
    from sleepmeta.pooling.multilevel.random import parse_random_list

    terms = parse_random_list(random)
    if any(not t.is_intercept for t in terms):
        raise InputError("sweep: random takes nested intercepts ('~ 1 | study/arm'); "
                         "fit 'inner | outer' terms with meta_analysis_mv")
    cols = list(dict.fromkeys(c for t in terms for c in t.outer))
    for c in cols:
        if c not in data.columns:
            raise ColumnError(f"random: column {c!r} is not in data; columns: "
                              f"{', '.join(map(str, data.columns))}")
        if c in by:
            raise InputError(f"random: {c!r} is also a by column (one value per group)")
    return cols


def _describe(by, row: dict) -> str:
    return ", ".join(f"{col}={row[col]!r}" for col in by)


def _missing(frame: pd.DataFrame, by, missing: str):
    bad = frame[["_yi", "_vi"]].isna().any(axis=1).to_numpy()
    if not bad.any():
        return frame, []
    rows = [f"row {idx!r} ({_describe(by, r)})"
            for idx, r in zip(frame.index[bad], frame.loc[bad, by].to_dict("records"))]
    if missing == "raise":
        col = "yi" if pd.isna(frame["_yi"].to_numpy()[bad][0]) else "vi"
        raise InputError(f"{rows[0]}: {col} is missing; pass missing='drop' to leave such rows out")
    return frame[~bad], rows


def _check_values(frame: pd.DataFrame, by) -> None:
    for col, rule, ok in (("_yi", "finite", np.isfinite),
                          ("_vi", "finite and > 0", lambda v: np.isfinite(v) & (v > 0))):
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(float)
        bad = ~ok(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            row = frame.iloc[i]
            raise InputError(f"row {frame.index[i]!r} ({_describe(by, row[by].to_dict())}): "
                             f"{col[1:]} must be {rule}, got {frame[col].iloc[i]!r}")
