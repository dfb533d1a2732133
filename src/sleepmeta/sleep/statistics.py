"""Sleep endpoints of one night and of many nights at once.

Every column, its unit, definition and source is in
:mod:`sleepmeta.sleep.fields` (``field_table()``). In short: the night is
the lights period (lights off to lights on; the whole hypnogram when no
lights times are known); where YASA defines a quantity the name and the
value are YASA's (``yasa.sleep_statistics``, ``yasa.Hypnogram``); ``WASO``
is YASA's (wake inside the sleep period) and ``WASO_AASM`` the AASM's
``TRT - SOL - TST``; hypnotic-trial endpoints (LPS, WASO after persistent
sleep, wake bouts, thirds of the night), fragmentation, transitions and
NREM/REM cycles follow. The numbers come from one compiled pass over the
stage codes (:mod:`sleepmeta.sleep._kernel`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from sleepmeta.errors import HypnogramError, InputError
from sleepmeta.sleep.fields import KERNEL_FIELDS
from sleepmeta.sleep.hypnogram import Hypnogram, unpack_nights

#: Endpoint columns of :func:`night_table`, in order (documented in :mod:`~sleepmeta.sleep.fields`).
FIELDS: tuple[str, ...] = KERNEL_FIELDS
_NO_LIGHTS = "none (whole recording)"


def sleep_statistics(
    hypnogram: Hypnogram, *, persistent_minutes: float = 10.0, min_awakening_minutes: float = 0.0
) -> dict[str, float]:
    """Sleep endpoints of one night.

    Parameters
    ----------
    hypnogram : Hypnogram
        The night, spanning time in bed.
    persistent_minutes : float, default 10
        Length of uninterrupted sleep that defines ``LPS``.
    min_awakening_minutes : float, default 0
        Shortest run of wake counted in ``n_awakenings``.

    Returns
    -------
    dict
        ``{field: float}`` for every name in :data:`FIELDS`; definitions and
        sources in the module docstring. A quantity undefined for the night
        is NaN, as in YASA (e.g. ``Lat_REM`` without REM, ``WASO`` without
        sleep).

    Examples
    --------
    The night of YASA's ``sleep_statistics`` docstring (30-s epochs):

    >>> h = Hypnogram([0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 2, 3, 3, 4, 4, 4, 4, 0, 0])
    >>> s = sleep_statistics(h)
    >>> s["TIB"], s["SPT"], s["TST"], s["SOL"], s["Lat_REM"], s["SE"]
    (10.0, 8.0, 8.0, 1.0, 7.0, 80.0)
    >>> s["Lat_REM_from_onset"], s["n_stage_shifts"]
    (6.0, 7.0)
    """
    if not isinstance(hypnogram, Hypnogram):
        raise InputError(f"hypnogram must be a Hypnogram, got {type(hypnogram).__name__}")
    row = night_table(
        [hypnogram],
        persistent_minutes=persistent_minutes,
        min_awakening_minutes=min_awakening_minutes,
    ).iloc[0]
    return {key: float(row[key]) for key in FIELDS}


def night_table(
    hypnograms,
    *,
    persistent_minutes: float = 10.0,
    min_awakening_minutes: float = 0.0,
) -> pd.DataFrame:
    """Sleep endpoints of many nights, one row per night.

    The nights are concatenated into one array (with each night's offset
    and lights period) and one compiled pass per night computes every
    endpoint, nights in parallel. Each night is restricted to its lights
    period (``Hypnogram.with_lights``; the whole record without lights).

    Parameters
    ----------
    hypnograms : Hypnogram, iterable of Hypnogram, or mapping
        The nights. A mapping's keys become the row labels; otherwise a
        night's ``name`` is used, or ``"night i"`` when it has none.
        Nights may differ in length and in epoch length.
    persistent_minutes, min_awakening_minutes : float
        As in :func:`sleep_statistics`.

    Returns
    -------
    pandas.DataFrame
        Index ``night``; the endpoint columns :data:`FIELDS`, then
        ``epoch_seconds, staging, lights, lights_off, lights_on,
        undefined`` (all documented in :func:`~sleepmeta.sleep.field_table`).

    Examples
    --------
    >>> nights = [Hypnogram(["W", "N1", "N2", "W", "N2"], name="a"),
    ...           Hypnogram(["W", "W", "W"], epoch_seconds=60, name="b")]
    >>> night_table(nights)[["TIB", "TST", "WASO", "SOL", "n_awakenings"]].reset_index()
      night  TIB  TST  WASO  SOL  n_awakenings
    0     a  2.5  1.5   0.5  0.5           1.0
    1     b  3.0  0.0   NaN  NaN           0.0
    """
    names, hyps, parts = _collect(hypnograms)
    persistent_minutes = _positive(persistent_minutes, "persistent_minutes", allow_zero=False)
    min_awakening_minutes = _positive(min_awakening_minutes, "min_awakening_minutes", allow_zero=True)
    flat, offsets, lo, hi, epoch_sec, lights = _stack(hyps, parts)
    from sleepmeta.sleep._kernel import nights_kernel  # numba: imported on first use only

    stats = nights_kernel(flat, offsets, lo, hi, 60.0 / epoch_sec, persistent_minutes, min_awakening_minutes)
    n_fields = len(FIELDS)
    # the endpoints stay one float block (a view of the kernel's output); the rest joins it once
    frame = pd.DataFrame(stats[:, :n_fields], index=pd.Index(names, name="night"), columns=list(FIELDS),
                         copy=False)
    sleep_wake = stats[:, n_fields] > 0
    n = len(names)
    if lights.count(None) == n:
        lights_source = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [_NO_LIGHTS])
    else:
        lights_source = pd.Categorical([_NO_LIGHTS if x is None else x[2] for x in lights])
    meta = pd.DataFrame({
        "epoch_seconds": epoch_sec,
        "staging": pd.Categorical.from_codes(sleep_wake.astype(np.int8), ["stages", "sleep/wake"]),
        "lights": lights_source,
        "lights_off": lo * epoch_sec / 60.0,
        "lights_on": hi * epoch_sec / 60.0,
        "undefined": _reasons(frame, sleep_wake),
    }, index=frame.index)
    return pd.concat([frame, meta], axis=1)


_REASONS = (
    "sleep/wake series: stage minutes, %, latencies, stage shifts and cycles are undefined",
    "no sleep: WASO, SOL, SME, SFI, stage %, WASO thirds and cycles are undefined",
    "no REM: Lat_REM and Lat_REM_from_onset are undefined",
    "no run of persistent sleep: LPS and WASO_LPS are undefined",
)


def _reasons(frame: pd.DataFrame, sleep_wake: np.ndarray) -> pd.Categorical:
    """Why each night's NaN columns are undefined ('' when none is), vectorised."""
    no_sleep = (frame["TST"] == 0).to_numpy()
    flags = np.column_stack([
        sleep_wake,
        no_sleep,
        ~no_sleep & ~sleep_wake & (frame["REM"].to_numpy() == 0),
        ~no_sleep & frame["LPS"].isna().to_numpy(),
    ])
    key = flags @ (1 << np.arange(4))
    texts = ["; ".join(r for bit, r in enumerate(_REASONS) if k >> bit & 1) for k in range(16)]
    return pd.Categorical.from_codes(key, texts)


