"""Sleep endpoints: YASA as the oracle where YASA defines them, hand counts elsewhere."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmeta.errors import HypnogramError, InputError
from sleepmeta.sleep import FIELDS, Hypnogram, night_table, sleep_statistics
from sleepmeta.sleep.fields import META_FIELDS
from sleepmeta.sleep.simulate import simulate_nights

_YASA_CLASS_LABELS = {-2: "UNS", -1: "ART", 0: "WAKE", 1: "N1", 2: "N2", 3: "N3", 4: "REM"}


def _yasa_legacy(codes, epoch_seconds):
    """YASA's ``sleep_statistics`` on the integer hypnogram (computed in this run)."""
    yasa = pytest.importorskip("yasa")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated in YASA 0.8, still the documented API
        return yasa.sleep_statistics(np.asarray(codes), sf_hyp=1 / epoch_seconds)


def _yasa_class(codes, epoch_seconds):
    """``yasa.Hypnogram(...).sleep_statistics()``: source of SOL_5min, WAKE, ART, UNS."""
    yasa = pytest.importorskip("yasa")
    labels = [_YASA_CLASS_LABELS[int(c)] for c in codes]
    return yasa.Hypnogram(labels, freq=f"{epoch_seconds}s").sleep_statistics()


def _same(a, b, tol=1e-9):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= tol * max(1.0, abs(b))


def _assert_matches_yasa(codes, epoch_seconds):
    ours = sleep_statistics(Hypnogram(codes, epoch_seconds=epoch_seconds))
    legacy = _yasa_legacy(codes, epoch_seconds)
    for key, value in legacy.items():
        assert _same(ours[key], value), (key, ours[key], value)
    cls = _yasa_class(codes, epoch_seconds)  # rounded by YASA to 4 decimals
    for key in ("SOL_5min", "WAKE", "ART", "UNS", "SFI"):
        expected = float(cls.get(key, 0.0))  # YASA omits ART/UNS when absent
        got = ours[key]
        assert (math.isnan(got) and math.isnan(expected)) or abs(got - expected) <= 5.1e-5, key


