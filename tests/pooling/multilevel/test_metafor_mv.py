"""meta_analysis_mv against metafor 3.8's rma.mv, confint, predict and robust.

Reference numbers come from ``tests/data/make_references_mv.R`` (each case
records its R call, metafor/clubSandwich versions and date) pinned in
``tests/data/metafor_mv_references.json``; with R installed the same script
is also run live and compared the same way. Tolerances (issue 13): relative
1e-5 on estimates, SEs, variance components and log-likelihoods; p-values
absolute 1e-5 (rma.mv's optimiser, nlminb, stops with parameters about 1e-6
from the maximum that sleepmeta reaches, so its p-values move in the sixth
decimal); deviance, AIC, BIC and AICc are ``-2 ll`` plus a constant and are
compared with twice the log-likelihood's tolerance in absolute terms (an AIC
can be 0.14).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sleepmeta.pooling.multilevel import meta_analysis_mv

DATA = Path(__file__).resolve().parents[2] / "data"
PINNED = DATA / "metafor_mv_references.json"
SCRIPT = DATA / "make_references_mv.R"
REL = 1e-5

# the Python call of each R call in make_references_mv.R
CALLS = {
    "konstantopoulos_reml": dict(random="~ 1 | district/school"),
    "konstantopoulos_ml": dict(random="~ 1 | district/school", method="ML"),
    "konstantopoulos_year_t": dict(random="~ 1 | district/school", mods="~ yc", test="t"),
    "konstantopoulos_gen_slopes": dict(random="~ yc | district", struct="GEN", mods="~ yc"),
    "konstantopoulos_gen_noint": dict(random=["~ yc - 1 | district", "~ 1 | school"],
                                      struct="GEN", mods="~ yc"),
    "assink_three_level": dict(random="~ 1 | study/esid"),
    "assink_deltype": dict(random="~ 1 | study/esid", mods="~ deltype"),
    "berkey_UN": dict(random="~ outcome | trial", struct="UN", mods="~ outcome - 1"),
    "berkey_UN_year": dict(random="~ outcome | trial", struct="UN",
                           mods="~ outcome + outcome:year0 - 1"),
    "berkey_UN_ml": dict(random="~ outcome | trial", struct="UN", mods="~ outcome - 1",
                         method="ML"),
    "berkey_CS": dict(random="~ outcome | trial", struct="CS", mods="~ outcome - 1"),
    "berkey_HCS": dict(random="~ outcome | trial", struct="HCS", mods="~ outcome - 1"),
    "berkey_DIAG": dict(random="~ outcome | trial", struct="DIAG", mods="~ outcome - 1"),
    "berkey_ID": dict(random="~ outcome | trial", struct="ID", mods="~ outcome - 1"),
    "berkey_AR": dict(random="~ outcome | trial", struct="AR", mods="~ outcome - 1"),
    "kalaian_HCS_ml": dict(random="~ outcome | study", struct="HCS", mods="~ outcome - 1",
                           method="ML"),
    "ishak_AR": dict(random="~ time | study", struct="AR", mods="~ C(time) - 1"),
    "berkey_CS_t": dict(random="~ outcome | trial", struct="CS", mods="~ outcome - 1", test="t"),
    # two inner | outer terms (tau2/rho and gamma2/phi)
    "assink_cs_diag": dict(random=["~ deltype | study", "~ deltype | id"], struct=["CS", "DIAG"]),
    "assink_cs_diag_ml": dict(random=["~ deltype | study", "~ deltype | id"],
                              struct=["CS", "DIAG"], method="ML"),
    "assink_cs_diag_deltype": dict(random=["~ deltype | study", "~ deltype | id"],
                                   struct=["CS", "DIAG"], mods="~ deltype"),
    "assink_diag_recycled": dict(random=["~ deltype | study", "~ deltype | id"], struct="DIAG"),
}
PREDICT = {  # the Python call of each case's predict() call
    "konstantopoulos_reml": dict(),
    "konstantopoulos_year_t": dict(newmods=np.array([[-1.0], [0.0], [0.5]])),
    "assink_three_level": dict(),
    "berkey_UN": dict(newmods=np.array([[1.0, 0.0], [0.0, 1.0]]), tau2_levels=["AL", "PD"]),
    "berkey_CS": dict(newmods=np.array([[1.0, 0.0]])),
    "assink_cs_diag": dict(tau2_levels=["covert", "overt"], gamma2_levels=["covert", "overt"]),
    "assink_cs_diag_deltype": dict(newmods=np.array([[0.0, 0.0], [1.0, 0.0]]),
                                   tau2_levels=["covert", "general"],
                                   gamma2_levels=["covert", "general"]),
}


def _v(x):
    return np.atleast_1d(np.asarray(x, dtype=float))


def _close(got, want, what, rel=REL, abs_=1e-9):
    got, want = _v(got), _v(want)
    if want.size == 1 and got.size > 1:  # metafor stores one df for all coefficients
        want = np.repeat(want, got.size)
    assert got.shape == want.shape, what
    np.testing.assert_allclose(got, want, rtol=rel, atol=abs_, err_msg=what)


def _fit(ref, case):
    data = pd.DataFrame(ref["data"][case["data_name"]])
    full_v = {"berkey": "berkey_V", "kalaian": "kalaian_V"}
    V = np.array(ref[full_v[case["data_name"]]]) if case["data_name"] in full_v else "vi"
    return data, meta_analysis_mv("yi", V, data=data, **CALLS[case["name"]])


def check_case(ref, case):
    data, res = _fit(ref, case)
    name = case["name"]
    tab = res.coef_table
    _close(tab[:, 0], case["beta"], f"{name} beta")
    _close(tab[:, 1], case["se"], f"{name} se")
    _close(tab[:, 2], case["zval"], f"{name} zval")
    _close(tab[:, 3], case["pval"], f"{name} pval", rel=0, abs_=1e-5)
    # a bound is estimate -/+ crit * se: its tolerance is that of its parts (it can be ~0)
    scale = REL * (np.abs(_v(case["beta"])) + 2 * _v(case["se"])).max()
    _close(tab[:, 4], case["ci_lb"], f"{name} ci_lb", abs_=scale)
    _close(tab[:, 5], case["ci_ub"], f"{name} ci_ub", abs_=scale)
    # variance components: relative 1e-5, and absolute 1e-5 of the largest component (a
    # small one in a flat likelihood is where nlminb stops farthest from the maximum)
    vc = np.concatenate([_v(case[c]) for c in ("sigma2", "tau2", "gamma2")
                         if case.get(c, []) != []] or [np.zeros(0)])
    vc_tol = REL * max(vc.max(initial=0.0), 1e-8)
    _close(res.sigma2, _v(case["sigma2"]) if case["sigma2"] != [] else [], f"{name} sigma2",
           abs_=vc_tol)
    if case["tau2"] != []:
        _close(res.tau2, case["tau2"], f"{name} tau2", abs_=vc_tol)
    if case["rho"] != []:
        _close(res.rho[: _v(case["rho"]).size], case["rho"], f"{name} rho", abs_=1e-6)
    if case.get("gamma2", []) != []:
        _close(res.gamma2, case["gamma2"], f"{name} gamma2", abs_=vc_tol)
    else:
        assert res.gamma2 == (), f"{name} has no second inner | outer term"
    if case.get("phi", []) != []:
        _close(res.phi[: _v(case["phi"]).size], case["phi"], f"{name} phi", abs_=1e-6)
    assert res.qe == pytest.approx(case["QE"], rel=1e-6), f"{name} QE"
    assert res.qm == pytest.approx(case["QM"], rel=REL), f"{name} QM"
    assert res.qm_pvalue == pytest.approx(case["QMp"], abs=1e-5), f"{name} QMp"
    assert res.parms == case["parms"], f"{name} parms"
    for m in ("ML", "REML"):
        for stat in ("ll", "dev", "AIC", "BIC", "AICc"):
            # dev, AIC, BIC, AICc are -2 ll + a constant: twice the ll's tolerance, absolute
            ll = abs(case["fit_stats"][m]["ll"])
            assert res.fit_stats[m][stat] == pytest.approx(case["fit_stats"][m][stat], rel=REL,
                                                           abs=2 * REL * max(ll, 1.0)), \
                f"{name} {m} {stat}"
    if "predict" in case:
        p = res.predict(**PREDICT[name])
        want = case["predict"]
        width = np.abs(_v(want["pi_ub"]) - _v(want["pi_lb"]))
        bound_tol = REL * (np.abs(_v(want["pred"])) + width).max()
        for col, key in (("pred", "pred"), ("se", "se"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub"),
                         ("pi_low", "pi_lb"), ("pi_high", "pi_ub")):
            _close(p[col].to_numpy(), want[key], f"{name} predict {col}",
                   abs_=1e-9 if col in ("pred", "se") else bound_tol)
    if "confint" in case:
        ci = res.profile_ci()
        for item in case["confint"].values():
            row = ci.loc[item["name"]]
            # a correlation's bounds: metafor's refit at rho = -1 can fail, and confint then
            # starts its search elsewhere (eptries), so the bound agrees only to uniroot's
            # tolerance eps^0.25 (1.2e-4); variances' bounds follow the same path as metafor
            tol = 1.3e-4 if item["name"].startswith("rho") else vc_tol
            for col, key in (("estimate", "estimate"), ("ci_low", "lb"), ("ci_high", "ub")):
                assert row[col] == pytest.approx(item[key], rel=REL, abs=tol), \
                    f"{name} confint {item['name']} {col}"
    for kind, small in (("robust_CR2", True), ("robust_CR1", False)):
        if kind not in case:
            continue
        rob = res.robust(case[kind]["cluster"], small_sample=small)
        want = case[kind]
        c = rob.coefficients
        _close(c["se"].to_numpy(), want["se"], f"{name} {kind} se")
        _close(c["df"].to_numpy(), want["df"], f"{name} {kind} df")
        _close(c["pvalue"].to_numpy(), want["pval"], f"{name} {kind} pval", rel=0, abs_=1e-5)
        _close(c["ci_low"].to_numpy(), want["ci_lb"], f"{name} {kind} ci_lb",
               abs_=REL * (np.abs(_v(case["beta"])) + 4 * _v(want["se"])).max())
        assert rob.qm == pytest.approx(want["QM"], rel=REL), f"{name} {kind} QM"
        _close(rob.qm_df[1], want["QMdf"][1], f"{name} {kind} QM df")


def _pinned():
    return json.loads(PINNED.read_text())


@pytest.mark.parametrize("name", sorted(CALLS))
def test_pinned_metafor_reference(name):
    ref = _pinned()
    assert ref["metafor_version"].startswith("3.8")
    case = next(c for c in ref["cases"] if c["name"] == name)
    check_case(ref, case)


def test_every_pinned_case_is_checked():
    assert {c["name"] for c in _pinned()["cases"]} == set(CALLS)


@pytest.mark.r
def test_live_metafor(metafor, tmp_path):
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not found")
    out = tmp_path / "ref.json"
    run = subprocess.run(["Rscript", "--vanilla", str(SCRIPT), str(out)], capture_output=True,
                         text=True, timeout=900)
    if run.returncode != 0:
        pytest.skip(f"R reference script needs clubSandwich and jsonlite: {run.stderr[-300:]}")
    ref = json.loads(out.read_text())
    for case in ref["cases"]:
        check_case(ref, case)
