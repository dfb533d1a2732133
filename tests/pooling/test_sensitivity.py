"""Tests for sleepmeta.pooling.sensitivity: leave-one-out and cumulative meta-analysis.

Expected numbers: metafor 3.8's ``leave1out`` and ``cumul`` (and ``rma`` with
``subset``) computed in the same run through the ``metafor`` fixture, on
dat.bcg (log risk ratios) and dat.molloy2014 (Fisher's z, ZCOR); hand
calculations for the checks that run without R.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmeta.errors import ModelError
from sleepmeta.pooling import meta_analysis

BCG_R = ('dat <- escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)\n')
MOLLOY_R = 'dat <- escalc("ZCOR", ri=ri, ni=ni, data=dat.molloy2014)\n'
COLS = ["estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "q", "q_pvalue", "tau2",
        "i2", "h2"]
R_COLS = ["estimate", "se", "stat", "pval", "ci.lb", "ci.ub", "Q", "Qp", "tau2", "I2", "H2"]


def bcg() -> pd.DataFrame:
    d = pd.read_csv(files("sleepmeta").joinpath("data/bcg.csv"))
    # log risk ratio and its variance (escalc "RR"), written out by hand
    d["yi"] = np.log((d.tpos / (d.tpos + d.tneg)) / (d.cpos / (d.cpos + d.cneg)))
    d["vi"] = 1 / d.tpos - 1 / (d.tpos + d.tneg) + 1 / d.cpos - 1 / (d.cpos + d.cneg)
    return d


def _compare(ours: pd.DataFrame, ref: pd.DataFrame, rel: float) -> None:
    for c, rc in zip(COLS, R_COLS):
        np.testing.assert_allclose(ours[c].to_numpy(float), ref[rc].to_numpy(float), rtol=rel,
                                   atol=1e-6 if c in ("pvalue", "q_pvalue") else 1e-10,
                                   err_msg=c)


# ---- without R ----------------------------------------------------------------------------------
def test_leave_one_out_common_effect_by_hand():
    yi, vi = np.array([0.1, 0.3, 0.5, 0.2]), np.array([0.01, 0.02, 0.04, 0.02])
    loo = meta_analysis(yi, vi, method="FE").leave_one_out()
    for i in range(4):
        keep = np.arange(4) != i
        w = 1 / vi[keep]
        est = np.sum(w * yi[keep]) / w.sum()  # inverse-variance mean
        q = np.sum(w * (yi[keep] - est) ** 2)
        assert loo["estimate"].iloc[i] == pytest.approx(est, rel=1e-12)
        assert loo["se"].iloc[i] == pytest.approx(np.sqrt(1 / w.sum()), rel=1e-12)
        assert loo["q"].iloc[i] == pytest.approx(q, rel=1e-12)
    assert list(loo.index) == ["1", "2", "3", "4"] and loo["ok"].all()


def test_cumulative_first_row_is_the_study_itself():
    # metafor fits k = 1 with tau² = 0 and a z test: the estimate is yi, the SE sqrt(vi)
    res = meta_analysis([0.4, 0.1, 0.3], [0.04, 0.01, 0.02], test="knha")
    cum = res.cumulative()
    first = cum.iloc[0]
    assert first["estimate"] == pytest.approx(0.4) and first["se"] == pytest.approx(0.2)
    assert first["q"] == 0 and first["q_pvalue"] == 1 and first["tau2"] == 0
    assert first["i2"] == 0 and first["h2"] == 1
    assert cum.iloc[-1]["estimate"] == pytest.approx(res.estimate, rel=1e-12)


def test_cumulative_order_is_stable_and_decreasing():
    res = meta_analysis([0.1, 0.2, 0.3, 0.4], [0.01] * 4, method="FE")
    assert list(res.cumulative(order=[3, 1, 3, 2]).index) == ["2", "4", "1", "3"]
    assert list(res.cumulative(order=[3, 1, 3, 2], decreasing=True).index) == ["1", "3", "4", "2"]


def test_leave_one_out_rank_deficient_deletion_is_flagged():
    # study "d" is the only one with group b: without it the dummy column is all zero
    data = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.9, 0.25], "vi": [0.01, 0.02, 0.015, 0.02, 0.01],
                         "g": ["a", "a", "a", "b", "a"], "study": list("abcde")})
    res = meta_analysis("yi", "vi", data=data, mods="~ C(g)", labels="study", method="FE")
    loo = res.leave_one_out()
    assert not loo.loc["d", "ok"] and np.isnan(loo.loc["d", "estimate"])
    assert "rank-deficient" in loo.loc["d", "note"] and "'d'" in loo.loc["d", "note"]
    assert loo.drop(index="d")["ok"].all() and "qm" in loo.columns


def test_cumulative_with_moderators_flags_too_small_subsets():
    x = np.arange(5.0)
    res = meta_analysis([0.1, 0.3, 0.2, 0.5, 0.4], [0.01] * 5, mods=x)
    cum = res.cumulative()
    assert list(cum["ok"]) == [False, False, True, True, True]
    assert "2 studies for 2 coefficient(s)" in cum["note"].iloc[1]


def test_errors():
    res = meta_analysis([0.1], [0.01], method="FE")
    with pytest.raises(ModelError, match="k = 1"):
        res.leave_one_out()
    res = meta_analysis([0.1, 0.2, 0.3], [0.01] * 3)
    with pytest.raises(ValueError, match="one value per study"):
        res.cumulative(order=[1, 2])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-2, 2), st.floats(0.01, 1)), min_size=3, max_size=8))
def test_leave_one_out_matches_single_fits(rows):
    yi, vi = np.array(rows).T
    loo = meta_analysis(yi, vi, method="DL").leave_one_out()
    i = len(yi) - 1
    single = meta_analysis(yi[:i], vi[:i], method="DL")
    assert loo["estimate"].iloc[i] == pytest.approx(single.estimate, rel=1e-9, abs=1e-12)
    assert loo["tau2"].iloc[i] == pytest.approx(single.tau2, rel=1e-9, abs=1e-12)


# ---- against metafor (one R run for the module) -----------------------------------------------
CASES = [("REML", "z"), ("DL", "z"), ("PM", "z"), ("FE", "z"), ("REML", "knha"), ("ML", "z"),
         ("SJ", "knha")]
EMIT_R = """
emit <- function(L) {
  cols <- unique(unlist(lapply(L, names)))
  out <- do.call(rbind, lapply(names(L), function(n) {
    d <- as.data.frame(L[[n]]); for (c in setdiff(cols, names(d))) d[[c]] <- NA
    d$case <- n; d[, c(cols, "case")]}))
  write.csv(out, stdout(), row.names=FALSE)
}
std <- function(x) { out <- as.data.frame(x); if (is.null(out$tau2)) out$tau2 <- 0
  names(out)[3] <- "stat"; names(out)[names(out) == "pvals"] <- "pval"; out }
