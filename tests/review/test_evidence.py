"""Row classification and every conversion, against hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sleepmeta.errors import SpecError
from sleepmeta.review.analyse import analyse_outcome, load_tables
from sleepmeta.review.evidence import classify, round_half_up, split_shared_controls
from sleepmeta.review.spec import load_spec

from .conftest import make_review


def _rows(spec_path, key):
    spec = load_spec(spec_path)
    tables = load_tables(spec)
    return classify(spec.outcomes[key], tables[spec.outcomes[key].table], spec).set_index("study_id")


def test_ci_to_se_hand(review):
    r = _rows(review, "WASO").loc["A 2001"]
    # SE = (upper - lower) / (2 * 1.959964) = 20 / 3.919928 = 5.102134
    se = 20.0 / (2 * 1.959963984540054)
    assert r.status == "pooled" and r.form == "difference with 95% CI"
    assert r.yi == -20.0 and math.isclose(r.vi, se**2, rel_tol=1e-12)
    assert "95% CI" in r.conversion


def test_means_sds_to_md_hand(review):
    r = _rows(review, "WASO").loc["B 2002"]
    # MD = 40 - 55 = -15; var = 12^2/30 + 15^2/32 = 4.8 + 7.03125 = 11.83125
    assert r.yi == -15.0 and math.isclose(r.vi, 11.83125, rel_tol=1e-12)


def test_exact_p_with_n_to_se_hand(review):
    r = _rows(review, "WASO").loc["C 2003"]
    # t(1 - 0.04/2, df = 40 + 41 - 2 = 79); SE = 8 / t
    t = stats.t.isf(0.02, 79)
    assert 2.0537 < t < 2.1470  # sanity: between z(0.98) = 2.0537 and t(0.98, 30) = 2.1470
    assert math.isclose(r.vi, (8.0 / t) ** 2, rel_tol=1e-12)
    assert "79 df" in r.conversion


def test_exact_p_without_n_uses_normal(tmp_path):
    spec = make_review(tmp_path, eff_rows=[{"study_id": "P", "outcome": "WASO", "unit": "minutes",
                                            "diff": -0.74, "p_value": 0.0006}])
    r = _rows(spec, "WASO").loc["P"]
    # z(1 - 0.0003) = 3.431614; SE = 0.74 / 3.431614 = 0.215642
    assert math.isclose(math.sqrt(r.vi), 0.74 / stats.norm.isf(0.0003), rel_tol=1e-12)
    assert math.isclose(math.sqrt(r.vi), 0.215642, rel_tol=1e-5)
    assert "normal quantile" in r.conversion


def test_se_per_arm_to_sd(tmp_path):
    spec = make_review(tmp_path, eff_rows=[{"study_id": "S", "outcome": "WASO", "unit": "minutes",
                                            "mean_treat": 10.0, "se_treat": 1.0, "n_treat": 25,
                                            "mean_ctrl": 14.0, "se_ctrl": 2.0, "n_ctrl": 16}])
    r = _rows(spec, "WASO").loc["S"]
    # SD = SE*sqrt(n): 5 and 8; var(MD) = 25/25 + 64/16 = 1 + 4 = 5
    assert r.yi == -4.0 and math.isclose(r.vi, 5.0, rel_tol=1e-12)


def test_bound_only_not_poolable_keeps_direction(review):
    r = _rows(review, "WASO").loc["D 2004"]
    assert r.status == "reported, not poolable"
    assert "<0.001" in r.form and r.direction == -1 and not r.yi == r.yi  # yi is missing


def test_percent_times_n_rounded(review):
    r = _rows(review, "dizziness").loc["B 2002"]
    # 25% x 62 = 15.5 -> 16 (halves up); 8% x 61 = 4.88 -> 5
    assert (r.ai, r.n1i, r.ci, r.n2i) == (16.0, 62.0, 5.0, 61.0)
    assert "percent x n rounded to a count" in r.conversion


def test_round_half_up_is_not_bankers():
    assert [round_half_up(x) for x in (0.5, 1.5, 2.5, 2.49)] == [1, 2, 3, 2]


def test_zero_events_both_arms_not_poolable(tmp_path):
    spec = make_review(tmp_path, harm_rows=[
        {"study_id": "Z", "event": "dizziness", "events_treat": 0, "n_treat": 20,
         "events_ctrl": 0, "n_ctrl": 20}])
    r = _rows(spec, "dizziness").loc["Z"]
    assert r.status == "reported, not poolable" and "zero events in both arms" in r.form


def test_no_n_no_pooling(tmp_path):
    spec = make_review(tmp_path, harm_rows=[
        {"study_id": "N", "event": "dizziness", "pct_treat": 30.4, "pct_ctrl": 9.9}])
    r = _rows(spec, "dizziness").loc["N"]
    assert r.status == "reported, not poolable" and r.direction == 1


def test_published_summary_and_other_comparator(tmp_path):
    spec = make_review(tmp_path, harm_rows=[
        {"study_id": "Label pool", "event": "dizziness", "pct_treat": 23, "n_treat": 321,
         "pct_ctrl": 5, "n_ctrl": 459, "notes": "pooled across the label's trials"},
        {"study_id": "H", "event": "dizziness", "events_treat": 3, "n_treat": 20,
         "events_ctrl": 1, "n_ctrl": 20, "comparator": "alprazolam"}])
    rows = _rows(spec, "dizziness")
    assert rows.loc["Label pool"].status == "published summary"
    assert rows.loc["H"].status == "other comparator"


def test_shared_control_split_counts_and_md(tmp_path):
    spec = make_review(tmp_path, harm_rows=[
        {"study_id": "M", "event": "dizziness", "events_treat": 10, "n_treat": 100,
         "events_ctrl": 6, "n_ctrl": 90, "dose_min_mg": 150, "dose_max_mg": 150},
        {"study_id": "M", "event": "dizziness", "events_treat": 20, "n_treat": 100,
         "events_ctrl": 6, "n_ctrl": 90, "dose_min_mg": 600, "dose_max_mg": 600}])
    s = load_spec(spec)
    a = analyse_outcome(s, s.outcomes["dizziness"], load_tables(s))
    # Cochrane Handbook 23.3.4: control 6/90 split in two -> 3/45 per comparison
    assert a.pooled_rows["ci"].tolist() == [3.0, 3.0]
    assert a.pooled_rows["n2i"].tolist() == [45.0, 45.0]
    assert a.participants == 100 + 100 + 90  # the control group counted once
    # contrast-level rows: var scaled by (1/n1 + m/n2)/(1/n1 + 1/n2)
    frame = a.pooled_rows.assign(vi=[1.0, 1.0], conversion=["", ""], n_treat=[100, 100],
                                 n_ctrl=[90, 90])
    out = split_shared_controls(frame.assign(ci=np.nan), "MD", "x")
    assert np.allclose(out["vi"], (1 / 100 + 2 / 90) / (1 / 100 + 1 / 90))


def test_shared_control_without_n_is_spec_error(tmp_path):
    rows = [{"study_id": "Q", "outcome": "WASO", "unit": "minutes", "diff": d, "diff_ci_low": d - 5,
             "diff_ci_high": d + 5, "dose_min_mg": dose, "dose_max_mg": dose}
            for d, dose in ((-10.0, 300), (-12.0, 600))]
    spec = make_review(tmp_path, eff_rows=rows)
    s = load_spec(spec)
    with pytest.raises(SpecError, match=r"outcomes\.WASO.*'Q'"):
        analyse_outcome(s, s.outcomes["WASO"], load_tables(s))


def test_mixed_units_is_spec_error(tmp_path):
    rows = [{"study_id": "U1", "outcome": "WASO", "unit": "minutes", "diff": -10.0,
             "diff_ci_low": -15.0, "diff_ci_high": -5.0},
            {"study_id": "U2", "outcome": "WASO", "unit": "percent", "diff": -2.0,
             "diff_ci_low": -3.0, "diff_ci_high": -1.0}]
    spec = make_review(tmp_path, eff_rows=rows)
    with pytest.raises(SpecError, match=r"outcomes\.WASO.*mix incompatible.*'U2'"):
        _rows(spec, "WASO")


def test_mixed_binary_and_continuous_is_spec_error(tmp_path):
    rows = [{"study_id": "V1", "outcome": "WASO", "unit": "minutes", "diff": -10.0,
             "diff_ci_low": -15.0, "diff_ci_high": -5.0},
            {"study_id": "V2", "outcome": "WASO", "unit": "minutes", "events_treat": 3,
             "events_ctrl": 5, "n_treat": 20, "n_ctrl": 20}]
    spec = make_review(tmp_path, eff_rows=rows)
    with pytest.raises(SpecError, match=r"outcomes\.WASO.*'V2'"):
        _rows(spec, "WASO")


def test_reviewer_coded_direction(tmp_path):
    rows = [{"study_id": "W", "outcome": "WASO", "unit": "minutes"}]
    extra = """
    [[directions]]
    study = "W"
    outcome = "WASO"
    direction = "decrease"
    quote = "WASO decreased"
    """
    spec = make_review(tmp_path, eff_rows=rows, extra=extra)
    r = _rows(spec, "WASO").loc["W"]
    assert r.direction == -1 and "WASO decreased" in r.direction_source
