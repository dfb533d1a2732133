"""Tests for sleepmeta.pooling.subgroups.

Expected numbers: metafor 3.8 computed in the same run through the
``metafor`` fixture on dat.bcg by allocation (random / alternate /
systematic): per-group ``rma(..., subset=alloc == g)``, the between-group Q
of ``rma(estimates, sei=ses, method="FE")`` (separate tau², as RevMan and
meta), and ``rma(mods = ~ factor(alloc))``'s QM with the group means of
``rma(mods = ~ 0 + factor(alloc))`` (common tau²); hand calculations for
the common-effect checks without R.
"""

from __future__ import annotations


import numpy as np
import pytest
from scipy import stats

from sleepmeta.errors import ColumnError, ModelError
from sleepmeta.pooling import meta_analysis, meta_analysis_subgroups
from sleepmeta.pooling.subgroups import SubgroupResult
from tests._bcg import bcg_frame as bcg

CASES = [("REML", "z"), ("DL", "z"), ("PM", "knha")]




def test_common_effect_subgroups_by_hand():
    yi = np.array([0.1, 0.3, 0.2, 0.8, 0.6, 0.9])
    vi = np.array([0.01, 0.02, 0.02, 0.01, 0.04, 0.02])
    g = ["a", "a", "a", "b", "b", "b"]
    sg = meta_analysis(yi, vi, method="FE", subgroup=g)
    assert isinstance(sg, SubgroupResult) and list(sg.groups) == ["a", "b"]
    means, variances = [], []
    for idx in ([0, 1, 2], [3, 4, 5]):
        w = 1 / vi[idx]
        means.append(np.sum(w * yi[idx]) / w.sum())
        variances.append(1 / w.sum())
    t = sg.table()
    np.testing.assert_allclose(t["estimate"], means, rtol=1e-12)
    # Q-between: inverse-variance Q of the two group means, 1 df
    w = 1 / np.array(variances)
    mu = np.sum(w * means) / w.sum()
    qb = np.sum(w * (np.array(means) - mu) ** 2)
    assert sg.q_between == pytest.approx(qb, rel=1e-12) and sg.df_between == 1
    assert sg.p_between == pytest.approx(stats.chi2.sf(qb, 1), rel=1e-10)
    # for FE, Q-between + the within-group Qs = the overall Q
    assert sg.q_between + t["q"].sum() == pytest.approx(sg.overall.q, rel=1e-10)
    # common tau² with FE is the same model
    common = meta_analysis(yi, vi, method="FE", subgroup=g, tau2_common=True)
    assert common.q_between == pytest.approx(qb, rel=1e-10)
    np.testing.assert_allclose(common.table()["estimate"], means, rtol=1e-12)
    assert "Test for subgroup differences" in sg.summary() and sg.to_dict()["df_between"] == 1


def test_single_study_group_is_a_typed_error_naming_it():
    d = bcg()
    d.loc[0, "alloc"] = "solo"  # study 1 (random allocation) alone in its own group
    with pytest.raises(ModelError, match="group 'solo' has 1 study"):
        meta_analysis("yi", "vi", data=d, subgroup="alloc")
    # FE or a common tau² can pool it
    assert meta_analysis("yi", "vi", data=d, subgroup="alloc", method="FE").groups["solo"].k == 1
    common = meta_analysis("yi", "vi", data=d, subgroup="alloc", tau2_common=True)
    assert common.table().loc["solo", "k"] == 1


def test_one_study_group_with_knha_uses_z_and_says_so():
    # metafor 3.8 fits the one-study group with test="z" ('Setting argument test="z" since
    # k=1'); the group's se is sqrt(vi) (hand calculation) and the test for subgroup
    # differences is finite
    d = bcg()
    d.loc[0, "alloc"] = "solo"
    sg = meta_analysis("yi", "vi", data=d, subgroup="alloc", method="FE", test="knha")
    solo = sg.groups["solo"]
    assert solo.test == "z" and solo.se == pytest.approx(np.sqrt(d.vi[0]))
    assert any('test "z"' in n for n in solo.notes)
    assert np.isfinite([solo.ci_low, solo.ci_high, solo.pvalue, sg.q_between, sg.p_between]).all()
    assert sg.groups["random"].test == "knha"


