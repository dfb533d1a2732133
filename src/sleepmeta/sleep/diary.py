"""Sleep-diary endpoints from the Consensus Sleep Diary.

The Consensus Sleep Diary (CSD; Carney et al. 2012, *Sleep* 35:287) asks
each morning: (1) time got into bed, (2) time tried to go to sleep, (3)
minutes to fall asleep, (4) number of awakenings, (5) their total minutes,
(6) time of final awakening, (7) time got out of bed, (8) sleep quality
(1 very poor ... 5 very good). Columns expected by :func:`diary_table`:

=================  ====  ======================================
column             item  value
=================  ====  ======================================
``bed_time``       1     clock time (``"23:15"``) or date-time
``try_time``       2     clock time or date-time
``sol_minutes``    3     minutes
``n_awakenings``   4     count
``waso_minutes``   5     minutes
``final_wake``     6     clock time or date-time
``out_of_bed``     7     clock time or date-time
``quality``        8     1-5 (optional column)
=================  ====  ======================================

Derived per night (minutes; SE in %), following the CSD's scoring:
``TIB = out_of_bed - bed_time``; ``SOL`` = item 3; ``WASO`` = item 5;
``TST = (final_wake - try_time) - SOL - WASO``; ``SE = 100 TST / TIB``;
``EMA`` (early morning awakening) = time in bed after the final awakening,
``out_of_bed - final_wake``; ``n_awakenings`` and ``quality`` as reported.

Clock times are placed in order bed <= try <= final wake <= out of bed,
each at or after the previous one, so nights crossing midnight need no
dates. A night whose times cannot be ordered within ``max_hours`` (default
24 h), or with negative minutes, a latency longer than the time from trying
to sleep to the final awakening, awakenings whose minutes leave no sleep, or
minutes of awakening without any awakening, raises
:class:`~sleepmeta.errors.DiaryError` naming the night and the field.
"""

from __future__ import annotations

import datetime as _dt
import re

import numpy as np
import pandas as pd

from sleepmeta.errors import ColumnError, DiaryError, InputError

_TIMES = ("bed_time", "try_time", "final_wake", "out_of_bed")
_NUMBERS = ("sol_minutes", "n_awakenings", "waso_minutes")
_CLOCK = re.compile(r"^\s*(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?\s*$")


def diary_table(diary: pd.DataFrame, *, max_hours: float = 24.0) -> pd.DataFrame:
    """Diary endpoints, one row per night.

    Parameters
    ----------
    diary : pandas.DataFrame
        One row per night with the columns in the module docstring; the
        index (or a ``night`` column, when present) names the nights. Other
        columns (participant, arm) are carried through unchanged.
    max_hours : float, default 24
        Longest possible span from getting into bed to getting up.

    Returns
    -------
    pandas.DataFrame
        Carried-through columns followed by ``TIB, SOL, WASO, TST, SE, EMA,
        n_awakenings`` and ``quality`` (when given).

    Examples
    --------
    >>> d = pd.DataFrame({"bed_time": ["22:45"], "try_time": ["23:00"], "sol_minutes": [30],
    ...                   "n_awakenings": [2], "waso_minutes": [20], "final_wake": ["06:00"],
    ...                   "out_of_bed": ["06:30"], "quality": [3]}, index=["mon"])
    >>> diary_table(d).loc["mon", ["TIB", "SOL", "WASO", "TST", "EMA"]].tolist()
    [465.0, 30.0, 20.0, 370.0, 30.0]
    """
    if not isinstance(diary, pd.DataFrame):
        raise InputError(f"diary must be a pandas DataFrame, got {type(diary).__name__}")
    if len(diary) == 0:
        raise DiaryError("diary has no nights")
    if isinstance(max_hours, bool) or not isinstance(max_hours, (int, float, np.integer, np.floating)) \
            or not np.isfinite(max_hours) or max_hours <= 0:
        raise InputError(f"max_hours must be a finite number of hours > 0, got {max_hours!r}")
    for col in (*_TIMES, *_NUMBERS):
        if col not in diary.columns:
            raise ColumnError(f"diary column {col!r} is missing; CSD columns: {', '.join((*_TIMES, *_NUMBERS))}")
    names = diary["night"].tolist() if "night" in diary.columns else diary.index.tolist()
    minutes = _ordered_minutes(diary, names, max_hours)
    nums = {col: _numbers(diary[col], names, col) for col in _NUMBERS}
    sol, waso, nwak = nums["sol_minutes"], nums["waso_minutes"], nums["n_awakenings"]
    bed, try_, final, out = (minutes[:, k] for k in range(4))
    asleep_window = final - try_
    _first_bad(sol > asleep_window, names, lambda i: (
        f"sol_minutes {sol[i]:g} exceeds the {asleep_window[i]:g} min from try_time to final_wake"))
    _first_bad(sol + waso > asleep_window, names, lambda i: (
        f"sol_minutes + waso_minutes = {sol[i] + waso[i]:g} exceed the {asleep_window[i]:g} min from "
        "try_time to final_wake (overlapping times leave no sleep)"))
    _first_bad(nwak != np.round(nwak), names, lambda i: f"n_awakenings must be a whole number, got {nwak[i]:g}")
    _first_bad((nwak == 0) & (waso > 0), names, lambda i: (
        f"waso_minutes is {waso[i]:g} but n_awakenings is 0"))
    out_frame = diary.drop(columns=[c for c in (*_TIMES, *_NUMBERS, "quality") if c in diary.columns])
    tib = out - bed
    tst = asleep_window - sol - waso
    result = pd.DataFrame(
        {"TIB": tib, "SOL": sol, "WASO": waso, "TST": tst, "SE": 100 * tst / tib,
         "EMA": out - final, "n_awakenings": nwak},
        index=diary.index,
    )
    if "quality" in diary.columns:
        q = _numbers(diary["quality"], names, "quality")
        _first_bad((q < 1) | (q > 5) | (q != np.round(q)), names,
                   lambda i: f"quality must be 1-5 (very poor ... very good), got {q[i]:g}")
        result["quality"] = q
    _first_bad(tib <= 0, names, lambda i: "out_of_bed equals bed_time: no time in bed")
    return pd.concat([out_frame, result], axis=1)


