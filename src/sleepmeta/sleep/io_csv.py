"""Hypnograms as CSV: one epoch per row.

Two layouts are read:

* a header row with a stage column (``stage``, ``stages``, ``sleep_stage``,
  ``hypnogram`` or ``label``, any case) and, optionally, ``onset`` (seconds
  from the start), ``duration`` (seconds) and ``time`` (clock time of the
  epoch) columns - the layout :func:`write_hypnogram_csv` writes;
* no header: one stage label per line (a single column).

The epoch length comes from the ``duration`` column, else from the steps of
the ``onset`` column, else from ``epoch_seconds`` (default 30 s). Every row
must have the same epoch length and onsets must follow each other without
gap or overlap; a row that breaks this, or holds an unknown stage, raises
:class:`~sleepmeta.errors.HypnogramError` naming the file and the line.
"""

from __future__ import annotations

import csv
import gc
import io
from pathlib import Path

import numpy as np
import pandas as pd

from sleepmeta.errors import HypnogramError
from sleepmeta.sleep._events import lights_from_file
from sleepmeta.sleep._files import atomic_write_text
from sleepmeta.sleep.hypnogram import Hypnogram
from sleepmeta.sleep.io_text import stage_codes

_STAGE_NAMES = ("stage", "stages", "sleep_stage", "hypnogram", "label")
_TOL = 1e-6
_MAX_BYTES = 512 * 1024 * 1024


def read_hypnogram_csv(path, *, epoch_seconds: float | None = None, name: str | None = None,
                       coding: str | None = None) -> Hypnogram:
    """Read a hypnogram from a CSV file.

    Parameters
    ----------
    path : str or Path
    epoch_seconds : float, optional
        Epoch length when the file has no ``duration`` or ``onset`` column
        (default 30); when it has, the two must agree.
    name : str, optional
        Name of the night (default: the file name without suffix).
    coding : {"rk", "yasa"}, optional
        Meaning of digit stages; required when the stage column holds bare
        digits (4 is R&K stage 4 in Sleep-EDF/NSRR files, REM in YASA's).

    Returns
    -------
    Hypnogram
        ``format`` is ``"CSV"``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "n1.csv"
    >>> _ = p.write_text("onset,duration,stage\\n0,20,W\\n20,20,N1\\n40,20,N2\\n")
    >>> h = read_hypnogram_csv(p)
    >>> h.name, h.epoch_seconds, h.labels.tolist()
    ('n1', 20.0, ['W', 'N1', 'N2'])
    """
    path = Path(path)
    where = f"file '{path}'"
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise HypnogramError(f"{where}: larger than {_MAX_BYTES:,} bytes; not a hypnogram")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise HypnogramError(f"{where}: cannot be read: {exc}") from None
    reader = csv.reader(io.StringIO(text))
    lines, kept = [], []
    # the rows are plain lists of strings (no reference cycles): the cyclic garbage collector is
    # paused while a million of them are built (otherwise it rescans them again and again, 3x slower)
    collecting = gc.isenabled()
    gc.disable()
    try:
        for row in reader:
            if "".join(row).strip():  # blank lines (and rows of blank cells) are skipped
                lines.append(reader.line_num)
                kept.append(row)
        rows = list(zip(lines, kept))
    except csv.Error as exc:  # e.g. a field over the csv module's 131,072-character limit
        raise HypnogramError(f"{where}: line {reader.line_num}: not readable as CSV: {exc}") from None
    finally:
        if collecting:
            gc.enable()
    del kept
    if not rows:
        raise HypnogramError(f"{where}: empty file (no epochs)")
    header = [cell.strip().lower() for cell in rows[0][1]]
    stage_cols = [i for i, cell in enumerate(header) if cell in _STAGE_NAMES]
    if stage_cols:
        body = rows[1:]
        if not body:
            raise HypnogramError(f"{where}: header only, no epochs")
        for line, row in body:
            if len(row) != len(header):
                raise HypnogramError(f"{where}: line {line}: {len(row)} fields, header has {len(header)}")
        column = {h: [row[i].strip() for _, row in body] for i, h in enumerate(header)}
        stages = column[header[stage_cols[0]]]
    else:
        body = rows
        for line, row in body:
            if len(row) != 1:
                raise HypnogramError(
                    f"{where}: line {line}: expected one stage per line or a header with a "
                    f"stage column ({', '.join(_STAGE_NAMES)})"
                )
        column, stages = {}, [row[0].strip() for _, row in body]
    lines = np.array([line for line, _ in body])
    codes = stage_codes(stages, lines, coding, where)
    epoch = _epoch_length(column, lines, epoch_seconds, where)
    start = _start(column.get("time"), lines, where)
    h = Hypnogram._trusted(codes, epoch, start, name if name is not None else path.stem, None, "CSV")
    return lights_from_file(h, None, None, where)


