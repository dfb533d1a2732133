"""Read and write hypnogram files, choosing the format by the file suffix.

``.csv``/``.txt`` -> :mod:`~sleepmeta.sleep.io_csv`; ``.edf`` ->
:mod:`~sleepmeta.sleep.io_edf` (Sleep-EDF style EDF+); ``.xml`` ->
:mod:`~sleepmeta.sleep.io_xml` (NSRR).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sleepmeta.errors import ColumnError, HypnogramError, InputError
from sleepmeta.sleep.hypnogram import Hypnogram
from sleepmeta.sleep.statistics import night_table
from sleepmeta.sleep.io_csv import read_hypnogram_csv, write_hypnogram_csv
from sleepmeta.sleep.io_edf import read_hypnogram_edf, write_hypnogram_edf
from sleepmeta.sleep.io_xml import read_hypnogram_xml, write_hypnogram_xml

_READERS = {".csv": read_hypnogram_csv, ".txt": read_hypnogram_csv,
            ".edf": read_hypnogram_edf, ".xml": read_hypnogram_xml}
_WRITERS = {".csv": write_hypnogram_csv, ".txt": write_hypnogram_csv,
            ".edf": write_hypnogram_edf, ".xml": write_hypnogram_xml}


def read_hypnogram(path, **options) -> Hypnogram:
    """Read one night from a CSV, EDF+ or NSRR XML file.

    ``options`` go to the format's reader (e.g. ``epoch_seconds``, ``name``).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "night.xml"
    >>> write_hypnogram(Hypnogram(["W", "N1"]), p)
    >>> read_hypnogram(p).labels.tolist()
    ['W', 'N1']
    """
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise HypnogramError(
            f"file '{path}': unknown hypnogram format {path.suffix!r}; use one of {', '.join(_READERS)}"
        )
    if not path.is_file():
        raise HypnogramError(f"file '{path}': no such file")
    return reader(path, **options)


def write_hypnogram(hypnogram: Hypnogram, path) -> None:
    """Write one night as CSV, EDF+ or NSRR XML (by suffix), atomically."""
    path = Path(path)
    writer = _WRITERS.get(path.suffix.lower())
    if writer is None:
        raise HypnogramError(
            f"file '{path}': unknown hypnogram format {path.suffix!r}; use one of {', '.join(_WRITERS)}"
        )
    writer(hypnogram, path)


def read_nights(files, *, epoch_seconds: float | None = None, meta: pd.DataFrame | None = None,
                **statistics) -> pd.DataFrame:
    """Night table of hypnogram files, with participant data joined by file.

    Parameters
    ----------
    files : iterable of str or Path
        Hypnogram files (CSV, EDF+, NSRR XML); each is one night, named by
        its file name without suffix.
    epoch_seconds : float, optional
        Epoch length for files that do not state it (checked against those
        that do).
    meta : pandas.DataFrame, optional
        One row per file with a ``file`` column (file name, with or without
        folder) and any other columns (``subject``, ``arm``, ``period``...),
        which are joined to the nights. Every file must have exactly one
        row, and every row a file.
    **statistics
        Options of :func:`~sleepmeta.sleep.night_table`.

    Returns
    -------
    pandas.DataFrame
        ``file``, the ``meta`` columns, then the night-table columns.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_hypnogram(Hypnogram(["W", "N2", "N2"]), d / "s01.csv")
    >>> meta = pd.DataFrame({"file": ["s01.csv"], "subject": ["s01"], "arm": ["drug"]})
    >>> read_nights([d / "s01.csv"], meta=meta)[["subject", "arm", "TST"]].values.tolist()
    [['s01', 'drug', 1.0]]
    """
    paths = [Path(f) for f in files]
    if not paths:
        raise InputError("no hypnogram files given")
    options = {} if epoch_seconds is None else {"epoch_seconds": epoch_seconds}
    table = night_table([read_hypnogram(p, **options) for p in paths], **statistics)
    table.insert(0, "file", [str(p) for p in paths])
    if meta is None:
        return table
    if "file" not in meta.columns:
        raise ColumnError("meta needs a 'file' column naming each hypnogram file")
    keys = [p.name for p in paths]
    meta_keys = [Path(str(f)).name for f in meta["file"]]
    dup = pd.Index(meta_keys)[pd.Index(meta_keys).duplicated()]
    if len(dup):
        raise InputError(f"meta: file {dup[0]!r} has more than one row")
    missing = [k for k in keys if k not in meta_keys]
    if missing:
        raise InputError(f"meta: no row for file {missing[0]!r}")
    unused = [k for k in meta_keys if k not in keys]
    if unused:
        raise InputError(f"meta: row for file {unused[0]!r}, which was not given")
    extra = meta.drop(columns="file").set_axis(meta_keys).loc[keys]
    extra.index = table.index
    return pd.concat([table[["file"]], extra, table.drop(columns="file")], axis=1)
