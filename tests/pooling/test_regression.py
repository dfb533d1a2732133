"""Tests for meta-regression: coefficients, QM, QE, pseudo-R² and predict.

Expected numbers: Viechtbauer (2010, J Stat Softw 36(3), section 3.3) prints
the BCG mixed-effects model with ``ablat`` under REML: intercept 0.2515,
ablat -0.0291, tau² 0.0764 and R² 75.62%; metafor 3.8's ``rma`` and
``predict`` computed in the same run through the ``metafor`` fixture (several
estimators, z and Knapp-Hartung, a formula with a factor, and
dat.molloy2014 with Fisher's z); hand calculations for the checks without R.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmeta.errors import ColumnError, InputError, ModelError
from sleepmeta.pooling import meta_analysis
from tests._bcg import bcg_frame as bcg

BCG_R = 'dat <- escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)\n'
METHODS = ["FE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM"]




# ---- documented numbers and hand calculations (no R) -------------------------------------------
def test_bcg_ablat_reml_as_published():
    res = meta_analysis("yi", "vi", data=bcg(), mods="~ ablat")
    coef = res.coefficients
    assert coef.loc["intrcpt", "estimate"] == pytest.approx(0.2515, abs=5e-5)
    assert coef.loc["ablat", "estimate"] == pytest.approx(-0.0291, abs=5e-5)
    assert res.tau2 == pytest.approx(0.0764, abs=5e-5)
    assert res.r2 == pytest.approx(75.62, abs=5e-3)
    assert res.qe == res.q and res.qe_pvalue == res.q_pvalue
    assert res.extras["model_spec"] is not None


def test_fe_r2_is_adjusted_weighted_r2_by_hand():
    x = np.array([0.0, 1, 2, 3, 4])
    yi = np.array([0.1, 0.35, 0.4, 0.8, 0.7])
    vi = np.array([0.01, 0.02, 0.01, 0.04, 0.02])
    res = meta_analysis(yi, vi, mods=x, method="FE")
    w = 1 / vi
    ybar = np.sum(w * yi) / w.sum()
    tss = np.sum(w * (yi - ybar) ** 2)
    X = np.column_stack([np.ones(5), x])
    b = np.linalg.solve(X.T @ (w[:, None] * X), X.T @ (w * yi))
    rss = np.sum(w * (yi - X @ b) ** 2)
    adj = 1 - (rss / tss) * (5 - 1) / (5 - 2)  # summary.lm's adjusted R²
    assert res.r2 == pytest.approx(100 * max(0, adj), rel=1e-10)


def test_r2_absent_for_intercept_only_and_no_intercept_models():
    d = bcg()
    assert meta_analysis("yi", "vi", data=d).r2 is None
    assert meta_analysis("yi", "vi", data=d, mods="~ 0 + ablat").r2 is None


def test_predict_by_hand():
    x = np.array([0.0, 1, 2, 3])
    res = meta_analysis([0.1, 0.3, 0.5, 0.6], [0.01] * 4, mods=x, method="FE")
    pred = res.predict([0.0, 2.0])
    # equal weights: ordinary least squares; intercept 0.12, slope 0.17; Var(b) = 0.01 (X'X)^-1
    X = np.array([[1.0, 0.0], [1.0, 2.0]])
    V = 0.01 * np.linalg.inv(np.array([[4.0, 6.0], [6.0, 14.0]]))
    se = np.sqrt(np.einsum("ip,pq,iq->i", X, V, X))
    np.testing.assert_allclose(pred["pred"], [0.12, 0.46], rtol=1e-12)
    np.testing.assert_allclose(pred["se"], se, rtol=1e-12)
    np.testing.assert_allclose(pred["ci_low"], pred["pred"] - 1.959963984540054 * se, rtol=1e-12)
    np.testing.assert_allclose(pred["pi_low"], pred["ci_low"], rtol=1e-12)  # tau² = 0


def test_predict_fitted_values_and_intercept_only():
    d = bcg()
    res = meta_analysis("yi", "vi", data=d, mods="~ ablat")
    fitted = res.predict()
    np.testing.assert_allclose(fitted["pred"], res.X @ res.coefficients["estimate"], rtol=1e-12)
    assert list(fitted.index) == list(res.labels)
    one = meta_analysis("yi", "vi", data=d).predict()
    assert one["pred"].iloc[0] == pytest.approx(meta_analysis("yi", "vi", data=d).estimate)
    with pytest.raises(InputError, match="no moderators"):
        meta_analysis("yi", "vi", data=d).predict([1.0])


def test_predict_newdata_frame_uses_the_formula_spec():
    d = bcg()
    res = meta_analysis("yi", "vi", data=d, mods="~ ablat + C(alloc)")
    new = pd.DataFrame({"ablat": [10.0, 50.0], "alloc": ["systematic", "alternate"]})
    pred = res.predict(new)
    b = res.coefficients["estimate"]
    by_hand = [b["intrcpt"] + 10 * b["ablat"] + b["C(alloc)[T.systematic]"],
               b["intrcpt"] + 50 * b["ablat"]]
    np.testing.assert_allclose(pred["pred"], by_hand, rtol=1e-12)
    with pytest.raises(ColumnError, match="'alloc'"):
        res.predict(new[["ablat"]])
    with pytest.raises(InputError, match="columns"):
        res.predict(np.ones((2, 5)))


@pytest.mark.parametrize("mods,err,match", [
    ("~ latitude", ColumnError, "'latitude'"),
    ("~ ablat + year + tpos + tneg + cpos + cneg + trial + C(author)", ModelError, "coefficients"),
])
def test_bad_formulas(mods, err, match):
    with pytest.raises(err, match=match):
        meta_analysis("yi", "vi", data=bcg(), mods=mods)


def test_missing_moderator_names_the_study():
    d = bcg()
    d.loc[4, "ablat"] = np.nan
    with pytest.raises(ModelError, match="study '5'.*ablat"):
        meta_analysis("yi", "vi", data=d, mods="~ ablat")


def test_rank_deficient_design_names_the_term():
    d = bcg().assign(ablat2=lambda f: 2 * f.ablat)
    with pytest.raises(ModelError, match="'ablat2'"):
        meta_analysis("yi", "vi", data=d, mods="~ ablat + ablat2")


def test_too_many_coefficients_for_tau2():
    with pytest.raises(ModelError, match="coefficients"):
        meta_analysis([0.1, 0.2, 0.4], [0.01] * 3, mods=np.array([[1, 0], [0, 1], [1, 1.5]]))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-2, 2), st.floats(0.01, 1), st.floats(0, 10)),
                min_size=5, max_size=10, unique_by=lambda r: r[2]),
       st.sampled_from(["DL", "REML", "PM", "FE"]))
def test_r2_in_range_and_predict_at_data_is_fitted(rows, method):
    yi, vi, x = np.array(rows).T
    try:
        res = meta_analysis(yi, vi, mods=x, method=method)
    except ValueError:  # e.g. an iterative estimator that does not converge on odd data
        return
    assert res.r2 is None or 0 <= res.r2 <= 100 + 1e-9
    np.testing.assert_allclose(res.predict(x)["pred"], res.predict()["pred"].to_numpy(),
                               rtol=1e-9, atol=1e-12)


# ---- against metafor ----------------------------------------------------------------------------
CASE_ROWS = [(m, t, "~ ablat + year") for m in METHODS for t in ("z", "knha")] + [
    ("REML", "z", "~ ablat + factor(alloc)"), ("DL", "knha", "~ ablat + factor(alloc)")]
FIT_R = """
fitrow <- function(case, r, p) {
  pad <- function(x) c(x, rep(NA, 5))[seq_along(r$beta)]
  data.frame(case=case, term=rownames(r$beta), b=c(r$beta), se=r$se, stat=r$zval, pval=r$pval,
             lb=r$ci.lb, ub=r$ci.ub, QM=r$QM, QMp=r$QMp, QE=r$QE, QEp=r$QEp, tau2=r$tau2,
             I2=r$I2, H2=r$H2, R2=if (is.null(r$R2)) NA else r$R2, pred=pad(p$pred),
             pse=pad(p$se), cilb=pad(p$ci.lb), pilb=pad(p$pi.lb), piub=pad(p$pi.ub))
}
"""


@pytest.fixture(scope="module")
def ref(metafor):
    ms = ", ".join(f'"{m}"' for m, _, _ in CASE_ROWS)
    ts = ", ".join(f'"{t}"' for _, t, _ in CASE_ROWS)
    fs = ", ".join(f'"{f}"' for _, _, f in CASE_ROWS)
    code = BCG_R + FIT_R + f"""
