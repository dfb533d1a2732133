"""Embla / RemLogic (and Nox) XML event exports.

There is no published specification of these exports; the layout read
here is the one seen in public readers of RemLogic exports (e.g.
export2hdf5, Finnish Institute of Occupational Health; several sleep-staging
projects) and is deliberately tolerant:

* an ``<Event>`` (any element with a type child) whose type is in a
  ``<Type>``, ``<EventType>`` or ``<Name>`` child;
* times as ``<StartTime>`` / ``<StopTime>`` ISO date-times (e.g.
  ``2016-03-01T23:10:30.000000``), or ``<StartTime>`` with a
  ``<Duration>``, or ``<Start>`` / ``<Duration>`` seconds from the start
  of the recording;
* stage types, case-insensitive: RemLogic's R&K names ``SLEEP-S0``
  (wake), ``SLEEP-S1`` ... ``SLEEP-S4`` (S3 and S4 are N3), ``SLEEP-REM``,
  ``SLEEP-MT`` (movement time, read as artefact) and ``SLEEP-UNSCORED``;
  the AASM names of newer Embla/Nox scorings ``SLEEP-WAKE``, ``SLEEP-N1``,
  ``SLEEP-N2``, ``SLEEP-N3``, ``SLEEP-REM``; and the short forms
  ``SLEEP-W``, ``SLEEP-1`` ... ``SLEEP-3``, ``SLEEP-R``, ``SLEEP-U``;
* the epoch length from an ``<EpochLength>`` element or ``epoch_seconds``;
  otherwise 30 s when every stage event lasts whole 30-s epochs, else the
  shortest stage event (RemLogic writes one event per epoch);
* ``LIGHTS-OFF`` / ``LIGHTS-ON`` (any spelling :func:`lights_kind`
  accepts) set the lights times; other events (arousals,
  desaturations, ``MCAP-A1``...) are skipped.

A ``SLEEP-`` type outside this list is an error naming it. The hypnogram
starts at the first stage event (``start`` is its date-time when the file
gives date-times). Read through :func:`sleepmeta.sleep.read_hypnogram_xml`,
which detects the layout; the format is reported as ``"Embla XML"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sleepmeta.errors import HypnogramError
from sleepmeta.sleep._events import events_to_codes, lights_from_file, lights_kind
from sleepmeta.sleep._xmlread import epoch_length, number
from sleepmeta.sleep.hypnogram import Hypnogram

FORMAT = "Embla XML"
_TYPE_TAGS = ("Type", "EventType", "Name")
#: Embla stage event types (lower case) -> our codes.
EMBLA_STAGES = {
    # RemLogic, R&K
    "sleep-s0": 0, "sleep-s1": 1, "sleep-s2": 2, "sleep-s3": 3, "sleep-s4": 3, "sleep-rem": 4,
    "sleep-mt": -1, "sleep-unscored": -2,
    # AASM names (newer Embla / Nox scorings)
    "sleep-wake": 0, "sleep-n1": 1, "sleep-n2": 2, "sleep-n3": 3,
    # short forms
    "sleep-w": 0, "sleep-1": 1, "sleep-2": 2, "sleep-3": 3, "sleep-4": 3, "sleep-r": 4, "sleep-u": -2,
}


def _type_of(event) -> str | None:
    for tag in _TYPE_TAGS:
        text = event.findtext(tag)
        if text is not None:
            return text.strip()
    return None


def is_embla(root) -> bool:
    """True when some element names a ``SLEEP-...`` event type."""
    return any(el.tag in _TYPE_TAGS and (el.text or "").strip().upper().startswith("SLEEP-")
               for el in root.iter())


def read_embla(root, where: str, epoch_seconds, name) -> Hypnogram:
    """Hypnogram of a parsed Embla event export (see the module docstring).

    >>> import xml.etree.ElementTree as ET
    >>> root = ET.fromstring("<EventExport><Events>"
    ...     "<Event><Type>SLEEP-S0</Type><Start>0</Start><Duration>60</Duration></Event>"
    ...     "<Event><Type>SLEEP-S4</Type><Start>60</Start><Duration>30</Duration></Event>"
    ...     "</Events></EventExport>")
    >>> read_embla(root, "f", None, "n").labels.tolist()
    ['W', 'W', 'N3']
    """
    epoch = epoch_length(root, where, epoch_seconds)
    events = [el for el in root.iter() if _type_of(el) is not None and el.tag not in _TYPE_TAGS]
    onsets, durations, codes, labels = [], [], [], []
    lights: dict[str, float] = {}
    origin = None  # date-time of the first event with date-times
    memo: dict[str, int | None] = {}
    for k, event in enumerate(events, start=1):
        etype = _type_of(event)
        kind = lights_kind(etype)
        is_stage = etype.upper().startswith("SLEEP-")
        if kind is None and not is_stage:
            continue
        label = f"<{event.tag}> {k} ({etype!r})"
        start, duration, stamp = _times(event, label, where, origin)
        if origin is None and stamp is not None:
            origin = stamp
            start = 0.0
        if kind is not None:
            lights.setdefault(kind, start)
            continue
        if etype not in memo:  # each distinct type is looked up once
            memo[etype] = EMBLA_STAGES.get(etype.lower())
        code = memo[etype]
        if code is None:
            raise HypnogramError(f"{where}: {label}: unknown Embla stage {etype!r}; "
                                 f"valid: {', '.join(s.upper() for s in EMBLA_STAGES)}")
        onsets.append(start)
        durations.append(duration)
        codes.append(code)
        labels.append(f"{label} at {start:g} s")
    if not codes:
        raise HypnogramError(f"{where}: no Embla stage events (types SLEEP-S0 ... SLEEP-REM)")
    stated = epoch_seconds is not None or (root.findtext("EpochLength") or "").strip()
    if not stated:
        epoch = _epoch_of(durations)
    epochs = events_to_codes(onsets, durations, codes, epoch, lambda k: labels[k], where)
    first = onsets[0]
    start = None if origin is None else origin + pd.to_timedelta(first, unit="s")
    h = Hypnogram._trusted(epochs, epoch, start, name, None, FORMAT)
    return lights_from_file(h, lights.get("off"), lights.get("on"), where, first)


def _epoch_of(durations) -> float:
    """Epoch length of an export that does not state it: 30 s when every stage event lasts whole
    30-s epochs, else the shortest stage event (RemLogic writes one event per epoch, so a night
    scored in 20-s epochs has 20-s events); the expansion then checks every event against it."""
    values = np.asarray(durations, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return 30.0
    whole = values / 30.0
    if np.all(np.abs(whole - np.round(whole)) * 30.0 <= 1e-3):
        return 30.0
    return float(np.round(values.min(), 6))


def _times(event, label, where, origin):
    """(start s, duration s, start date-time or None) of an event."""
    start_text, stop_text = event.findtext("StartTime"), event.findtext("StopTime")
    if start_text is not None:
        begin, end = _stamp(start_text, "StartTime", label, where), None
        if stop_text is not None:
            end = _stamp(stop_text, "StopTime", label, where)
        if (begin.tzinfo is None) != (origin is None or origin.tzinfo is None) and origin is not None:
            raise HypnogramError(f"{where}: {label}: StartTime mixes time-zone-aware and naive times")
        rel = 0.0 if origin is None else (begin - origin).total_seconds()
        if end is None:
            duration = number(event.findtext("Duration"), "Duration", label, where)
        else:
            if (end.tzinfo is None) != (begin.tzinfo is None):
                raise HypnogramError(f"{where}: {label}: StopTime mixes time-zone-aware and naive times")
            duration = (end - begin).total_seconds()
        return rel, duration, begin
    start = number(event.findtext("Start"), "Start", label, where)
    duration = number(event.findtext("Duration"), "Duration", label, where)
    return start, duration, None


def _stamp(text, field, label, where) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(text.strip())
    except (ValueError, TypeError, OverflowError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise HypnogramError(f"{where}: {label}: {field} {text!r} is not a date-time")
    return stamp
