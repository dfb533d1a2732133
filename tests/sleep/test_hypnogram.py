"""Hypnogram construction and label parsing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sleepmeta.errors import HypnogramError
from sleepmeta.sleep import Hypnogram
from sleepmeta.sleep.labels import to_codes, to_labels


def test_aasm_rk_yasa_and_sleep_edf_labels():
    # codes from YASA's documented mapping: -2 UNS, -1 ART, 0 W, 1 N1, 2 N2, 3 N3, 4 REM
    aasm = ["W", "N1", "N2", "N3", "R", "REM", "wake"]
    assert to_codes(aasm).tolist() == [0, 1, 2, 3, 4, 4, 0]
    rk = ["S1", "S2", "S3", "S4", "MT"]  # R&K: S3 and S4 are both N3; movement time is artefact
    assert to_codes(rk).tolist() == [1, 2, 3, 3, -1]
    edf = ["Sleep stage W", "Sleep stage 1", "Sleep stage 4", "Sleep stage R",
           "Sleep stage ?", "Movement time"]
    assert to_codes(edf).tolist() == [0, 1, 3, 4, -2, -1]
    assert to_codes([-2, -1, 0, 1, 2, 3, 4]).tolist() == [-2, -1, 0, 1, 2, 3, 4]
    assert to_codes(np.array([0.0, 4.0])).tolist() == [0, 4]
    assert to_codes(["?", "unscored", "ART", "artifact", " n2 "]).tolist() == [-2, -2, -1, -1, 2]


@pytest.mark.parametrize(
    ("stages", "epoch", "value"),
    [
        (["W", "N2", "N5"], 2, "'N5'"),
        ([0, 1, 5], 2, "5"),
        ([0.0, 1.5], 1, "1.5"),
        (["W", None, "N2"], 1, "None"),
        ([0, np.nan], 1, "nan"),
        (["W", True], 1, "True"),
    ],
)
def test_unknown_label_names_epoch_and_value(stages, epoch, value):
    with pytest.raises(HypnogramError, match=rf"epoch {epoch}: unknown sleep stage {value}"):
        Hypnogram(stages)


def test_error_names_the_night():
    with pytest.raises(HypnogramError, match=r"night 's01 n2': epoch 0: unknown sleep stage 'X'"):
        Hypnogram(["X"], name="s01 n2")


def test_empty_and_bad_epoch_length():
    with pytest.raises(HypnogramError, match="empty"):
        Hypnogram([])
    with pytest.raises(HypnogramError, match="epoch_seconds must be > 0"):
        Hypnogram(["W"], epoch_seconds=0)
    with pytest.raises(HypnogramError, match="epoch_seconds must be a positive number"):
        Hypnogram(["W"], epoch_seconds="30")
    with pytest.raises(HypnogramError, match="start"):
        Hypnogram(["W"], start="not a time")
    with pytest.raises(HypnogramError, match="one-dimensional"):
        Hypnogram([[0, 1], [1, 2]])


def test_properties_and_frame():
    h = Hypnogram(["W", "S2", "REM"], epoch_seconds=20, start="2024-01-01 23:00", name="a")
    assert h.labels.tolist() == ["W", "N2", "R"]
    assert h.start == pd.Timestamp("2024-01-01 23:00")
    assert h.duration_minutes == 1.0  # 3 epochs x 20 s
    frame = h.to_frame()
    assert frame["time"].iloc[2] == pd.Timestamp("2024-01-01 23:00:40")
    assert len(h) == 3 and h == Hypnogram([0, 2, 4], epoch_seconds=20, start="2024-01-01 23:00")
    assert h != Hypnogram([0, 2, 4])
    assert not h.codes.flags.writeable
    assert h.rename("b").name == "b" and h.rename("b") == h
    assert to_labels(h.codes).tolist() == ["W", "N2", "R"]