"""


@pytest.fixture(scope="module")
def ref(metafor):
    code = EMIT_R + "L <- list()\n" + BCG_R
    for m, t in CASES:
        code += (f'L[["loo_{m}_{t}"]] <- std(leave1out(rma(yi, vi, data=dat, method="{m}", '
                 f'test="{t}")))\n')
    for m in ("REML", "DL", "PM"):
        code += (f'L[["cum_{m}"]] <- std(cumul(rma(yi, vi, data=dat, method="{m}"), '
                 f'order=year))\n')
    code += """
L[["mods"]] <- do.call(rbind, lapply(1:13, function(i) {
  r <- rma(yi, vi, mods=~ablat, data=dat, subset=-i)
  data.frame(estimate=r$beta[1], se=r$se[1], stat=r$zval[1], pval=r$pval[1], ci.lb=r$ci.lb[1],
             ci.ub=r$ci.ub[1], Q=r$QE, Qp=r$QEp, tau2=r$tau2, I2=r$I2, H2=r$H2, QM=r$QM,
             QMp=r$QMp)}))
""" + MOLLOY_R + "L[['molloy_data']] <- data.frame(yi=c(dat$yi), vi=dat$vi, ri=dat$ri, ni=dat$ni)\n"
    for m in ("REML", "DL", "PM"):
        code += (f'r <- rma(yi, vi, data=dat, method="{m}")\n'
                 f'L[["mloo_{m}"]] <- std(leave1out(r)); L[["mcum_{m}"]] <- std(cumul(r))\n')
    out = metafor(code + "emit(L)")
    return {name: g.reset_index(drop=True) for name, g in out.groupby("case")}


@pytest.mark.r
@pytest.mark.parametrize("method,test", CASES)
def test_leave_one_out_bcg_matches_metafor(ref, method, test):
    ours = meta_analysis("yi", "vi", data=bcg(), method=method, test=test).leave_one_out()
    _compare(ours, ref[f"loo_{method}_{test}"], 1e-6 if method in ("FE", "DL", "SJ") else 1e-5)


@pytest.mark.r
@pytest.mark.parametrize("method", ["REML", "DL", "PM"])
def test_cumulative_bcg_by_year_matches_metafor(ref, method):
    d = bcg()
    ours = meta_analysis("yi", "vi", data=d, method=method).cumulative(order=d["year"])
    _compare(ours, ref[f"cum_{method}"], 1e-5)


@pytest.mark.r
@pytest.mark.parametrize("method", ["REML", "DL", "PM"])
def test_molloy_zcor_matches_metafor(ref, method):
    d = ref["molloy_data"]
    yi, vi = np.arctanh(d["ri"]), 1 / (d["ni"] - 3)  # Fisher's z and its variance, by hand
    np.testing.assert_allclose(yi, d["yi"], rtol=1e-12)
    np.testing.assert_allclose(vi, d["vi"], rtol=1e-12)
    res = meta_analysis(yi.to_numpy(), vi.to_numpy(), method=method)
    _compare(res.leave_one_out(), ref[f"mloo_{method}"], 1e-5)
    _compare(res.cumulative(), ref[f"mcum_{method}"], 1e-5)


@pytest.mark.r
def test_leave_one_out_meta_regression_matches_rma_subsets(ref):
    # metafor's leave1out refuses moderators; the reference is rma(..., subset=-i) per study
    ours = meta_analysis("yi", "vi", data=bcg(), mods="~ ablat").leave_one_out()
    r = ref["mods"]
    _compare(ours, r, 1e-5)
    np.testing.assert_allclose(ours["qm"], r["QM"], rtol=1e-5)
    np.testing.assert_allclose(ours["qm_pvalue"], r["QMp"], atol=1e-6)
