"""Simulated nights and trials for examples, tests and benchmarks.

Everything made here is labelled simulated: night names start with
``"simulated"`` and frames carry a ``simulated`` column set to True and
``frame.attrs["simulated"] = True``. None of it is data about real people.

The model is a first-order Markov chain over W, N1, N2, N3, REM with
per-epoch transition probabilities (for 30-s epochs; other lengths convert a
probability ``p`` to ``1 - (1 - p) ** (epoch_seconds / 30)``). Before sleep
onset every epoch is wake and falls asleep (into N1) with probability
``1 - exp(-epoch_minutes / sol_minutes)``, so the mean latency is close to
``sol_minutes``. After onset, transitions into wake are multiplied by
``waso_scale`` and N2 -> N3 by ``sws_scale``; N2 -> N3 is twice as likely at
the start of the night as on average and N2 -> REM twice as likely at the
end, giving the usual slow-wave-early, REM-late architecture.
"""

from __future__ import annotations

import numpy as np

from sleepmeta.errors import InputError, unknown_option
from sleepmeta.sleep.hypnogram import Hypnogram
from sleepmeta.sleep.statistics import night_table

# per-30-s transition probabilities after sleep onset (rows: from W, N1, N2, N3, REM)
_BASE = np.array(
    [
        [0.0, 0.12, 0.03, 0.0, 0.0],
        [0.04, 0.0, 0.30, 0.0, 0.02],
        [0.008, 0.015, 0.0, 0.025, 0.02],
        [0.004, 0.002, 0.05, 0.0, 0.0],
        [0.01, 0.01, 0.015, 0.0, 0.0],
    ]
)
_N_BINS = 16


def simulate_nights(
    n_nights: int,
    *,
    hours: float = 8.0,
    epoch_seconds: float = 30.0,
    sol_minutes=15.0,
    waso_scale=1.0,
    sws_scale=1.0,
    artefact_rate: float = 0.0,
    seed=None,
    prefix: str = "simulated night",
) -> list[Hypnogram]:
    """Simulate hypnograms from a seeded stage-transition model.

    Parameters
    ----------
    n_nights : int
        Number of nights.
    hours : float, default 8
        Time in bed of every night.
    epoch_seconds : float, default 30
        Epoch length.
    sol_minutes, waso_scale, sws_scale : float or array of length n_nights
        Mean sleep-onset latency (minutes); multipliers of the transitions
        into wake and from N2 into N3 (see the module docstring).
    artefact_rate : float, default 0
        Probability that an epoch is replaced by artefact (code -1).
    seed : int or numpy.random.Generator, optional
        Seed; the same seed gives the same nights.
    prefix : str
        Night names are ``f"{prefix} {i}"``; keep the word "simulated".

    Returns
    -------
    list of Hypnogram

    Examples
    --------
    >>> nights = simulate_nights(2, hours=1, seed=1)
    >>> [h.name for h in nights], nights[0].n_epochs
    (['simulated night 0', 'simulated night 1'], 120)
    """
    n = _count(n_nights, "n_nights")
    params = {}
    for key, value in (("sol_minutes", sol_minutes), ("waso_scale", waso_scale), ("sws_scale", sws_scale)):
        arr = np.broadcast_to(np.asarray(value, dtype=float), (n,)) if np.ndim(value) <= 1 else None
        if arr is None or arr.shape != (n,) or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
            raise InputError(f"{key} must be > 0 (a number or one per night), got {value!r}")
        params[key] = arr
    if not (0 <= artefact_rate < 1):
        raise InputError(f"artefact_rate must be in [0, 1), got {artefact_rate!r}")
    if not (hours > 0) or not (epoch_seconds > 0):
        raise InputError(f"hours and epoch_seconds must be > 0, got {hours!r}, {epoch_seconds!r}")
    rng = np.random.default_rng(seed)
    n_epochs = max(int(round(hours * 3600 / epoch_seconds)), 1)
    codes = _chain(n, n_epochs, epoch_seconds, params, rng)
    if artefact_rate > 0:
        codes[rng.random(codes.shape) < artefact_rate] = -1
    return [Hypnogram._trusted(codes[i], epoch_seconds, None, f"{prefix} {i}") for i in range(n)]


def _count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _transition_cdfs(n, epoch_seconds, params) -> np.ndarray:
    """Cumulative transition probabilities, shape (bins, nights, 5, 5)."""
    frac = (np.arange(_N_BINS) + 0.5) / _N_BINS
    mats = np.broadcast_to(_BASE, (_N_BINS, n, 5, 5)).copy()
    mats[:, :, 1:, 0] *= params["waso_scale"][None, :, None]
    mats[:, :, 2, 3] *= params["sws_scale"][None, :] * 2 * (1 - frac)[:, None]
    mats[:, :, 2, 4] *= 2 * frac[:, None]
    mats = 1 - (1 - np.clip(mats, 0, 0.99)) ** (epoch_seconds / 30.0)
    off = mats.sum(axis=-1, keepdims=True)
    mats = np.where(off > 0.95, mats * 0.95 / off, mats)
    idx = np.arange(5)
    mats[..., idx, idx] = 1 - mats.sum(axis=-1)
    cdf = np.cumsum(mats, axis=-1)
    cdf[..., -1] = 1.0
    return cdf


