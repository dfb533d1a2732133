"""Actigraphy / consumer sleep-wake series into the night table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sleepmeta.errors import HypnogramError, InputError
from sleepmeta.sleep import night_table
from sleepmeta.sleep.sleep_wake import from_sleep_wake, read_sleep_wake


def test_pyactigraphy_style_series_at_60_s():
    index = pd.date_range("2024-01-01 23:00", periods=8, freq="60s")
    series = pd.Series([0, 0, 1, 1, 0, 1, 1, 0], index=index)  # 1 = sleep here, said explicitly
    h = from_sleep_wake(series, sleep=1, name="watch")
    assert h.epoch_seconds == 60 and h.start == index[0] and h.is_sleep_wake
    row = night_table(h).iloc[0]
    # hand counts: TIB 8, TST 4, SOL 2, WASO (between first and last sleep) 1, final wake 1
    assert (row["TIB"], row["TST"], row["SOL"], row["WASO"], row["WASO_AASM"]) == (8, 4, 2, 1, 2)
    assert row["SE"] == 50 and row["n_wake_bouts"] == 2 and row["staging"] == "sleep/wake"
    assert math.isnan(row["N2"]) and math.isnan(row["Lat_REM"])
    inverted = night_table(from_sleep_wake(series, sleep=0)).iloc[0]
    assert inverted["TST"] == 4 and inverted["SOL"] == 0  # 0 = sleep: the first epoch sleeps


def test_numbers_without_their_meaning_are_refused():
    with pytest.raises(HypnogramError, match=r"epoch 0: '0' is a number; pass sleep=1"):
        from_sleep_wake([0, 1], epoch_seconds=30)
    with pytest.raises(InputError, match="epoch_seconds is needed"):
        from_sleep_wake(["W", "S"])
    with pytest.raises(InputError, match="sleep must be 0 or 1"):
        from_sleep_wake([0, 1], sleep=2, epoch_seconds=30)


def test_device_csv_with_times_and_gaps(tmp_path):
    p = tmp_path / "ring.csv"
    p.write_text("timestamp,state\n2024-01-01T23:00:00,awake\n2024-01-01T23:00:15,asleep\n"
                 "2024-01-01T23:00:30,\n2024-01-01T23:00:45,asleep\n")
    h = read_sleep_wake(p)
    assert h.epoch_seconds == 15 and h.labels.tolist() == ["W", "S", "UNS", "S"]
    p.write_text("timestamp,state\n2024-01-01T23:00:00,awake\n2024-01-01T23:00:15,asleep\n"
                 "2024-01-01T23:00:45,asleep\n")
    with pytest.raises(HypnogramError, match=r"line 4: time steps by 30 s, not 15 s"):
        read_sleep_wake(p)
    p.write_text("time,state\n2024-01-01T23:00:00,awake\n2024-01-01T23:00:15,dozing\n")
    with pytest.raises(HypnogramError, match=r"line 3: 'dozing' is not sleep or wake"):
        read_sleep_wake(p)


def test_million_epoch_series_reads_quickly(tmp_path):
    p = tmp_path / "long.csv"
    rng = np.random.default_rng(1)
    p.write_text("state\n" + "\n".join(np.where(rng.random(1_000_000) < 0.7, "S", "W")) + "\n")
    h = read_sleep_wake(p, epoch_seconds=1)
    assert h.n_epochs == 1_000_000
