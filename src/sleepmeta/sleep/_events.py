"""Stage annotations (onset, duration, stage) <-> one code per epoch.

Shared by the EDF+ and NSRR XML readers and writers.
"""

from __future__ import annotations

import re

import numpy as np

from sleepmeta.errors import HypnogramError

_TOL = 1e-3  # seconds: annotation times are stored to the millisecond or better
#: Most epochs a file may expand to (20 million: 19 years of 30-s epochs, 231
#: days of 1-s epochs). Checked on what the annotations claim before allocating.
MAX_EPOCHS = 20_000_000
_NOT_LETTERS = re.compile(r"[^a-z]+")


def events_to_codes(onsets, durations, codes, epoch_seconds: float, describe, where: str) -> np.ndarray:
    """Expand contiguous stage annotations into one code per epoch.

    ``describe(k)`` names annotation ``k`` in an error. Every duration must be
    a positive whole number of epochs and every annotation must start where
    the previous one ended (no gap, no overlap): nothing is filled in or
    dropped silently. The one exception: a last annotation that is
    *unscored* may end in a partial epoch (a recording that stops
    mid-epoch), which is not an epoch and is dropped, as luna epochs a
    recording into whole epochs; a scored stage of broken length is an
    error.

    >>> events_to_codes([0, 60], [60, 30], [0, 2], 30, str, "f").tolist()
    [0, 0, 2]
    >>> events_to_codes([0, 60], [60, 75], [0, -2], 30, str, "f").tolist()
    [0, 0, -2, -2]
    """
    onsets = np.asarray(onsets, dtype=float)
    durations = np.asarray(durations, dtype=float)
    if onsets.size == 0:
        raise HypnogramError(f"{where}: no sleep-stage annotations")
    counts = durations / epoch_seconds
    whole = np.round(counts)
    bad = ~np.isfinite(durations) | (whole < 1) | (np.abs(counts - whole) * epoch_seconds > _TOL)
    if bad[-1] and onsets.size > 1 and int(np.asarray(codes)[-1]) == -2 and np.isfinite(durations[-1]) \
            and durations[-1] > 0:
        # the recording may stop inside the final unscored stretch (the trailing 'Sleep stage ?' of
        # a Sleep-EDF file): its partial epoch is not an epoch and is dropped
        whole[-1] = np.floor(counts[-1] + _TOL / epoch_seconds)
        bad[-1] = False
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise HypnogramError(
            f"{where}: {describe(k)}: duration {durations[k]:g} s is not a positive whole number "
            f"of {epoch_seconds:g}-s epochs (inconsistent epoch length)"
        )
    if (onsets[1:] < onsets[:-1]).any():
        k = int(np.flatnonzero(onsets[1:] < onsets[:-1])[0]) + 1
        raise HypnogramError(
            f"{where}: {describe(k)}: starts at {onsets[k]:g} s, before the previous stage annotation "
            f"(at {onsets[k - 1]:g} s): stage annotations out of order"
        )
    if whole.sum() > MAX_EPOCHS:
        k = int(np.searchsorted(np.cumsum(whole), MAX_EPOCHS, side="right"))
        raise HypnogramError(
            f"{where}: {describe(k)}: the annotations claim {whole.sum():.3g} epochs of "
            f"{epoch_seconds:g} s, more than the {MAX_EPOCHS:,} a night file may hold "
            f"({MAX_EPOCHS * epoch_seconds / 86400:.0f} days); nothing was allocated"
        )
    expected = np.empty_like(onsets)  # where each annotation should start: the previous one's end
    expected[0] = onsets[0]
    np.cumsum(durations[:-1], out=expected[1:])
    expected[1:] += onsets[0]
    off = np.abs(onsets - expected) > _TOL
    if off.any():
        k = int(np.flatnonzero(off)[0])
        kind = "a gap after" if onsets[k] > expected[k] else "an overlap with"
        raise HypnogramError(
            f"{where}: {describe(k)}: starts at {onsets[k]:g} s, leaving {kind} the previous "
            f"annotation, which ends at {expected[k]:g} s"
        )
    return np.repeat(np.asarray(codes, dtype=np.int8), whole.astype(np.int64))


def codes_to_events(codes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal codes: (first epoch, number of epochs, code).

    >>> [a.tolist() for a in codes_to_events([0, 0, 2, 2, 2, 4])]
    [[0, 2, 5], [2, 3, 1], [0, 2, 4]]
    """
    codes = np.asarray(codes)
    starts = np.flatnonzero(np.concatenate([[True], codes[1:] != codes[:-1]]))
    lengths = np.diff(np.append(starts, codes.size))
    return starts, lengths, codes[starts]


#: Lights source of a side taken from the scored ends of the night (luna's rule).
UNSCORED_ENDS = "unscored ends"


def lights_from_file(hypnogram, lights_off, lights_on, where: str, first_onset: float = 0.0):
    """Attach lights times found in a file (seconds from the recording start).

    ``first_onset`` is the recording time of the hypnogram's first epoch. A
    side the file does not give is set, as luna's ``HYPNO`` does, at the
    first (last) scored epoch: leading and trailing unscored or
    movement/artefact epochs (luna's ``?``) are outside the lights period,
    e.g. the hours of ``Sleep stage ?`` that end a ~22-h Sleep-EDF
    recording. The night's ``lights_source`` says which: ``"file"``,
    ``"file+unscored ends"`` or ``"unscored ends"``; a night with neither
    keeps no lights (the whole recording, as YASA). A lights time outside
    the night or lights on before lights off is a :class:`HypnogramError`
    naming the file.

    >>> from sleepmeta.sleep import Hypnogram
    >>> h = lights_from_file(Hypnogram(["UNS", "W", "N2", "W", "UNS", "UNS"]), None, None, "f")
    >>> h.lights_epochs(), h.lights_source
    ((1, 4), 'unscored ends')
    """
    off = None if lights_off is None else lights_off - first_onset
    on = None if lights_on is None else lights_on - first_onset
    sources = ["file"] if off is not None or on is not None else []
    codes = hypnogram.codes
    if (off is None and codes[0] < 0) or (on is None and codes[-1] < 0):
        scored = np.flatnonzero(codes >= 0)
        if scored.size:
            step = hypnogram.epoch_seconds
            if off is None and scored[0] > 0:
                off = float(scored[0] * step)
            if on is None and scored[-1] + 1 < codes.size:
                on = float((scored[-1] + 1) * step)
            sources.append(UNSCORED_ENDS)
    if off is None and on is None:
        return hypnogram
    try:
        return hypnogram.with_lights(off, on, source="+".join(sources))
    except HypnogramError as exc:
        raise HypnogramError(f"{where}: lights annotations: {exc}") from None


def lights_kind(text: str) -> str | None:
    """``"off"``/``"on"`` for a lights annotation text, else None.

    >>> lights_kind("Lights Off"), lights_kind("LIGHTS-ON"), lights_kind("Lights off|LightsOff"), lights_kind("Wake")
    ('off', 'on', 'off', None)
    """
    flat = _NOT_LETTERS.sub("", str(text).lower())
    if flat.startswith(("lightsoff", "lightsout", "lightoff", "lightout")):
        return "off"
    if flat.startswith(("lightson", "lighton")):
        return "on"
    return None
