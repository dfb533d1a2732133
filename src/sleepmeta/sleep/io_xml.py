"""Hypnograms as XML: NSRR (both namings), Compumedics Profusion, Embla.

:func:`read_hypnogram_xml` detects the layout from the root element and
names what it found when it knows none:

* ``<PSGAnnotation>`` - NSRR XML (Zhang et al. 2018, *JAMIA* 25:1351; NSRR
  EDF Editor and Translator): an ``EpochLength`` and ``ScoredEvent``
  elements with ``EventType``, ``EventConcept``, ``Start`` and ``Duration``
  (seconds). Current naming: EventType ``Stages|Stages`` and concepts
  ``Wake|0``, ``Stage 1 sleep|1`` ... ``Stage 4 sleep|4`` (R&K; 3 and 4 are
  N3), ``REM sleep|5``, ``Movement|6`` (artefact), ``Unscored|9`` and
  ``Unsure|Unsure`` (both read as unscored); the same names without the
  ``|code`` (``Wake``, ``Unscored``; luna's NSRR remapping lists both
  forms) are read too. Older
  translations name stages by ontology terms: SDO (``SDO:WakeState``,
  ``SDO:NonRapidEyeMovementSleep-N1`` ... ``-N4``,
  ``SDO:RapidEyeMovementSleep``) or SRO (``SRO:Wake``, ``SRO:Stage1Sleep``
  ... ``SRO:Stage4Sleep``, ``SRO:Stage34Sleep``, ``SRO:RapidEyeMovement``).
  Events whose concept reads "Lights off"/"Lights on" set the lights times.
  Other events (arousals, desaturations, the recording start) are skipped.
* ``<CMPStudyConfig>`` - Compumedics Profusion: see
  :mod:`sleepmeta.sleep.io_profusion`.
* event lists whose types are ``SLEEP-S0`` ... - Embla: see
  :mod:`sleepmeta.sleep.io_embla`.

Stage events must tile the night without gap, overlap or disorder; each
must last whole epochs. An empty ``<EpochLength/>`` means 30 s.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

from sleepmeta.errors import HypnogramError
from sleepmeta.sleep._events import codes_to_events, events_to_codes, lights_from_file, lights_kind
from sleepmeta.sleep._files import atomic_write_text
from sleepmeta.sleep._xmlread import describe_root, epoch_length, number, parse_xml
from sleepmeta.sleep.hypnogram import Hypnogram

#: NSRR numeric stage code -> our code.
NSRR_CODES = {0: 0, 1: 1, 2: 2, 3: 3, 4: 3, 5: 4, 6: -1, 9: -2}
#: NSRR stage concept names written without their code -> our code.
NSRR_NAMES = {
    "wake": 0, "stage 1 sleep": 1, "stage 2 sleep": 2, "stage 3 sleep": 3, "stage 4 sleep": 3,
    "rem sleep": 4, "movement": -1, "unscored": -2,
}
#: Our code -> the EventConcept we write.
NSRR_CONCEPT = {
    0: "Wake|0", 1: "Stage 1 sleep|1", 2: "Stage 2 sleep|2", 3: "Stage 3 sleep|3",
    4: "REM sleep|5", -1: "Movement|6", -2: "Unscored|9",
}
#: Ontology names of older NSRR translations -> (naming, our code).
ONTOLOGY_CONCEPTS = {
    "sdo:wakestate": ("SDO", 0), "sdo:nonrapideyemovementsleep-n1": ("SDO", 1),
    "sdo:nonrapideyemovementsleep-n2": ("SDO", 2), "sdo:nonrapideyemovementsleep-n3": ("SDO", 3),
    "sdo:nonrapideyemovementsleep-n4": ("SDO", 3), "sdo:rapideyemovementsleep": ("SDO", 4),
    "sro:wake": ("SRO", 0), "sro:stage1sleep": ("SRO", 1), "sro:stage2sleep": ("SRO", 2),
    "sro:stage3sleep": ("SRO", 3), "sro:stage4sleep": ("SRO", 3), "sro:stage34sleep": ("SRO", 3),
    "sro:rapideyemovement": ("SRO", 4),
}


def read_hypnogram_xml(path, *, epoch_seconds: float | None = None, name: str | None = None) -> Hypnogram:
    """Read the stages (and lights times) of an XML scoring, detecting its layout.

    Parameters
    ----------
    path : str or Path
    epoch_seconds : float, optional
        Expected epoch length; an error if the file says otherwise.
    name : str, optional
        Name of the night (default: file name without suffix).

    Returns
    -------
    Hypnogram
        With ``format`` naming the detected layout (``"NSRR XML"``,
        ``"NSRR XML (SDO naming)"``, ``"Compumedics Profusion XML"``,
        ``"Embla XML"``) and lights times when the file has them.

    Raises
    ------
    HypnogramError
        XML that is not well formed (line and column), an unknown layout
        (naming the root element found), no stage events, an unknown stage,
        a missing or non-numeric Start/Duration, a duration that is not whole
        epochs, a gap, overlap or disorder, lights outside the night - naming
        the element by number and start.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "shhs1-200001-nsrr.xml"
    >>> write_hypnogram_xml(Hypnogram(["W", "N2", "N2", "R"]), p)
    >>> h = read_hypnogram_xml(p)
    >>> h.labels.tolist(), h.format
    (['W', 'N2', 'N2', 'R'], 'NSRR XML')
    """
    path = Path(path)
    where = f"file '{path}'"
    root = parse_xml(path, where)
    name = name if name is not None else path.stem
    if root.tag == "PSGAnnotation":
        return _read_nsrr(root, where, epoch_seconds, name)
    from sleepmeta.sleep import io_embla, io_profusion

    if root.tag == "CMPStudyConfig":
        return io_profusion.read_profusion(root, where, epoch_seconds, name)
    if io_embla.is_embla(root):
        return io_embla.read_embla(root, where, epoch_seconds, name)
    raise HypnogramError(
        f"{where}: unknown XML hypnogram layout: found {describe_root(root)}; sleepmeta reads NSRR "
        "<PSGAnnotation>, Compumedics Profusion <CMPStudyConfig> and Embla event exports (SLEEP-S0 ...)"
    )


def _read_nsrr(root, where, epoch_seconds, name) -> Hypnogram:
    epoch = epoch_length(root, where, epoch_seconds)
    onsets, durations, codes, labels = [], [], [], []
    namings: set[str] = set()
    lights: dict[str, float] = {}
    memo: dict[tuple[str, str], tuple[str, int | None]] = {}
    for number_, event in enumerate(root.iter("ScoredEvent"), start=1):
        etype = (event.findtext("EventType") or "").strip()
        concept = (event.findtext("EventConcept") or "").strip()
        key = (etype, concept)
        if key not in memo:  # each distinct (type, concept) is classified once
            memo[key] = _classify(etype, concept)
        kind, code = memo[key]
        if kind == "other":
            continue
        label = f"ScoredEvent {number_} ({concept!r}, Start={event.findtext('Start')})"
        if kind in ("off", "on"):
            lights.setdefault(kind, number(event.findtext("Start"), "Start", label, where))
            continue
        if code is None:
            raise HypnogramError(f"{where}: {label}: unknown stage concept {concept!r}")
        namings.add(kind)
        onsets.append(number(event.findtext("Start"), "Start", label, where))
        durations.append(number(event.findtext("Duration"), "Duration", label, where))
        codes.append(code)
        labels.append(label)
    if not codes:
        raise HypnogramError(f"{where}: no stage events (ScoredEvent with EventType 'Stages|Stages' "
                             "or an SDO/SRO stage concept)")
    epochs = events_to_codes(onsets, durations, codes, epoch, lambda k: labels[k], where)
    naming = "" if namings == {"NSRR"} else f" ({'/'.join(sorted(namings - {'NSRR'}))} naming)"
    clock = _recording_start(root)
    start = None if clock is None else clock + pd.to_timedelta(onsets[0], unit="s")
    h = Hypnogram._trusted(epochs, epoch, start, name, None, f"NSRR XML{naming}")
    return lights_from_file(h, lights.get("off"), lights.get("on"), where, onsets[0])


def _recording_start(root) -> pd.Timestamp | None:
    """Clock time of the "Recording Start Time" event (``dd.mm.yy hh.mm.ss``).

    NSRR files often write the date as ``00.00.00`` (unknown); the EDF+
    convention for an unknown date, 1 Jan 1985, is used then, so that clock
    times of lights can still be placed. None when absent or unreadable.
    """
    for event in root.iter("ScoredEvent"):
        if (event.findtext("EventConcept") or "").strip().lower() == "recording start time":
            text = (event.findtext("ClockTime") or "").strip()
            parts = text.split()
            if len(parts) != 2:
                return None
            try:
                day, month, year = (int(x) for x in parts[0].split("."))
                hour, minute, second = (int(float(x)) for x in parts[1].split("."))
                if day == 0 or month == 0:
                    day, month, year = 1, 1, 85
                year += 1900 if year >= 85 else 2000
                return pd.Timestamp(year=year, month=month, day=day, hour=hour, minute=minute, second=second)
            except (ValueError, TypeError, OverflowError):
                return None
    return None


def _classify(etype: str, concept: str) -> tuple[str, int | None]:
    """('NSRR'|'SDO'|'SRO', code) for a stage event, ('off'|'on', None) for lights, else ('other', None)."""
    light = lights_kind(concept) or lights_kind(etype)
    if light is not None:
        return light, None
    onto = ONTOLOGY_CONCEPTS.get(concept.lower())
    if onto is not None:
        return onto
    if etype.lower().startswith("stages"):
        if concept.lower().startswith("unsure"):  # "Unsure|Unsure": the scorer could not stage the epoch
            return "NSRR", -2
        head, _, tail = concept.rpartition("|")
        tail = tail.strip()
        if tail.isascii() and tail.isdigit():
            return "NSRR", NSRR_CODES.get(int(tail))
        # a concept without its code ("Wake", "Unscored": luna's NSRR remapping lists both forms)
        return "NSRR", NSRR_NAMES.get((head or tail).strip().lower())
    return "other", None


def write_hypnogram_xml(hypnogram: Hypnogram, path) -> None:
    """Write an NSRR-style XML scoring: one stage event per run of epochs (and lights events).

    Written atomically (temporary file, then rename).
    """
    if not isinstance(hypnogram, Hypnogram):
        raise HypnogramError(f"expected a Hypnogram, got {type(hypnogram).__name__}")
    if hypnogram.is_sleep_wake:
        raise HypnogramError("a sleep/wake series (S epochs) has no NSRR stage concept; write it as CSV")
    epoch = hypnogram.epoch_seconds
    root = ET.Element("PSGAnnotation")
    ET.SubElement(root, "SoftwareVersion").text = "sleepmeta"
    ET.SubElement(root, "EpochLength").text = f"{epoch:g}"
    events = ET.SubElement(root, "ScoredEvents")
    if hypnogram.start is not None:
        event = ET.SubElement(events, "ScoredEvent")
        ET.SubElement(event, "EventType")
        ET.SubElement(event, "EventConcept").text = "Recording Start Time"
        ET.SubElement(event, "Start").text = "0"
        ET.SubElement(event, "Duration").text = f"{hypnogram.n_epochs * epoch:.10g}"
        ET.SubElement(event, "ClockTime").text = hypnogram.start.strftime("%d.%m.%y %H.%M.%S")
    for first, n, code in zip(*codes_to_events(hypnogram.codes)):
        event = ET.SubElement(events, "ScoredEvent")
        ET.SubElement(event, "EventType").text = "Stages|Stages"
        ET.SubElement(event, "EventConcept").text = NSRR_CONCEPT[int(code)]
        ET.SubElement(event, "Start").text = f"{first * epoch:.10g}"
        ET.SubElement(event, "Duration").text = f"{n * epoch:.10g}"
    if hypnogram.lights is not None:
        for concept, when in (("Lights off", hypnogram.lights_off), ("Lights on", hypnogram.lights_on)):
            event = ET.SubElement(events, "ScoredEvent")
            ET.SubElement(event, "EventType")
            ET.SubElement(event, "EventConcept").text = concept
            ET.SubElement(event, "Start").text = f"{when:.10g}"
            ET.SubElement(event, "Duration").text = "0"
    ET.indent(root)
    text = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + ET.tostring(root, encoding="unicode")
    atomic_write_text(path, text + "\n")
