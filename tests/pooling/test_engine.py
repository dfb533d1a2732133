"""Tests for sleepmeta.pooling.engine: fit_batch, the one place a model is fitted.

Expected numbers are hand calculations written here (inverse-variance
weighting, Knapp-Hartung's scale), metafor 3.8's documented dat.bcg results
(``rma(yi, vi)``: estimate -0.7145, tau² 0.3132, logLik -12.2024), or the
engine's own single-analysis answers when the property is "a batch equals
its members fitted one by one".
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
from sleepmeta.pooling.engine import fit_batch
from sleepmeta.pooling.registry import Control
from sleepmeta.review.sensitivity import prediction_interval
from tests._bcg import bcg_yi_vi

ONE = np.ones((1, 3, 1))


def _fit(yi, vi, **kw):
    yi, vi = np.atleast_2d(yi), np.atleast_2d(vi)
    return fit_batch(yi, vi, np.ones(yi.shape, bool), np.ones((1, yi.shape[1], 1)), **kw)


def test_common_effect_by_hand():
    yi, vi = np.array([0.1, 0.3, 0.5]), np.array([0.01, 0.02, 0.04])
    w = 1 / vi                                   # 100, 50, 25
    mu = (w * yi).sum() / w.sum()                # (10 + 15 + 12.5) / 175
    q = (w * (yi - mu) ** 2).sum()
    fit = _fit(yi, vi, method="FE")
    assert fit.estimate[0] == pytest.approx(mu, rel=1e-14)
    assert fit.se[0] == pytest.approx(1 / np.sqrt(w.sum()), rel=1e-14)
    assert fit.q[0] == pytest.approx(q, rel=1e-12) and fit.q_df[0] == 2
    # common-effect I² from Q (Higgins & Thompson 2002)
    assert fit.i2[0] == pytest.approx(max(0.0, 100 * (q - 2) / q), rel=1e-12)
    assert fit.tau2[0] == 0 and fit.pi_low[0] == pytest.approx(fit.ci_low[0])


def test_knapp_hartung_scale_by_hand():
    yi, vi = np.array([0.1, 0.3, 0.5]), np.array([0.01, 0.02, 0.04])
    w = 1 / vi
    mu = (w * yi).sum() / w.sum()
    s2 = (w * (yi - mu) ** 2).sum() / (3 - 1)    # Q(tau² = 0) / (k - p)
    fit = _fit(yi, vi, method="FE", test="knha")
    assert fit.s2w[0] == pytest.approx(s2, rel=1e-12)
    assert fit.se[0] == pytest.approx(np.sqrt(s2 / w.sum()), rel=1e-12)
    assert fit.df[0] == 2 and not fit.z_fallback[0]


def test_bcg_reml_is_metafors():
    yi, vi = bcg_yi_vi()
    fit = _fit(yi, vi, method="REML")
    assert fit.estimate[0] == pytest.approx(-0.7145, abs=5e-5)
    assert fit.tau2[0] == pytest.approx(0.3132, abs=5e-5)
    assert fit.ll_reml[0] == pytest.approx(-12.2024, abs=5e-5)
    assert fit.converged[0] and not fit.fallback[0]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["DL", "REML", "PM", "FE"]),
       st.sampled_from(["z", "knha"]))
def test_a_batch_equals_its_members_fitted_alone(seed, method, test):
    rng = np.random.default_rng(seed)
    B, k = 4, 6
    yi, vi = rng.normal(size=(B, k)), rng.uniform(0.01, 0.5, size=(B, k))
    mask = np.ones((B, k), bool)
    mask[1, 4:] = False
    mask[3, 3:] = False
    batch = fit_batch(yi, vi, mask, np.ones((1, k, 1)), method=method, test=test)
    for b in range(B):
        m = mask[b]
        one = _fit(yi[b, m], vi[b, m], method=method, test=test)
        for name in ("estimate", "se", "tau2", "q", "i2", "ci_low", "pvalue"):
            assert getattr(batch, name)[b] == pytest.approx(getattr(one, name)[0], rel=1e-8,
                                                            abs=1e-12), name


def test_explicit_control_is_used_as_given():
    yi, vi = bcg_yi_vi()
    stuck = _fit(yi, vi, method="REML", control=Control(maxiter=0))
    assert not stuck.converged[0] and not stuck.fallback[0]   # no remedy with a control
    slow = _fit(yi, vi, method="REML", control=Control(stepadj=0.5, maxiter=1000))
    default = _fit(yi, vi, method="REML")
    assert slow.converged[0] and slow.iterations[0] > default.iterations[0]
    assert slow.tau2[0] == pytest.approx(default.tau2[0], rel=1e-4)


def test_one_study_under_knha_is_tested_with_z():
    fit = fit_batch(np.array([[0.3, 0.0]]), np.array([[0.04, 1.0]]),
                    np.array([[True, False]]), np.ones((1, 2, 1)), method="FE", test="knha")
    assert fit.z_fallback.tolist() == [True] and np.isnan(fit.df[0])
    # z = 0.3 / 0.2, two-sided normal p, CI 0.3 ± 1.959964 * 0.2 (hand calculation)
    assert fit.statistic[0] == pytest.approx(1.5)
    assert fit.ci_high[0] == pytest.approx(0.3 + 1.959963984540054 * 0.2)


# ---- test="t" and test="adhoc" against metafor 3.8 (pinned: tests/data/metafor_t_adhoc.json,
# written by tests/data/make_t_adhoc_references.R, which names the R call, version and date;
# the live check runs the same calls when R is installed)

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
