"""Looking up a column that a user names for ``data=`` (shared by every stage)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sleepmeta.errors import ColumnError, InputError


def column_of(data: pd.DataFrame | None, value: str, name: str) -> np.ndarray:
    """The values of column ``value`` of ``data``, given as argument ``name``.

    >>> column_of(pd.DataFrame({"x": [1, 2]}), "x", "yi").tolist()
    [1, 2]
    """
    if data is None:
        raise InputError(f"{name}={value!r} names a column, but no data= was given")
    if value not in data.columns:
        available = ", ".join(map(str, data.columns))
        raise ColumnError(f"column {value!r} (given as {name}=) is not in data; available: {available}")
    return data[value].to_numpy()
