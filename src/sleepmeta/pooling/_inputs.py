"""Resolve and validate ``yi``/``vi`` given as arrays, column names or EffectSizes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sleepmeta._lookup import column_of
from sleepmeta.errors import InputError, unknown_option


@dataclass
class Inputs:
    yi: np.ndarray
    vi: np.ndarray
    labels: list[str]
    measure: str | None
    data: pd.DataFrame | None
    notes: tuple[str, ...]


def _column(data: pd.DataFrame | None, value, name: str):
    return column_of(data, value, name) if isinstance(value, str) else value


def _labels(labels, data, k: int) -> list[str]:
    if labels is None:
        if data is not None and not isinstance(data.index, pd.RangeIndex):
            return [str(x) for x in data.index]
        return [str(i + 1) for i in range(k)]
    values = _column(data, labels, "labels")
    values = [str(x) for x in values]
    if len(values) != k:
        raise InputError(f"labels has {len(values)} entries but there are {k} studies")
    return values


def resolve_inputs(yi, vi, *, data=None, labels=None, missing="raise", measure=None) -> Inputs:
    """Turn the user's ``yi``/``vi`` into validated float arrays with labels."""
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
        labs = list(map(str, es.labels)) if labels is None else _labels(labels, data, y.size)
        measure = measure or getattr(es, "measure", None)
        corr = getattr(es, "correction", None)
        if corr:
            notes.append(str(corr))
    else:
        if data is not None:
            yi = "yi" if yi is None else yi
            vi = "vi" if vi is None else vi
        if yi is None or vi is None:
            raise InputError("meta_analysis needs yi and vi (arrays, or column names with data=)")
        y = np.asarray(_column(data, yi, "yi"), dtype=float).ravel()
        v = np.asarray(_column(data, vi, "vi"), dtype=float).ravel()
        if y.size != v.size:
            raise InputError(f"yi has {y.size} values but vi has {v.size}; they must be equal")
        labs = _labels(labels, data, y.size)
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
