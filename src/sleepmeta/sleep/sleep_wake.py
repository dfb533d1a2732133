"""Sleep/wake series from actigraphy and consumer devices, at any epoch length.

Actigraphy scoring (Cole-Kripke, Sadeh; e.g. pyActigraphy's output, a
pandas Series indexed by time) and consumer devices give one sleep/wake
state per epoch instead of stages. Such a night becomes a
:class:`~sleepmeta.sleep.Hypnogram` of ``W`` and ``S`` epochs, and
:func:`~sleepmeta.sleep.night_table` gives the endpoints defined for it
(TIB, TST, SOL, WASO, WASO_AASM, SE, SME, SFI, LPS, wake bouts, thirds)
and NaN with a reason (``undefined`` column) for the stage endpoints.

Values: text labels (``S``/``sleep``/``asleep``, ``W``/``wake``/``awake``,
and ``?``/empty for unscored epochs), or numbers 0/1, whose meaning must be
given (``sleep=1`` when 1 means sleep, ``sleep=0`` when 0 does): devices
and packages differ, and guessing would swap sleep and wake.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from sleepmeta.errors import HypnogramError, InputError
from sleepmeta.sleep.hypnogram import Hypnogram
from sleepmeta.sleep.labels import stage_code, to_labels

FORMAT = "sleep/wake series"
_VALUE_NAMES = ("sleep", "sleep_wake", "sleepwake", "state", "asleep", "stage", "label", "value")
_TIME_NAMES = ("time", "date_time", "datetime", "timestamp", "date")
_MAX_BYTES = 512 * 1024 * 1024


def from_sleep_wake(values, *, sleep=None, epoch_seconds: float | None = None, start=None,
                    name: str | None = None, where: str = "") -> Hypnogram:
    """A sleep/wake series (list, array or pandas Series) as a Hypnogram.

    Parameters
    ----------
    values : array_like or pandas.Series
        One state per epoch. A Series with a regular DatetimeIndex (as
        pyActigraphy returns) gives the epoch length and the start.
    sleep : {0, 1}, optional
        For numeric values: the number that means sleep (the other is wake).
    epoch_seconds : float, optional
        Epoch length when the values carry no times.
    start : date-time, optional
        Clock time of the first epoch.
    name : str, optional

    Examples
    --------
    >>> h = from_sleep_wake([0, 1, 1, 0, 1], sleep=1, epoch_seconds=60)
    >>> h.labels.tolist(), h.is_sleep_wake
    (['W', 'S', 'S', 'W', 'S'], True)
    """
    prefix = f"{where}: " if where else ""
    if isinstance(values, pd.Series) and isinstance(values.index, pd.DatetimeIndex):
        step = _step(values.index, prefix, "index entry")
        if step is not None:
            _same_epoch(step, epoch_seconds, prefix)
            epoch_seconds = step
        start = values.index[0] if start is None and len(values) else start
    if epoch_seconds is None:
        raise InputError(f"{prefix}epoch_seconds is needed: the series carries no times "
                         "(actigraphs use 15-s, 30-s or 60-s epochs)")
    arr = np.asarray(values, dtype=object)
    codes = _codes(arr, sleep, prefix, unit="epoch", first=0)
    return _night(codes, epoch_seconds, start, name)


def read_sleep_wake(path, *, sleep=None, column: str | None = None, epoch_seconds: float | None = None,
                    name: str | None = None) -> Hypnogram:
    """Read a sleep/wake CSV export (one row per epoch) as a Hypnogram.

    The value column is ``column``, else the one named ``sleep``,
    ``sleep_wake``, ``state``, ``asleep``, ``stage``, ``label`` or ``value``
    (any case), else the only column besides a time column. A time column
    (``time``, ``date_time``, ``datetime``, ``timestamp``, ``date``) gives
    the epoch length (its step, which must be constant) and the start.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "watch.csv"
    >>> _ = p.write_text("time,state\\n2024-01-01 23:00:00,awake\\n2024-01-01 23:00:30,asleep\\n"
    ...                  "2024-01-01 23:01:00,asleep\\n")
    >>> h = read_sleep_wake(p)
    >>> h.labels.tolist(), h.epoch_seconds, h.format
    (['W', 'S', 'S'], 30.0, 'sleep/wake series')
    """
    path = Path(path)
    where = f"file '{path}'"
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise HypnogramError(f"{where}: larger than {_MAX_BYTES:,} bytes; not a night")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise HypnogramError(f"{where}: cannot be read: {exc}") from None
    reader = csv.reader(io.StringIO(text))
    try:
        rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise HypnogramError(f"{where}: line {reader.line_num}: not readable as CSV: {exc}") from None
    if len(rows) < 2:
        raise HypnogramError(f"{where}: needs a header row and at least one epoch")
    header = [c.strip() for c in rows[0][1]]
    lower = [c.lower() for c in header]
    body = rows[1:]
    for line, row in body:
        if len(row) != len(header):
            raise HypnogramError(f"{where}: line {line}: {len(row)} fields, header has {len(header)}")
    time_col = next((i for i, c in enumerate(lower) if c in _TIME_NAMES), None)
    value_col = _value_column(column, header, lower, time_col, where)
    lines = [line for line, _ in body]
    values = np.array([row[value_col].strip() for _, row in body], dtype=object)
    start = None
    if time_col is not None:
        try:
            stamps = pd.to_datetime(pd.Series([row[time_col].strip() for _, row in body]), errors="coerce",
                                    format="mixed")
        except (ValueError, TypeError) as exc:  # e.g. time-zone-aware and naive times mixed
            raise HypnogramError(f"{where}: column {header[time_col]!r}: {exc}") from None
        bad = np.flatnonzero(stamps.isna().to_numpy())
        if bad.size:
            raise HypnogramError(f"{where}: line {lines[bad[0]]}: {header[time_col]} "
                                 f"{body[bad[0]][1][time_col]!r} is not a date-time")
        step = _step(pd.DatetimeIndex(stamps), f"{where}: ", "line", lines)
        if step is not None:
            _same_epoch(step, epoch_seconds, f"{where}: ")
            epoch_seconds = step
        start = stamps.iloc[0]
    if epoch_seconds is None:
        raise HypnogramError(f"{where}: no time column and no epoch_seconds: give the epoch length")
    codes = _codes(values, sleep, f"{where}: ", unit="line", first=0, lines=lines)
    return _night(codes, epoch_seconds, start, name if name is not None else path.stem)


def _night(codes, epoch_seconds, start, name) -> Hypnogram:
    """Validated Hypnogram (epoch length, start) of checked codes, labelled with the format."""
    checked = Hypnogram(to_labels(codes), epoch_seconds, start, name=name)
    return Hypnogram._trusted(checked.codes, checked.epoch_seconds, checked.start, checked.name, None, FORMAT)


def _value_column(column, header, lower, time_col, where) -> int:
    if column is not None:
        if column not in header:
            raise HypnogramError(f"{where}: no column {column!r}; columns: {', '.join(header)}")
        return header.index(column)
    for i, c in enumerate(lower):
        if c in _VALUE_NAMES:
            return i
    others = [i for i in range(len(header)) if i != time_col]
    if len(others) == 1:
        return others[0]
    raise HypnogramError(f"{where}: which column holds sleep/wake? pass column=...; columns: {', '.join(header)}")


def _step(index: pd.DatetimeIndex, prefix: str, unit: str, lines=None) -> float | None:
    """Constant step of a time index in seconds (None for one entry)."""
    if len(index) < 2:
        return None
    secs = np.asarray((index[1:] - index[:-1]).total_seconds(), dtype=float)
    step = float(secs[0])
    bad = np.flatnonzero(np.abs(secs - step) > 1e-3)
    if step <= 0 or bad.size:
        k = int(bad[0]) + 1 if bad.size else 1
        where = lines[k] if lines is not None else k
        raise HypnogramError(f"{prefix}{unit} {where}: time steps by {secs[k - 1]:g} s, not {step:g} s "
                             "(epochs of mixed length or out of order)")
    return step


def _same_epoch(step: float, epoch_seconds, prefix: str) -> None:
    if epoch_seconds is not None and abs(float(epoch_seconds) - step) > 1e-6:
        raise HypnogramError(f"{prefix}times step by {step:g} s, but epoch_seconds={epoch_seconds!r}")


def _codes(values: np.ndarray, sleep, prefix: str, *, unit: str, first: int, lines=None) -> np.ndarray:
    """Codes 0 (wake), 5 (sleep), -2 (unscored) of each value; each distinct value mapped once."""
    if sleep is not None and (isinstance(sleep, bool) or sleep not in (0, 1)):
        raise InputError(f"{prefix}sleep must be 0 or 1 (the number that means sleep), got {sleep!r}")
    keys = np.array(["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
                     for v in values], dtype=object)
    uniques, inverse = np.unique(keys.astype(str), return_inverse=True)
    lut = np.empty(uniques.size, dtype=np.int16)
    for u, text in enumerate(uniques):
        lut[u] = _one(text, sleep)
    out = lut[inverse]
    bad = np.flatnonzero(out >= 90)
    if bad.size:
        i = int(bad[0])
        place = lines[i] if lines is not None else first + i
        if out[i] == 91:
            raise HypnogramError(f"{prefix}{unit} {place}: {keys[i]!r} is a number; pass sleep=1 if 1 means "
                                 "sleep or sleep=0 if 0 does (devices differ)")
        raise HypnogramError(f"{prefix}{unit} {place}: {keys[i]!r} is not sleep or wake "
                             "(S/sleep/asleep, W/wake/awake, ? or empty for unscored, or 0/1 with sleep=)")
    return out.astype(np.int8)


def _one(text: str, sleep) -> int:
    if text in ("", "?", "nan", "NaN"):
        return -2
    low = text.lower()
    if low == "awake":
        return 0
    try:
        number = float(text)
    except (ValueError, OverflowError):
        code = stage_code(text)
        return 99 if code is None else code
    if number not in (0.0, 1.0):
        return 99
    if sleep is None:
        return 91
    return 5 if number == float(sleep) else 0
