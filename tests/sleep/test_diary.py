"""Consensus Sleep Diary endpoints: hand calculations from the CSD scoring rules."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sleepmeta.errors import ColumnError, DiaryError, InputError
from sleepmeta.sleep import diary_table


def _diary(**overrides):
    row = {"bed_time": "23:30", "try_time": "23:45", "sol_minutes": 25, "n_awakenings": 3,
           "waso_minutes": 40, "final_wake": "05:50", "out_of_bed": "07:00", "quality": 2}
    row.update(overrides)
    return pd.DataFrame([row], index=["s01 night 3"])


def test_night_across_midnight_hand():
    out = diary_table(_diary()).iloc[0]
    # TIB: 23:30 -> 07:00 = 7 h 30 min = 450 min
    assert out["TIB"] == 450
    # TST: (05:50 - 23:45) = 6 h 5 min = 365 min, minus SOL 25 and WASO 40 = 300 min
    assert out["TST"] == 300
    assert out["SE"] == pytest.approx(100 * 300 / 450)
    # EMA: 05:50 -> 07:00 = 70 min in bed after the final awakening
    assert out["EMA"] == 70
    assert (out["SOL"], out["WASO"], out["n_awakenings"], out["quality"]) == (25, 40, 3, 2)


def test_date_times_and_time_objects():
    d = _diary(bed_time=pd.Timestamp("2024-03-01 23:30"), try_time=pd.Timestamp("2024-03-01 23:45"),
               final_wake=pd.Timestamp("2024-03-02 05:50"), out_of_bed=pd.Timestamp("2024-03-02 07:00"))
    assert diary_table(d).iloc[0]["TST"] == 300  # same night as above
    t = _diary(bed_time=dt.time(23, 30), try_time=dt.time(23, 45), final_wake=dt.time(5, 50),
               out_of_bed=dt.time(7, 0))
    assert diary_table(t).iloc[0]["TIB"] == 450


def test_extra_columns_are_carried_and_night_column_names_errors():
    d = _diary().assign(subject="s01", arm="drug")
    out = diary_table(d)
    assert list(out.columns[:2]) == ["subject", "arm"]
    bad = _diary(sol_minutes=-5).assign(night="Tue 4 June")
    with pytest.raises(DiaryError, match=r"night 'Tue 4 June': sol_minutes must be >= 0, got -5"):
        diary_table(bad)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"out_of_bed": "05:00"}, r"times out of order .* more than 24 h"),
        ({"try_time": "23:00"}, r"times out of order"),
        ({"sol_minutes": 400}, r"sol_minutes 400 exceeds the 365 min"),
        ({"waso_minutes": 350}, r"sol_minutes \+ waso_minutes = 375 exceed .*overlapping times leave no sleep"),
        ({"n_awakenings": 0}, r"waso_minutes is 40 but n_awakenings is 0"),
        ({"n_awakenings": 1.5}, r"n_awakenings must be a whole number"),
        ({"quality": 7}, r"quality must be 1-5"),
        ({"quality": None}, r"quality is missing"),
        ({"final_wake": "25:10"}, r"final_wake '25:10' is not a clock time"),
        ({"bed_time": None}, r"bed_time is missing"),
    ],
)
def test_impossible_nights_name_the_night(overrides, message):
    with pytest.raises(DiaryError, match=r"night 's01 night 3': " + message):
        diary_table(_diary(**overrides))


def test_date_times_out_of_order_name_the_fields():
    d = _diary(bed_time=pd.Timestamp("2024-03-01 23:30"), try_time=pd.Timestamp("2024-03-01 23:45"),
               final_wake=pd.Timestamp("2024-03-02 07:50"), out_of_bed=pd.Timestamp("2024-03-02 07:00"))
    with pytest.raises(DiaryError, match=r"out_of_bed \(2024-03-02 07:00:00\) is before final_wake"):
        diary_table(d)


def test_missing_column():
    with pytest.raises(ColumnError, match="final_wake"):
        diary_table(_diary().drop(columns="final_wake"))


# --- hostile and odd inputs (issues 11 and 18): typed errors naming the night and the field


def _one_night(**changes):
    row = {"bed_time": "22:45", "try_time": "23:00", "sol_minutes": 30, "n_awakenings": 2,
           "waso_minutes": 20, "final_wake": "06:00", "out_of_bed": "06:30"}
    row.update(changes)
    return pd.DataFrame([row], index=["mon"])


@pytest.mark.parametrize("value", [pd.NaT, "", "nan", "NaT", None, float("nan"), "  "])
def test_missing_clock_times_name_the_night_and_field(value):
    with pytest.raises(DiaryError, match=r"night 'mon': try_time is missing"):
        diary_table(_one_night(try_time=value))


def test_timezone_aware_and_naive_mixed_is_a_diary_error():
    aware = pd.Timestamp("2024-01-01 22:45", tz="UTC")
    with pytest.raises(DiaryError, match=r"night 'mon': mix of time-zone-aware and naive"):
        diary_table(_one_night(bed_time=aware, try_time=pd.Timestamp("2024-01-01 23:00"),
                           final_wake=pd.Timestamp("2024-01-02 06:00"), out_of_bed=pd.Timestamp("2024-01-02 06:30")))
    # all aware is fine: TIB = 22:45 -> 06:30 = 465 min
    tz = [pd.Timestamp(t, tz="Europe/Berlin") for t in
          ("2024-01-01 22:45", "2024-01-01 23:00", "2024-01-02 06:00", "2024-01-02 06:30")]
    out = diary_table(_one_night(bed_time=tz[0], try_time=tz[1], final_wake=tz[2], out_of_bed=tz[3]))
    assert out.loc["mon", "TIB"] == 465.0


def test_mixed_clock_and_date_times_and_objects_are_diary_errors():
    with pytest.raises(DiaryError, match="mix of clock times and date-times"):
        diary_table(_one_night(bed_time=pd.Timestamp("2024-01-01 22:45")))
    with pytest.raises(DiaryError, match=r"bed_time \[1, 2\] is not a clock time"):
        diary_table(_one_night(bed_time=[1, 2]))


@pytest.mark.parametrize("max_hours", [float("nan"), float("inf"), 0, -5, True, "24"])
def test_max_hours_must_be_a_positive_finite_number(max_hours):
    with pytest.raises(InputError, match="max_hours must be a finite number of hours > 0"):
        diary_table(_one_night(), max_hours=max_hours)


def test_boolean_in_a_numeric_column_is_not_read_as_one():
    with pytest.raises(DiaryError, match=r"night 'mon': n_awakenings is a true/false value \(True\)"):
        diary_table(_one_night(n_awakenings=True))
