"""The engine's tests "t" and "adhoc" against metafor 3.8 (pinned and live), and invariants.

Pinned numbers: tests/data/metafor_t_adhoc.json, written by
tests/data/make_t_adhoc_references.R (metafor 3.8-1; the R call, version and
date are in the file). The live check runs the same calls when R is installed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmeta.pooling import meta_analysis
from sleepmeta.review.sensitivity import prediction_interval

REF = json.loads((Path(__file__).parents[1] / "data" / "metafor_t_adhoc.json").read_text())
CASES = [(name, i) for name, d in REF["datasets"].items() for i in range(len(d["fits"]))]


def _close(got, want, rel, where):
    assert math.isclose(got, want, rel_tol=rel, abs_tol=1e-10), f"{where}: {got} vs {want}"


@pytest.mark.parametrize("name, i", CASES)
def test_t_and_adhoc_match_pinned_metafor(name, i):
    d = REF["datasets"][name]
    f = d["fits"][i]
    res = meta_analysis(d["yi"], d["vi"], method=f["method"], test=f["test"])
    rel = 1e-5 if f["method"] == "REML" else 1e-8
    where = f"{name} {f['method']} {f['test']}"
    for key in ("estimate", "se", "statistic", "ci_low", "ci_high", "tau2", "pi_low", "pi_high"):
        want = f[key]
        if want is None:  # a common-effect model: metafor prints no PI (sleepmeta's equals the CI)
            want = f["ci_low" if key == "pi_low" else "ci_high"]
        _close(getattr(res, key), want, rel, f"{where} {key}")
    assert abs(res.pvalue - f["pvalue"]) < 1e-6, where
    # prediction interval with t on k - 2 df = metafor's predict(pi.type = "riley")
    pi = prediction_interval(res)
    if f["pi_riley_low"] is None:
        return
    if len(d["yi"]) >= 3:
        _close(pi["low"], f["pi_riley_low"], rel, f"{where} riley low")
        _close(pi["high"], f["pi_riley_high"], rel, f"{where} riley high")
    else:
        assert pi["low"] is None and "not estimable" in pi["note"]


def test_pinned_file_names_its_source():
    assert REF["meta"]["metafor"].startswith("3.8")
    assert "make_t_adhoc_references.R" in REF["meta"]["made_by"]


def test_dizziness_k2_reproduces_the_issue_numbers():
    # Ohta 2012 + Arnold 2016: REML with Knapp-Hartung gives RR 3.52 (0.026 to 470) (issue 15)
    d = REF["datasets"]["dizziness_k2"]
    res = meta_analysis(d["yi"], d["vi"], method="REML", test="knha")
    assert round(math.exp(res.estimate), 2) == 3.52
    assert round(math.exp(res.ci_low), 3) == 0.026 and round(math.exp(res.ci_high)) == 470


@pytest.mark.r
def test_t_and_adhoc_match_live_metafor(metafor):
    code = """
dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg[c(2, 5, 8, 11),])
out <- NULL
for (t in c("t", "adhoc", "knha")) {
  r <- rma(yi, vi, data=dat, method="REML", test=t)
  pr <- predict(r, pi.type="riley")
  out <- rbind(out, data.frame(test=t, estimate=r$b[1], se=r$se, ci_low=r$ci.lb,
                               ci_high=r$ci.ub, pvalue=r$pval, pi_low=pr$pi.lb, pi_high=pr$pi.ub))
}
out$yi <- paste(format(dat$yi, digits=17), collapse=";")
out$vi <- paste(format(dat$vi, digits=17), collapse=";")
write.csv(out, stdout(), row.names=FALSE)
"""
    ref = metafor(code)
    yi = np.array(ref["yi"][0].split(";"), float)
    vi = np.array(ref["vi"][0].split(";"), float)
    for row in ref.itertuples():
        res = meta_analysis(yi, vi, method="REML", test=row.test)
        for key in ("estimate", "se", "ci_low", "ci_high"):
            _close(getattr(res, key), getattr(row, key), 1e-5, f"{row.test} {key}")
        pi = prediction_interval(res)
        _close(pi["low"], row.pi_low, 1e-5, f"{row.test} pi")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-2, 2), st.floats(0.01, 1)), min_size=2, max_size=8))
def test_adhoc_never_narrower_than_wald_or_knha(studies):
    yi, vi = map(list, zip(*studies))
    z = meta_analysis(yi, vi, test="z")
    k = meta_analysis(yi, vi, test="knha")
    a = meta_analysis(yi, vi, test="adhoc")
    t = meta_analysis(yi, vi, test="t")
    assert a.se >= z.se * (1 - 1e-12) and a.se >= k.se * (1 - 1e-12)
    assert a.ci_high - a.ci_low >= t.ci_high - t.ci_low - 1e-9  # t quantile, scale >= 1
    assert t.se == pytest.approx(z.se) and t.ci_high - t.ci_low >= z.ci_high - z.ci_low
