"""Arms sharing a control group: the multilevel model is the review's primary analysis."""

from __future__ import annotations

import numpy as np
import pytest

from sleepmeta.errors import SpecError
from sleepmeta.review.analyse import analyse
from sleepmeta.review.methods import methods_payload
from sleepmeta.review.spec import load_spec
from tests.review.conftest import HARM_ROWS, make_review

# study A has two dose arms against one placebo group of 100 (5 events)
MULTI_ARM = HARM_ROWS + [{"study_id": "A 2001", "event": "dizziness", "events_treat": 30,
                          "n_treat": 100, "events_ctrl": 5, "n_ctrl": 100, "dose_min_mg": 600,
                          "dose_max_mg": 600}]


def _analysis(tmp_path, extra=""):
    spec = load_spec(make_review(tmp_path / "rev", harm_rows=MULTI_ARM, extra=extra))
    return spec, analyse(spec)


def test_multilevel_is_primary_and_split_is_sensitivity(tmp_path):
    from sleepmeta.pooling.multilevel import meta_analysis_mv, shared_control_vcov

    spec, ra = _analysis(tmp_path)
    a = ra.outcomes["dizziness"]
    assert spec.shared_control == "multilevel"
    assert a.multilevel is not None and a.result is not None  # split kept as sensitivity
    assert any("multilevel model" in n for n in a.notes)
    # the same model by hand: log RR of each arm, Gleser & Olkin covariance 1/5 - 1/100
    rows = a.pooled_rows
    yi = np.log((rows["ai"] / rows["n1i"]) / (rows["ci"] / rows["n2i"]))  # split keeps the ratio
    assert np.allclose(np.sort(a.multilevel.model.y), np.sort(yi.to_numpy()))
    V = a.multilevel.model.V
    both = np.flatnonzero(rows["study_id"].to_numpy() == "A 2001")
    assert V[both[0], both[1]] == pytest.approx(1 / 5 - 1 / 100)
    verdict = next(c for c in ra.claims if c["claim"].id == "dizzy")["per_outcome"][0]
    assert verdict["verdict"] in ("supported", "limited evidence", "uncertain")
    assert "Gleser & Olkin 2009" in str(methods_payload(ra))
    assert meta_analysis_mv is not None and shared_control_vcov is not None


def test_sensitivity_compares_split_and_multilevel(tmp_path):
    from sleepmeta.review.sensitivity import sensitivity_analyses

    spec, ra = _analysis(tmp_path)
    a = ra.outcomes["dizziness"]
    rows = sensitivity_analyses(a, spec, None)
    (ml,) = [r for r in rows if r["analysis"].startswith("shared controls")]
    assert ml["k"] == a.multilevel.k and ml["estimate"] == pytest.approx(a.multilevel.estimate)
    assert ml["natural"]["estimate"] == pytest.approx(np.exp(a.multilevel.estimate))
    spec2, ra2 = _analysis(tmp_path / "x", extra="")
    one = ra2.outcomes["WASO"]  # no arms share a control there
    (row,) = [r for r in sensitivity_analyses(one, spec2, None)
              if r["analysis"].startswith("shared controls")]
    assert row["k"] is None and "nothing to compare" in row["note"]


def test_split_option(tmp_path):
    spec, ra = _analysis(tmp_path, extra="")
    spec2 = load_spec(make_review(tmp_path / "rev2", harm_rows=MULTI_ARM, spec_text=(
        tmp_path / "rev" / "review.toml").read_text().replace(
            'test = "z"', 'test = "z"\nshared_control = "split"')))
    ra2 = analyse(spec2)
    assert spec2.shared_control == "split"
    assert ra2.outcomes["dizziness"].multilevel is None
    assert "analysis.shared_control = 'split'" in str(methods_payload(ra2))


def test_bad_option_is_spec_error(tmp_path):
    text = (make_review(tmp_path / "rev", harm_rows=MULTI_ARM)).read_text().replace(
        'test = "z"', 'test = "z"\nshared_control = "average"')
    path = tmp_path / "rev" / "review.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match="shared_control"):
        load_spec(path)


def test_mean_differences_need_the_control_sd(tmp_path):
    from tests.review.conftest import EFF_ROWS

    # study B prints arm means and SDs for two doses against one placebo group (SD 15, n 32)
    extra_arm = {"study_id": "B 2002", "outcome": "WASO", "unit": "minutes", "mean_treat": 35.0,
                 "sd_treat": 11.0, "n_treat": 31, "mean_ctrl": 55.0, "sd_ctrl": 15.0,
                 "n_ctrl": 32, "dose_min_mg": 600, "dose_max_mg": 600}
    spec = load_spec(make_review(tmp_path / "rev", eff_rows=EFF_ROWS + [extra_arm]))
    a = analyse(spec).outcomes["WASO"]
    assert a.multilevel is not None
    V = a.multilevel.model.V
    both = np.flatnonzero(a.pooled_rows["study_id"].to_numpy() == "B 2002")
    assert V[both[0], both[1]] == pytest.approx(15.0**2 / 32)  # sd_c^2 / n_c
    # without the control SD the covariance is unknown: the split analysis is primary
    no_sd = {k: v for k, v in extra_arm.items() if k not in ("mean_treat", "sd_treat",
                                                             "mean_ctrl", "sd_ctrl")}
    no_sd.update(diff=-18.0, diff_ci_low=-28.0, diff_ci_high=-8.0)
    first = {**EFF_ROWS[0], "dose_min_mg": 150, "dose_max_mg": 150}
    spec = load_spec(make_review(tmp_path / "rev2", eff_rows=[first, {**no_sd,
                                 "study_id": "A 2001", "n_ctrl": 50}] + EFF_ROWS[1:]))
    a = analyse(spec).outcomes["WASO"]
    assert a.multilevel is None
    assert any("SD or n is not printed" in n for n in a.notes)
