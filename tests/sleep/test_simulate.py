"""The simulator: seeded, labelled simulated, parameters move the endpoints they name."""

from __future__ import annotations

import numpy as np
import pytest

from sleepmeta.errors import InputError, UnknownOptionError
from sleepmeta.sleep import night_table, simulate_nights, simulate_trial


def test_seeded_and_labelled():
    a = simulate_nights(3, hours=1, seed=7)
    b = simulate_nights(3, hours=1, seed=7)
    assert all(x == y for x, y in zip(a, b))
    assert all(h.name.startswith("simulated") for h in a)
    assert a[0].n_epochs == 120  # 1 h of 30-s epochs
    assert simulate_nights(1, hours=1, epoch_seconds=20, seed=1)[0].n_epochs == 180


def test_parameters_shift_latency_waso_and_slow_wave_sleep():
    # 300 nights per condition: the shifts are large against night-to-night noise
    base = night_table(simulate_nights(300, hours=8, seed=1)).mean(numeric_only=True)
    slow = night_table(simulate_nights(300, hours=8, sol_minutes=40, seed=2)).mean(numeric_only=True)
    wakeful = night_table(simulate_nights(300, hours=8, waso_scale=2.5, seed=3)).mean(numeric_only=True)
    deep = night_table(simulate_nights(300, hours=8, sws_scale=2.0, seed=4)).mean(numeric_only=True)
    assert slow["SOL"] > base["SOL"] + 10
    assert wakeful["WASO"] > base["WASO"] * 1.5
    assert deep["N3"] > base["N3"] * 1.2


def test_artefacts_and_per_night_parameters():
    nights = simulate_nights(4, hours=1, artefact_rate=0.1, sol_minutes=[5, 10, 20, 40], seed=5)
    assert any((h.codes == -1).any() for h in nights)
    with pytest.raises(InputError, match="sol_minutes must be > 0"):
        simulate_nights(2, sol_minutes=[5, -1])
    with pytest.raises(InputError, match="n_nights must be a positive integer"):
        simulate_nights(0)


def test_trial_frame_is_marked_simulated():
    trial = simulate_trial(6, design="parallel", nights=2, hours=1, seed=1)
    assert trial["simulated"].all() and trial.attrs["simulated"]
    assert trial.index.str.startswith("simulated").all()
    assert sorted(trial["arm"].unique()) == ["drug", "placebo"]
    assert len(trial) == 12 and trial.groupby("subject")["arm"].nunique().max() == 1
    cross = simulate_trial(4, design="crossover", nights=1, hours=1, seed=1)
    assert (cross.groupby("subject")["arm"].nunique() == 2).all()
    assert np.array_equal(np.sort(cross["period"].unique()), [1, 2])
    with pytest.raises(UnknownOptionError):
        simulate_trial(4, design="factorial")