def _floats(values, lines, field, where) -> np.ndarray:
    out = np.empty(len(values))
    for k, (value, line) in enumerate(zip(values, lines)):
        try:
            out[k] = float(value)
        except (ValueError, OverflowError):
            raise HypnogramError(f"{where}: line {line}: {field} {value!r} is not a number") from None
        if not np.isfinite(out[k]):
            raise HypnogramError(f"{where}: line {line}: {field} {value!r} is not finite")
    return out


def _epoch_length(column, lines, epoch_seconds, where) -> float:
    """Epoch length from the file, checked for consistency on every line."""
    epoch = None
    if "duration" in column:
        dur = _floats(column["duration"], lines, "duration", where)
        epoch = dur[0]
        if epoch <= 0:
            raise HypnogramError(f"{where}: line {lines[0]}: duration must be > 0, got {epoch:g}")
        bad = np.flatnonzero(np.abs(dur - epoch) > _TOL)
        if bad.size:
            k = bad[0]
            raise HypnogramError(
                f"{where}: line {lines[k]}: duration {dur[k]:g} s differs from {epoch:g} s on line "
                f"{lines[0]} (inconsistent epoch lengths in one file)"
            )
    if "onset" in column:
        onset = _floats(column["onset"], lines, "onset", where)
        if epoch is None:
            if onset.size < 2:
                epoch = epoch_seconds if epoch_seconds is not None else 30.0
            else:
                epoch = onset[1] - onset[0]
                if epoch <= 0:
                    raise HypnogramError(f"{where}: line {lines[1]}: onsets must increase")
        expected = onset[0] + epoch * np.arange(onset.size)
        bad = np.flatnonzero(np.abs(onset - expected) > 1e-3)
        if bad.size:
            k = bad[0]
            raise HypnogramError(
                f"{where}: line {lines[k]}: onset {onset[k]:g} s, expected {expected[k]:g} s "
                f"(epochs of {epoch:g} s without gap or overlap; inconsistent epoch lengths?)"
            )
    if epoch is None:
        return float(epoch_seconds) if epoch_seconds is not None else 30.0
    if epoch_seconds is not None and abs(epoch - epoch_seconds) > _TOL:
        raise HypnogramError(f"{where}: epochs of {epoch:g} s in the file, but epoch_seconds={epoch_seconds!r}")
    return float(epoch)


def _start(times, lines, where):
    if not times:
        return None
    try:
        stamp = pd.Timestamp(times[0])
    except (ValueError, TypeError, OverflowError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise HypnogramError(f"{where}: line {lines[0]}: time {times[0]!r} is not a date-time")
    return stamp


def write_hypnogram_csv(hypnogram: Hypnogram, path) -> None:
    """Write one epoch per row: ``epoch, onset, duration, stage`` (and ``time``).

    The file is written atomically (temporary file, then rename).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "night.csv"
    >>> write_hypnogram_csv(Hypnogram(["W", "N2"]), p)
    >>> print(p.read_text().strip())
    epoch,onset,duration,stage
    0,0,30,W
    1,30,30,N2
    """
    if not isinstance(hypnogram, Hypnogram):
        raise HypnogramError(f"expected a Hypnogram, got {type(hypnogram).__name__}")
    frame = hypnogram.to_frame()
    for col in ("onset", "duration"):
        frame[col] = [f"{v:.10g}" for v in frame[col]]
    if "time" in frame:
        frame["time"] = [t.isoformat() for t in frame["time"]]
    atomic_write_text(path, frame.to_csv(index=False, lineterminator="\n"))
