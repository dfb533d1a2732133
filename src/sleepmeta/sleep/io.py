"""Read and write hypnogram files, choosing the format by the file suffix.

``.csv`` -> :mod:`~sleepmeta.sleep.io_csv`; ``.txt``/``.eannot``/``.hyp``
-> :mod:`~sleepmeta.sleep.io_text` (one stage per line; a ``.txt`` whose
first line has a comma is read as CSV; a file that starts with an EDF
header, as the original Sleep-EDF ``*.hyp`` files, is read as EDF);
``.edf`` -> :mod:`~sleepmeta.sleep.io_edf` (Sleep-EDF style EDF+, or a
hypnogram stored as an EDF signal); ``.xml`` ->
:mod:`~sleepmeta.sleep.io_xml` (NSRR, Compumedics Profusion or Embla,
detected from the content). Every reader names the format it detected in
``Hypnogram.format``.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pandas as pd

from sleepmeta.errors import ColumnError, HypnogramError, InputError
from sleepmeta.sleep.hypnogram import Hypnogram
from sleepmeta.sleep.io_csv import read_hypnogram_csv, write_hypnogram_csv
from sleepmeta.sleep.io_edf import read_hypnogram_edf, write_hypnogram_edf
from sleepmeta.sleep.io_text import read_hypnogram_text
from sleepmeta.sleep.io_xml import read_hypnogram_xml, write_hypnogram_xml
from sleepmeta.sleep.statistics import night_table

_READERS = {".csv": read_hypnogram_csv, ".txt": read_hypnogram_text, ".eannot": read_hypnogram_text,
            ".hyp": read_hypnogram_text, ".edf": read_hypnogram_edf, ".xml": read_hypnogram_xml}
_WRITERS = {".csv": write_hypnogram_csv, ".txt": write_hypnogram_csv,
            ".edf": write_hypnogram_edf, ".xml": write_hypnogram_xml}


def read_hypnogram(path, **options) -> Hypnogram:
    """Read one night from a CSV, text, EDF+ or XML file.

    ``options`` go to the format's reader (``epoch_seconds``, ``name``,
    ``coding`` for digit stages, ``ignore`` for EDF+); an option the
    format does not take is an error, except ``coding`` and
    ``epoch_seconds`` for formats that state them themselves.

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
    if reader is read_hypnogram_text and _is_edf(path):  # e.g. the original Sleep-EDF *.hyp files
        reader = read_hypnogram_edf
    elif reader is read_hypnogram_text and _first_line_has_comma(path):
        reader = read_hypnogram_csv
    accepted = inspect.signature(reader).parameters
    if options.get("epoch_seconds", 0) is None:
        options.pop("epoch_seconds")
    elif "epoch_seconds" in options:
        options["epoch_seconds"] = check_epoch_seconds(options["epoch_seconds"])
    for key in list(options):
        if key not in accepted:
            if key == "coding":
                options.pop(key)  # the format states its own stage coding
                continue
            raise InputError(f"file '{path}': option {key!r} does not apply to {path.suffix} files")
    return reader(path, **options)


def check_epoch_seconds(value) -> float:
    """A usable epoch length: a finite number of seconds > 0.

    >>> check_epoch_seconds(30)
    30.0
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"epoch_seconds must be a number of seconds, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"epoch_seconds must be a finite number of seconds > 0, got {value!r}")
    return value


def _is_edf(path: Path) -> bool:
    """True when the file starts with an EDF header (version field ``0`` and seven blanks)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(8) == b"0       "
    except OSError:
        return False