def _first_bad(mask, names, message) -> None:
    bad = np.flatnonzero(mask)
    if bad.size:
        i = int(bad[0])
        raise DiaryError(f"night {names[i]!r}: {message(i)}")


def _numbers(column: pd.Series, names, field) -> np.ndarray:
    flags = [isinstance(v, (bool, np.bool_)) for v in column]
    _first_bad(np.array(flags, dtype=bool), names,
               lambda i: f"{field} is a true/false value ({bool(column.iloc[i])}), not a number")
    try:
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    except (TypeError, ValueError):
        values = np.array([_to_float(v) for v in column], dtype=float)
    _first_bad(~np.isfinite(values), names, lambda i: f"{field} is missing or not a number: {column.iloc[i]!r}")
    _first_bad(values < 0, names, lambda i: f"{field} must be >= 0, got {values[i]:g}")
    return values


def _to_float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return np.nan


def _is_missing(value) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    if isinstance(value, np.datetime64):
        return bool(np.isnat(value))
    return False


_MISSING_TEXT = {"", "nan", "nat", "none", "null", "na", "n/a"}


def _parse(value, name, field):
    """Minutes after midnight (clock time) or a Timestamp (date-time)."""
    if isinstance(value, _dt.time):
        return value.hour * 60 + value.minute + value.second / 60
    if isinstance(value, (_dt.datetime, pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value)
    if isinstance(value, str):
        if value.strip().lower() in _MISSING_TEXT:
            raise DiaryError(f"night {name!r}: {field} is missing ({value!r})")
        m = _CLOCK.match(value)
        if m:
            h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
            if h < 24 and mi < 60 and s < 60:
                return h * 60 + mi + s / 60
        else:
            try:
                stamp = pd.Timestamp(value)
            except (ValueError, TypeError, OverflowError):
                stamp = pd.NaT
            if not pd.isna(stamp):
                return stamp
    raise DiaryError(f"night {name!r}: {field} {value!r} is not a clock time (HH:MM) or date-time")


def _ordered_minutes(diary, names, max_hours) -> np.ndarray:
    """Bed, try, final-wake and out-of-bed times as minutes from bed time."""
    out = np.empty((len(diary), 4))
    for i, name in enumerate(names):
        raw = [diary[f].iloc[i] for f in _TIMES]
        for f, value in zip(_TIMES, raw):
            if _is_missing(value):
                raise DiaryError(f"night {name!r}: {f} is missing")
        parsed = [_parse(v, name, f) for v, f in zip(raw, _TIMES)]
        stamps = [isinstance(p, pd.Timestamp) for p in parsed]
        if all(stamps) and len({p.tzinfo is None for p in parsed}) > 1:
            raise DiaryError(f"night {name!r}: mix of time-zone-aware and naive date-times; use one kind")
        if all(stamps):
            rel = [(p - parsed[0]).total_seconds() / 60 for p in parsed]
            for k in range(1, 4):
                if rel[k] < rel[k - 1]:
                    raise DiaryError(
                        f"night {name!r}: {_TIMES[k]} ({parsed[k]}) is before {_TIMES[k - 1]} "
                        f"({parsed[k - 1]}): impossible order"
                    )
        elif any(stamps):
            raise DiaryError(f"night {name!r}: mix of clock times and date-times; use one kind")
        else:
            rel = [0.0]
            for k in range(1, 4):
                rel.append(rel[-1] + (parsed[k] - parsed[k - 1]) % 1440)
        if rel[3] > max_hours * 60:
            shown = ", ".join(f"{f} {v}" for f, v in zip(_TIMES, raw))
            raise DiaryError(
                f"night {name!r}: times out of order ({shown}): they span {rel[3] / 60:.1f} h "
                f"from bed to rising, more than {max_hours:g} h"
            )
        out[i] = rel
    return out
