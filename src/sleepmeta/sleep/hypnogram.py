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

    Raises
    ------
    HypnogramError
        Empty ``stages``, an unknown label (naming the epoch and the value),
        a non-positive ``epoch_seconds`` or an unreadable ``start``.

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

    __slots__ = ("_codes", "_epoch_seconds", "_start", "_name")

    def __init__(self, stages, epoch_seconds: float = 30, start=None, *, name: str | None = None):
        where = f"night {name!r}" if name is not None else ""
        self._epoch_seconds = _check_epoch_seconds(epoch_seconds, where)
        codes = to_codes(stages, where=where)
        if codes.size == 0:
            raise HypnogramError(f"{where + ': ' if where else ''}hypnogram is empty (no epochs)")
        codes.setflags(write=False)
        self._codes = codes
        self._start = _check_start(start, where)
        self._name = None if name is None else str(name)

    @classmethod
    def _trusted(cls, codes: np.ndarray, epoch_seconds: float, start=None, name=None) -> "Hypnogram":
        """Build from already validated int8 codes (no checks)."""
        self = object.__new__(cls)
        codes = np.asarray(codes, dtype=np.int8)
        codes.setflags(write=False)
        self._codes, self._epoch_seconds = codes, float(epoch_seconds)
        self._start, self._name = start, name
        return self

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
        return Hypnogram._trusted(self._codes, self._epoch_seconds, self._start, name)

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
            and np.array_equal(self._codes, other._codes)
        )

    __hash__ = None  # mutable-looking container semantics: not hashable

    def __repr__(self) -> str:
        label = f"{self._name!r}, " if self._name is not None else ""
        start = f", start {self._start.isoformat()}" if self._start is not None else ""
        return f"Hypnogram({label}{self.n_epochs} epochs of {self._epoch_seconds:g} s{start})"


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
