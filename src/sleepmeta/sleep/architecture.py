"""Sleep architecture of one night: stage transitions and NREM/REM cycles.

Both use the night's lights period (the whole hypnogram without lights
times), like :func:`~sleepmeta.sleep.night_table`, and the same compiled
code (:mod:`sleepmeta.sleep._kernel`): ``n_cycles`` and ``cycle_mean`` of
the night table summarise :func:`sleep_cycles`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sleepmeta.errors import HypnogramError, InputError
from sleepmeta.sleep.hypnogram import Hypnogram
from sleepmeta.sleep.labels import CODE_TO_LABEL


def _night_codes(hypnogram) -> np.ndarray:
    if not isinstance(hypnogram, Hypnogram):
        raise InputError(f"expected a Hypnogram, got {type(hypnogram).__name__}")
    lo, hi = hypnogram.lights_epochs()
    return np.ascontiguousarray(hypnogram.codes[lo:hi])


def transition_matrix(hypnogram: Hypnogram) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counts and probabilities of transitions between consecutive epochs.

    The same matrices as YASA's ``Hypnogram.transition_matrix`` (YASA
    0.8): rows are the stage of an epoch ("From Stage"), columns the stage
    of the next epoch ("To Stage"), self-transitions included; only the
    stages present in the night appear, in the order UNS, ART, W, N1, N2,
    N3, R (S for a sleep/wake series). ``probs`` divides each row by its
    total (a right-stochastic matrix); a stage seen only in the last epoch
    has a row of NaN, as in YASA.

    Examples
    --------
    >>> counts, probs = transition_matrix(Hypnogram(["W", "W", "N1", "N2", "N2", "W"]))
    >>> list(counts.index), counts.to_numpy().tolist()
    (['W', 'N1', 'N2'], [[1, 1, 0], [0, 0, 1], [1, 0, 1]])
    >>> float(probs.loc["N2", "W"])
    0.5
    """
    codes = _night_codes(hypnogram)
    from sleepmeta.sleep._kernel import transitions

    full = transitions(codes)
    present = np.flatnonzero(np.bincount(codes.astype(np.int64) + 2, minlength=8))
    labels = [CODE_TO_LABEL[int(c) - 2] for c in present]
    counts = full[np.ix_(present, present)]
    with np.errstate(invalid="ignore", divide="ignore"):
        probs = counts / counts.sum(axis=1, keepdims=True)
    index = pd.Index(labels, name="From Stage")
    columns = pd.Index(labels, name="To Stage")
    return pd.DataFrame(counts, index, columns), pd.DataFrame(probs, index, columns)


def sleep_cycles(hypnogram: Hypnogram) -> pd.DataFrame:
    """Complete NREM/REM cycles of a night (Feinberg & Floyd 1979).

    The rules are listed in :mod:`sleepmeta.sleep.fields`: REM epochs less
    than 15 min apart form one REM period; a REM period after the first
    cycle needs 5 min of REM; a NREM period lasts at least 15 min; a final
    NREM period without REM is not a complete cycle.

    Returns
    -------
    pandas.DataFrame
        One row per cycle: ``cycle`` (1, 2, ...), ``start`` and ``end``
        (minutes from lights off; end exclusive), ``minutes``,
        ``nrem_minutes`` and ``rem_minutes`` (N1-N3 and REM epochs inside).

    Raises
    ------
    HypnogramError
        For a sleep/wake series, which has no REM to define cycles.

    Examples
    --------
    Two cycles of 20 min NREM + 5 min REM (1-min epochs):

    >>> h = Hypnogram((["N2"] * 20 + ["R"] * 5) * 2, epoch_seconds=60)
    >>> sleep_cycles(h)[["cycle", "start", "end", "rem_minutes"]]
       cycle  start   end  rem_minutes
    0      1    0.0  25.0          5.0
    1      2   25.0  50.0          5.0
    """
    codes = _night_codes(hypnogram)
    if (codes == 5).any():
        raise HypnogramError(
            f"night {hypnogram.name!r}: a sleep/wake series has no stages: NREM/REM cycles are undefined"
        )
    from sleepmeta.sleep._kernel import cycle_bounds

    per_min = 60.0 / hypnogram.epoch_seconds
    starts, ends = cycle_bounds(codes, per_min)
    rows = []
    for k, (a, b) in enumerate(zip(starts.tolist(), ends.tolist()), start=1):
        part = codes[a:b]
        rows.append({
            "cycle": k, "start": a / per_min, "end": b / per_min, "minutes": (b - a) / per_min,
            "nrem_minutes": float(((part >= 1) & (part <= 3)).sum()) / per_min,
            "rem_minutes": float((part == 4).sum()) / per_min,
        })
    columns = ["cycle", "start", "end", "minutes", "nrem_minutes", "rem_minutes"]
    return pd.DataFrame(rows, columns=columns)
