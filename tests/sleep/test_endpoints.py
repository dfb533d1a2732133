"""AASM-form and hypnotic-trial endpoints, lights off/on and sleep/wake series.

Every expected number is a hand count written out next to the night.
"""

from __future__ import annotations

import math

import pytest

from sleepmeta.errors import HypnogramError
from sleepmeta.sleep import Hypnogram, night_table, sleep_statistics
from sleepmeta.sleep.fields import KERNEL_FIELDS, META_FIELDS, STAGE_FIELDS, field_table

# index:  0  1  2    3    4    5  6  7    8  9  10 11   (30-s epochs: 0.5 min each)
NIGHT = ["W", "W", "N1", "N2", "N2", "W", "W", "N2", "R", "R", "W", "W"]


def test_aasm_waso_total_wake_bouts_and_thirds_by_hand():
    s = sleep_statistics(Hypnogram(NIGHT), persistent_minutes=1.5)
    assert s["TIB"] == 6.0 and s["SOL"] == 1.0  # 12 epochs; first sleep at epoch 2
    assert s["TST"] == 3.0  # N1 + 3 N2 + 2 R = 6 epochs
    assert s["WASO"] == 1.0  # YASA: wake between first and last sleep = epochs 5, 6
    assert s["WASO_AASM"] == 6.0 - 1.0 - 3.0  # TRT - SOL - TST: epochs 5, 6, 10, 11
    assert s["TWT"] == 3.0  # TIB - TST
    assert s["n_awakenings"] == 1 and s["n_wake_bouts"] == 2  # the final wake is a bout
    assert s["wake_bout_mean"] == 1.0  # bouts of 2 epochs
    assert s["sleep_bout_mean"] == 1.5 and s["sleep_bout_max"] == 1.5  # runs 2-4 and 7-9
    # thirds of 12 epochs: 0-3, 4-7, 8-11
    assert [s["TST_T1"], s["TST_T2"], s["TST_T3"]] == [1.0, 1.0, 1.0]  # {2,3} {4,7} {8,9}
    assert [s["WASO_T1"], s["WASO_T2"], s["WASO_T3"]] == [0.0, 1.0, 1.0]  # {} {5,6} {10,11}
    assert s["SFI"] == 2 / (3.0 / 60)  # sleep->W at 4->5 and 9->10, per hour of TST
    assert s["LPS"] == 1.0  # first run of >= 3 sleep epochs starts at epoch 2
    assert s["WASO_LPS"] == 2.0  # non-sleep from epoch 2 on: 5, 6, 10, 11


def test_minimum_bout_length_and_no_persistent_sleep():
    s = sleep_statistics(Hypnogram(NIGHT), min_awakening_minutes=1.5)  # 3 epochs: no bout is that long
    assert s["n_wake_bouts"] == 0 and math.isnan(s["wake_bout_mean"]) and s["n_awakenings"] == 0
    s = sleep_statistics(Hypnogram(NIGHT), min_awakening_minutes=1.0)  # 2 epochs: both count
    assert s["n_wake_bouts"] == 2
    assert math.isnan(s["LPS"]) and math.isnan(s["WASO_LPS"])  # no 10 min of sleep
    row = night_table(Hypnogram(NIGHT)).iloc[0]
    assert "no run of persistent sleep" in row["undefined"]


def test_thirds_when_epochs_do_not_divide_by_three():
    # 7 epochs: epoch j is in third floor(3j/7): 0,0,0,1,1,2,2
    s = sleep_statistics(Hypnogram(["N2"] * 7, epoch_seconds=60))
    assert [s["TST_T1"], s["TST_T2"], s["TST_T3"]] == [3.0, 2.0, 2.0]


def test_artefact_after_onset_counts_in_aasm_waso_not_in_yasa_waso():
    s = sleep_statistics(Hypnogram(["W", "N2", "ART", "N2", "UNS"], epoch_seconds=60))
    assert s["WASO"] == 0.0  # no wake epoch inside the SPT
    assert s["WASO_AASM"] == 5 - 1 - 2  # TRT - SOL - TST counts ART and UNS


