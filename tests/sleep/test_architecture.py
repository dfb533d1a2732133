"""Transition matrix (YASA as the oracle) and NREM/REM cycles on constructed nights."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmeta.errors import HypnogramError
from sleepmeta.sleep import Hypnogram, night_table
from sleepmeta.sleep.architecture import sleep_cycles, transition_matrix
from sleepmeta.sleep.simulate import simulate_nights

_YASA_NAME = {"UNS": "UNS", "ART": "ART", "W": "WAKE", "N1": "N1", "N2": "N2", "N3": "N3", "R": "REM"}


def _yasa_matrices(codes):
    yasa = pytest.importorskip("yasa")
    labels = [{-2: "UNS", -1: "ART", 0: "WAKE", 1: "N1", 2: "N2", 3: "N3", 4: "REM"}[int(c)] for c in codes]
    return yasa.Hypnogram(labels, freq="30s").transition_matrix()


def _assert_equal_to_yasa(codes):
    counts, probs = transition_matrix(Hypnogram(codes))
    y_counts, y_probs = _yasa_matrices(codes)
    assert [_YASA_NAME[x] for x in counts.index] == [str(x) for x in y_counts.index]
    assert [_YASA_NAME[x] for x in counts.columns] == [str(x) for x in y_counts.columns]
    np.testing.assert_array_equal(counts.to_numpy(), y_counts.to_numpy())
    np.testing.assert_allclose(probs.to_numpy(), y_probs.to_numpy(), rtol=0, atol=1e-15, equal_nan=True)


def test_transition_matrix_equals_yasa_on_simulated_nights_with_artefacts():
    for h in simulate_nights(5, hours=3, artefact_rate=0.03, seed=8):
        _assert_equal_to_yasa(h.codes)


@settings(max_examples=40, deadline=None)
@given(codes=st.lists(st.integers(-2, 4), min_size=2, max_size=80))
def test_transition_matrix_equals_yasa_on_random_hypnograms(codes):
    _assert_equal_to_yasa(codes)


def test_transition_matrix_by_hand():
    # W W N1 N2 N2 W: pairs (W,W) (W,N1) (N1,N2) (N2,N2) (N2,W)
    counts, probs = transition_matrix(Hypnogram(["W", "W", "N1", "N2", "N2", "W"]))
    assert counts.loc["W", "W"] == 1 and counts.loc["W", "N1"] == 1 and counts.loc["N2", "W"] == 1
    assert int(counts.to_numpy().sum()) == 5
    assert probs.loc["N1", "N2"] == 1.0 and probs.loc["W", "N1"] == 0.5


def _night(*parts):
    """Build a 1-min-epoch night from (label, minutes) pairs."""
    return Hypnogram([lab for lab, k in parts for _ in range(k)], epoch_seconds=60)


def test_two_complete_cycles_and_an_incomplete_one():
    # onset at 5; REM at 25-35 and 65-75 (30 min apart): cycles [5, 35) and [35, 75);
    # the final 20 min of N2 have no REM: an incomplete cycle, not counted
    h = _night(("W", 5), ("N2", 20), ("R", 10), ("N3", 30), ("R", 10), ("N2", 20), ("W", 5))
    c = sleep_cycles(h)
    assert c["start"].tolist() == [5.0, 35.0] and c["end"].tolist() == [35.0, 75.0]
    assert c["rem_minutes"].tolist() == [10.0, 10.0] and c["nrem_minutes"].tolist() == [20.0, 30.0]
    row = night_table(h).iloc[0]
    assert row["n_cycles"] == 2 and row["cycle_mean"] == (30 + 40) / 2


def test_rem_runs_closer_than_15_min_merge_and_short_later_rem_is_skipped():
    # REM 20-23 and 28-32 are 5 min apart: one REM period ending at 32.
    # REM 52-54 (2 min, not the first period) is too short: part of the NREM period.
    # REM 74-80 (6 min) ends cycle 2 = [32, 80).
    h = _night(("N2", 20), ("R", 3), ("N2", 5), ("R", 4), ("N2", 20), ("R", 2), ("N2", 20), ("R", 6))
    c = sleep_cycles(h)
    assert list(zip(c["start"], c["end"])) == [(0.0, 32.0), (32.0, 80.0)]
    assert night_table(h).iloc[0]["cycle_mean"] == (32 + 48) / 2


def test_sleep_onset_rem_belongs_to_the_first_cycle():
    # REM at 2-7 comes 2 min after onset (NREM period < 15 min): not a cycle end
    h = _night(("N1", 2), ("R", 5), ("N2", 30), ("R", 10))
    c = sleep_cycles(h)
    assert list(zip(c["start"], c["end"])) == [(0.0, 47.0)]


def test_no_rem_no_cycles_and_sleep_wake_series_refused():
    assert night_table(_night(("W", 3), ("N2", 60))).iloc[0]["n_cycles"] == 0
    assert len(sleep_cycles(_night(("W", 3), ("N2", 60)))) == 0
    with pytest.raises(HypnogramError, match="sleep/wake series"):
        sleep_cycles(Hypnogram(["W", "S", "S"]))