EDGE_CASES = {
    "yasa docstring night": ([0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 2, 3, 3, 4, 4, 4, 4, 0, 0], 30),
    "no sleep at all": ([0, 0, 0, -1, 0, -2], 30),
    "sleep to the last epoch": ([0, 0, 2, 2, 0, 3, 3, 4], 30),
    "sleep from the first epoch": ([1, 2, 2, 0, 0, 2, 4, 0], 30),
    "artefact inside and outside the SPT": ([-1, 0, 1, -1, 2, 0, -2, 2, 4, -1, 0], 30),
    "20-s epochs": ([0] * 7 + [1, 2] + [2] * 40 + [0, 0, 3, 3, 4, 4, 0], 20),
    "60-s epochs": ([0, 0, 1] + [2] * 12 + [0, 4, 4, 0, 0], 60),
    "only artefact and unscored": ([-1, -2, -1], 30),
    "no REM": ([0, 1, 2, 3, 2, 0], 30),
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_equals_yasa_on_edge_cases(name):
    codes, epoch_seconds = EDGE_CASES[name]
    _assert_matches_yasa(codes, epoch_seconds)


def test_equals_yasa_on_simulated_nights_with_artefacts():
    for h in simulate_nights(20, hours=2, artefact_rate=0.02, seed=11):
        _assert_matches_yasa(h.codes, 30)


@settings(max_examples=60, deadline=None)
@given(
    codes=st.lists(st.integers(-2, 4), min_size=2, max_size=120),
    epoch_seconds=st.sampled_from([20, 30, 60]),
)
def test_equals_yasa_property(codes, epoch_seconds):
    _assert_matches_yasa(codes, epoch_seconds)


def test_hand_counted_night():
    # epochs of 30 s:  W W N1 N2 N2 W W N2 ART N2 R R W
    # SOL: 2 epochs = 1.0 min; SPT: epochs 2..11 = 10 epochs = 5.0 min
    # WASO: epochs 5, 6 = 1.0 min; TST: N1 + 4 N2 + 2 R = 7 epochs = 3.5 min
    # AASM REM latency: first R at epoch 10, onset at epoch 2 -> 8 epochs = 4.0 min
    # awakenings inside SPT: one run (epochs 5-6); the final W is after the SPT
    # stage shifts: W>N1, N1>N2, N2>W, W>N2, (N2 ART N2: none), N2>R, R>W = 6
    h = Hypnogram(["W", "W", "N1", "N2", "N2", "W", "W", "N2", "ART", "N2", "R", "R", "W"])
    s = sleep_statistics(h)
    assert s["SOL"] == 1.0 and s["SPT"] == 5.0 and s["WASO"] == 1.0 and s["TST"] == 3.5
    assert s["Lat_REM_from_onset"] == 4.0
    assert s["n_awakenings"] == 1.0
    assert s["n_stage_shifts"] == 6.0
    assert s["ART"] == 0.5
    assert s["SE"] == pytest.approx(100 * 3.5 / 6.5)  # TIB = 13 epochs = 6.5 min


def test_latency_to_persistent_sleep_hand():
    # 30-s epochs: 10 min of persistent sleep = 20 consecutive sleep epochs.
    # W x4, N1 x5 (broken), W, N2 x19 (one short), ART, N2 x20 -> LPS starts at epoch 30
    stages = ["W"] * 4 + ["N1"] * 5 + ["W"] + ["N2"] * 19 + ["ART"] + ["N2"] * 20
    s = sleep_statistics(Hypnogram(stages))
    assert s["SOL"] == 2.0  # epoch 4
    assert s["LPS"] == 30 * 0.5  # epoch 30 = 15.0 min
    # 5-min persistence (10 epochs) is first met by the run starting at epoch 10
    assert s["SOL_5min"] == 10 * 0.5
    # with 60-s epochs, 10 min = 10 epochs: the run of 19 at epoch 10 qualifies
    assert sleep_statistics(Hypnogram(stages, epoch_seconds=60))["LPS"] == 10.0
    # no run long enough -> NaN (as YASA's SOL_5min when there is none)
    assert math.isnan(sleep_statistics(Hypnogram(["N2"] * 19 + ["W"]))["LPS"])


def test_awakening_minimum_length_hand():
    # 30-s epochs; wake runs inside SPT of 1, 2 and 4 epochs (0.5, 1, 2 min)
    stages = ["N2", "W", "N2", "W", "W", "N2", "W", "W", "W", "W", "N2"]
    assert sleep_statistics(Hypnogram(stages))["n_awakenings"] == 3
    assert sleep_statistics(Hypnogram(stages), min_awakening_minutes=1)["n_awakenings"] == 2
    assert sleep_statistics(Hypnogram(stages), min_awakening_minutes=1.5)["n_awakenings"] == 1


def test_no_sleep_is_nan_where_yasa_is_nan():
    s = sleep_statistics(Hypnogram(["W", "W", "W"]))
    assert s["TST"] == 0 and s["SPT"] == 0 and s["SE"] == 0
    for key in ("WASO", "SOL", "SME", "%N2", "LPS", "Lat_REM_from_onset"):
        assert math.isnan(s[key]), key
    assert s["n_awakenings"] == 0


def test_single_epoch_night():
    s = sleep_statistics(Hypnogram(["N2"]))
    assert s["TIB"] == 0.5 and s["TST"] == 0.5 and s["SOL"] == 0.0 and s["WASO"] == 0.0


_nights = st.lists(
    st.tuples(st.lists(st.integers(-2, 4), min_size=1, max_size=80), st.sampled_from([20, 30, 60])),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(nights=_nights)
def test_partitions_and_bounds(nights):
    hyps = [Hypnogram(c, epoch_seconds=e) for c, e in nights]
    table = night_table(hyps)
    for (codes, e), (_, row) in zip(nights, table.iterrows()):
        codes = np.asarray(codes)
        stage_sum = row["N1"] + row["N2"] + row["N3"] + row["REM"]
        assert stage_sum == pytest.approx(row["TST"])
        assert 0 <= row["SE"] <= 100
        assert row["WAKE"] + row["ART"] + row["UNS"] + row["TST"] == pytest.approx(row["TIB"])
        sleep = np.flatnonzero(codes > 0)
        if sleep.size:
            inside = codes[sleep[0] : sleep[-1] + 1]
            other = np.count_nonzero(inside < 0) * e / 60  # ART/UNS inside the SPT
            assert row["TST"] + row["WASO"] + other == pytest.approx(row["SPT"])
            assert row["SOL"] <= row["SOL_5min"] or math.isnan(row["SOL_5min"])
            assert row["SOL_5min"] <= row["LPS"] or math.isnan(row["LPS"])
            assert 0 <= row["SME"] <= 100
            # every awakening starts with a shift into wake, except that an artefact/unscored
            # run ends a wake run (fields.py) while stage shifts skip artefacts: W ART W is two
            # awakenings and no shift
            breaks = np.count_nonzero(np.diff((inside < 0).astype(int)) == 1)
            assert row["n_awakenings"] <= row["n_stage_shifts"] + breaks
        else:
            assert row["n_awakenings"] == 0


@settings(max_examples=40, deadline=None)
@given(nights=_nights)
def test_night_table_equals_per_night_statistics(nights):
    hyps = [Hypnogram(c, epoch_seconds=e, name=f"n{i}") for i, (c, e) in enumerate(nights)]
    table = night_table(hyps, min_awakening_minutes=1.0)
    for h in hyps:
        single = sleep_statistics(h, min_awakening_minutes=1.0)
        for key in FIELDS:
            assert _same(table.loc[h.name, key], single[key]), key


def test_night_table_labels_and_mapping():
    a, b = Hypnogram(["W", "N2"], name="x"), Hypnogram(["N2"])
    assert list(night_table([a, b]).index) == ["x", "night 1"]
    assert list(night_table({"first": a, "second": b}).index) == ["first", "second"]
    assert list(night_table(a).index) == ["x"]
    table = night_table([a, b])
    assert list(table.columns) == [*FIELDS, *META_FIELDS]
    assert isinstance(table, pd.DataFrame)


def test_bad_arguments_raise_typed_errors():
    with pytest.raises(HypnogramError, match="no nights"):
        night_table([])
    with pytest.raises(InputError, match="night 'x'.*expected a Hypnogram"):
        night_table({"x": [0, 1]})
    with pytest.raises(InputError, match="persistent_minutes must be > 0"):
        night_table(Hypnogram(["W"]), persistent_minutes=0)
    with pytest.raises(InputError, match="min_awakening_minutes must be >= 0"):
        sleep_statistics(Hypnogram(["W"]), min_awakening_minutes=-1)
    with pytest.raises(InputError, match="must be a Hypnogram"):
        sleep_statistics([0, 1, 2])
