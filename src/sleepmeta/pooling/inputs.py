"""Resolve and validate ``yi``/``vi`` given as arrays, column names or EffectSizes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sleepmeta._lookup import column_of
from sleepmeta.effects.columns import resolve_labels
from sleepmeta.errors import InputError, unknown_option


@dataclass
class Inputs:
    """Validated inputs of one analysis: finite ``yi``, ``vi > 0``, labels, notes.

    Examples
    --------
    >>> inp = resolve_inputs([0.1, 0.3], [0.01, 0.02], labels=["a", "b"])
    >>> inp.labels, inp.measure, inp.notes
    (['a', 'b'], None, ())
    """

    yi: np.ndarray
    vi: np.ndarray
    labels: list[str]
    measure: str | None
    data: pd.DataFrame | None
    notes: tuple[str, ...]


def column_or_values(data: pd.DataFrame | None, value, name: str):
    """``value`` itself, or the column of ``data`` it names (a string).

    Examples
    --------
    >>> import pandas as pd
    >>> column_or_values(pd.DataFrame({"a": [1, 2]}), "a", "yi").tolist(), column_or_values(None, [3], "yi")
    ([1, 2], [3])
    """
    return column_of(data, value, name) if isinstance(value, str) else value


def resolve_inputs(yi, vi, *, data=None, labels=None, missing="raise", measure=None) -> Inputs:
    """Turn the user's ``yi``/``vi`` into validated float arrays with labels.

    Examples
    --------
    >>> inp = resolve_inputs([0.1, float("nan"), 0.3], [0.01, 0.02, 0.03], missing="drop")
    >>> inp.yi.tolist(), inp.labels, inp.notes
    ([0.1, 0.3], ['1', '3'], ('dropped 1 incomplete study: 2',))
    """
    if missing not in ("raise", "drop"):
        raise unknown_option("missing", missing, ("raise", "drop"))
    notes: list[str] = []
    for name, value in (("yi", yi), ("vi", vi)):
        if isinstance(value, pd.DataFrame):
            raise InputError(f"{name} is a DataFrame; pass the table as data= and name its "
                             "columns, e.g. meta_analysis('yi', 'vi', data=df)")
    if hasattr(yi, "yi") and hasattr(yi, "vi"):  # an EffectSizes
        es = yi
        y, v = np.asarray(es.yi, float), np.asarray(es.vi, float)
        labs = list(map(str, es.labels)) if labels is None else resolve_labels(labels, data, y.size)
        measure = measure or es.measure
        corr = es.correction
        if corr:
            notes.append(str(corr))
    else:
        if data is not None:
            yi = "yi" if yi is None else yi
            vi = "vi" if vi is None else vi
        if yi is None or vi is None:
            raise InputError("meta_analysis needs yi and vi (arrays, or column names with data=)")
        y = np.asarray(column_or_values(data, yi, "yi"), dtype=float).ravel()
        v = np.asarray(column_or_values(data, vi, "vi"), dtype=float).ravel()
        if y.size != v.size:
            raise InputError(f"yi has {y.size} values but vi has {v.size}; they must be equal")
        labs = resolve_labels(labels, data, y.size)
    if y.size == 0:
        raise InputError("no studies: yi is empty")
    incomplete = ~(np.isfinite(y) & np.isfinite(v))
    if incomplete.any():
        if missing == "raise":
            i = int(np.flatnonzero(incomplete)[0])
            field = "yi" if not np.isfinite(y[i]) else "vi"
            raise InputError(f"study {labs[i]!r}: {field} must be a finite number, got "
                             f"{(y if field == 'yi' else v)[i]!r} (use missing='drop' to drop "
                             "incomplete studies)")
        dropped = [labs[i] for i in np.flatnonzero(incomplete)]
        notes.append(f"dropped {len(dropped)} incomplete stud{'y' if len(dropped) == 1 else 'ies'}: "
                     + ", ".join(dropped))
        keep = ~incomplete
        y, v = y[keep], v[keep]
        labs = [lab for lab, kp in zip(labs, keep) if kp]
        if data is not None:
            data = data.loc[keep]
        if y.size == 0:
            raise InputError("no studies left after dropping incomplete ones")
    bad = np.flatnonzero(v <= 0)
    if bad.size:
        i = int(bad[0])
        raise InputError(f"study {labs[i]!r}: vi must be > 0, got {v[i]!r}")
    return Inputs(y, v, labs, measure, data, tuple(notes))