def _first_line_has_comma(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            for _ in range(1000):
                line = handle.readline(65536)
                if not line:
                    return False
                if line.strip() and not line.lstrip().startswith("#"):
                    return "," in line
    except OSError:
        return False
    return False


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
                coding: str | None = None, lights_off=None, lights_on=None,
                **statistics) -> pd.DataFrame:
    """Night table of hypnogram files, with participant data joined by file.

    Parameters
    ----------
    files : iterable of str or Path
        Hypnogram files (CSV, text, EDF+, XML); each is one night, named by
        its file name without suffix.
    epoch_seconds : float, optional
        Epoch length for files that do not state it (checked against those
        that do).
    meta : pandas.DataFrame, optional
        One row per file with a ``file`` column (file name, with or without
        folder) and any other columns (``subject``, ``arm``, ``period``...),
        which are joined to the nights. Every file must have exactly one
        row, and every row a file. Columns ``lights_off`` / ``lights_on``
        (seconds from the start of the hypnogram, or clock times such as
        ``"23:10"`` for files with a start time; empty for none) set the
        lights of each night, overriding the file's; a side left empty
        keeps the file's (a lights annotation, or the first/last scored
        epoch when the file has leading/trailing unscored epochs, as luna).
    coding : {"rk", "yasa"}, optional
        Coding of digit stages in text and CSV files.
    lights_off, lights_on : float or str, optional
        Lights times for every night (overriding the meta columns and the
        files).
    **statistics
        Options of :func:`~sleepmeta.sleep.night_table`.

    Returns
    -------
    pandas.DataFrame
        ``file``, ``format``, the ``meta`` columns, then the night-table
        columns (``lights`` says where each night's lights times came from).

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
    if epoch_seconds is not None:
        epoch_seconds = check_epoch_seconds(epoch_seconds)
    options = {"epoch_seconds": epoch_seconds, "coding": coding}
    nights = [read_hypnogram(p, **options) for p in paths]
    if meta is not None:
        extra = _meta_rows(meta, paths)
        nights = [_meta_lights(h, p, extra, i) for i, (h, p) in enumerate(zip(nights, paths))]
    if lights_off is not None or lights_on is not None:
        nights = [_with_lights(h, p, lights_off, lights_on, "argument") for h, p in zip(nights, paths)]
    table = night_table(nights, **statistics)
    table.insert(0, "file", [str(p) for p in paths])
    table.insert(1, "format", [h.format for h in nights])
    if meta is None:
        return table
    extra.index = table.index
    extra = extra.drop(columns=[c for c in ("lights_off", "lights_on") if c in extra.columns])
    return pd.concat([table[["file", "format"]], extra, table.drop(columns=["file", "format"])], axis=1)


def _meta_rows(meta: pd.DataFrame, paths: list[Path]) -> pd.DataFrame:
    """The meta rows of the files, in file order; every file one row, every row a file."""
    if not isinstance(meta, pd.DataFrame):
        raise InputError(f"meta must be a pandas DataFrame, got {type(meta).__name__}")
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
    clash = [c for c in meta.columns if c != "file" and c in _RESERVED]
    if clash:
        raise InputError(f"meta: column {clash[0]!r} is also a night-table column; rename it")
    return meta.drop(columns="file").set_axis(meta_keys).loc[keys]


_RESERVED = {"night", "format", "TIB", "TST", "WASO", "SOL", "SE", "lights", "undefined", "staging"}


def _meta_lights(h: Hypnogram, path: Path, extra: pd.DataFrame, i: int) -> Hypnogram:
    values = {}
    for col in ("lights_off", "lights_on"):
        if col in extra.columns:
            value = extra[col].iloc[i]
            if isinstance(value, str) and not value.strip():
                value = None
            elif value is not None and not isinstance(value, str) and pd.isna(value):
                value = None
            elif isinstance(value, (np.integer, np.floating)):
                value = float(value)
            values[col] = value
    if all(v is None for v in values.values()):
        return h
    return _with_lights(h, path, values.get("lights_off"), values.get("lights_on"), "meta")


def _with_lights(h: Hypnogram, path: Path, off, on, source: str) -> Hypnogram:
    """Lights from the meta table or the arguments; a side they leave out keeps the file's."""
    if h.lights is not None and (off is None or on is None):
        off = h.lights_off if off is None else off
        on = h.lights_on if on is None else on
        source = f"{source}+{h.lights_source}"
    try:
        return h.with_lights(off, on, source=source)
    except HypnogramError as exc:
        raise HypnogramError(f"file '{path}': {source} lights: {exc}") from None
