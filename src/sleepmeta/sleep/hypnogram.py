"""One night of sleep: one stage per epoch."""

from __future__ import annotations

import datetime as _dt
import numbers

import numpy as np
import pandas as pd

from sleepmeta.errors import HypnogramError
from sleepmeta.sleep.labels import to_codes, to_labels


class Hypnogram:
    """A scored night: one sleep stage per epoch.

    Parameters
    ----------
    stages : array_like
        One label per epoch: AASM (``W N1 N2 N3 R``/``REM``), Rechtschaffen &
        Kales (``S1``-``S4``, ``MT``), YASA's integer codes (-2 unscored,
        -1 artefact, 0 W, 1 N1, 2 N2, 3 N3, 4 REM) or unscored/artefact
        labels; see :mod:`sleepmeta.sleep.labels`. The hypnogram is taken to
        run from lights off to lights on (time in bed), as YASA assumes.
    epoch_seconds : float, default 30
        Length of every epoch in seconds (any positive length: 20-s and 60-s
        epochs are common in older studies).
    start : str, datetime or pandas.Timestamp, optional
        Clock time of the start of the first epoch (lights off).
    name : str, optional
        Label of the night (file, participant, night number); used as the
        row label of :func:`~sleepmeta.sleep.night_table` and in errors.
    lights_off, lights_on : float, str or Timestamp, optional
        Lights off and lights on, in seconds from the start of the first
        epoch, or as clock times when ``start`` is known. The statistics use
        the epochs that start in ``[lights_off, lights_on)`` (AASM: time in
        bed runs from lights off to lights on). Either may be given alone
        (the other defaults to the start or the end of the recording).
    lights_source : str, optional
        Where the lights times came from (``"file"``, ``"meta"``,
        ``"argument"``); reported by :func:`~sleepmeta.sleep.night_table`.

    Raises
    ------
    HypnogramError
        Empty ``stages``, an unknown label (naming the epoch and the value),
        a non-positive ``epoch_seconds``, an unreadable ``start``, lights on
        before lights off or lights outside the recording.

    Examples
    --------
    >>> h = Hypnogram(["W", "W", "N1", "N2", "N2", "R", "W"], epoch_seconds=30, name="night 1")
    >>> h
    Hypnogram('night 1', 7 epochs of 30 s)
    >>> h.codes.tolist()
    [0, 0, 1, 2, 2, 4, 0]
    >>> h.duration_minutes
    3.5
    """

    __slots__ = ("_codes", "_epoch_seconds", "_start", "_name", "_lights", "_format")

    def __init__(self, stages, epoch_seconds: float = 30, start=None, *, name: str | None = None,
                 lights_off=None, lights_on=None, lights_source: str = "argument"):
        where = f"night {name!r}" if name is not None else ""
        self._epoch_seconds = _check_epoch_seconds(epoch_seconds, where)
        codes = to_codes(stages, where=where)
        if codes.size == 0:
            raise HypnogramError(f"{where + ': ' if where else ''}hypnogram is empty (no epochs)")
        codes.setflags(write=False)
        self._codes = codes
        self._start = _check_start(start, where)
        self._name = None if name is None else str(name)
        self._lights = None
        self._format = None
        if lights_off is not None or lights_on is not None:
            self._lights = _check_lights(self, lights_off, lights_on, str(lights_source), where)

    @classmethod
    def _trusted(cls, codes: np.ndarray, epoch_seconds: float, start=None, name=None,
                 lights=None, fmt=None) -> "Hypnogram":
        """Build from already validated int8 codes (no checks)."""
        self = object.__new__(cls)
        codes = np.asarray(codes, dtype=np.int8)
        codes.setflags(write=False)
        self._codes, self._epoch_seconds = codes, float(epoch_seconds)
        self._start, self._name, self._lights, self._format = start, name, lights, fmt
        return self

    def with_lights(self, lights_off=None, lights_on=None, source: str = "argument") -> "Hypnogram":
        """The same night with lights off/on set (seconds from the start, or clock times).

        Raises
        ------
        HypnogramError
            Lights on at or before lights off, a time outside the recording,
            or a clock time without a known ``start``.

        >>> h = Hypnogram(["W", "W", "N1", "N2", "W", "UNS"]).with_lights(30, 150)
        >>> h.lights_off, h.lights_on, h.lights_source
        (30.0, 150.0, 'argument')
        """
        where = f"night {self._name!r}" if self._name is not None else ""
        lights = _check_lights(self, lights_off, lights_on, str(source), where)
        return Hypnogram._trusted(self._codes, self._epoch_seconds, self._start, self._name,
                                  lights, self._format)

    @property
    def lights(self) -> tuple[float, float, str] | None:
        """``(lights_off, lights_on, lights_source)`` or None."""
        return self._lights

    @property
    def lights_off(self) -> float | None:
        """Lights off in seconds from the start of the first epoch, or None."""
        return None if self._lights is None else self._lights[0]

    @property
    def lights_on(self) -> float | None:
        """Lights on in seconds from the start of the first epoch, or None."""
        return None if self._lights is None else self._lights[1]

    @property
    def lights_source(self) -> str | None:
        """Where the lights times came from, or None when there are none."""
        return None if self._lights is None else self._lights[2]

    @property
    def format(self) -> str | None:
        """The file format a reader detected (e.g. ``"NSRR XML"``), or None."""
        return self._format

    @property
    def is_sleep_wake(self) -> bool:
        """True when sleep is not staged (any ``S`` epoch): a sleep/wake series."""
        return bool((self._codes == 5).any())

    def lights_epochs(self) -> tuple[int, int]:
        """First epoch and one past the last epoch inside lights off..on.

        An epoch belongs to the lights period when it starts at or after
        lights off and before lights on.

        >>> Hypnogram(["W"] * 6).with_lights(45, 150).lights_epochs()
        (2, 5)
        """
        n = self.n_epochs
        if self._lights is None:
            return 0, n
        off, on, _ = self._lights
        step = self._epoch_seconds
        lo = int(np.ceil(off / step - 1e-9))
        hi = int(np.ceil(on / step - 1e-9))
        return lo, min(hi, n)

    @property
    def codes(self) -> np.ndarray:
        """YASA integer codes, one per epoch (read-only ``int8`` array)."""
        return self._codes

    @property
    def labels(self) -> np.ndarray:
        """Labels ``W N1 N2 N3 R ART UNS``, one per epoch."""
        return to_labels(self._codes)

    @property
    def epoch_seconds(self) -> float:
        """Length of one epoch in seconds."""
        return self._epoch_seconds

    @property
    def start(self) -> pd.Timestamp | None:
        """Clock time of the first epoch, or None."""
        return self._start

    @property
    def name(self) -> str | None:
        """Label of the night, or None."""
        return self._name

    @property
    def n_epochs(self) -> int:
        """Number of epochs."""
        return int(self._codes.size)

    @property
    def duration_minutes(self) -> float:
        """Time in bed: number of epochs times the epoch length, in minutes."""
        return self.n_epochs * self._epoch_seconds / 60.0

    def rename(self, name: str | None) -> "Hypnogram":
        """Return the same night under another name.

        >>> Hypnogram(["W", "N1"]).rename("s01 night 2").name
        's01 night 2'
        """
        return Hypnogram._trusted(self._codes, self._epoch_seconds, self._start, name,
                                  self._lights, self._format)

    def to_frame(self) -> pd.DataFrame:
        """One row per epoch: ``epoch``, ``onset`` (s), ``duration`` (s), ``stage``.

        A ``time`` column (clock time of the epoch start) is added when
        ``start`` is known.

        >>> Hypnogram(["W", "N1"], epoch_seconds=20).to_frame()
           epoch  onset  duration stage
        0      0    0.0      20.0     W
        1      1   20.0      20.0    N1
        """
        n = self.n_epochs
        frame = pd.DataFrame(
            {
                "epoch": np.arange(n),
                "onset": np.arange(n) * self._epoch_seconds,
                "duration": np.full(n, self._epoch_seconds),
                "stage": self.labels,
            }
        )
        if self._start is not None:
            frame["time"] = self._start + pd.to_timedelta(frame["onset"], unit="s")
        return frame

    def __len__(self) -> int:
        return self.n_epochs

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hypnogram):
            return NotImplemented
        return (
            self._epoch_seconds == other._epoch_seconds
            and self._start == other._start
            and self._lights == other._lights
            and np.array_equal(self._codes, other._codes)
        )

    __hash__ = None  # mutable-looking container semantics: not hashable

    def __repr__(self) -> str:
        label = f"{self._name!r}, " if self._name is not None else ""
        start = f", start {self._start.isoformat()}" if self._start is not None else ""
        return f"Hypnogram({label}{self.n_epochs} epochs of {self._epoch_seconds:g} s{start})"