LIGHTS_NIGHT = ["UNS", "UNS", "W", "W", "N2", "N2", "N2", "W", "UNS", "UNS"]


def test_lights_period_crops_the_night_as_aasm_reports_it():
    h = Hypnogram(LIGHTS_NIGHT, lights_off=60, lights_on=240)  # epochs 2..7
    row = night_table(h).iloc[0]
    inside = night_table(Hypnogram(LIGHTS_NIGHT[2:8])).iloc[0]
    assert row["TIB"] == 3.0 and row["SOL"] == 1.0 and row["TST"] == 1.5 and row["SE"] == 50.0
    assert row["UNS"] == 0.0 and row["lights"] == "argument"
    assert row["lights_off"] == 1.0 and row["lights_on"] == 4.0
    for key in KERNEL_FIELDS:
        assert (row[key] == inside[key]) or (math.isnan(row[key]) and math.isnan(inside[key])), key
    assert night_table(Hypnogram(LIGHTS_NIGHT)).iloc[0]["lights"] == "none (whole recording)"


def test_lights_as_clock_times_cross_midnight():
    h = Hypnogram(["W"] * 240, start="2024-01-01 23:30:00", lights_off="23:40", lights_on="00:10")
    assert (h.lights_off, h.lights_on) == (600.0, 2400.0)
    assert night_table(h).iloc[0]["TIB"] == 30.0


@pytest.mark.parametrize(
    ("off", "on", "message"),
    [
        (240, 60, r"lights_on \(60 s\) is not after lights_off \(240 s\)"),
        (0, 400, r"lights_on at 400 s is outside the recording \(0 to 300 s\)"),
        (-30, None, r"lights_off at -30 s is outside the recording"),
        ("23:00", None, "lights_off '23:00' is a clock time but the night has no start time"),
        (float("nan"), None, "lights_off must be finite"),
        (10, 20, "no epoch starts between"),
    ],
)
def test_bad_lights_are_typed_errors_naming_the_night(off, on, message):
    with pytest.raises(HypnogramError, match="night 'n1': " + message):
        Hypnogram(LIGHTS_NIGHT, name="n1", lights_off=off, lights_on=on)


def test_sleep_wake_series_equals_yasa_two_stage_and_says_what_is_undefined():
    yasa = pytest.importorskip("yasa")
    values = 10 * ["W"] + 40 * ["S"] + 5 * ["W"] + 40 * ["S"] + 9 * ["W"]  # YASA's own docstring night
    row = night_table(Hypnogram(values, epoch_seconds=15)).iloc[0]
    theirs = yasa.Hypnogram(values, freq="15s", n_stages=2).sleep_statistics()
    for key, value in theirs.items():
        assert abs(row[key] - value) <= 5.1e-5 * max(1, abs(value)), key  # YASA rounds to 4 decimals
    assert row["staging"] == "sleep/wake"
    for key in STAGE_FIELDS:  # every stage endpoint is undefined for a sleep/wake series
        assert math.isnan(row[key]), key
    assert row["WASO_AASM"] == (5 + 9) * 0.25 and "sleep/wake series" in row["undefined"]


def test_field_table_documents_every_column():
    table = night_table(Hypnogram(NIGHT))
    doc = field_table()
    assert list(doc["name"]) == list(table.columns) == [*KERNEL_FIELDS, *META_FIELDS]
    assert doc["unit"].str.len().min() > 0 and doc["definition"].str.len().min() > 10
    assert doc["source"].str.len().min() > 0


def test_no_sleep_night_says_why():
    row = night_table(Hypnogram(["W", "W", "ART"])).iloc[0]
    assert math.isnan(row["WASO_AASM"]) and row["TWT"] == 1.5 and row["n_wake_bouts"] == 0
    assert row["undefined"].startswith("no sleep")
    assert night_table(Hypnogram(["W", "N2", "N2", "N2"])).iloc[0]["undefined"].startswith("no REM")


def test_numba_is_not_imported_by_the_package_import():
    import subprocess
    import sys

    code = "import sys, sleepmeta.sleep; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
