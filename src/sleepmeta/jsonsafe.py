"""JSON-safe plain values: the one place numbers are cleaned for JSON.

Every ``to_dict()`` of the package and the report's ``report.json`` use
:func:`clean`: NumPy and pandas scalars become Python ones, NaN and
infinities become ``None`` (JSON has no NaN), arrays become lists.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["clean"]


def clean(x):
    """Recursively turn numpy/pandas values into plain JSON values (NaN/inf -> None).

    Examples
    --------
    >>> import numpy as np
    >>> clean({"a": np.float64(1.5), "b": [np.nan, np.int64(2)], "c": np.array([True])})
    {'a': 1.5, 'b': [None, 2], 'c': [True]}
    """
    if isinstance(x, dict):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return [clean(v) for v in x.tolist()]
    if x is None or isinstance(x, (str, bool)):
        return x
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    if x is pd.NA or x is pd.NaT:
        return None
    return str(x)
