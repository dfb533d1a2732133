"""Tests for sleepmeta.pooling.bias (Egger, Begg & Mazumdar, PET-PEESE) and .kendall.

Expected numbers: metafor 3.8's ``regtest`` and ``ranktest`` and R's ``lm``
and ``cor.test`` computed in the same run through the ``metafor`` fixture on
dat.bcg, dat.hackshaw1998 and dat.molloy2014 (ZCOR); the Mahonian numbers
(counts of permutations by inversions, OEIS A008302) and hand calculations
for the checks without R.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sleepmeta.errors import ModelError
from sleepmeta.pooling import meta_analysis
from sleepmeta.pooling.kendall import inversion_cdf, kendall_test
from tests._bcg import bcg_frame as bcg

CASES = [("REML", "z"), ("DL", "z"), ("PM", "z"), ("FE", "z"), ("REML", "knha"), ("ML", "knha")]




# ---- without R ----------------------------------------------------------------------------------
def test_inversion_distribution_is_mahonian():
    # counts of permutations of 4 by number of inversions: 1 3 5 6 5 3 1 (sum 24)
    counts = np.diff(np.concatenate([[0], inversion_cdf(4)])) * 24
    np.testing.assert_allclose(counts, [1, 3, 5, 6, 5, 3, 1], atol=1e-12)


def test_kendall_exact_small_by_hand():
    # perfectly concordant n = 4: tau = 1, P(T >= 6) = 1/24, two-sided p = 2/24
    tau, p, exact = kendall_test([1, 2, 3, 4], [10, 20, 30, 40])
    assert (tau, exact) == (1.0, True) and p == pytest.approx(2 / 24, rel=1e-12)


def test_kendall_ties_use_normal_approximation():
    x, y = [1, 2, 2, 3, 4, 5], [1, 3, 2, 4, 4, 6]
    tau, p, exact = kendall_test(x, y)
    assert not exact and tau == pytest.approx(stats.kendalltau(x, y).statistic)
    # scipy's asymptotic tau-b test uses the same tie-corrected variance
    assert p == pytest.approx(stats.kendalltau(x, y, method="asymptotic").pvalue, rel=1e-10)


def test_egger_common_effect_by_hand():
    yi = np.array([0.9, 0.5, 0.4, 0.2, 0.25])
    vi = np.array([0.25, 0.09, 0.04, 0.01, 0.0025])
    eg = meta_analysis(yi, vi, method="FE").egger_test()
    sei, w = np.sqrt(vi), 1 / vi
    X = np.column_stack([np.ones(5), sei])
    V = np.linalg.inv(X.T @ (w[:, None] * X))  # weighted least squares, known variances
    b = V @ X.T @ (w * yi)
    assert eg.statistic == pytest.approx(b[1] / np.sqrt(V[1, 1]), rel=1e-10)
    assert eg.pvalue == pytest.approx(2 * stats.norm.sf(abs(eg.statistic)), rel=1e-10)
    assert eg.limit_estimate == pytest.approx(b[0], rel=1e-10) and eg.df is None


def test_pet_peese_rule_by_hand():
    yi = np.array([0.9, 0.5, 0.4, 0.2, 0.25, 0.6, 0.35])
    vi = np.array([0.25, 0.09, 0.04, 0.01, 0.0025, 0.16, 0.02])
    pp = meta_analysis(yi, vi).pet_peese()
    sei = np.sqrt(vi)
    # unrestricted WLS = lm(yi ~ sei, weights = 1/vi): OLS on the rows scaled by 1/sei
    Xw = np.column_stack([1 / sei, np.ones(7)])
    b, rss = np.linalg.lstsq(Xw, yi / sei, rcond=None)[:2]
    cov = rss[0] / 5 * np.linalg.inv(Xw.T @ Xw)
    t0 = b[0] / np.sqrt(cov[0, 0])
    assert pp.pet.estimate == pytest.approx(b[0], rel=1e-10)
    assert pp.pet_pvalue_one_sided == pytest.approx(stats.t.sf(abs(t0), 5), rel=1e-8)
    assert pp.use_peese == (pp.pet_pvalue_one_sided < 0.05)
    assert pp.estimate == (pp.peese if pp.use_peese else pp.pet).estimate


def test_too_few_studies_are_typed_errors():
    res = meta_analysis([0.1, 0.4], [0.01, 0.02], method="FE")
    for fn in (res.egger_test, res.rank_test, res.pet_peese):
        with pytest.raises(ModelError, match="at least 3 studies"):
            fn()
    with pytest.raises(ModelError, match="tau² cannot be estimated.*sei"):
        meta_analysis([0.1, 0.4, 0.3], [0.01, 0.02, 0.03], mods=[1, 2, 4]).egger_test()


def test_equal_variances_make_egger_rank_deficient():
    res = meta_analysis([0.1, 0.4, 0.3, 0.2], [0.02] * 4)
    with pytest.raises(ModelError, match="rank-deficient.*'sei'"):
        res.egger_test()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=3, max_size=9, unique=True),
       st.lists(st.floats(-5, 5), min_size=9, max_size=9, unique=True))
def test_kendall_exact_matches_scipy(x, y):
    y = y[:len(x)]
    tau, p, exact = kendall_test(x, y)
    ref = stats.kendalltau(x, y, method="exact")
    assert exact and tau == pytest.approx(ref.statistic, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-12)


# ---- against metafor ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ref(metafor):
    ms = ", ".join(f'"{m}"' for m, _ in CASES)
    ts = ", ".join(f'"{t}"' for _, t in CASES)
    code = f"""
