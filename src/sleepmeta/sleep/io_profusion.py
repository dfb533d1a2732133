"""Compumedics Profusion XML scorings (``<CMPStudyConfig>``).

Profusion exports (the "XML (Profusion)" annotation files of the NSRR
cohorts; layout described in the NSRR EDF Editor and Translator wiki,
"Compumedics Annotation Format", which this reader follows) hold, under
the root ``<CMPStudyConfig>``, an ``EpochLength`` (seconds, normally 30;
empty means 30), step channels, scored-event settings, ``<ScoredEvents>``
whose ``<ScoredEvent>`` has ``Name``, ``Start`` and ``Duration`` (seconds)
and the hypnogram: one ``<SleepStage>`` digit per epoch, in order, from
the start of the recording - inside ``<SleepStages>`` as exported, or
directly under the root (read too). Digits are R&K: 0 wake, 1-4 stages
1-4 (3 and 4 are N3), 5 REM, 6 movement time (artefact), 9 not scored
(the wiki's "9 is Active" marks epochs outside the scored study; read as
unscored, as NSRR's own translation ``Unscored|9`` does). Events named
"Lights Off"/"Lights On" set the lights times (``Start`` in seconds from
the start of the recording, which is the start of the first epoch). Read
through :func:`sleepmeta.sleep.read_hypnogram_xml`, which detects the
layout; the format is reported as ``"Compumedics Profusion XML"``.
"""

from __future__ import annotations

import numpy as np

from sleepmeta.errors import HypnogramError
from sleepmeta.sleep._events import MAX_EPOCHS, lights_from_file, lights_kind
from sleepmeta.sleep._xmlread import epoch_length, number
from sleepmeta.sleep.hypnogram import Hypnogram
from sleepmeta.sleep.labels import CODINGS

FORMAT = "Compumedics Profusion XML"


def read_profusion(root, where: str, epoch_seconds, name) -> Hypnogram:
    """Hypnogram of a parsed ``<CMPStudyConfig>`` root (see the module docstring).

    >>> import xml.etree.ElementTree as ET
    >>> root = ET.fromstring("<CMPStudyConfig><EpochLength>30</EpochLength><SleepStages>"
    ...     "<SleepStage>0</SleepStage><SleepStage>4</SleepStage><SleepStage>5</SleepStage>"
    ...     "</SleepStages></CMPStudyConfig>")
    >>> read_profusion(root, "f", None, "n").labels.tolist()
    ['W', 'N3', 'R']
    """
    epoch = epoch_length(root, where, epoch_seconds)
    stages = root.find("SleepStages")
    elements = stages.findall("SleepStage") if stages is not None else root.findall("SleepStage")
    if not elements:
        where_found = "<SleepStages> holds" if stages is not None else "no <SleepStages> and the root holds"
        raise HypnogramError(f"{where}: Profusion XML: {where_found} no <SleepStage> element")
    if len(elements) > MAX_EPOCHS:
        raise HypnogramError(f"{where}: {len(elements):,} <SleepStage> elements, more than {MAX_EPOCHS:,}")
    table = CODINGS["rk"]
    memo: dict[str, int] = {}
    codes = np.empty(len(elements), dtype=np.int8)
    for i, element in enumerate(elements):
        text = (element.text or "").strip()
        code = memo.get(text)
        if code is None:  # each distinct text is looked up once
            code = table.get(int(text)) if text.isascii() and text.isdigit() else None
            if code is None:
                raise HypnogramError(
                    f"{where}: <SleepStage> {i + 1} (epoch {i}): {text!r} is not a Profusion stage "
                    f"(0 W, 1-4 stages 1-4, 5 REM, 6 movement, 9 unscored)"
                )
            memo[text] = code
        codes[i] = code
    lights: dict[str, float] = {}
    for k, event in enumerate(root.iter("ScoredEvent"), start=1):
        kind = lights_kind(event.findtext("Name") or "")
        if kind is not None:
            label = f"ScoredEvent {k} ({event.findtext('Name')!r})"
            lights.setdefault(kind, number(event.findtext("Start"), "Start", label, where))
    h = Hypnogram._trusted(codes, epoch, None, name, None, FORMAT)
    return lights_from_file(h, lights.get("off"), lights.get("on"), where)
