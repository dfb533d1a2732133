"""Tests for sleepmeta.effects.result.EffectSizes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.stats import norm

from sleepmeta.effects import effect_size


def test_to_frame_columns_and_wald_interval():
    es = effect_size("COR", r=[0.3, 0.5], n=[50, 20], labels=["A", "B"])
    frame = es.to_frame()
    assert list(frame.columns) == ["study", "yi", "vi", "sei", "ci_low", "ci_high", "corrected"]
    # hand calculation: sei = sqrt(vi), CI = yi -+ 1.959964 sei
    sei = np.sqrt((1 - 0.09) ** 2 / 49)
    assert frame.loc[0, "sei"] == pytest.approx(sei)
    assert frame.loc[0, "ci_low"] == pytest.approx(0.3 - norm.ppf(0.975) * sei)
    assert frame.loc[0, "ci_high"] == pytest.approx(0.3 + 1.959963984540054 * sei)
    assert frame["corrected"].tolist() == [False, False]


def test_frozen_and_len():
    es = effect_size("COR", r=[0.3], n=[50])
    assert len(es) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        es.measure = "ZCOR"


def test_summary_shows_correction_and_dropped():
    es = effect_size("RR", events1=[0, 3, None], n1=[10, 10, 10], events2=[2, 4, 1],
                     n2=[10, 10, 10], labels=["Roth 2012", "B", "C"], missing="drop")
    text = es.summary()
    assert "RR, k = 2" in text
    assert "Roth 2012" in text and "continuity correction: 0.5" in text
    assert "Dropped (incomplete): C" in text
    assert repr(es) == text
    assert es.to_frame()["corrected"].tolist() == [True, False]
