"""Few-study inference side by side and the sensitivity analyses, on a constructed review."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sleepmeta.pooling import meta_analysis
from sleepmeta.review.analyse import analyse
from sleepmeta.review.sensitivity import p_bound_effect
from sleepmeta.review.spec import load_spec

from .conftest import SPEC, make_review

ROB = ("study_id,randomisation,overall,source\n"
       "A 2001,high,high,https://example.org/a\n")


def _review(tmp_path, rob=True):
    text = SPEC.format(extra="")
    if rob:
        text = text.replace('harms = ["harm.csv"]', 'harms = ["harm.csv"]\nrisk_of_bias = "rob.csv"')
    spec = make_review(tmp_path / "rev", spec_text=text)
    (spec.parent / "rob.csv").write_text(ROB, encoding="utf-8")
    return analyse(load_spec(spec))


def test_p_bound_conservative_se_by_hand():
    # Cochrane Handbook 6.3.2: p < 0.001 taken as p = 0.001; with n 40 + 41: t(0.9995, 79)
    yi, vi, how = p_bound_effect({"diff": -25.0, "p_value_text": "<0.001", "n_treat": 40,
                                  "n_ctrl": 41})
    assert yi == -25.0
    assert math.sqrt(vi) == pytest.approx(25 / stats.t.isf(0.0005, 79), rel=1e-12)
    assert p_bound_effect({"diff": -25.0, "p_value_text": "not significant"}) is None
    assert p_bound_effect({"diff": None, "p_value_text": "<0.001"}) is None


def test_sensitivity_entries_on_constructed_review(tmp_path):
    ra = _review(tmp_path)
    waso = {e["analysis"]: e for e in ra.outcomes["WASO"].sensitivity}
    # D 2004 prints -25 with p < 0.001 and no n: SE = 25 / z(0.9995)
    se_a = 20 / (2 * 1.959963984540054)
    se_c = 8 / stats.t.isf(0.02, 79)
    se_d = 25 / stats.norm.isf(0.0005)
    yi = [-20.0, -15.0, -8.0, -25.0]
    vi = [se_a**2, 12**2 / 30 + 15**2 / 32, se_c**2, se_d**2]
    want = meta_analysis(yi, vi, method="REML", test="adhoc")  # k = 4 < 5
    got = waso["adding conservative SEs from p bounds"]
    assert got["k"] == 4 and got["estimate"] == pytest.approx(want.estimate, rel=1e-10)
    assert got["ci_low"] == pytest.approx(want.ci_low, rel=1e-10)
    # leave-one-out: one entry per pooled comparison, each with k - 1
    loo = [e for e in waso.values() if e["analysis"].startswith("leave out")]
    assert len(loo) == 3 and all(e["k"] == 2 for e in loo)
    # excluding A 2001 (high risk of bias): B and C remain
    excl = waso["excluding results at high risk of bias"]
    assert excl["k"] == 2


def test_mantel_haenszel_by_hand(tmp_path):
    ra = _review(tmp_path, rob=False)
    mh = next(e for e in ra.outcomes["dizziness"].sensitivity
              if e["analysis"] == "Mantel-Haenszel risk ratio")
    # RR_MH = sum(a n2 / N) / sum(c n1 / N) (Greenland & Robins 1985); B 2002: 25% x 62 = 16
    a, n1, c, n2 = (np.array(x, float) for x in ([20, 16, 9], [100, 62, 40], [5, 5, 3],
                                                   [100, 61, 38]))
    n = n1 + n2
    rr = (a * n2 / n).sum() / (c * n1 / n).sum()
    assert mh["natural"]["estimate"] == pytest.approx(rr, rel=1e-12)


def test_verdict_change_is_flagged(tmp_path):
    ra = _review(tmp_path, rob=False)
    sens = ra.outcomes["dizziness"].sensitivity
    main = sens[0]
    fe = next(e for e in sens if e["analysis"] == "common effect (inverse variance)")
    # the FE CI excludes 1 while the review's adhoc CI (t, 2 df) does not: the verdict changes
    assert fe["ci_low"] > 0 > main["ci_low"]
    assert fe["changes"] and fe["verdict"] != main["verdict"] and not main["changes"]


def test_inference_alternatives_side_by_side(tmp_path):
    ra = _review(tmp_path, rob=False)
    inf = {e["analysis"]: e for e in ra.outcomes["dizziness"].inference}
    assert set(inf) == {"common effect (FE), z", "REML, z", "REML, t", "REML, knha",
                        "REML, adhoc"}
    w = {k: e["ci_high"] - e["ci_low"] for k, e in inf.items()}
    assert w["REML, adhoc"] >= w["REML, z"] and w["REML, adhoc"] >= w["REML, knha"] - 1e-12
    assert inf["REML, t"]["df"] == 2
