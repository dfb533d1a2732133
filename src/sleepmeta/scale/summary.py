"""A wide view of a simulation's tidy table, for reading and printing."""

from __future__ import annotations

import pandas as pd

from sleepmeta.errors import ColumnError
from sleepmeta.scale.metrics import PERFORMANCE


def summary_table(tidy: pd.DataFrame, measures=PERFORMANCE) -> pd.DataFrame:
    """One row per condition and method; columns ``<measure>`` and ``<measure>_mcse``.

    Parameters
    ----------
    tidy : DataFrame
        What :func:`~sleepmeta.scale.simulate` returns (or its
        ``summary.parquet``).
    measures : sequence of str
        Performance measures to keep, in this order.

    Examples
    --------
    >>> tidy = pd.DataFrame({"condition": [0, 0], "k": [5, 5], "estimator": ["DL", "DL"],
    ...     "test": ["z", "z"], "performance": ["bias", "coverage"],
    ...     "estimate": [0.01, 0.93], "mcse": [0.002, 0.008], "n_sim": [100, 100],
    ...     "n_failed": [0, 0]})
    >>> summary_table(tidy, ["coverage", "bias"]).columns.tolist()
    ['condition', 'k', 'estimator', 'test', 'n_sim', 'n_failed', 'coverage', 'coverage_mcse', 'bias', 'bias_mcse']
    """
    unknown = [m for m in measures if m not in PERFORMANCE]
    if unknown:
        raise ColumnError(f"unknown performance measure {unknown[0]!r}; valid: "
                          f"{', '.join(PERFORMANCE)}")
    keys = [c for c in tidy.columns
            if c not in ("performance", "estimate", "mcse", "n_sim", "n_failed")]
    index = keys + ["n_sim", "n_failed"]
    kept = tidy[tidy["performance"].isin(list(measures))]
    rows = []
    for key, group in kept.groupby(index, sort=False, dropna=False):
        row = dict(zip(index, key))
        found = dict(zip(group["performance"], zip(group["estimate"], group["mcse"])))
        for m in measures:
            if m in found:
                row[m], row[f"{m}_mcse"] = found[m]
        rows.append(row)
    return pd.DataFrame(rows)