def unpack_nights(nights: list) -> tuple[list, list, list, list] | int:
    """Codes, epoch lengths, lights and names of many nights, read in one pass.

    The bulk reader behind :func:`~sleepmeta.sleep.night_table` (reading
    the fields directly is several times faster than through the
    properties, which matters for 10,000 nights).

    Parameters
    ----------
    nights : list
        The nights.

    Returns
    -------
    tuple of lists, or int
        ``(codes, epoch_seconds, lights, names)``, one entry per night;
        or the position of the first item that is not a Hypnogram.

    Examples
    --------
    >>> codes, seconds, lights, names = unpack_nights([Hypnogram(["W", "N1"], name="a")])
    >>> codes[0].tolist(), seconds, lights, names
    ([0, 1], [30.0], [None], ['a'])
    >>> unpack_nights([Hypnogram(["W"]), "N1"])
    1
    """
    if set(map(type, nights)) - {Hypnogram}:
        bad = next((i for i, h in enumerate(nights) if not isinstance(h, Hypnogram)), None)
        if bad is not None:
            return bad
    return ([h._codes for h in nights], [h._epoch_seconds for h in nights],
            [h._lights for h in nights], [h._name for h in nights])


def _check_epoch_seconds(value, where: str) -> float:
    prefix = f"{where}: " if where else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise HypnogramError(f"{prefix}epoch_seconds must be a positive number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise HypnogramError(f"{prefix}epoch_seconds must be > 0, got {value!r}")
    return value


def _check_start(value, where: str) -> pd.Timestamp | None:
    if value is None:
        return None
    prefix = f"{where}: " if where else ""
    if not isinstance(value, (str, _dt.datetime, pd.Timestamp, np.datetime64)):
        raise HypnogramError(f"{prefix}start must be a date-time, got {value!r}")
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise HypnogramError(f"{prefix}start {value!r} is not a date-time: {exc}") from None
    if pd.isna(stamp):
        raise HypnogramError(f"{prefix}start must be a date-time, got {value!r}")
    return stamp


def _check_lights(h: Hypnogram, off, on, source: str, where: str):
    """Lights off/on as seconds from the start; checked against the recording."""
    prefix = f"{where}: " if where else ""
    end = h.n_epochs * h.epoch_seconds
    off_s = 0.0 if off is None else _seconds(h, off, "lights_off", prefix)
    on_s = end if on is None else _seconds(h, on, "lights_on", prefix)
    if off_s < -1e-6 or off_s > end + 1e-6:
        raise HypnogramError(f"{prefix}lights_off at {off_s:g} s is outside the recording (0 to {end:g} s)")
    if on_s < -1e-6 or on_s > end + 1e-6:
        raise HypnogramError(f"{prefix}lights_on at {on_s:g} s is outside the recording (0 to {end:g} s)")
    if on_s <= off_s:
        raise HypnogramError(f"{prefix}lights_on ({on_s:g} s) is not after lights_off ({off_s:g} s)")
    step = h.epoch_seconds
    if np.ceil(on_s / step - 1e-9) <= np.ceil(off_s / step - 1e-9):
        raise HypnogramError(f"{prefix}no epoch starts between lights_off ({off_s:g} s) and lights_on ({on_s:g} s)")
    return (max(off_s, 0.0), min(on_s, end), source)


def _seconds(h: Hypnogram, value, field: str, prefix: str) -> float:
    if isinstance(value, (str, _dt.datetime, pd.Timestamp, np.datetime64)):
        if h.start is None:
            raise HypnogramError(f"{prefix}{field} {value!r} is a clock time but the night has no start time")
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            raise HypnogramError(f"{prefix}{field} {value!r} is not a time") from None
        if pd.isna(stamp):
            raise HypnogramError(f"{prefix}{field} is missing (NaT)")
        start = h.start
        if (stamp.tzinfo is None) != (start.tzinfo is None):
            raise HypnogramError(f"{prefix}{field} {value!r} and the start time mix time-zone-aware and naive times")
        if isinstance(value, str) and _is_clock(value):
            # a bare clock time: the first such time at or after the start (nights cross midnight)
            day = start.normalize() + (stamp - stamp.normalize())
            if day < start - pd.Timedelta(seconds=1):
                day += pd.Timedelta(days=1)
            stamp = day
        return float((stamp - start).total_seconds())
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise HypnogramError(f"{prefix}{field} must be seconds from the start or a time, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise HypnogramError(f"{prefix}{field} must be finite, got {value!r}")
    return value


def _is_clock(text: str) -> bool:
    parts = text.strip().split(":")
    return 2 <= len(parts) <= 3 and all(p.isascii() and p.replace(".", "", 1).isdigit() for p in parts)
