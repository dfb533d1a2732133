"""Moderators to a design matrix: a formula on ``data``, a DataFrame or an array.

Like metafor, an intercept is added unless a formula removes it
(``"~ 0 + x"`` or ``"~ x - 1"``); the intercept is named ``intrcpt``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sleepmeta.errors import InputError, ModelError
from sleepmeta.pooling.formula_safety import formula_model_matrix, parse_formula


@dataclass(frozen=True)
class Design:
    """A design matrix with the names of its columns.

    Examples
    --------
    >>> d = design_matrix(None, None, 3, ["a", "b", "c"])
    >>> d.X.shape, d.terms, d.intercept, d.spec is None
    ((3, 1), ('intrcpt',), True, True)
    """

    X: np.ndarray  # (k, p)
    terms: tuple[str, ...]
    intercept: bool
    spec: object = None  # formulaic ModelSpec of a formula (builds rows for new data)


def design_matrix(mods, data: pd.DataFrame | None, k: int, labels) -> Design:
    """Build the ``(k, p)`` design of a model (validated: finite, full rank, p < k).

    Examples
    --------
    >>> import pandas as pd
    >>> d = design_matrix("~ dose", pd.DataFrame({"dose": [1.0, 2.0, 4.0]}), 3, ["a", "b", "c"])
    >>> d.terms, d.X[:, 1].tolist()
    (('intrcpt', 'dose'), [1.0, 2.0, 4.0])
    """
    if mods is None:
        return Design(np.ones((k, 1)), ("intrcpt",), True)
    if isinstance(mods, str):
        return _from_formula(mods, data, labels)
    frame = mods if isinstance(mods, pd.DataFrame) else pd.DataFrame(
        np.asarray(mods, float).reshape(k, -1) if np.ndim(mods) else np.empty((k, 0)))
    if not isinstance(mods, pd.DataFrame):
        frame.columns = [f"x{i + 1}" for i in range(frame.shape[1])]
    if len(frame) != k:
        raise InputError(f"mods has {len(frame)} rows but there are {k} studies")
    _no_missing(frame, labels)
    X = np.column_stack([np.ones(k), frame.to_numpy(float)])
    terms = ("intrcpt", *map(str, frame.columns))
    _check_rank(X, terms, labels)
    return Design(X, terms, True)


def _from_formula(formula: str, data, labels) -> Design:
    """The design of a formula, checked against the safe subset before formulaic sees it."""
    if data is None:
        raise InputError(f"mods={formula!r} is a formula: pass the moderators' DataFrame as data=")
    needed = parse_formula(formula, data.columns).variables
    _no_missing(data[list(needed)], labels)
    mm = formula_model_matrix(formula, data)
    terms = tuple("intrcpt" if c == "Intercept" else c for c in mm.columns)
    X = np.asarray(mm, float)
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = (int(a[0]) for a in np.nonzero(bad))
        raise ModelError(f"study {labels[i]!r}: model term {terms[j]!r} of {formula!r} is "
                         f"{X[i, j]} (not finite)")
    _check_rank(X, terms, labels)
    return Design(X, terms, "intrcpt" in terms, mm.model_spec)


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
    if p == 0:
        raise ModelError("the model has no coefficients: the formula removes the intercept "
                         "('0' or '- 1') and names no moderator")
    if p >= k:
        raise ModelError(f"the model has {p} coefficients ({', '.join(terms)}) but only {k} studies; "
                         "it needs fewer coefficients than studies")
    for j in range(1, p + 1):
        if np.linalg.matrix_rank(X[:, :j]) < j:
            raise ModelError(f"the design is rank-deficient: term {terms[j - 1]!r} is a linear "
                             "combination of the terms before it (redundant or constant moderator)")
