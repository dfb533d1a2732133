"""Hypnograms as EDF+ annotations, in the style of the Sleep-EDF database.

Sleep-EDF (Kemp et al. 2000, *IEEE Trans Biomed Eng* 47:1185; PhysioNet)
stores each night's hypnogram as an EDF+ file without signals whose
annotations are ``(onset s, duration s, "Sleep stage W")``, one per run of
epochs in the same stage, with texts ``Sleep stage W``, ``Sleep stage 1`` ..
``Sleep stage 4``, ``Sleep stage R``, ``Sleep stage ?`` and ``Movement
time``. Read by :mod:`sleepmeta.sleep.edfplus` (annotations only, sizes
checked before reading); written with pyedflib (EDFlib; Van Beelen).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from sleepmeta.errors import HypnogramError
from sleepmeta.sleep._events import codes_to_events, events_to_codes, lights_from_file, lights_kind
from sleepmeta.sleep._files import atomic_path
from sleepmeta.sleep.edfplus import read_edf_hypnogram
from sleepmeta.sleep.hypnogram import Hypnogram
from sleepmeta.sleep.labels import CODINGS, digit_codes, is_digit_stage, stage_code

#: Annotation text written for each code (Sleep-EDF; N3 as stage 3).
EDF_TEXT = {
    0: "Sleep stage W", 1: "Sleep stage 1", 2: "Sleep stage 2", 3: "Sleep stage 3",
    4: "Sleep stage R", -1: "Movement time", -2: "Sleep stage ?",
}
_UNKNOWN_DATE = pd.Timestamp("1985-01-01 00:00:00")  # EDF+ convention for an unknown date


def read_hypnogram_edf(
    path, *, epoch_seconds: float | None = None, name: str | None = None, ignore=(), coding: str | None = None
) -> Hypnogram:
    """Read a Sleep-EDF style EDF+ hypnogram.

    Parameters
    ----------
    path : str or Path
    epoch_seconds : float, optional
        Epoch length (default 30 s); every annotation must last a whole
        number of epochs. A hypnogram stored as a signal states its own
        (one sample per epoch); a different value here is an error.
    name : str, optional
        Name of the night (default: file name without suffix).
    ignore : iterable of str
        Annotation texts that are not stages and may be skipped (e.g.
        ``"Snoring"``). Any other non-stage annotation is an error, except
        ``Lights off``/``Lights on`` (any case), which set the night's
        lights times unless listed here.
    coding : {"rk", "yasa"}, optional
        Meaning of annotation texts that are bare digits (``"4"`` is R&K
        stage 4 in Sleep-EDF-style files, REM in YASA's); such a file
        without a coding is an error that says why.

    Returns
    -------
    Hypnogram
        Starting at the recording start plus the first stage annotation's
        onset; ``format`` is ``"Sleep-EDF EDF+"``. A file without an
        ``EDF Annotations`` signal whose one signal is the hypnogram (the
        EDF+ specification's digits 0-6 for W, 1-4, R, M and 9 for
        unscored, one sample per epoch: the original Sleep-EDF ``*.hyp``
        files) is read too, as ``"EDF hypnogram signal (R&K digits)"``.

    Raises
    ------
    HypnogramError
        Unreadable file; an annotation that is not a stage, lasts a broken
        number of epochs, or leaves a gap or overlap - named by its number,
        onset and text.
    """
    path = Path(path)
    where = f"file '{path}'"
    kind_of_file, found = read_edf_hypnogram(path, where)
    if kind_of_file == "signal":
        return _from_signal(found, path, where, epoch_seconds, name)
    epoch_seconds = 30.0 if epoch_seconds is None else epoch_seconds
    recording_start, onsets, durations, uniques, inverse = found
    skip = {str(t).strip().lower() for t in ignore}
    # each distinct annotation text is classified once (a night has ~1,000 annotations, ~10 texts;
    # across files the classification of a text is remembered)
    kinds = [20 if skip and text.strip().lower() in skip else _text_kind(text) for text in uniques]
    kinds = np.array([_digit_kind(text, coding, where) if k == 98 else k for k, text in zip(kinds, uniques)],
                     dtype=np.int8)
    kind = kinds[inverse]
    numbers = np.flatnonzero(kind < 20)

    def text_of(i):
        return uniques[inverse[i]]

    def describe(k):
        i = numbers[k] if k < numbers.size else k
        return f"annotation {i + 1} ({text_of(i)!r} at {onsets[i]:g} s)"

    bad = np.flatnonzero(kind == 99)
    if bad.size:
        i = int(bad[0])
        raise HypnogramError(
            f"{where}: annotation {i + 1} ({text_of(i)!r} at {onsets[i]:g} s): not a sleep stage; "
            "pass ignore=[...] to skip it"
        )
    if not numbers.size:
        raise HypnogramError(f"{where}: no sleep-stage annotations")
    stage_onsets = onsets[numbers]
    epochs = events_to_codes(stage_onsets, durations[numbers], kind[numbers], float(epoch_seconds), describe, where)
    first = float(stage_onsets[0])
    start = recording_start + pd.Timedelta(seconds=first)
    offs, ons = onsets[kind == 21], onsets[kind == 22]
    h = Hypnogram._trusted(epochs, epoch_seconds, start, name if name is not None else path.stem,
                           None, "Sleep-EDF EDF+")
    return lights_from_file(h, float(offs[0]) if offs.size else None,
                            float(ons[0]) if ons.size else None, where, first)


def _from_signal(found, path: Path, where: str, epoch_seconds, name) -> Hypnogram:
    """A hypnogram stored as an EDF signal: R&K digits, one sample per epoch."""
    start, step, values = found
    if epoch_seconds is not None and abs(step - epoch_seconds) > 1e-6:
        raise HypnogramError(f"{where}: the hypnogram signal has one sample per {step:g} s, "
                             f"not the {epoch_seconds:g}-s epochs asked for")
    if values.size == 0:
        raise HypnogramError(f"{where}: the hypnogram signal holds no samples")
    digits = np.rint(values)
    table = CODINGS["rk"]
    bad = ~np.isin(digits, list(table)) | (np.abs(values - digits) > 1e-6)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise HypnogramError(f"{where}: hypnogram sample {i + 1} (epoch {i}) is {values[i]:g}, not an R&K "
                             "stage digit (0 W, 1-4 stages 1-4, 5 REM, 6 movement, 9 unscored)")
    lookup = np.full(10, -2, dtype=np.int8)
    for digit, code in table.items():
        lookup[digit] = code
    codes = lookup[digits.astype(np.int64)]
    h = Hypnogram._trusted(codes, step, start, name if name is not None else path.stem, None,
                           "EDF hypnogram signal (R&K digits)")
    return lights_from_file(h, None, None, where)


def _digit_kind(text: str, coding, where: str) -> int:
    """Code of a bare-digit annotation text under the explicit ``coding`` (none: an error saying why)."""
    try:
        return int(digit_codes([text], coding, where=where, unit="annotation text")[0])
    except HypnogramError as exc:
        raise HypnogramError(f"{exc} (annotation text {text.strip()!r})") from None


@functools.lru_cache(maxsize=4096)
def _text_kind(text: str) -> int:
    """Stage code of an annotation text; 21 lights off, 22 lights on, 98 bare digits, 99 anything else."""
    if is_digit_stage(text):
        return 98
    light = lights_kind(text)
    if light is not None:
        return 21 if light == "off" else 22
    code = stage_code(text)
    return 99 if code is None or code == 5 else code


def write_hypnogram_edf(hypnogram: Hypnogram, path) -> None:
    """Write a hypnogram as a Sleep-EDF style EDF+ file (annotations only).

    One annotation per run of epochs in the same stage, and ``Lights off`` /
    ``Lights on`` annotations when the night has lights times. Without a ``start``
    the EDF+ date of an unknown recording (1 Jan 1985, 00:00) is written.
    Written atomically (temporary file, then rename).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "SC4001-Hypnogram.edf"
    >>> write_hypnogram_edf(Hypnogram(["W", "W", "N2", "R"], start="2024-01-01 23:00"), p)
    >>> read_hypnogram_edf(p).labels.tolist()
    ['W', 'W', 'N2', 'R']
    """
    if not isinstance(hypnogram, Hypnogram):
        raise HypnogramError(f"expected a Hypnogram, got {type(hypnogram).__name__}")
    if hypnogram.is_sleep_wake:
        raise HypnogramError("a sleep/wake series (S epochs) has no Sleep-EDF stage text; write it as CSV")
    pyedflib = _pyedflib()
    start = hypnogram.start if hypnogram.start is not None else _UNKNOWN_DATE
    starts, lengths, codes = codes_to_events(hypnogram.codes)
    epoch = hypnogram.epoch_seconds
    with atomic_path(path) as tmp:
        writer = pyedflib.EdfWriter(str(tmp), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
        try:
            writer.setStartdatetime(start.to_pydatetime())
            for first, n, code in zip(starts, lengths, codes):
                writer.writeAnnotation(float(first * epoch), float(n * epoch), EDF_TEXT[int(code)])
            if hypnogram.lights is not None:  # lights as Sleep-EDF-style instant annotations
                writer.writeAnnotation(float(hypnogram.lights_off), 0.0, "Lights off")
                writer.writeAnnotation(float(hypnogram.lights_on), 0.0, "Lights on")
        finally:
            writer.close()


def _pyedflib():
    try:
        import pyedflib
    except ImportError as exc:  # a declared dependency; say so if it is missing
        raise ImportError("reading/writing EDF+ needs pyedflib: pip install pyedflib") from exc
    return pyedflib
