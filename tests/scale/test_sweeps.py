"""Sweeps of one specification over the groups of a long table (sleepmeta.scale.sweeps)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmeta.errors import ColumnError, ConvergenceError, InputError, ModelError, \
    UnknownOptionError
from sleepmeta.pooling import meta_analysis
from sleepmeta.scale import sweep


def _bcg() -> pd.DataFrame:
    """BCG trials with log risk ratios by hand: yi = log((a/n1)/(c/n2)),
    vi = 1/a - 1/n1 + 1/c - 1/n2 (Viechtbauer 2010)."""
    from sleepmeta.data import bcg

    d = bcg()
    n1, n2 = d.tpos + d.tneg, d.cpos + d.cneg
    return d.assign(yi=np.log((d.tpos / n1) / (d.cpos / n2)),
                    vi=1 / d.tpos - 1 / n1 + 1 / d.cpos - 1 / n2,
                    era=np.where(d.year < 1960, "early", "late"))


@pytest.mark.parametrize("test", ["z", "knha"])
@pytest.mark.parametrize("method", ["DL", "REML", "PM"])
def test_each_group_equals_its_own_meta_analysis(method, test):
    d = _bcg()
    res = sweep(d, by=["alloc", "era"], method=method, test=test, too_few="drop")
    sizes = d.groupby(["alloc", "era"]).size()
    assert len(res) == (sizes >= 2).sum() and len(res.attrs["skipped"]) == (sizes < 2).sum()
    for row in res.to_dict("records"):
        sub = d[(d.alloc == row["alloc"]) & (d.era == row["era"])]
        one = meta_analysis(sub.yi.to_numpy(), sub.vi.to_numpy(), method=method, test=test)
        assert row["k"] == one.k
        for field in ("estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2",
                      "i2", "q", "pvalue"):
            assert row[field] == pytest.approx(getattr(one, field), rel=1e-12, abs=1e-14)


@pytest.mark.r
def test_matches_metafor_by_allocation(metafor):
    d = _bcg()
    res = sweep(d, by="alloc", method="REML").set_index("alloc")
    r = metafor(
        'dat <- escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)\n'
        'out <- do.call(rbind, lapply(split(dat, dat$alloc), function(s) {\n'
        '  f <- rma(yi, vi, data=s, method="REML")\n'
        '  data.frame(alloc=s$alloc[1], estimate=as.numeric(f$beta), se=f$se, tau2=f$tau2,\n'
        '             ci_low=f$ci.lb, ci_high=f$ci.ub, pi_low=predict(f)$pi.lb,\n'
        '             pi_high=predict(f)$pi.ub, q=f$QE, k=f$k)}))\n'
        'write.csv(out, stdout(), row.names=FALSE)').set_index("alloc")
    for alloc in r.index:
        for field in ("estimate", "se", "tau2", "ci_low", "ci_high", "pi_low", "pi_high"):
            assert res.loc[alloc, field] == pytest.approx(r.loc[alloc, field], rel=1e-5,
                                                          abs=1e-8)
        assert res.loc[alloc, "q"] == pytest.approx(r.loc[alloc, "q"], rel=1e-6)
        assert res.loc[alloc, "k"] == r.loc[alloc, "k"]


def test_knha_adds_df_and_row_order_is_sorted():
    d = _bcg()
    res = sweep(d, by="alloc", method="DL", test="knha")
    assert res["alloc"].tolist() == sorted(d.alloc.unique())
    assert (res["df"] == res["k"] - 1).all()


def test_too_few_studies():
    d = pd.DataFrame({"g": ["a", "a", "b"], "yi": [0.1, 0.2, 0.3], "vi": [0.1, 0.1, 0.1]})
    with pytest.raises(ModelError, match="group g='b': 1 study; REML needs at least 2"):
        sweep(d, by="g")
    res = sweep(d, by="g", too_few="drop")
    assert res["g"].tolist() == ["a"] and res.attrs["skipped"] == ["g='b'"]
    assert sweep(d, by="g", method="FE")["k"].tolist() == [2, 1]


def test_group_of_one_study_under_knha_uses_z_as_metafor():
    # metafor 3.8: rma(yi, vi, method="EE", test="knha") with k = 1 warns 'Setting argument
    # test="z" since k=1'; group b: z = 0.3 / sqrt(0.04) = 1.5 (hand calculation)
    d = pd.DataFrame({"g": ["a", "a", "b"], "yi": [0.1, 0.2, 0.3], "vi": [0.1, 0.1, 0.04]})
    res = sweep(d, by="g", method="FE", test="knha").set_index("g")
    assert res.loc["b", "se"] == pytest.approx(0.2) and res.loc["b", "statistic"] == pytest.approx(1.5)
    assert np.isfinite(res.loc["b", ["ci_low", "ci_high", "pvalue"]].astype(float)).all()
    assert np.isnan(res.loc["b", "df"]) and res.loc["a", "df"] == 1
    assert 'test "z"' in res.loc["b", "note"] and res.loc["a", "note"] == ""
    assert len(res.attrs["notes"]) == 1 and res.attrs["notes"][0].startswith("group g='b'")


def test_missing_and_bad_values_name_the_row_and_group():
    d = pd.DataFrame({"g": ["a", "a", "a", "b", "b"], "yi": [0.1, np.nan, 0.2, 0.3, 0.1],
                      "vi": [0.1, 0.1, 0.1, 0.1, 0.2]})
    with pytest.raises(InputError, match=r"row 1 \(g='a'\): yi is missing"):
        sweep(d, by="g")
    res = sweep(d, by="g", missing="drop")
    assert res["k"].tolist() == [2, 2] and len(res.attrs["dropped"]) == 1
    d.loc[1, "yi"] = 0.0
    d.loc[4, "vi"] = -1.0
    with pytest.raises(InputError, match=r"row 4 \(g='b'\): vi must be finite and > 0"):
        sweep(d, by="g")


def test_bad_arguments():
    d = _bcg()
    with pytest.raises(ColumnError, match="column 'drug' is not in data"):
        sweep(d, by="drug")
    with pytest.raises(UnknownOptionError, match="unknown method 'XX'"):
        sweep(d, by="alloc", method="XX")
    with pytest.raises(UnknownOptionError, match="unknown too_few"):
        sweep(d, by="alloc", too_few="skip")
    with pytest.raises(InputError, match="DataFrame"):
        sweep(d.to_dict(), by="alloc")


def test_non_convergence_names_the_group(monkeypatch):
    import sleepmeta.scale.sweeps as module

    real = module.meta_analysis_batch

    def second_fails(*args, **kwargs):  # the engine's flag for analysis 1 ('random')
        fit = real(*args, **kwargs)
        fit.converged[1] = False
        return fit

    monkeypatch.setattr(module, "meta_analysis_batch", second_fails)
    d = _bcg()
    with pytest.raises(ConvergenceError, match="group alloc='random'"):
        sweep(d, by="alloc", method="REML")
    flagged = sweep(d, by="alloc", method="REML", errors="flag")
    assert flagged["converged"].tolist() == [True, False, True]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("xyz"), st.floats(-2, 2), st.floats(0.01, 1)),
                min_size=6, max_size=30))
def test_shuffling_rows_does_not_change_results(rows):
    d = pd.DataFrame(rows, columns=["g", "yi", "vi"])
    if (d.groupby("g").size() < 2).any():
        return
    a = sweep(d, by="g", method="DL")
    b = sweep(d.sample(frac=1, random_state=1), by="g", method="DL")
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-10, atol=1e-12)