def _chain(n, n_epochs, epoch_seconds, params, rng) -> np.ndarray:
    """Run the chain for all nights at once; loop over epochs only."""
    cdf = _transition_cdfs(n, epoch_seconds, params)
    p_onset = 1 - np.exp(-(epoch_seconds / 60.0) / params["sol_minutes"])
    out = np.empty((n, n_epochs), dtype=np.int8)
    state = np.zeros(n, dtype=np.int64)
    asleep = np.zeros(n, dtype=bool)
    rows = np.arange(n)
    bins = np.minimum((np.arange(n_epochs) * _N_BINS) // n_epochs, _N_BINS - 1)
    uniforms = rng.random((n_epochs, n))
    for t in range(n_epochs):
        u = uniforms[t]
        moved = (u[:, None] >= cdf[bins[t], rows, state]).sum(axis=1)
        onset = u < p_onset
        state = np.where(asleep, moved, np.where(onset, 1, 0))
        asleep |= state > 0
        out[:, t] = state
    return out


def simulate_trial(
    n_subjects: int,
    *,
    design: str = "parallel",
    nights: int = 2,
    hours: float = 8.0,
    treatment: dict | None = None,
    seed=None,
    return_hypnograms: bool = False,
):
    """Simulate a placebo-controlled trial: one row of endpoints per night.

    Each simulated participant has their own sleep-onset latency, WASO and
    slow-wave propensity (log-normal between-participant spread); on the
    drug these are multiplied by ``treatment`` (default: latency x 0.6,
    wake transitions x 0.7, N2 -> N3 x 1.3 - invented values, not estimates
    for any drug).

    Parameters
    ----------
    n_subjects : int
        Participants. Parallel: alternately ``drug`` / ``placebo``.
        Crossover: every participant has both, in sequence drug-placebo or
        placebo-drug alternately.
    design : {"parallel", "crossover"}
    nights : int, default 2
        Nights per participant and period.
    hours : float, default 8
    treatment : dict, optional
        Multipliers ``{"sol_minutes": .., "waso_scale": .., "sws_scale": ..}``.
    seed : int, optional
    return_hypnograms : bool, default False
        Also return the simulated nights, ``{row label: Hypnogram}`` (to
        write them as files, for example).

    Returns
    -------
    pandas.DataFrame
        :func:`~sleepmeta.sleep.night_table` columns plus ``subject``,
        ``arm``, ``period`` (1 or 2), ``night_number`` and ``simulated`` (True);
        with ``return_hypnograms``, the pair ``(table, hypnograms)``.

    Examples
    --------
    >>> trial = simulate_trial(4, design="crossover", nights=1, hours=1, seed=3)
    >>> trial[["subject", "arm", "period"]].iloc[:2].values.tolist()
    [['s01', 'drug', 1], ['s01', 'placebo', 2]]
    >>> trial.index[0], bool(trial["simulated"].all())
    ('simulated s01 period 1 night 1', True)
    """
    n = _count(n_subjects, "n_subjects")
    k = _count(nights, "nights")
    if design not in ("parallel", "crossover"):
        raise unknown_option("design", design, ["parallel", "crossover"])
    effect = {"sol_minutes": 0.6, "waso_scale": 0.7, "sws_scale": 1.3}
    effect.update(treatment or {})
    rng = np.random.default_rng(seed)
    subj = {
        "sol_minutes": 20.0 * np.exp(rng.normal(0, 0.4, n)),
        "waso_scale": np.exp(rng.normal(0, 0.3, n)),
        "sws_scale": np.exp(rng.normal(0, 0.2, n)),
    }
    rows = []  # (subject index, arm, period)
    for i in range(n):
        if design == "parallel":
            rows += [(i, "drug" if i % 2 == 0 else "placebo", 1)] * k
        else:
            first, second = ("drug", "placebo") if i % 2 == 0 else ("placebo", "drug")
            rows += [(i, first, 1)] * k + [(i, second, 2)] * k
    who = np.array([r[0] for r in rows])
    on_drug = np.array([r[1] == "drug" for r in rows])
    params = {key: subj[key][who] * np.where(on_drug, effect[key], 1.0) for key in subj}
    hyps = simulate_nights(len(rows), hours=hours, seed=rng, **params)
    night_no = np.arange(len(rows)) % k + 1
    names = [f"simulated s{r[0] + 1:02d} period {r[2]} night {j}" for r, j in zip(rows, night_no)]
    nights_by_name = {name: h.rename(name) for name, h in zip(names, hyps)}
    table = night_table(nights_by_name)
    table.insert(0, "subject", [f"s{r[0] + 1:02d}" for r in rows])
    table.insert(1, "arm", [r[1] for r in rows])
    table.insert(2, "period", [r[2] for r in rows])
    table.insert(3, "night_number", night_no)
    table["simulated"] = True
    table.attrs["simulated"] = True
    return (table, nights_by_name) if return_hypnograms else table
