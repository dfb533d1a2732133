"""The public boundary of pooling: inputs, errors and result views."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sleepmeta.errors import ColumnError, ConvergenceError, InputError, ModelError, UnknownOptionError
from sleepmeta.pooling import meta_analysis, meta_analysis_batch
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
        (dict(yi=[0.1, 0.2], vi=[0.1, 0.2], test="t"), UnknownOptionError, "valid: z, knha"),
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


def test_nonconvergence_is_an_error_or_a_flag(monkeypatch):
    import sleepmeta.pooling.estimators as est

    monkeypatch.setattr(est, "MAXITER", 0)
    monkeypatch.setattr(est, "FALLBACK_MAXITER", 0)
    yi, vi = bcg_yi_vi()
    with pytest.raises(ConvergenceError, match=r"REML estimator of tau² did not converge after 1"):
        meta_analysis(yi, vi)
    fit = meta_analysis_batch(yi[None], vi[None], errors="flag")
    assert not fit.converged[0]


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


def test_knha_needs_residual_degrees_of_freedom():
    with pytest.raises(ModelError, match="Knapp-Hartung"):
        meta_analysis([0.3], [0.04], method="FE", test="knha")


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
