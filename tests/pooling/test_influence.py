"""Tests for sleepmeta.pooling.influence.

Expected numbers: metafor 3.8's ``influence()`` (``$inf`` and ``$dfbs``)
computed in the same run through the ``metafor`` fixture on dat.bcg with
and without the moderator ablat and on dat.hackshaw1998; invariants of the
hat matrix (trace = p) for the checks without R.
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

BCG_R = 'dat <- escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)\n'
CASES = [("REML", "z", None), ("DL", "z", None), ("PM", "knha", None), ("FE", "z", None),
         ("REML", "z", "~ ablat"), ("DL", "knha", "~ ablat"), ("FE", "z", "~ ablat")]
OURS = ["rstudent", "dffits", "cooks_d", "cov_r", "tau2_del", "qe_del", "hat", "weight"]
THEIRS = ["rstudent", "dffits", "cook.d", "cov.r", "tau2.del", "QE.del", "hat", "weight"]


def bcg() -> pd.DataFrame:
    d = pd.read_csv(files("sleepmeta").joinpath("data/bcg.csv"))
    # log risk ratio and its variance (escalc "RR"), written out by hand
    d["yi"] = np.log((d.tpos / (d.tpos + d.tneg)) / (d.cpos / (d.cpos + d.cneg)))
    d["vi"] = 1 / d.tpos - 1 / (d.tpos + d.tneg) + 1 / d.cpos - 1 / (d.cpos + d.cneg)
    return d


@pytest.fixture(scope="module")
def ref(metafor):
    code = BCG_R + "L <- list()\n"
    cols = 'c("' + '", "'.join(THEIRS) + '")'
    for i, (m, t, mods) in enumerate(CASES):
        mm = "" if mods is None else f", mods={mods}"
        code += (f'inf <- influence(rma(yi, vi, data=dat, method="{m}", test="{t}"{mm}))\n'
                 f'L[[{i + 1}]] <- data.frame(as.data.frame(inf$inf)[, {cols}],'
                 f' dfb1=inf$dfbs[[1]], infl=inf$is.infl, case={i})\n')
    code += ('h <- dat.hackshaw1998; inf <- influence(rma(yi, vi, data=h, method="REML"))\n'
             f'L[[{len(CASES) + 1}]] <- data.frame(as.data.frame(inf$inf)[, c("'
             + '", "'.join(THEIRS) + '")], dfb1=inf$dfbs[[1]], infl=inf$is.infl, case=99)\n'
             'hk <- data.frame(yi=h$yi, vi=h$vi, case=-1)\n'
             'out <- do.call(rbind, L); out$yi <- NA; out$vi <- NA\n'
             'hk[, setdiff(names(out), names(hk))] <- NA\n'
             'write.csv(rbind(out, hk[, names(out)]), stdout(), row.names=FALSE)')
    out = metafor(code)
    return {int(c): g.reset_index(drop=True) for c, g in out.groupby("case")}


def _check(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    for a, b in zip(OURS, THEIRS):
        np.testing.assert_allclose(ours[a].to_numpy(float), theirs[b].to_numpy(float),
                                   rtol=1e-5, atol=1e-9, err_msg=a)
    np.testing.assert_allclose(ours.iloc[:, ours.columns.get_loc("influential") + 1],
                               theirs["dfb1"], rtol=1e-5, atol=1e-9)
    assert list(ours["influential"]) == list(theirs["infl"])


@pytest.mark.r
@pytest.mark.parametrize("case", range(len(CASES)))
def test_influence_bcg_matches_metafor(ref, case):
    method, test, mods = CASES[case]
    res = meta_analysis("yi", "vi", data=bcg(), method=method, test=test, mods=mods)
    _check(res.influence(), ref[case])


@pytest.mark.r
def test_influence_hackshaw_matches_metafor(ref):
    h = ref[-1]
    res = meta_analysis(h["yi"].to_numpy(), h["vi"].to_numpy())
    _check(res.influence(), ref[99])


# ---- without R ----------------------------------------------------------------------------------
def test_common_effect_by_hand():
    yi, vi = np.array([0.1, 0.3, 0.5, 0.2]), np.array([0.01, 0.02, 0.04, 0.02])
    inf = meta_analysis(yi, vi, method="FE").influence()
    w = 1 / vi
    # FE, intercept only: hat_i = w_i / sum(w); weight = 100 hat_i
    np.testing.assert_allclose(inf["hat"], w / w.sum(), rtol=1e-12)
    np.testing.assert_allclose(inf["weight"], 100 * w / w.sum(), rtol=1e-12)
    # rstudent_i = (y_i - mean_(i)) / sqrt(v_i + 1/sum(w_(i)))
    for i in range(4):
        keep = np.arange(4) != i
        mu = np.sum(w[keep] * yi[keep]) / w[keep].sum()
        z = (yi[i] - mu) / np.sqrt(vi[i] + 1 / w[keep].sum())
        assert inf["rstudent"].iloc[i] == pytest.approx(z, rel=1e-12)
        # Cook's distance = (mu - mu_(i))² / var(mu)
        mu_all = np.sum(w * yi) / w.sum()
        assert inf["cooks_d"].iloc[i] == pytest.approx((mu_all - mu) ** 2 * w.sum(), rel=1e-10)


def test_rank_deficient_deletion_is_nan_and_flagged():
    data = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.9, 0.25], "vi": [0.01, 0.02, 0.015, 0.02, 0.01],
                         "g": ["a", "a", "a", "b", "a"]})
    inf = meta_analysis("yi", "vi", data=data, mods="~ C(g)", method="FE").influence()
    row = inf.iloc[3]
    assert not row["ok"] and np.isnan(row["rstudent"]) and "rank-deficient" in row["note"]
    assert row["hat"] == 1.0  # a study alone in its group is fitted exactly (metafor: hat = 1)


def test_k1_is_an_error():
    with pytest.raises(ModelError, match="k = 1"):
        meta_analysis([0.1], [0.01], method="FE").influence()


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.floats(-2, 2), st.floats(0.01, 1), st.floats(0, 50)),
                min_size=4, max_size=9, unique_by=lambda r: r[2]))
def test_hat_values_sum_to_p(rows):
    yi, vi, x = np.array(rows).T
    res = meta_analysis(yi, vi, mods=x, method="DL")
    inf = res.influence()
    assert inf["hat"].sum() == pytest.approx(2.0, rel=1e-9)
    assert inf["weight"].sum() == pytest.approx(100.0, rel=1e-9)
