"""Sleep endpoints of one night and of many nights at once.

Definitions
-----------
Durations and latencies are in minutes; SE, SME and the percentages in %.
The hypnogram is taken to span time in bed (lights off to lights on).
"Sleep" is N1, N2, N3 or REM; artefact (ART) and unscored (UNS) epochs are
neither sleep nor wake. Where YASA defines a quantity the name and the value
are YASA's (``yasa.sleep_statistics``, YASA 0.8 documentation; Vallat &
Walker 2021), which follows the AASM manual (Iber et al. 2007; Silber et al.
2007):

``TIB``
    time in bed: number of epochs times the epoch length.
``SPT``
    sleep period time: from the first to the last sleep epoch, inclusive
    (0 when there is no sleep).
``WASO``
    wake after sleep onset: wake epochs inside the SPT (NaN without sleep).
``TST``
    total sleep time: N1 + N2 + N3 + REM (ART and UNS inside the SPT are
    excluded, as in YASA >= 0.5; so ``SPT = TST + WASO + ART/UNS in SPT``).
``N1 N2 N3 REM NREM``, ``%N1 ... %REM %NREM``
    minutes of each stage, and as a percentage of TST (NaN without sleep).
``SE``, ``SME``
    sleep efficiency ``100 TST / TIB``; sleep maintenance efficiency
    ``100 TST / SPT`` (NaN without sleep).
``SOL``
    sleep onset latency: start of record to the first sleep epoch (NaN
    without sleep).
``Lat_N1 Lat_N2 Lat_N3 Lat_REM``
    start of record to the first epoch of the stage (NaN when the stage is
    absent). YASA counts these from the start of the record.
``SOL_5min``, ``WAKE``, ``ART``, ``UNS``
    as ``yasa.Hypnogram.sleep_statistics``: latency to the first run of at
    least 5 min of uninterrupted sleep (NaN if none); minutes of wake, of
    artefact and of unscored epochs over the whole record.

Our own quantities, with self-explaining names:

``LPS``
    latency to persistent sleep: start of record to the first epoch of the
    first run of ``persistent_minutes`` (default 10) of uninterrupted sleep,
    the definition used by the PSG studies of hypnotics submitted to the FDA
    (YASA's ``SOL_5min`` is the same with 5 min). A run needs
    ``ceil(persistent_minutes / epoch minutes)`` sleep epochs; any W, ART or
    UNS epoch interrupts it. NaN when no such run exists.
``Lat_REM_from_onset``
    REM latency as the AASM reports it: from sleep onset to the first REM
    epoch, ``Lat_REM - SOL`` (YASA's documentation gives the same identity);
    NaN without REM.
``n_awakenings``
    runs of consecutive wake epochs inside the SPT lasting at least
    ``min_awakening_minutes`` (default 0: every run counts). ART/UNS epochs
    end a run.
``n_stage_shifts``
    changes of stage (W, N1, N2, N3, REM) between consecutive scored epochs
    over the whole record; ART/UNS epochs are skipped, so W-ART-W is no shift
    and W-ART-N1 is one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from sleepmeta.errors import HypnogramError, InputError
from sleepmeta.sleep.hypnogram import Hypnogram

#: Columns of :func:`night_table`, in order.
FIELDS: tuple[str, ...] = (
    "TIB", "SPT", "WASO", "TST", "N1", "N2", "N3", "REM", "NREM", "SOL",
    "Lat_N1", "Lat_N2", "Lat_N3", "Lat_REM", "%N1", "%N2", "%N3", "%REM", "%NREM",
    "SE", "SME", "SOL_5min", "WAKE", "ART", "UNS",
    "LPS", "Lat_REM_from_onset", "n_awakenings", "n_stage_shifts",
)


def sleep_statistics(
    hypnogram: Hypnogram, *, persistent_minutes: float = 10.0, min_awakening_minutes: float = 0.0
) -> dict[str, float]:
    """Sleep endpoints of one night.

    Parameters
    ----------
    hypnogram : Hypnogram
        The night, spanning time in bed.
    persistent_minutes : float, default 10
        Length of uninterrupted sleep that defines ``LPS``.
    min_awakening_minutes : float, default 0
        Shortest run of wake counted in ``n_awakenings``.

    Returns
    -------
    dict
        ``{field: float}`` for every name in :data:`FIELDS`; definitions and
        sources in the module docstring. A quantity undefined for the night
        is NaN, as in YASA (e.g. ``Lat_REM`` without REM, ``WASO`` without
        sleep).

    Examples
    --------
    The night of YASA's ``sleep_statistics`` docstring (30-s epochs):

    >>> h = Hypnogram([0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 2, 3, 3, 4, 4, 4, 4, 0, 0])
    >>> s = sleep_statistics(h)
    >>> s["TIB"], s["SPT"], s["TST"], s["SOL"], s["Lat_REM"], s["SE"]
    (10.0, 8.0, 8.0, 1.0, 7.0, 80.0)
    >>> s["Lat_REM_from_onset"], s["n_stage_shifts"]
    (6.0, 7.0)
    """
    if not isinstance(hypnogram, Hypnogram):
        raise InputError(f"hypnogram must be a Hypnogram, got {type(hypnogram).__name__}")
    row = night_table(
        [hypnogram],
        persistent_minutes=persistent_minutes,
        min_awakening_minutes=min_awakening_minutes,
    ).iloc[0]
    return {key: float(row[key]) for key in FIELDS}


def night_table(
    hypnograms,
    *,
    persistent_minutes: float = 10.0,
    min_awakening_minutes: float = 0.0,
) -> pd.DataFrame:
    """Sleep endpoints of many nights, one row per night.

    The nights are concatenated into one array (with each night's offset),
    run-length encoded in one pass, and every endpoint is computed from the
    runs of all nights at once: no Python loop over nights or epochs, and
    work proportional to the number of stage changes rather than epochs.

    Parameters
    ----------
    hypnograms : Hypnogram, iterable of Hypnogram, or mapping
        The nights. A mapping's keys become the row labels; otherwise a
        night's ``name`` is used, or ``"night i"`` when it has none.
        Nights may differ in length and in epoch length.
    persistent_minutes, min_awakening_minutes : float
        As in :func:`sleep_statistics`.

    Returns
    -------
    pandas.DataFrame
        Index ``night``; the columns :data:`FIELDS` plus ``epoch_seconds``.

    Examples
    --------
    >>> nights = [Hypnogram(["W", "N1", "N2", "W", "N2"], name="a"),
    ...           Hypnogram(["W", "W", "W"], epoch_seconds=60, name="b")]
    >>> night_table(nights)[["TIB", "TST", "WASO", "SOL", "n_awakenings"]].reset_index()
      night  TIB  TST  WASO  SOL  n_awakenings
    0     a  2.5  1.5   0.5  0.5           1.0
    1     b  3.0  0.0   NaN  NaN           0.0
    """
    names, hyps = _collect(hypnograms)
    persistent_minutes = _positive(persistent_minutes, "persistent_minutes", allow_zero=False)
    min_awakening_minutes = _positive(min_awakening_minutes, "min_awakening_minutes", allow_zero=True)
    flat, offsets, lengths, epoch_sec = _stack(hyps)
    stats = _kernel(flat, offsets, lengths, epoch_sec, persistent_minutes, min_awakening_minutes)
    frame = pd.DataFrame(stats, index=pd.Index(names, name="night"), columns=list(FIELDS))
    frame["epoch_seconds"] = epoch_sec
    return frame


def _collect(hypnograms) -> tuple[list[str], list[Hypnogram]]:
    """Validate the public argument of night_table: names and nights."""
    if isinstance(hypnograms, Hypnogram):
        hypnograms = [hypnograms]
    if isinstance(hypnograms, Mapping):
        names, hyps = [str(k) for k in hypnograms], list(hypnograms.values())
    elif isinstance(hypnograms, Iterable) and not isinstance(hypnograms, (str, bytes)):
        hyps = list(hypnograms)
        names = [h.name if isinstance(h, Hypnogram) and h.name is not None else f"night {i}"
                 for i, h in enumerate(hyps)]
    else:
        raise InputError(f"hypnograms must be Hypnogram objects, got {type(hypnograms).__name__}")
    if not hyps:
        raise HypnogramError("no nights given: night_table needs at least one Hypnogram")
    for name, h in zip(names, hyps):
        if not isinstance(h, Hypnogram):
            raise InputError(f"night {name!r}: expected a Hypnogram, got {type(h).__name__}")
    return names, hyps


def _positive(value, name: str, *, allow_zero: bool) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        rule = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be {rule}, got {value!r}")
    return value


def _stack(hyps: list[Hypnogram]):
    """All nights end to end: codes, offset and length of each night, epoch lengths."""
    n = len(hyps)
    lengths = np.fromiter((h.n_epochs for h in hyps), dtype=np.int64, count=n)
    epoch_sec = np.fromiter((h.epoch_seconds for h in hyps), dtype=float, count=n)
    flat = np.concatenate([h.codes for h in hyps])
    offsets = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    return flat, offsets, lengths, epoch_sec


def _encode(flat, offsets):
    """Run-length encoding of all nights: row, start column, length and code of each run.

    A run never crosses from one night into the next.
    """
    change = np.empty(flat.size, dtype=bool)
    change[0] = True
    np.not_equal(flat[1:], flat[:-1], out=change[1:])
    change[offsets] = True
    starts = np.flatnonzero(change)
    run_len = np.diff(starts, append=flat.size)
    first_run = np.searchsorted(starts, offsets)
    run_row = np.repeat(np.arange(offsets.size), np.diff(first_run, append=starts.size))
    return run_row, starts - offsets[run_row], run_len, flat[starts]


def _first(mask, row, n, *, last=False) -> np.ndarray:
    """Index of the first (or last) True of ``mask`` in each row; -1 where none."""
    idx = np.flatnonzero(mask)
    out = np.full(n, -1, dtype=np.int64)
    if idx.size:
        r = row[idx]
        edge = np.empty(r.size, dtype=bool)
        if last:
            edge[-1] = True
            np.not_equal(r[1:], r[:-1], out=edge[:-1])
        else:
            edge[0] = True
            np.not_equal(r[1:], r[:-1], out=edge[1:])
        out[r[edge]] = idx[edge]
    return out


def _kernel(flat, offsets, lengths, epoch_sec, persistent_minutes, min_awakening_minutes) -> dict:
    """All endpoints of all nights from their run-length encoding."""
    n = offsets.size
    per_min = 60.0 / epoch_sec  # epochs per minute, as YASA's 60 * sf_hyp
    row, col, length, code = _encode(flat, offsets)

    # epochs of every code per night: columns UNS, ART, W, N1, N2, N3, REM
    counts = np.bincount(row * 7 + (code.astype(np.int64) + 2), weights=length, minlength=7 * n)
    c_uns, c_art, c_w, c_n1, c_n2, c_n3, c_rem = counts.reshape(n, 7).T

    sleep = code > 0
    tst = c_n1 + c_n2 + c_n3 + c_rem
    has = tst > 0
    fs, ls = _first(sleep, row, n), _first(sleep, row, n, last=True)
    first = np.where(has, col[fs], 0)
    last = np.where(has, col[ls] + length[ls] - 1, -1)
    spt = np.where(has, last - first + 1, 0)
    wake = code == 0
    inside = wake & (col > first[row]) & (col < last[row])  # wake runs within the SPT
    waso = np.bincount(row[inside], weights=length[inside], minlength=n)

    def minutes(x):
        return x / per_min

    nan = np.nan
    out: dict[str, np.ndarray] = {}
    out["TIB"] = minutes(lengths)
    out["SPT"] = minutes(spt)
    out["WASO"] = np.where(has, minutes(waso), nan)
    out["TST"] = minutes(tst)
    for key, c in (("N1", c_n1), ("N2", c_n2), ("N3", c_n3), ("REM", c_rem)):
        out[key] = minutes(c)
    out["NREM"] = out["N1"] + out["N2"] + out["N3"]
    out["SOL"] = np.where(has, minutes(first), nan)
    for key, k in (("Lat_N1", 1), ("Lat_N2", 2), ("Lat_N3", 3), ("Lat_REM", 4)):
        fk = _first(code == k, row, n)
        out[key] = np.where(fk >= 0, minutes(col[fk]), nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        for key in ("N1", "N2", "N3", "REM", "NREM"):
            out[f"%{key}"] = np.where(has, 100 * out[key] / out["TST"], nan)
        out["SE"] = 100 * out["TST"] / out["TIB"]
        out["SME"] = np.where(has, 100 * out["TST"] / out["SPT"], nan)

    # blocks of uninterrupted sleep (consecutive sleep runs of any stage)
    edge = np.empty(code.size, dtype=bool)
    edge[0] = True
    edge[1:] = (sleep[1:] != sleep[:-1]) | (row[1:] != row[:-1])
    block = np.cumsum(edge) - 1
    b_idx = np.flatnonzero(edge)
    b_len = np.bincount(block, weights=length)
    b_row, b_sleep, b_col = row[b_idx], sleep[b_idx], col[b_idx]

    def persistent(minutes_needed):
        # YASA rounds the run length up to whole epochs (SOL_5min)
        need = np.maximum(np.ceil(minutes_needed * per_min - 1e-9), 1)
        fb = _first(b_sleep & (b_len >= need[b_row]), b_row, n)
        return np.where(fb >= 0, minutes(b_col[fb]), nan)

    out["SOL_5min"] = persistent(5.0)
    out["WAKE"], out["ART"], out["UNS"] = minutes(c_w), minutes(c_art), minutes(c_uns)
    out["LPS"] = persistent(persistent_minutes)
    out["Lat_REM_from_onset"] = out["Lat_REM"] - out["SOL"]

    need = np.maximum(np.ceil(min_awakening_minutes * per_min - 1e-9), 1)
    counted = inside & (length >= need[row])
    out["n_awakenings"] = np.bincount(row[counted], minlength=n).astype(float)

    # stage shifts: consecutive scored runs of a night (ART/UNS runs skipped)
    scored = np.flatnonzero(code >= 0)
    s_row, s_code = row[scored], code[scored]
    shift = (s_row[1:] == s_row[:-1]) & (s_code[1:] != s_code[:-1])
    out["n_stage_shifts"] = np.bincount(s_row[1:][shift], minlength=n).astype(float)
    return {key: np.asarray(val, dtype=float) for key, val in out.items()}
