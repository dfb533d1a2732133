"""The public boundary of pooling: inputs, errors and result views."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sleepmeta.errors import ColumnError, ConvergenceError, InputError, ModelError, UnknownOptionError
from sleepmeta.pooling import Control, meta_analysis, meta_analysis_batch
from tests._bcg import bcg_frame, bcg_yi_vi


def test_column_names_with_data_and_default_columns():
    d = bcg_frame()
    a = meta_analysis("yi", "vi", data=d, labels="author")
    b = meta_analysis(data=d)
    yi, vi = bcg_yi_vi()
    c = meta_analysis(yi, vi)
    assert a.estimate == b.estimate == c.estimate
    assert a.labels[0] == "Aronson"


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(yi=[0.1, 0.2], vi=[0.1]), InputError, "2 values but vi has 1"),
        (dict(yi=[0.1, 0.2], vi=[0.1, -0.2]), InputError, "study '2': vi must be > 0"),
        (dict(yi=[0.1, np.nan], vi=[0.1, 0.2]), InputError, "study '2': yi must be a finite"),
        (dict(yi=[0.1, 0.2], vi=[0.1, np.inf]), InputError, "study '2': vi must be a finite"),
        (dict(yi=[0.1, 0.2], vi=[0.1, 0.2], method="XX"), UnknownOptionError, "valid: FE, DL"),
        (dict(yi=[0.1, 0.2], vi=[0.1, 0.2], test="tt"), UnknownOptionError, "valid: z, t, knha, adhoc"),
        (dict(yi=[0.1], vi=[0.1]), ModelError, "k = 1"),
        (dict(yi=[], vi=[]), InputError, "no studies"),
    ],
)
def test_bad_input_raises_typed_errors(kwargs, err, match):
    yi, vi = kwargs.pop("yi"), kwargs.pop("vi")
    with pytest.raises(err, match=match):
        meta_analysis(yi, vi, **kwargs)
    assert issubclass(err, ValueError)


def test_unknown_column_is_named():
    with pytest.raises(ColumnError, match=r"column 'effect' \(given as yi=\) is not in data"):
        meta_analysis("effect", "vi", data=bcg_frame())


def test_missing_drop_reports_dropped_studies():
    d = bcg_frame()
    d.loc[2, "yi"] = np.nan
    with pytest.raises(InputError, match="study 'Rosenthal et al': yi"):
        meta_analysis(data=d, labels="author")
    r = meta_analysis(data=d, labels="author", missing="drop")
    assert r.k == 12
    assert any("Rosenthal et al" in n for n in r.notes)
    assert r.estimate == meta_analysis(data=d.drop(index=2)).estimate


def test_k1_works_for_fe_and_says_so():
    r = meta_analysis([0.3], [0.04], method="FE")
    assert r.estimate == 0.3 and r.se == pytest.approx(0.2)
    assert any("k = 1" in n for n in r.notes)


def test_knha_hand_calculation():
    # Knapp & Hartung (2003): se² = Q(tau²)/(k-1) / sum(w); t with k-1 df.
    yi, vi = bcg_yi_vi()
    r = meta_analysis(yi, vi, test="knha")
    w = 1 / (vi + r.tau2)
    mu = np.sum(w * yi) / w.sum()
    s2 = np.sum(w * (yi - mu) ** 2) / (yi.size - 1)
    from scipy import stats

    assert r.se == pytest.approx(np.sqrt(s2 / w.sum()), rel=1e-12)
    assert r.df == 12
    assert r.pvalue == pytest.approx(2 * stats.t.sf(abs(mu / r.se), 12), rel=1e-10)
    crit = stats.t.isf(0.025, 12)
    assert r.pi_low == pytest.approx(mu - crit * np.sqrt(r.se**2 + r.tau2), rel=1e-12)


def test_result_views_are_consistent_and_json_safe():
    r = meta_analysis(data=bcg_frame(), labels="author", measure="RR")
    d = r.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["estimate"] == r.estimate and d["k"] == 13
    assert d["estimate_exp"] == pytest.approx(np.exp(r.estimate))
    frame = r.to_frame()
    assert frame.loc[0, "tau2"] == r.tau2
    text = r.summary()
    assert "Random-effects model (k = 13" in text and f"{r.estimate:.4f}" in text
    assert "<pre>" in r._repr_html_()
    assert r.study_frame()["weight"].sum() == pytest.approx(100)


def test_batch_shapes_masks_and_errors():
    yi = np.array([[0.1, 0.3, np.nan], [0.2, 0.4, 0.1]])
    vi = np.array([[0.01, 0.02, np.nan], [0.01, 0.02, 0.03]])
    with pytest.raises(InputError, match="analysis 0, study 2"):
        meta_analysis_batch(yi, vi)
    with pytest.raises(ModelError, match="analysis 0: 1 studies"):
        meta_analysis_batch(yi, vi, [[True, False, False], [True, True, True]])
    with pytest.raises(InputError, match="shape"):
        meta_analysis_batch(yi, vi[:, :2])
    fit = meta_analysis_batch(yi, vi, ~np.isnan(yi), method="DL")
    assert fit.k.tolist() == [2, 3]


def test_nonconvergence_is_an_error_or_a_flag():
    # an explicit control is used as given (no halved-step remedy), as metafor's control=
    yi, vi = bcg_yi_vi()
    with pytest.raises(ConvergenceError, match=r"REML estimator of tau² did not converge after 1"):
        meta_analysis(yi, vi, control={"maxiter": 0})
    fit = meta_analysis_batch(yi[None], vi[None], errors="flag", control=Control(maxiter=0))
    assert not fit.converged[0]


def test_control_is_metafors_control():
    # the same answer with a tighter threshold and a smaller step; a bad field is a typed error
    yi, vi = bcg_yi_vi()
    base = meta_analysis(yi, vi)
    tight = meta_analysis(yi, vi, control=Control(threshold=1e-10, stepadj=0.5, maxiter=1000))
    assert tight.tau2 == pytest.approx(base.tau2, rel=1e-4)
    assert tight.iterations > base.iterations
    assert tight.extras["control"].stepadj == 0.5
    with pytest.raises(UnknownOptionError, match="unknown control 'step'"):
        meta_analysis(yi, vi, control={"step": 0.5})
    with pytest.raises(InputError, match="stepadj must be in"):
        meta_analysis(yi, vi, control={"stepadj": 2})


def test_moderator_errors_name_the_term():
    d = bcg_frame()
    with pytest.raises(ColumnError, match="'latitude'"):
        meta_analysis(data=d, mods="~ latitude")
    d2 = d.copy()
    d2.loc[4, "ablat"] = np.nan
    with pytest.raises(ModelError, match="study '5': moderator 'ablat'"):
        meta_analysis(data=d2, mods="~ ablat")
    d["twice"] = 2 * d["ablat"]
    with pytest.raises(ModelError, match="term 'twice'"):
        meta_analysis(data=d, mods="~ ablat + twice")
    with pytest.raises(ModelError, match="coefficients"):
        meta_analysis(data=d.iloc[:3], mods="~ ablat + year")
    with pytest.raises(InputError, match="data="):
        meta_analysis(d.yi.to_numpy(), d.vi.to_numpy(), mods="~ ablat")


def test_mods_as_dataframe_or_array_equal_formula():
    d = bcg_frame()
    a = meta_analysis(data=d, mods="~ ablat")
    b = meta_analysis(data=d, mods=d[["ablat"]])
    c = meta_analysis(d.yi.to_numpy(), d.vi.to_numpy(), mods=d.ablat.to_numpy())
    assert a.coefficients["estimate"].to_numpy() == pytest.approx(b.coefficients["estimate"].to_numpy())
    assert list(c.coefficients.index) == ["intrcpt", "x1"]
    assert c.tau2 == pytest.approx(a.tau2)
    assert isinstance(a.coefficients, pd.DataFrame)


# Ten studies on which REML's Fisher scoring oscillates and metafor's rma() stops with
# "Fisher scoring algorithm did not converge" (checked with metafor 3.8).
OSC_Y = np.array([0.05321829153713664, 0.43851811197166496, 0.14290264534060884, 0.7470177915451613,
                  -0.08040356483898886, 0.29505789102147334, 0.33102426001726915,
                  0.5192873899172692, 0.06516504168720064, 0.3549856603460356])
OSC_V = np.array([0.13687501942017008, 0.11543701945048974, 0.1161218799457677, 0.13988564381460872,
                  0.018383035880389066, 0.056002693122039045, 0.09866934720605484,
                  0.018169283844667143, 0.10317245587542258, 0.08618666851748365])


def test_oscillating_fisher_scoring_uses_the_documented_remedy_and_says_so():
    r = meta_analysis(OSC_Y, OSC_V)
    assert any("stepadj=0.5" in n for n in r.notes)
    # the answer solves the REML score equation (Viechtbauer 2005, eq. 8)
    w = 1 / (OSC_V + r.tau2)
    mu = np.sum(w * OSC_Y) / w.sum()
    score = np.sum(w**2 * (OSC_Y - mu) ** 2) - np.sum(w) + np.sum(w**2) / np.sum(w)
    assert abs(score) / np.sum(w**2) < 1e-5


@pytest.mark.r
def test_oscillating_case_equals_metafor_with_its_remedy(metafor):
    ys = ",".join(repr(float(x)) for x in OSC_Y)
    vs = ",".join(repr(float(x)) for x in OSC_V)
    ref = metafor(f"""
    r <- rma(c({ys}), c({vs}), control=list(stepadj=0.5, maxiter=1000))
    write.csv(data.frame(tau2=r$tau2, est=r$b[1], se=r$se), stdout(), row.names=FALSE)""")
    r = meta_analysis(OSC_Y, OSC_V)
    assert r.tau2 == pytest.approx(ref.tau2[0], rel=1e-5)
    assert r.estimate == pytest.approx(ref.est[0], rel=1e-5)
    assert r.se == pytest.approx(ref.se[0], rel=1e-5)


def test_knha_with_one_study_falls_back_to_z_as_metafor():
    # metafor 3.8: rma(yi=0.3, vi=0.04, method="EE", test="knha") warns 'Setting argument
    # test="z" since k=1' and reports z = 0.3 / sqrt(0.04) = 1.5 (hand calculation)
    r = meta_analysis([0.3], [0.04], method="FE", test="knha")
    assert r.test == "z" and r.df is None
    assert r.se == pytest.approx(0.2) and r.statistic == pytest.approx(1.5)
    assert r.ci_low == pytest.approx(0.3 - 1.959963984540054 * 0.2)
    assert any('test "z"' in n for n in r.notes)
    # with k - p = 0 and more than one study there is no fallback
    with pytest.raises(ModelError, match="2 coefficients .* but only 2 studies"):
        meta_analysis([0.3, 0.1], [0.04, 0.02], method="FE", test="knha", mods=[1.0, 2.0])


def test_batch_member_with_one_study_uses_z_and_says_so():
    yi = np.array([[0.3, 0.0, 0.0], [0.1, 0.3, 0.5]])
    vi = np.array([[0.04, 1.0, 1.0], [0.01, 0.02, 0.03]])
    mask = np.array([[True, False, False], [True, True, True]])
    fit = meta_analysis_batch(yi, vi, mask, method="FE", test="knha")
    assert fit.z_fallback.tolist() == [True, False]
    assert fit.se[0] == pytest.approx(0.2) and np.isnan(fit.df[0]) and fit.df[1] == 2
    assert np.isfinite([fit.ci_low[0], fit.ci_high[0], fit.pvalue[0]]).all()
    assert 'test "z"' in fit.notes[0] and 1 not in fit.notes


def test_knha_with_equal_effects_has_zero_se_and_says_so():
    # all yi equal: Q(tau²) = 0, so Knapp-Hartung's s² = 0 and se = 0 (metafor gives the same)
    r = meta_analysis([0.2, 0.2, 0.2], [0.1, 0.1, 0.1], test="knha")
    assert r.se == 0 and r.ci_low == r.ci_high == pytest.approx(0.2)
    assert any("s² = 0" in n for n in r.notes)


def test_a_dataframe_passed_positionally_is_a_typed_error():
    # issue 11: meta_analysis(df) raised AttributeError ('DataFrame' has no 'labels')
    df = pd.DataFrame({"yi": [0.1, 0.2, 0.3], "vi": [0.01, 0.02, 0.03]})
    with pytest.raises(InputError, match=r"data=df"):
        meta_analysis(df)
    with pytest.raises(InputError, match="vi is a DataFrame"):
        meta_analysis(df["yi"], df)
    assert meta_analysis(data=df).k == 3  # the documented way


# --- fuzz (issue 11): any user data gives finite documented numbers or a sleepmeta error

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sleepmeta.errors import SleepmetaError  # noqa: E402

_ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)


@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(yi=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=10), data=st.data(),
       method=st.sampled_from(["FE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM"]),
       test=st.sampled_from(["z", "knha"]))
def test_fuzz_meta_analysis_is_finite_or_a_typed_error(yi, data, method, test):
    vi = data.draw(st.lists(st.floats(1e-4, 1e4), min_size=len(yi), max_size=len(yi)))
    try:
        res = meta_analysis(yi, vi, method=method, test=test)
    except SleepmetaError:
        return
    for name in ("estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "h2",
                 "q"):
        assert np.isfinite(getattr(res, name)), name
    assert res.tau2 >= 0 and 0 <= res.i2 <= 100


@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(yi=st.one_of(st.lists(_ANY_FLOAT, max_size=5), st.text(max_size=5), st.none(),
                    st.just(pd.DataFrame({"yi": [0.1, 0.2], "vi": [0.1, 0.1]}))),
       vi=st.one_of(st.lists(_ANY_FLOAT, max_size=5), st.text(max_size=5), st.none()),
       level=st.one_of(_ANY_FLOAT, st.text(max_size=4), st.none(), st.booleans()),
       missing=st.sampled_from(["raise", "drop", "skip"]),
       mods=st.one_of(st.none(), st.text(max_size=12)))
def test_fuzz_meta_analysis_bad_arguments_are_typed_errors(yi, vi, level, missing, mods):
    # issue 11: a DataFrame passed positionally, level="0.95" etc. gave AttributeError/TypeError
    try:
        meta_analysis(yi, vi, level=level, missing=missing, mods=mods, method="DL")
    except SleepmetaError:
        pass


def test_level_given_as_text_is_a_typed_error():
    with pytest.raises(InputError, match="level must be a number"):
        meta_analysis([0.1, 0.2], [0.1, 0.1], level="0.95")


R_K1 = """
res <- suppressWarnings(rma(yi=c(0.3), vi=c(0.04), method="{method}", test="knha"))
write.csv(data.frame(test=res$test, se=res$se, zval=res$zval, pval=res$pval, ci_lb=res$ci.lb,
                     ci_ub=res$ci.ub), stdout(), row.names=FALSE)
"""


@pytest.mark.r
def test_one_study_knha_equals_metafor(metafor):
    # metafor 3.8 sets test = "z" when k = 1 (with a warning); our common-effect fit agrees
    ref = metafor(R_K1.format(method="EE")).iloc[0]
    r = meta_analysis([0.3], [0.04], method="FE", test="knha")
    assert ref["test"] == r.test == "z"
    for ours, theirs in (("se", "se"), ("statistic", "zval"), ("pvalue", "pval"),
                         ("ci_low", "ci_lb"), ("ci_high", "ci_ub")):
        assert getattr(r, ours) == pytest.approx(ref[theirs], rel=1e-10), ours
