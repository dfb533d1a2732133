"""Every column of the night table: name, unit, definition, source.

:func:`field_table` returns this as a DataFrame; the README and the docs
print it. Conventions for all columns:

* The night is the **lights period**: the epochs that start at or after
  lights off and before lights on (AASM: total recording time, TRT). Without
  lights times the whole hypnogram is the lights period, as YASA assumes,
  and the ``lights`` column says ``"none (whole recording)"``. A night read
  from a file whose first or last epochs are unscored (or movement time)
  and which gives no lights time for that side starts (ends) at its first
  (last) scored epoch, as luna's ``HYPNO`` does (``lights`` then says
  ``"unscored ends"``): the ~22-h Sleep-EDF recordings end in hours of
  ``Sleep stage ?`` that are not time in bed.
* "Sleep" is N1, N2, N3, REM, or ``S`` (unstaged sleep of a sleep/wake
  series); ART (artefact/movement) and UNS (unscored) epochs are neither
  sleep nor wake. Latencies count from lights off.
* A quantity that is undefined for a night is NaN, and the ``undefined``
  column says why (no sleep; a sleep/wake series has no stages; no REM...).

Where YASA defines a quantity (``yasa.sleep_statistics`` and
``yasa.Hypnogram.sleep_statistics``, YASA 0.8; Vallat & Walker 2021) the
name and the value are YASA's; the tests check them against YASA.
AASM: Iber et al. 2007 / Berry et al., *The AASM Manual for the Scoring of
Sleep and Associated Events*, section on PSG summary parameters.
Cycles: Feinberg & Floyd (1979) *Psychophysiology* 16:283-291.

NREM/REM cycles (``n_cycles``, ``cycle_mean``) follow Feinberg & Floyd's
rules as implemented here:

1. Only the sleep period (first to last sleep epoch) is considered.
2. REM epochs separated by less than 15 min form one REM period (its span
   runs from its first to its last REM epoch).
3. A REM period other than the first counted one must hold at least 5 min
   of REM; a shorter one is part of the surrounding NREM period.
4. A NREM period (from sleep onset, or from the end of the previous REM
   period, to the start of the next REM period) must last at least 15 min;
   otherwise that REM period is not a cycle end (a sleep-onset REM period
   belongs to the first cycle).
5. A cycle is a NREM period and the REM period that ends it; a final NREM
   period without REM is an incomplete cycle and is not counted.
"""

from __future__ import annotations

import pandas as pd

_Y = "YASA sleep_statistics (AASM)"
_YH = "YASA Hypnogram.sleep_statistics"
_AASM = "AASM manual, PSG summary parameters"
_FDA = "PSG endpoints of hypnotic trials (FDA reviews)"
_OURS = "sleepmeta"