dat <- escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
h <- dat.hackshaw1998
dm <- escalc("ZCOR", ri=ri, ni=ni, data=dat.molloy2014)
sets <- list(bcg=dat, hack=h, molloy=dm)
ms <- c({ms}); ts <- c({ts})
L <- list()
for (s in names(sets)) for (i in seq_along(ms)) {{
  d <- sets[[s]]
  r <- rma(yi, vi, data=d, method=ms[i], test=ts[i])
  e <- regtest(r)
  L[[length(L) + 1]] <- data.frame(set=s, case=i - 1, z=e$zval, p=e$pval,
    ddf=if (is.na(e$ddf)) NA else e$ddf, est=e$est, lb=e$ci.lb, ub=e$ci.ub,
    tau=NA, rp=NA)
}}
for (s in names(sets)) {{
  rk <- ranktest(rma(yi, vi, data=sets[[s]]))
  L[[length(L) + 1]] <- data.frame(set=s, case=-1, z=NA, p=NA, ddf=NA, est=NA, lb=NA, ub=NA,
    tau=rk$tau, rp=rk$pval)
  sei <- sqrt(sets[[s]]$vi); vi <- sets[[s]]$vi; yi <- c(sets[[s]]$yi)
  pet <- summary(lm(yi ~ sei, weights=1/vi))$coefficients
  peese <- summary(lm(yi ~ vi, weights=1/vi))$coefficients
  L[[length(L) + 1]] <- data.frame(set=s, case=-2, z=pet[1, 3], p=pet[1, 4], ddf=NA,
    est=pet[1, 1], lb=peese[1, 1], ub=peese[1, 2], tau=pet[1, 2], rp=peese[1, 4])
}}
r <- rma(yi, vi, mods=~ablat, data=dat)
e <- regtest(r)
L[[length(L) + 1]] <- data.frame(set="bcg", case=99, z=e$zval, p=e$pval, ddf=NA, est=NA,
  lb=NA, ub=NA, tau=NA, rp=NA)
out <- do.call(rbind, L)
out2 <- data.frame(set=rep(names(sets), sapply(sets, nrow)), case=-9,
  z=unlist(lapply(sets, function(d) c(d$yi))), p=unlist(lapply(sets, function(d) d$vi)),
  ddf=NA, est=NA, lb=NA, ub=NA, tau=NA, rp=NA)
write.csv(rbind(out, out2), stdout(), row.names=FALSE)
"""
    return metafor(code)


def _data(ref, name):
    if name == "bcg":
        return bcg()
    d = ref[(ref.set == name) & (ref.case == -9)]
    return pd.DataFrame({"yi": d["z"].to_numpy(), "vi": d["p"].to_numpy()})


def _row(ref, name, case):
    return ref[(ref.set == name) & (ref.case == case)].iloc[0]


@pytest.mark.r
@pytest.mark.parametrize("name", ["bcg", "hack", "molloy"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_egger_matches_regtest(ref, name, case):
    method, test = CASES[case]
    eg = meta_analysis("yi", "vi", data=_data(ref, name), method=method, test=test).egger_test()
    r = _row(ref, name, case)
    tol = 1e-6 if method in ("FE", "DL") else 1e-5
    assert eg.statistic == pytest.approx(r.z, rel=tol)
    assert eg.pvalue == pytest.approx(r.p, abs=1e-6)
    assert (eg.df is None) == np.isnan(r.ddf) and (eg.df is None or eg.df == r.ddf)
    assert eg.limit_estimate == pytest.approx(r.est, rel=tol, abs=1e-10)
    assert eg.ci_low == pytest.approx(r.lb, rel=tol, abs=1e-10)
    assert eg.ci_high == pytest.approx(r.ub, rel=tol, abs=1e-10)


@pytest.mark.r
def test_egger_meta_regression_matches_regtest(ref):
    eg = meta_analysis("yi", "vi", data=bcg(), mods="~ ablat").egger_test()
    r = _row(ref, "bcg", 99)
    assert eg.statistic == pytest.approx(r.z, rel=1e-5)
    assert eg.pvalue == pytest.approx(r.p, abs=1e-6)
    assert eg.limit_estimate is None


@pytest.mark.r
@pytest.mark.parametrize("name", ["bcg", "hack", "molloy"])
def test_rank_test_matches_ranktest(ref, name):
    rt = meta_analysis("yi", "vi", data=_data(ref, name)).rank_test()
    r = _row(ref, name, -1)
    assert rt.tau == pytest.approx(r.tau, rel=1e-10) and rt.pvalue == pytest.approx(r.rp, abs=1e-6)


@pytest.mark.r
@pytest.mark.parametrize("name", ["bcg", "hack", "molloy"])
def test_pet_peese_matches_weighted_lm(ref, name):
    pp = meta_analysis("yi", "vi", data=_data(ref, name)).pet_peese()
    r = _row(ref, name, -2)
    assert pp.pet.estimate == pytest.approx(r.est, rel=1e-8)
    assert pp.pet.se == pytest.approx(r.tau, rel=1e-8)
    assert pp.pet.statistic == pytest.approx(r.z, rel=1e-8)
    assert pp.pet.pvalue == pytest.approx(r.p, abs=1e-6)
    assert pp.peese.estimate == pytest.approx(r.lb, rel=1e-8)
    assert pp.peese.se == pytest.approx(r.ub, rel=1e-8)
    assert pp.peese.pvalue == pytest.approx(r.rp, abs=1e-6)
