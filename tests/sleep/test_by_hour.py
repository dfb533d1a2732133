"""WASO and TST hour by hour: hand counts on constructed nights, and sums equal the night table."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmeta.errors import InputError
from sleepmeta.sleep import Hypnogram, hourly_table, night_table


def test_hours_by_hand_with_lights_and_a_partial_last_hour():
    # 10-min epochs: U | W W N1 N2 N2 W | R R W ART N2 | N2 W   (lights from epoch 1 to 14)
    stages = ["UNS", "W", "W", "N1", "N2", "N2", "W", "R", "R", "W", "ART", "N2", "N2", "W"]
    h = Hypnogram(stages, epoch_seconds=600, name="n").with_lights(600, 14 * 600)
    t = hourly_table(h)
    # hour 1 = epochs 1-6 (W W N1 N2 N2 W): TST 30, wake after onset = the last W: 10, WAKE 30
    # hour 2 = epochs 7-12 (R R W ART N2 N2): TST 40, WASO_AASM = W + ART = 20, WAKE 10
    # hour 3 = epoch 13 (W): 10 min long, WASO_AASM 10
    assert t["hour"].tolist() == [1, 2, 3]
    assert t["minutes"].tolist() == [60.0, 60.0, 10.0]
    assert t["TST"].tolist() == [30.0, 40.0, 0.0]
    assert t["WASO_AASM"].tolist() == [10.0, 20.0, 10.0]
    assert t["WAKE"].tolist() == [30.0, 10.0, 10.0]


def test_no_sleep_has_no_waso_and_bad_input_is_typed():
    t = hourly_table({"x": Hypnogram(["W"] * 130)})  # 65 min of wake
    assert t["night"].tolist() == ["x", "x"] and t["WASO_AASM"].tolist() == [0.0, 0.0]
    assert t["minutes"].tolist() == [60.0, 5.0] and t["WAKE"].sum() == 65.0
    with pytest.raises(InputError, match="night 'night 1': expected a Hypnogram, got str"):
        hourly_table([Hypnogram(["W"]), "N2"])


_stage = st.sampled_from([-2, -1, 0, 1, 2, 3, 4])


@settings(max_examples=60, deadline=None)
@given(codes=st.lists(_stage, min_size=1, max_size=400), step=st.sampled_from([20.0, 30.0, 60.0, 450.0]))
def test_hours_add_up_to_the_night(codes, step):
    h = Hypnogram(codes, epoch_seconds=step)
    t = hourly_table(h)
    row = night_table(h).iloc[0]
    assert np.isclose(t["minutes"].sum(), row["TIB"]) and np.isclose(t["TST"].sum(), row["TST"])
    assert np.isclose(t["WAKE"].sum(), row["WAKE"])
    aasm = 0.0 if np.isnan(row["WASO_AASM"]) else row["WASO_AASM"]
    assert np.isclose(t["WASO_AASM"].sum(), aasm)
    assert (t["minutes"] <= 60.0 + 1e-9).all() and (t["TST"] + t["WASO_AASM"] <= t["minutes"] + 1e-9).all()