ms <- c({ms}); ts <- c({ts}); fs <- c({fs})
L <- lapply(seq_along(ms), function(i) {{
  r <- rma(yi, vi, mods=as.formula(fs[i]), data=dat, method=ms[i], test=ts[i])
  nm <- if (grepl("alloc", fs[i])) cbind(c(10, 30, 50), c(0, 1, 0), c(0, 0, 1)) else
        cbind(c(10, 30, 50), c(1950, 1960, 1970))
  fitrow(i - 1, r, predict(r, newmods=nm))
}})
dm <- escalc("ZCOR", ri=ri, ni=ni, data=dat.molloy2014)
r <- rma(yi, vi, mods=~ meanage + quality, data=dm, method="PM")
L[[length(L) + 1]] <- fitrow(99, r, list(pred=NA, se=NA, ci.lb=NA, pi.lb=NA, pi.ub=NA))
out <- do.call(rbind, L)
m <- data.frame(case=-1, term=NA, b=dm$ri, se=dm$ni, stat=dm$meanage, pval=dm$quality)
m[, setdiff(names(out), names(m))] <- NA
write.csv(rbind(out, m[, names(out)]), stdout(), row.names=FALSE)
"""
    out = metafor(code)
    return CASE_ROWS, {int(c): g.reset_index(drop=True) for c, g in out.groupby("case")}


def _check_fit(res, r, tol):
    np.testing.assert_allclose(res.coefficients["estimate"], r["b"], rtol=tol, atol=1e-10)
    np.testing.assert_allclose(res.coefficients["se"], r["se"], rtol=tol)
    np.testing.assert_allclose(res.coefficients["statistic"], r["stat"], rtol=tol, atol=1e-8)
    np.testing.assert_allclose(res.coefficients["pvalue"], r["pval"], atol=1e-6)
    np.testing.assert_allclose(res.coefficients["ci_low"], r["lb"], rtol=tol, atol=1e-10)
    np.testing.assert_allclose(res.coefficients["ci_high"], r["ub"], rtol=tol, atol=1e-10)
    assert res.qm == pytest.approx(r["QM"][0], rel=tol)
    assert res.qm_pvalue == pytest.approx(r["QMp"][0], abs=1e-6)
    assert res.qe == pytest.approx(r["QE"][0], rel=1e-6)
    assert res.qe_pvalue == pytest.approx(r["QEp"][0], abs=1e-6)
    assert res.tau2 == pytest.approx(r["tau2"][0], rel=tol, abs=1e-12)
    assert res.i2 == pytest.approx(r["I2"][0], rel=tol, abs=1e-9)
    assert res.h2 == pytest.approx(r["H2"][0], rel=tol)
    assert res.r2 == pytest.approx(r["R2"][0], rel=tol, abs=1e-8)


@pytest.mark.r
@pytest.mark.parametrize("case", range(22))
def test_meta_regression_matches_metafor(ref, case):
    rows, out = ref
    method, test, formula = rows[case]
    d = bcg()
    mods = formula.replace("factor(alloc)", "C(alloc)")
    res = meta_analysis("yi", "vi", data=d, mods=mods, method=method, test=test)
    r = out[case]
    tol = 1e-6 if method in ("FE", "DL", "HE", "HS", "HSk", "SJ") else 1e-5
    _check_fit(res, r, tol)
    new = pd.DataFrame({"ablat": [10.0, 30, 50], "year": [1950.0, 1960, 1970],
                        "alloc": ["alternate", "random", "systematic"]})
    if "alloc" in formula:
        pred = res.predict(new)
    else:
        pred = res.predict(new[["ablat", "year"]].to_numpy())
    n = min(3, len(r))
    np.testing.assert_allclose(pred["pred"][:n], r["pred"][:n], rtol=tol, atol=1e-10)
    np.testing.assert_allclose(pred["se"][:n], r["pse"][:n], rtol=tol)
    np.testing.assert_allclose(pred["ci_low"][:n], r["cilb"][:n], rtol=tol, atol=1e-10)
    if method == "FE":  # metafor omits the PI of a common-effect model; ours equals the CI
        np.testing.assert_allclose(pred["pi_low"], pred["ci_low"], rtol=1e-12)
    else:
        np.testing.assert_allclose(pred["pi_low"][:n], r["pilb"][:n], rtol=tol, atol=1e-10)
        np.testing.assert_allclose(pred["pi_high"][:n], r["piub"][:n], rtol=tol, atol=1e-10)


@pytest.mark.r
def test_molloy_zcor_meta_regression_matches_metafor(ref):
    _, out = ref
    m = out[-1]
    yi, vi = np.arctanh(m["b"].to_numpy()), 1 / (m["se"].to_numpy() - 3)  # Fisher's z by hand
    res = meta_analysis(yi, vi, mods=np.column_stack([m["stat"], m["pval"]]), method="PM")
    _check_fit(res, out[99], 1e-5)
