"""Resolve column arguments and check them against the rules of a measure.

Column arguments are arrays (one value per study) or, when ``data=`` is a
DataFrame, the names of its columns. Everything here runs once, at the
public boundary; the measure functions then trust their inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sleepmeta._lookup import column_of
from sleepmeta.errors import InputError, unknown_option

MISSING_POLICIES = ("raise", "drop")


def fmt_value(value: float) -> str:
    """Format a number for an error message (``12`` rather than ``12.0``)."""
    value = float(value)
    if np.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def study_error(label: str, message: str) -> InputError:
    """The error for one study: ``study 'Roth 2012': sd1 must be > 0, got -3.1``."""
    return InputError(f"study {label!r}: {message}")


def as_frame(data) -> pd.DataFrame | None:
    """Return ``data`` as a DataFrame (``None`` stays ``None``)."""
    if data is None or isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        return pd.DataFrame(dict(data))
    raise InputError(f"data must be a pandas DataFrame or a mapping of columns, got {type(data).__name__}")


def _column(name: str, value, data: pd.DataFrame | None) -> np.ndarray:
    if isinstance(value, str):
        value = column_of(data, value, name)
    arr = np.asarray(value, dtype=object if isinstance(value, (list, tuple)) else None)
    if arr.ndim == 0:
        raise InputError(f"{name} must be a sequence with one value per study, got a scalar")
    if arr.ndim != 1:
        raise InputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype == bool or any(isinstance(v, (bool, np.bool_)) for v in arr.ravel()
                                if arr.dtype == object):
        raise InputError(f"{name} must be numeric, got a boolean (True/False)")
    try:
        out = pd.to_numeric(pd.Series(arr), errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:
        bad = next((v for v in arr if not _is_number_or_missing(v)), None)
        if bad is None:
            raise InputError(f"{name} must be numeric: {type(exc).__name__}: {exc}") from None
        bad = bad.item() if isinstance(bad, np.generic) else bad
        raise InputError(f"{name} must be numeric, got {bad!r}") from None
    return out


def _is_number_or_missing(v) -> bool:
    if v is None:
        return True
    if isinstance(v, (bool, np.bool_)):
        return False
    try:
        float(v)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def resolve_columns(
    measure: str,
    required: Sequence[str],
    columns: Mapping[str, object],
    data: pd.DataFrame | None,
) -> dict[str, np.ndarray]:
    """Turn the column arguments of ``measure`` into float arrays of one length.

    Raises
    ------
    InputError
        An argument the measure does not take, a required one missing, a
        non-numeric value or unequal lengths.
    ColumnError
        A column name that is not in ``data``.
    """
    extra = [name for name in columns if name not in required]
    if extra:
        raise InputError(
            f"measure {measure!r} does not take {', '.join(extra)}; it needs {', '.join(required)}"
        )
    absent = [name for name in required if columns.get(name) is None]
    if absent:
        raise InputError(
            f"measure {measure!r} needs column argument(s) {', '.join(absent)} "
            f"(all of: {', '.join(required)})"
        )
    arrays = {name: _column(name, columns[name], data) for name in required}
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{n}={k}" for n, k in lengths.items())
        raise InputError(f"column arguments must all have the same length, got {shown}")
    if data is not None and next(iter(lengths.values())) != len(data):
        raise InputError(f"column arguments must have one value per row of data ({len(data)} rows)")
    return arrays


def resolve_labels(labels, data: pd.DataFrame | None, k: int) -> list[str]:
    """Study labels: ``labels=`` (a column name or a sequence), else data's index, else "1".."k"."""
    if labels is None:
        if data is not None and not isinstance(data.index, pd.RangeIndex):
            out = [str(v) for v in data.index]
        else:
            out = list(map(str, range(1, k + 1)))
    elif isinstance(labels, str):
        out = [str(v) for v in column_of(data, labels, "labels")]
    else:
        out = [str(v) for v in labels]
    if len(out) != k:
        raise InputError(f"labels must have one entry per study ({k}), got {len(out)}")
    return out


def handle_missing(
    arrays: dict[str, np.ndarray], labels: list[str], missing: str
) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """Apply the ``missing=`` policy; return (arrays, kept labels, dropped labels)."""
    if missing not in MISSING_POLICIES:
        raise unknown_option("missing policy", missing, MISSING_POLICIES)
    names = list(arrays)
    isna = np.column_stack([np.isnan(arrays[n]) for n in names]) if names else np.zeros((0, 0), bool)
    incomplete = isna.any(axis=1)
    if not incomplete.any():
        return arrays, labels, []
    if missing == "raise":
        i = int(np.flatnonzero(incomplete)[0])
        field = names[int(np.flatnonzero(isna[i])[0])]
        raise study_error(labels[i], f"{field} is missing (use missing='drop' to drop incomplete studies)")
    keep = ~incomplete
    dropped = [lab for lab, bad in zip(labels, incomplete) if bad]
    kept = [lab for lab, ok in zip(labels, keep) if ok]
    if not kept:
        raise InputError("no complete study left after missing='drop'")
    return {n: a[keep] for n, a in arrays.items()}, kept, dropped


def check(bad: np.ndarray, values: np.ndarray, labels: Sequence[str], field: str, rule: str) -> None:
    """Raise for the first study where ``bad`` holds: ``study 'x': {field} must be {rule}, got v``."""
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise study_error(labels[i], f"{field} must be {rule}, got {fmt_value(values[i])}")


def check_finite(arrays: Mapping[str, np.ndarray], labels: Sequence[str]) -> None:
    """Every value must be finite (missing values were handled before)."""
    for name, arr in arrays.items():
        check(~np.isfinite(arr), arr, labels, name, "finite")


def check_positive(arrays: Mapping[str, np.ndarray], names: Sequence[str], labels: Sequence[str]) -> None:
    """Each named column must be > 0."""
    for name in names:
        check(arrays[name] <= 0, arrays[name], labels, name, "> 0")


def check_counts(
    arrays: Mapping[str, np.ndarray], events: str, n: str, labels: Sequence[str]
) -> None:
    """Group size ``n`` >= 1 and 0 <= ``events`` <= ``n``."""
    check(arrays[n] < 1, arrays[n], labels, n, ">= 1")
    check(arrays[events] < 0, arrays[events], labels, events, ">= 0")
    bad = arrays[events] > arrays[n]
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise study_error(
            labels[i],
            f"{events} must be <= {n}, got {events}={fmt_value(arrays[events][i])} > "
            f"{n}={fmt_value(arrays[n][i])}",
        )
