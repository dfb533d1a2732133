"""YASA-equality without YASA installed: outputs pinned by tests/data/make_yasa_references.py.

The JSON holds each night's stage codes and what YASA (version and date in
the file) computed from them; these tests compare sleepmeta to it. The live
comparisons in test_statistics.py / test_architecture.py run when YASA is
installed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from sleepmeta.sleep import Hypnogram, night_table, transition_matrix

REF = json.loads((Path(__file__).parents[1] / "data" / "yasa_references.json").read_text())
NIGHTS = {n["name"]: n for n in REF["nights"]}
_YASA_NAME = {"UNS": "UNS", "ART": "ART", "W": "WAKE", "N1": "N1", "N2": "N2", "N3": "N3", "R": "REM"}


def _equal(ours, theirs, tol):
    if theirs is None:
        return math.isnan(ours)
    return abs(ours - theirs) <= tol * max(1.0, abs(theirs))


@pytest.mark.parametrize("name", list(NIGHTS))
def test_sleep_statistics_equal_pinned_yasa(name):
    night = NIGHTS[name]
    row = night_table(Hypnogram(night["codes"], epoch_seconds=night["epoch_seconds"])).iloc[0]
    for key, value in night["sleep_statistics"].items():
        assert _equal(float(row[key]), value, 1e-9), (key, row[key], value)
    for key, value in night["hypnogram_sleep_statistics"].items():  # YASA rounds these to 4 decimals
        assert _equal(float(row[key]), value, 5.1e-5), (key, row[key], value)


@pytest.mark.parametrize("name", list(NIGHTS))
def test_transition_counts_equal_pinned_yasa(name):
    night = NIGHTS[name]
    counts, _ = transition_matrix(Hypnogram(night["codes"], epoch_seconds=night["epoch_seconds"]))
    assert [_YASA_NAME[s] for s in counts.index] == night["transition_counts"]["stages"]
    np.testing.assert_array_equal(counts.to_numpy(), np.array(night["transition_counts"]["counts"]))


@pytest.mark.parametrize("k", range(len(REF["two_stage"])))
def test_two_stage_nights_equal_pinned_yasa(k):
    night = REF["two_stage"][k]
    labels = ["S" if x == "SLEEP" else "W" for x in night["labels"]]
    row = night_table(Hypnogram(labels, epoch_seconds=night["epoch_seconds"])).iloc[0]
    for key, value in night["sleep_statistics"].items():
        assert _equal(float(row[key]), value, 5.1e-5), (key, row[key], value)