#: (name, unit, definition, source) for the endpoints computed by the kernel.
_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("TIB", "min", "time in bed: epochs in the lights period x epoch length (AASM TRT)", _Y),
    ("SPT", "min", "sleep period time: first to last sleep epoch inclusive; 0 without sleep", _Y),
    ("WASO", "min", "YASA's WASO: wake epochs between the first and last sleep epoch (excludes the final wake before lights on)", _Y),
    ("TST", "min", "total sleep time: sleep epochs (N1+N2+N3+REM, or S)", _Y),
    ("N1", "min", "minutes of N1", _Y),
    ("N2", "min", "minutes of N2", _Y),
    ("N3", "min", "minutes of N3 (R&K stages 3 and 4)", _Y),
    ("REM", "min", "minutes of REM", _Y),
    ("NREM", "min", "N1 + N2 + N3", _Y),
    ("SOL", "min", "sleep onset latency: lights off to the first sleep epoch", _Y),
    ("Lat_N1", "min", "lights off to the first N1 epoch", _Y),
    ("Lat_N2", "min", "lights off to the first N2 epoch", _Y),
    ("Lat_N3", "min", "lights off to the first N3 epoch", _Y),
    ("Lat_REM", "min", "lights off to the first REM epoch", _Y),
    ("%N1", "% of TST", "100 N1 / TST", _Y),
    ("%N2", "% of TST", "100 N2 / TST", _Y),
    ("%N3", "% of TST", "100 N3 / TST", _Y),
    ("%REM", "% of TST", "100 REM / TST", _Y),
    ("%NREM", "% of TST", "100 NREM / TST", _Y),
    ("SE", "%", "sleep efficiency 100 TST / TIB", _Y),
    ("SME", "%", "sleep maintenance efficiency 100 TST / SPT", _Y),
    ("SOL_5min", "min", "lights off to the first run of >= 5 min of uninterrupted sleep (run length rounded up to whole epochs)", _YH),
    ("WAKE", "min", "wake epochs in the lights period", _YH),
    ("ART", "min", "artefact / movement-time epochs in the lights period", _YH),
    ("UNS", "min", "unscored epochs in the lights period", _YH),
    ("SFI", "1/h", "sleep fragmentation index: transitions from a sleep epoch directly into a wake epoch per hour of TST", _YH),
    ("LPS", "min", "latency to persistent sleep: lights off to the first run of persistent_minutes (default 10) of uninterrupted sleep", _FDA),
    ("Lat_REM_from_onset", "min", "REM latency from sleep onset: Lat_REM - SOL", _AASM),
    ("n_awakenings", "count", "runs of wake inside the SPT of at least min_awakening_minutes (ART/UNS end a run)", _OURS),
    ("n_stage_shifts", "count", "changes of stage between consecutive scored epochs (ART/UNS skipped)", _OURS),
    ("WASO_AASM", "min", "AASM WASO = TRT - SOL - TST: every non-sleep minute from sleep onset to lights on, including the final wake (and ART/UNS)", _AASM),
    ("WASO_LPS", "min", "wake after persistent sleep: non-sleep minutes from the onset of persistent sleep (LPS) to lights on", _FDA),
    ("TWT", "min", "total wake time in bed: TIB - TST (= SOL + WASO_AASM with sleep)", _AASM),
    ("n_wake_bouts", "count", "runs of wake from sleep onset to lights on of at least min_awakening_minutes (the final wake counts)", _FDA),
    ("wake_bout_mean", "min", "mean length of the wake bouts counted in n_wake_bouts", _FDA),
    ("sleep_bout_mean", "min", "mean length of runs of uninterrupted sleep (any stage)", _OURS),
    ("sleep_bout_max", "min", "longest run of uninterrupted sleep", _OURS),
    ("WASO_T1", "min", "WASO_AASM in the first third of the lights period (epoch j of n is in third floor(3j/n)+1)", _FDA),
    ("WASO_T2", "min", "WASO_AASM in the second third", _FDA),
    ("WASO_T3", "min", "WASO_AASM in the last third", _FDA),
    ("TST_T1", "min", "TST in the first third of the lights period", _FDA),
    ("TST_T2", "min", "TST in the second third", _FDA),
    ("TST_T3", "min", "TST in the last third", _FDA),
    ("n_cycles", "count", "complete NREM/REM cycles (Feinberg & Floyd 1979 rules, module docstring)", "Feinberg & Floyd 1979"),
    ("cycle_mean", "min", "mean length of the complete cycles (NREM period start to REM period end)", "Feinberg & Floyd 1979"),
)

#: Columns describing the night rather than its sleep.
_META_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("epoch_seconds", "s", "epoch length of the night", _OURS),
    ("staging", "text", "'stages' (W/N1/N2/N3/REM scored) or 'sleep/wake' (two-state series)", _OURS),
    ("lights", "text", "source of lights off/on: 'file', 'meta', 'argument', 'unscored ends' (a file's leading/trailing unscored or movement epochs are outside the night, as luna's HYPNO sets them to lights on), joined by '+' when the sides differ; or 'none (whole recording)'", _OURS),
    ("lights_off", "min", "lights off, minutes from the start of the recording", _OURS),
    ("lights_on", "min", "lights on, minutes from the start of the recording", _OURS),
    ("undefined", "text", "why the NaN columns of the night are undefined ('' when none is)", _OURS),
)

#: Columns of the endpoints, in the order of :func:`~sleepmeta.sleep.night_table`.
KERNEL_FIELDS: tuple[str, ...] = tuple(row[0] for row in _ROWS)
#: Columns describing each night, after the endpoints.
META_FIELDS: tuple[str, ...] = tuple(row[0] for row in _META_ROWS)
#: Endpoints undefined for a sleep/wake series.
STAGE_FIELDS: tuple[str, ...] = (
    "N1", "N2", "N3", "REM", "NREM", "Lat_N1", "Lat_N2", "Lat_N3", "Lat_REM",
    "%N1", "%N2", "%N3", "%REM", "%NREM", "Lat_REM_from_onset", "n_stage_shifts",
    "n_cycles", "cycle_mean",
)


def field_table() -> pd.DataFrame:
    """Every column of the night table: ``name, unit, definition, source``.

    >>> t = field_table()
    >>> t.loc[t["name"] == "WASO_AASM", "unit"].item()
    'min'
    >>> list(t.columns)
    ['name', 'unit', 'definition', 'source']
    """
    return pd.DataFrame(list(_ROWS) + list(_META_ROWS), columns=["name", "unit", "definition", "source"])
