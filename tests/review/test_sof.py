"""Summary of findings: risks per 1,000 by hand, GRADE wording, the bundled table."""

from __future__ import annotations

import pytest

from sleepmeta.errors import InputError
from sleepmeta.review.display import per_thousand
from sleepmeta.review.sof import corresponding_risk, grade_statement


def test_risk_per_thousand_hand_calculation():
    # issue 15: control risk 86 per 1,000 and RR 3.52 give 86 x 3.52 = 302.72 -> 303 per 1,000
    r = corresponding_risk(0.086, 3.52, 1.5, 8.0)
    assert r["assumed"] == pytest.approx(86)
    assert r["corresponding"] == pytest.approx(302.72)
    assert per_thousand(r["corresponding"]) == "303"
    # CI: 86 x 1.5 = 129, 86 x 8.0 = 688; difference 302.72 - 86 = 216.72 more per 1,000
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(129), pytest.approx(688))
    assert r["difference"] == pytest.approx(216.72)
    # a risk cannot exceed 1,000 per 1,000: 0.5 x 3 = 1.5 is capped
    assert corresponding_risk(0.5, 1.5, 1.0, 3.0)["ci_high"] == 1000


@pytest.mark.parametrize("p", [0, 1, -0.1, 1.5])
def test_control_risk_outside_unit_interval(p):
    with pytest.raises(InputError, match=r"control risk must be in \(0, 1\)"):
        corresponding_risk(p, 2.0, 1.0, 3.0)


@pytest.mark.parametrize("cert, text", [
    ("high", "Drugx increases dizziness"),
    ("moderate", "Drugx probably increases dizziness"),
    ("low", "Drugx may increase dizziness"),
    ("very low", "The evidence is very uncertain about the effect of drugx on dizziness"),
])
def test_grade_wording_per_certainty(cert, text):
    assert grade_statement("Drugx", "dizziness", direction=1, certainty=cert) == text


def test_little_or_no_difference_wording():
    assert grade_statement("Drugx", "WASO", direction=1, certainty="moderate",
                           within_margin=True) == \
        "Drugx probably results in little to no difference in WASO"


def test_bundled_sof_dizziness_at_pooled_and_spec_risks(tmp_path):
    import math

    from sleepmeta.review.build import build_report

    p = build_report(None, tmp_path / "r", fmt="json").payload
    row = next(s for s in p["summary_of_findings"] if s["claim"] == "dizziness")
    risks = {q["basis"]: q for q in row["risks"]}
    base = p["outcomes"]["dizziness"]["baseline_risk"]["estimate"]
    rr = p["outcomes"]["dizziness"]["pooled"]["natural"]["estimate"]
    # pooled control risk 86 per 1,000 and RR 3.52: 86 x 3.52 = 303 per 1,000 (issue 15)
    assert per_thousand(1000 * base) == "86" and round(rr, 2) == 3.52
    assert per_thousand(risks["pooled control risk"]["corresponding"]) == "302"  # 85.70 x 3.523
    assert math.isclose(risks["pooled control risk"]["corresponding"], 1000 * base * rr)
    # the spec's low and high control risks: 50 and 110 per 1,000
    assert risks["low control risk"]["assumed"] == pytest.approx(50)
    assert risks["high control risk"]["corresponding"] == pytest.approx(110 * rr)
    assert row["participants"] == 605 and row["studies"] == 2   # 250+248+54+53
    assert row["certainty"] in ("high", "moderate", "low", "very low")
    assert row["statement"].startswith(("Pregabalin", "The evidence is very uncertain"))


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=80, deadline=None)
@given(st.floats(0.001, 0.999), st.floats(0.05, 20), st.floats(1.0, 5.0))
def test_corresponding_risk_invariants(p0, rr, spread):
    r = corresponding_risk(p0, rr, rr / spread, rr * spread)
    assert 0 <= r["ci_low"] <= r["corresponding"] <= r["ci_high"] <= 1000
    assert r["difference"] == pytest.approx(r["corresponding"] - r["assumed"])
    # RR = 1 changes nothing; RR > 1 raises the risk (up to the cap)
    assert corresponding_risk(p0, 1.0, 1.0, 1.0)["corresponding"] == pytest.approx(1000 * p0)
    if rr > 1:
        assert r["corresponding"] >= r["assumed"]
