"""Moderators to a design matrix: a formula on ``data``, a DataFrame or an array.

Like metafor, an intercept is added unless a formula removes it
(``"~ 0 + x"`` or ``"~ x - 1"``); the intercept is named ``intrcpt``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sleepmeta.errors import ColumnError, InputError, ModelError


@dataclass(frozen=True)
class Design:
    """A design matrix with the names of its columns."""

    X: np.ndarray  # (k, p)
    terms: tuple[str, ...]
    intercept: bool


def design_matrix(mods, data: pd.DataFrame | None, k: int, labels) -> Design:
    """Build the ``(k, p)`` design of a model (validated: finite, full rank, p < k)."""
    if mods is None:
        return Design(np.ones((k, 1)), ("intrcpt",), True)
    if isinstance(mods, str):
        X, terms, intercept = _from_formula(mods, data, labels)
    else:
        frame = mods if isinstance(mods, pd.DataFrame) else pd.DataFrame(
            np.asarray(mods, float).reshape(k, -1) if np.ndim(mods) else np.empty((k, 0)))
        if not isinstance(mods, pd.DataFrame):
            frame.columns = [f"x{i + 1}" for i in range(frame.shape[1])]
        if len(frame) != k:
            raise InputError(f"mods has {len(frame)} rows but there are {k} studies")
        _no_missing(frame, labels)
        X = np.column_stack([np.ones(k), frame.to_numpy(float)])
        terms, intercept = ("intrcpt", *map(str, frame.columns)), True
    _check_rank(X, terms, labels)
    return Design(X, terms, intercept)


def _from_formula(formula: str, data, labels):
    import formulaic
    from formulaic.errors import FormulaicError

    if data is None:
        raise InputError(f"mods={formula!r} is a formula: pass the moderators' DataFrame as data=")
    try:
        needed = formulaic.Formula(formula).required_variables
    except FormulaicError as exc:
        raise InputError(f"mods: cannot parse formula {formula!r}: {exc}") from None
    missing = sorted(v for v in needed if v not in data.columns)
    if missing:
        raise ColumnError(f"mods: term {missing[0]!r} of {formula!r} is not a column of data; "
                          f"columns: {', '.join(map(str, data.columns))}")
    _no_missing(data[sorted(needed)], labels)
    with np.errstate(all="ignore"):
        try:
            mm = formulaic.model_matrix(formula, data, na_action="raise")
        except (FormulaicError, ValueError, TypeError, ArithmeticError) as exc:
            text = " ".join(str(exc).split())
            raise ModelError(f"mods: formula {formula!r} cannot be evaluated on the data "
                             f"(e.g. the log of a value <= 0): {text}") from None
    terms = tuple("intrcpt" if c == "Intercept" else c for c in mm.columns)
    X = np.asarray(mm, float)
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise ModelError(f"study {labels[i]!r}: term {terms[j]!r} of mods {formula!r} is not "
                         f"finite ({float(X[i, j])!r})")
    return X, terms, "intrcpt" in terms


def _no_missing(frame: pd.DataFrame, labels) -> None:
    for col in frame.columns:
        values = frame[col]
        bad = values.isna().to_numpy()
        if values.dtype.kind in "fc":
            bad = bad | ~np.isfinite(values.to_numpy(float))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ModelError(f"study {labels[i]!r}: moderator {col!r} is missing or not finite")


def _check_rank(X: np.ndarray, terms, labels) -> None:
    k, p = X.shape
    if p >= k:
        raise ModelError(f"the model has {p} coefficients ({', '.join(terms)}) but only {k} studies; "
                         "it needs fewer coefficients than studies")
    for j in range(1, p + 1):
        if np.linalg.matrix_rank(X[:, :j]) < j:
            raise ModelError(f"the design is rank-deficient: term {terms[j - 1]!r} is a linear "
                             "combination of the terms before it (redundant or constant moderator)")