def test_meta_analysis_subgroups_is_the_same_as_subgroup_argument():
    d = bcg()
    a = meta_analysis_subgroups("yi", "vi", "alloc", data=d, method="DL")
    b = meta_analysis("yi", "vi", data=d, subgroup="alloc", method="DL")
    assert a.q_between == b.q_between and a.table().equals(b.table())


def test_bad_subgroup_inputs():
    d = bcg()
    with pytest.raises(ColumnError, match="'arm'"):
        meta_analysis("yi", "vi", data=d, subgroup="arm")
    d.loc[3, "alloc"] = None
    with pytest.raises(ValueError, match="study '4'.*subgroup"):
        meta_analysis("yi", "vi", data=d, subgroup="alloc")
    with pytest.raises(ModelError, match="only one group"):
        meta_analysis("yi", "vi", data=bcg(), subgroup=["x"] * 13)


@pytest.fixture(scope="module")
def ref(metafor):
    ms = ", ".join(f'"{m}"' for m, _ in CASES)
    ts = ", ".join(f'"{t}"' for _, t in CASES)
    code = f"""
dat <- escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
ms <- c({ms}); ts <- c({ts})
L <- list()
for (i in seq_along(ms)) {{
  gs <- sort(unique(dat$alloc))
  fits <- lapply(gs, function(g) rma(yi, vi, data=dat, subset=alloc == g, method=ms[i], test=ts[i]))
  est <- sapply(fits, function(f) c(f$beta)); se <- sapply(fits, function(f) f$se)
  qb <- rma(est, sei=se, method="FE")
  L[[length(L) + 1]] <- data.frame(case=i - 1, kind="sep", group=gs, est=est, se=se,
    lb=sapply(fits, function(f) f$ci.lb), pilb=sapply(fits, function(f) predict(f)$pi.lb),
    tau2=sapply(fits, function(f) f$tau2), I2=sapply(fits, function(f) f$I2),
    Q=sapply(fits, function(f) f$QE), Qb=qb$QE, Qbp=qb$QEp)
  m1 <- rma(yi, vi, mods=~factor(alloc), data=dat, method=ms[i], test=ts[i])
  m0 <- rma(yi, vi, mods=~0 + factor(alloc), data=dat, method=ms[i], test=ts[i])
  p0 <- predict(m0, newmods=diag(3))
  L[[length(L) + 1]] <- data.frame(case=i - 1, kind="common", group=gs, est=c(m0$beta),
    se=m0$se, lb=m0$ci.lb, pilb=p0$pi.lb, tau2=m0$tau2, I2=NA, Q=NA, Qb=m1$QM, Qbp=m1$QMp)
}}
write.csv(do.call(rbind, L), stdout(), row.names=FALSE)
"""
    return metafor(code)


@pytest.mark.r
@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("common", [False, True])
def test_subgroups_match_metafor(ref, case, common):
    method, test = CASES[case]
    sg = meta_analysis("yi", "vi", data=bcg(), subgroup="alloc", method=method, test=test,
                       tau2_common=common)
    r = ref[(ref.case == case) & (ref.kind == ("common" if common else "sep"))]
    t = sg.table()
    assert list(t.index) == list(r.group)
    tol = 1e-5
    np.testing.assert_allclose(t["estimate"], r["est"], rtol=tol)
    np.testing.assert_allclose(t["se"], r["se"], rtol=tol)
    np.testing.assert_allclose(t["ci_low"], r["lb"], rtol=tol)
    np.testing.assert_allclose(t["pi_low"], r["pilb"], rtol=tol)
    np.testing.assert_allclose(t["tau2"], r["tau2"], rtol=tol, atol=1e-10)
    if not common:
        np.testing.assert_allclose(t["i2"], r["I2"], rtol=tol, atol=1e-8)
        np.testing.assert_allclose(t["q"], r["Q"], rtol=1e-6)
    assert sg.q_between == pytest.approx(r["Qb"].iloc[0], rel=tol)
    assert sg.p_between == pytest.approx(r["Qbp"].iloc[0], abs=1e-6)
    assert sg.df_between == 2
    overall = meta_analysis("yi", "vi", data=bcg(), method=method, test=test)
    assert sg.overall.estimate == pytest.approx(overall.estimate, rel=1e-12)
