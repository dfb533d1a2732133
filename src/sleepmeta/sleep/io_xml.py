"""Hypnograms as NSRR XML (scored events with stage annotations).

The National Sleep Research Resource (Zhang et al. 2018, *JAMIA* 25:1351)
distributes scorings as ``PSGAnnotation`` XML: an ``EpochLength`` and a list
of ``ScoredEvent`` elements, each with ``EventType``, ``EventConcept``,
``Start`` and ``Duration`` (seconds). Stage events have EventType
``Stages|Stages`` and concepts ``Wake|0``, ``Stage 1 sleep|1``, ``Stage 2
sleep|2``, ``Stage 3 sleep|3``, ``Stage 4 sleep|4`` (R&K, read as N3),
``REM sleep|5``, ``Movement|6`` (artefact) and ``Unscored|9``. Other events
(arousals, desaturations, the recording start) are not stages and are
skipped; the stage events must tile the night without gap or overlap.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from sleepmeta.errors import HypnogramError
from sleepmeta.sleep._events import codes_to_events, events_to_codes
from sleepmeta.sleep._files import atomic_write_text
from sleepmeta.sleep.hypnogram import Hypnogram

#: NSRR numeric stage code -> our code.
NSRR_CODES = {0: 0, 1: 1, 2: 2, 3: 3, 4: 3, 5: 4, 6: -1, 9: -2}
#: Our code -> the EventConcept we write.
NSRR_CONCEPT = {
    0: "Wake|0", 1: "Stage 1 sleep|1", 2: "Stage 2 sleep|2", 3: "Stage 3 sleep|3",
    4: "REM sleep|5", -1: "Movement|6", -2: "Unscored|9",
}


def read_hypnogram_xml(path, *, epoch_seconds: float | None = None, name: str | None = None) -> Hypnogram:
    """Read the stage events of an NSRR XML scoring.

    Parameters
    ----------
    path : str or Path
    epoch_seconds : float, optional
        Expected epoch length; an error if ``EpochLength`` says otherwise.
    name : str, optional
        Name of the night (default: file name without suffix).

    Returns
    -------
    Hypnogram
        Epoch length from ``EpochLength`` (``epoch_seconds``, else 30 s,
        when absent).

    Raises
    ------
    HypnogramError
        XML that is not well formed (line and column), no stage events, an
        unknown stage concept, a missing or non-numeric Start/Duration, a
        duration that is not whole epochs, a gap or an overlap - naming the
        ScoredEvent by number and start.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "shhs1-200001-nsrr.xml"
    >>> write_hypnogram_xml(Hypnogram(["W", "N2", "N2", "R"]), p)
    >>> read_hypnogram_xml(p).labels.tolist()
    ['W', 'N2', 'N2', 'R']
    """
    path = Path(path)
    where = f"file '{path}'"
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, col = exc.position
        raise HypnogramError(f"{where}: not well-formed XML at line {line}, column {col}") from None
    except OSError as exc:
        raise HypnogramError(f"{where}: cannot be read: {exc}") from None
    epoch = _epoch_length(root, where, epoch_seconds)
    onsets, durations, codes, labels = [], [], [], []
    for number, event in enumerate(root.iter("ScoredEvent"), start=1):
        etype = (event.findtext("EventType") or "").strip()
        if not etype.lower().startswith("stages"):
            continue
        concept = (event.findtext("EventConcept") or "").strip()
        label = f"ScoredEvent {number} ({concept!r}, Start={event.findtext('Start')})"
        code = _concept_code(concept)
        if code is None:
            raise HypnogramError(f"{where}: {label}: unknown stage concept {concept!r}")
        onsets.append(_number(event, "Start", label, where))
        durations.append(_number(event, "Duration", label, where))
        codes.append(code)
        labels.append(label)
    if not codes:
        raise HypnogramError(f"{where}: no stage events (ScoredEvent with EventType 'Stages|Stages')")
    epochs = events_to_codes(onsets, durations, codes, epoch, lambda k: labels[k], where)
    return Hypnogram._trusted(epochs, epoch, None, name if name is not None else path.stem)


def _epoch_length(root, where, expected) -> float:
    text = root.findtext("EpochLength")
    if text is None:
        return float(expected) if expected is not None else 30.0
    try:
        epoch = float(text)
    except ValueError:
        raise HypnogramError(f"{where}: EpochLength {text!r} is not a number") from None
    if not np.isfinite(epoch) or epoch <= 0:
        raise HypnogramError(f"{where}: EpochLength must be > 0, got {text!r}")
    if expected is not None and abs(epoch - expected) > 1e-6:
        raise HypnogramError(f"{where}: EpochLength is {epoch:g} s, but epoch_seconds={expected!r}")
    return epoch


def _concept_code(concept: str) -> int | None:
    """Code of an NSRR stage concept such as ``'Stage 2 sleep|2'``."""
    _, _, tail = concept.rpartition("|")
    try:
        return NSRR_CODES.get(int(tail))
    except ValueError:
        return None


def _number(event, field, label, where) -> float:
    text = event.findtext(field)
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise HypnogramError(f"{where}: {label}: {field} {text!r} is not a number") from None
    if not np.isfinite(value):
        raise HypnogramError(f"{where}: {label}: {field} {text!r} is not finite")
    return value


def write_hypnogram_xml(hypnogram: Hypnogram, path) -> None:
    """Write an NSRR-style XML scoring: one stage event per run of epochs.

    Written atomically (temporary file, then rename).
    """
    if not isinstance(hypnogram, Hypnogram):
        raise HypnogramError(f"expected a Hypnogram, got {type(hypnogram).__name__}")
    epoch = hypnogram.epoch_seconds
    root = ET.Element("PSGAnnotation")
    ET.SubElement(root, "SoftwareVersion").text = "sleepmeta"
    ET.SubElement(root, "EpochLength").text = f"{epoch:g}"
    events = ET.SubElement(root, "ScoredEvents")
    for first, n, code in zip(*codes_to_events(hypnogram.codes)):
        event = ET.SubElement(events, "ScoredEvent")
        ET.SubElement(event, "EventType").text = "Stages|Stages"
        ET.SubElement(event, "EventConcept").text = NSRR_CONCEPT[int(code)]
        ET.SubElement(event, "Start").text = f"{first * epoch:.10g}"
        ET.SubElement(event, "Duration").text = f"{n * epoch:.10g}"
    ET.indent(root)
    text = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + ET.tostring(root, encoding="unicode")
    atomic_write_text(path, text + "\n")
