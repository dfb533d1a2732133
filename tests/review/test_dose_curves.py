"""Review dose curves: spec section, arms from tables, a pooled table as one study, verdict."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sleepmeta.errors import SpecError
from sleepmeta.review.analyse import analyse, load_tables
from sleepmeta.review.dose_curves import dose_arms
from sleepmeta.review.evidence import classify
from sleepmeta.review.spec import load_spec

from .conftest import make_review

DOSE = """
[dose_response]
outcomes = ["dizziness"]
model = "linear"
doses = [150, 300]
"""
DOSE_CLAIM = """
[[claims]]
id = "dose"
text = "dizziness grows with dose"
outcomes = ["dizziness"]
expects = "dose"
"""
# Two trials with fixed-dose arms against one placebo group each (made-up counts)
# and a pooled "label table" (notes say pooled) with percentages and n.
ARMS = [
    {"study_id": "T1", "event": "dizziness", "dose_min_mg": d, "dose_max_mg": d,
     "events_treat": e, "n_treat": 100, "events_ctrl": 5, "n_ctrl": 100}
    for d, e in ((150, 10), (300, 18), (600, 30))
] + [
    {"study_id": "T2", "event": "dizziness", "dose_min_mg": d, "dose_max_mg": d,
     "events_treat": e, "n_treat": 80, "events_ctrl": 4, "n_ctrl": 80}
    for d, e in ((300, 12), (600, 21))
] + [
    {"study_id": "Label pool", "event": "dizziness", "dose_min_mg": d, "dose_max_mg": d,
     "pct_treat": p, "n_treat": 200, "pct_ctrl": 4.5, "n_ctrl": 300,
     "notes": "pooled across the label's trials"}
    for d, p in ((150, 9.0), (300, 20.5))
] + [
    {"study_id": "Flex", "event": "dizziness", "dose_min_mg": 150, "dose_max_mg": 600,
     "events_treat": 20, "n_treat": 90, "events_ctrl": 6, "n_ctrl": 90},
]


def test_pooled_table_is_one_study_with_shared_reference(tmp_path):
    spec = load_spec(make_review(tmp_path / "r", harm_rows=ARMS, extra=DOSE))
    rows = classify(spec.outcomes["dizziness"], load_tables(spec)["harms"], spec)
    arms, notes = dose_arms(rows)
    per = arms.groupby("study", sort=False)["dose"].apply(list).to_dict()
    assert per == {"T1": [0, 150, 300, 600], "T2": [0, 300, 600], "Label pool": [0, 150, 300]}
    label = arms[arms.study == "Label pool"]
    # percent x n rounded halves up: 4.5% of 300 = 13.5 -> 14; 9% of 200 = 18; 20.5% -> 41
    assert label["events"].tolist() == [14, 18, 41]
    assert label["published_summary"].all() and not arms[arms.study == "T1"].published_summary.any()
    assert "Flex" not in per  # flexible-dose arm has no single dose


def test_curve_in_analysis_and_dose_verdict(tmp_path):
    spec = load_spec(make_review(tmp_path / "r", harm_rows=ARMS, extra=DOSE + DOSE_CLAIM))
    ra = analyse(spec)
    curve = ra.outcomes["dizziness"].dose_curve
    assert curve.result is not None and curve.k == 3 and curve.result.n_contrasts == 7
    assert [p["dose"] for p in curve.predictions] == [150, 300]
    p0 = curve.baseline.estimate
    first = curve.predictions[0]
    assert first["per_1000"] == pytest.approx(1000 * p0 * (first["ratio"] - 1), rel=1e-9)
    claim = next(c for c in ra.claims if c["claim"].id == "dose")
    assert claim["verdict"] == "supported"
    assert claim["reason"].startswith("dose curve (linear): risk ratio 300 vs 150")


@pytest.mark.parametrize("extra, match", [
    ('[dose_response]\noutcomes = ["nope"]\n', "dose_response.outcomes: unknown outcome 'nope'"),
    ('[dose_response]\noutcomes = ["WASO"]\n', "need arm counts"),
    ('[dose_response]\noutcomes = ["dizziness"]\nknots = [300, 75, 600]\n', "increasing knots"),
    ('[dose_response]\noutcomes = ["dizziness"]\nmodel = "cubic"\n', "unknown value 'cubic'"),
    ('[dose_response]\noutcomes = ["dizziness"]\ndoses = [-1]\n', "doses >= 0"),
])
def test_spec_errors_name_the_key(tmp_path, extra, match):
    with pytest.raises(SpecError, match=match):
        load_spec(make_review(tmp_path / "r", extra=extra))


def test_bundled_review_fits_label_dose_tables():
    from sleepmeta.data import data_path

    ra = analyse(load_spec(data_path("pregabalin_review.toml")))
    for key in ("dizziness", "somnolence"):
        c = ra.outcomes[key].dose_curve
        assert c.result is not None and c.k == 1  # the label's DPN table is one study
        assert c.arms["published_summary"].all()
        assert all(math.isfinite(p["per_1000"]) for p in c.predictions)
    claim = next(c for c in ra.claims if c["claim"].id == "dose")
    assert claim["verdict"] == "limited evidence"  # one study, even with a clear curve
