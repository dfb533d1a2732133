"""Sleep and wake hour by hour of the night (hypnotic trials report WASO and TST by hour).

Hypnotic-drug trials report wake after sleep onset and total sleep time
per hour of the night (e.g. to show a short-acting drug's effect fading in
the last hours) as well as per third; the night table has the thirds
(``WASO_T1`` ...), this table the hours. Hour ``h`` (1, 2, ...) holds the
epochs that start in ``[h - 1, h)`` hours after lights off; the last hour
may be partial (its ``minutes`` says how long it is). Definitions match
the night table's (:func:`~sleepmeta.sleep.field_table`): sleep is N1, N2,
N3, REM or unstaged sleep; ``WASO_AASM`` counts every non-sleep epoch
(wake, artefact, unscored) from the first sleep epoch on, so the hours'
``WASO_AASM`` add up to the night's ``WASO_AASM`` and their ``TST`` to its
``TST``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from sleepmeta.errors import HypnogramError, InputError
from sleepmeta.sleep.hypnogram import Hypnogram

#: Columns of :func:`hourly_table` after ``night`` and ``hour``.
HOUR_FIELDS = ("minutes", "TST", "WASO_AASM", "WAKE")


def hourly_table(hypnograms) -> pd.DataFrame:
    """TST and WASO (AASM form) in each hour after lights off, one row per night and hour.

    Parameters
    ----------
    hypnograms : Hypnogram, iterable of Hypnogram, or mapping
        The nights (a mapping's keys name them; otherwise a night's
        ``name``, or ``"night i"``). Each night is restricted to its lights
        period, as in :func:`~sleepmeta.sleep.night_table`.

    Returns
    -------
    pandas.DataFrame
        Columns ``night, hour`` (1-based), ``minutes`` (length of the hour
        inside the lights period), ``TST``, ``WASO_AASM`` and ``WAKE``
        (wake epochs), all in minutes.

    Examples
    --------
    Two hours and a half of 30-min "epochs": W N2 | W R | N2

    >>> h = Hypnogram(["W", "N2", "W", "R", "N2"], epoch_seconds=1800, name="a")
    >>> hourly_table(h)
      night  hour  minutes   TST  WASO_AASM  WAKE
    0     a     1     60.0  30.0        0.0  30.0
    1     a     2     60.0  30.0       30.0  30.0
    2     a     3     30.0  30.0        0.0   0.0
    """
    names, nights = _nights(hypnograms)
    frames = []
    for name, night in zip(names, nights):
        lo, hi = night.lights_epochs()
        codes = night.codes[lo:hi]
        step = night.epoch_seconds
        hour = (np.arange(codes.size) * step // 3600.0).astype(np.int64)
        sleep = codes >= 1
        onset = int(np.argmax(sleep)) if sleep.any() else codes.size
        after = np.arange(codes.size) >= onset
        n_hours = int(hour[-1]) + 1
        per_min = step / 60.0
        frames.append(pd.DataFrame({
            "night": name,
            "hour": np.arange(1, n_hours + 1),
            "minutes": np.bincount(hour, minlength=n_hours) * per_min,
            "TST": np.bincount(hour, weights=sleep, minlength=n_hours) * per_min,
            "WASO_AASM": np.bincount(hour, weights=~sleep & after, minlength=n_hours) * per_min,
            "WAKE": np.bincount(hour, weights=codes == 0, minlength=n_hours) * per_min,
        }))
    return pd.concat(frames, ignore_index=True)


def _nights(hypnograms) -> tuple[list[str], list[Hypnogram]]:
    if isinstance(hypnograms, Hypnogram):
        hypnograms = [hypnograms]
    if isinstance(hypnograms, Mapping):
        names, nights = [str(k) for k in hypnograms], list(hypnograms.values())
    elif isinstance(hypnograms, Iterable) and not isinstance(hypnograms, (str, bytes)):
        nights = list(hypnograms)
        names = [f"night {i}" if getattr(h, "name", None) is None else h.name for i, h in enumerate(nights)]
    else:
        raise InputError(f"hypnograms must be Hypnogram objects, got {type(hypnograms).__name__}")
    if not nights:
        raise HypnogramError("no nights given: hourly_table needs at least one Hypnogram")
    for name, night in zip(names, nights):
        if not isinstance(night, Hypnogram):
            raise InputError(f"night {name!r}: expected a Hypnogram, got {type(night).__name__}")
    return names, nights