def _collect(hypnograms) -> tuple[list[str], list[Hypnogram], tuple]:
    """Validate the public argument of night_table: names, nights and their parts."""
    if isinstance(hypnograms, Hypnogram):
        hypnograms = [hypnograms]
    if isinstance(hypnograms, Mapping):
        keys, hyps = [str(k) for k in hypnograms], list(hypnograms.values())
    elif isinstance(hypnograms, Iterable) and not isinstance(hypnograms, (str, bytes)):
        keys, hyps = None, list(hypnograms)
    else:
        raise InputError(f"hypnograms must be Hypnogram objects, got {type(hypnograms).__name__}")
    if not hyps:
        raise HypnogramError("no nights given: night_table needs at least one Hypnogram")
    parts = unpack_nights(hyps)
    if isinstance(parts, int):
        name = keys[parts] if keys is not None else f"night {parts}"
        raise InputError(f"night {name!r}: expected a Hypnogram, got {type(hyps[parts]).__name__}")
    if keys is None:
        keys = [f"night {i}" if name is None else name for i, name in enumerate(parts[3])]
    return keys, hyps, parts


def _positive(value, name: str, *, allow_zero: bool) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        rule = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be {rule}, got {value!r}")
    return value


def _stack(hyps: list[Hypnogram], parts: tuple):
    """All nights end to end: codes, offsets, lights-period epochs, epoch lengths."""
    n = len(hyps)
    codes, epoch_sec, lights, _ = parts
    lengths = np.fromiter(map(len, codes), dtype=np.int64, count=n)
    epoch_sec = np.array(epoch_sec, dtype=float)
    flat = np.concatenate(codes)
    offsets = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    lo = np.zeros(n, dtype=np.int64)
    hi = lengths.copy()
    if lights.count(None) < n:
        for i in [i for i, x in enumerate(lights) if x is not None]:
            lo[i], hi[i] = hyps[i].lights_epochs()
    return flat, offsets, lo, hi, epoch_sec, lights
