"""Three-level simulation studies (issue 13 item 3): generator, batch fits, grid and runs.

Expected values: the generator's covariances are checked against the model
it draws from (``Cov(y_ij, y_ij') = sigma2_cluster`` within a cluster, 0
between clusters, ``Var(y_ij) = sigma2_cluster + sigma2_within + v``), within
five Monte Carlo SEs; fits against one-by-one ``meta_analysis_mv``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sleepmeta.errors import InputError, SpecError
from sleepmeta.pooling.multilevel import meta_analysis_mv
from sleepmeta.scale import load_grid, simulate
from sleepmeta.scale.grid import CONDITION_KEYS
from sleepmeta.scale.multilevel import cluster_codes, fit_three_level, generate_three_level

COND = {"measure": "MD", "k": 6, "clusters": 3, "effect": 0.3, "sigma2_cluster": 0.2,
        "sigma2_within": 0.1, "n": 40, "sd": 1.0, "baseline_risk": None, "tau2": None}
SMALL = {"replicates": 60, "seed": 7, "chunk_size": 25, "estimators": ["REML", "ML"],
         "tests": ["z", "t"],
         "conditions": {"measure": ["MD", "OR"], "k": 8, "clusters": [2, 4], "effect": 0.2,
                        "sigma2_cluster": 0.1, "sigma2_within": 0.05, "n": 50}}


def test_cluster_codes_are_balanced_and_sorted():
    cl = cluster_codes(10, 4)
    assert np.bincount(cl).tolist() == [3, 2, 3, 2]  # floor(j * 4 / 10), j = 0..9
    assert (np.diff(cl) >= 0).all() and cl[0] == 0 and cl[-1] == 3


def test_generator_covariances_follow_the_three_level_model():
    cond = dict(COND, n=100_000, k=4, clusters=2)  # sampling variance 2/n: negligible
    yi, vi, cl = generate_three_level(cond, 20_000, np.random.default_rng(3))
    assert cl.tolist() == [0, 0, 1, 1]
    B = yi.shape[0]
    c = np.cov(yi, rowvar=False)
    s1, s2, v = cond["sigma2_cluster"], cond["sigma2_within"], vi.mean()
    # the SE of a sample (co)variance of normals: about sqrt((s_ii s_jj + s_ij²) / B)
    tot = s1 + s2 + v
    assert c[0, 1] == pytest.approx(s1, abs=5 * np.sqrt((tot**2 + s1**2) / B))
    assert c[0, 2] == pytest.approx(0.0, abs=5 * np.sqrt(tot**2 / B))
    assert c[0, 0] == pytest.approx(tot, abs=5 * np.sqrt(2 * tot**2 / B))
    assert yi.mean() == pytest.approx(cond["effect"], abs=5 * np.sqrt((s1 + s2 / 2) / B))


@pytest.mark.parametrize("method,test", [("REML", "z"), ("ML", "t")])
def test_batch_equals_one_by_one_meta_analysis_mv(method, test):
    yi, vi, cl = generate_three_level(COND, 5, np.random.default_rng(11))
    fit, skipped = fit_three_level(yi, vi, cl, method, test, 0.9)
    assert not skipped.any()
    for b in range(yi.shape[0]):
        d = pd.DataFrame({"yi": yi[b], "vi": vi[b], "cluster": cl, "estimate": range(6)})
        one = meta_analysis_mv("yi", "vi", random="~ 1 | cluster/estimate", data=d,
                               method=method, test=test, level=0.9)
        assert fit.estimate[b] == pytest.approx(one.estimate, rel=1e-6, abs=1e-10)
        assert fit.se[b] == pytest.approx(one.se, rel=1e-6)
        assert fit.ci_low[b] == pytest.approx(one.ci_low, rel=1e-6, abs=1e-9)
        assert fit.pvalue[b] == pytest.approx(one.pvalue, rel=1e-6, abs=1e-12)
        np.testing.assert_allclose(fit.sigma2[b], one.sigma2, rtol=1e-5, atol=1e-9)
        p = one.predict()
        assert fit.pi_low[b] == pytest.approx(p["pi_low"].iloc[0], rel=1e-6, abs=1e-9)
        assert fit.pi_high[b] == pytest.approx(p["pi_high"].iloc[0], rel=1e-6, abs=1e-9)


@pytest.fixture(scope="module")
def reference():
    return simulate(SMALL, progress=False)


def test_three_level_run_reports_variance_components(reference):
    perf = set(reference["performance"])
    assert {"bias", "coverage", "pi_coverage", "tau2_bias", "sigma2_cluster_bias",
            "sigma2_within_bias"} <= perf
    assert {"clusters", "sigma2_cluster", "sigma2_within"} <= set(reference.columns)
    assert "tau2" not in reference.columns
    # 2 measures x 2 cluster counts, 4 methods, 13 measures (11 + the two sigma2 biases)
    assert len(reference) == 4 * 4 * 13
    n = reference.groupby(["condition", "estimator", "test"])[["n_sim", "n_failed"]].first()
    assert (n.sum(axis=1) == SMALL["replicates"]).all()


def test_three_level_run_is_identical_on_processes(reference):
    res = simulate(SMALL, scheduler="processes", n_workers=2, progress=False)
    pd.testing.assert_frame_equal(res, reference, check_exact=True)


def test_three_level_grid_rules():
    base = {"replicates": 10, "seed": 1, "estimators": ["REML"]}
    cond = dict(SMALL["conditions"])
    with pytest.raises(InputError, match="three-level"):
        load_grid({**base, "estimators": ["DL"], "conditions": cond})
    with pytest.raises(InputError, match="three-level"):
        load_grid({**base, "tests": ["knha"], "conditions": cond})
    with pytest.raises(SpecError, match="instead of tau2"):
        load_grid({**base, "conditions": {**cond, "tau2": 0.1}})
    with pytest.raises(SpecError, match="sigma2_within"):
        load_grid({**base, "conditions": {k: v for k, v in cond.items() if k != "sigma2_within"}})
    with pytest.raises(InputError, match="clusters must be <= k"):
        load_grid({**base, "conditions": {**cond, "clusters": 9}})
    with pytest.raises(InputError, match="sigma2_cluster"):
        load_grid({**base, "conditions": {**cond, "sigma2_cluster": -1.0}})


def test_univariate_conditions_are_unchanged():
    # a univariate grid's conditions (and so its hash and stored chunks) keep their keys
    g = load_grid({"replicates": 10, "seed": 1, "estimators": ["DL"],
                   "conditions": {"measure": "MD", "k": 3, "effect": 0.1, "tau2": 0.1, "n": 20}})
    assert tuple(g.conditions[0]) == CONDITION_KEYS
    assert "clusters" not in g.condition_frame().columns


def test_sweep_with_random_equals_meta_analysis_mv_per_group():
    from sleepmeta.scale import sweep

    rng = np.random.default_rng(5)
    rows = []
    for drug, k in (("a", 9), ("b", 7)):
        yi, vi, cl = generate_three_level(dict(COND, k=k), 1, rng)
        rows += [{"drug": drug, "yi": y, "vi": v, "study": f"s{c}", "es": j}
                 for j, (y, v, c) in enumerate(zip(yi[0], vi[0], cl))]
    long = pd.DataFrame(rows).sample(frac=1.0, random_state=1)  # rows in any order
    res = sweep(long, by="drug", random="~ 1 | study/es", method="REML")
    assert res["k"].tolist() == [9, 7]
    for _, row in res.iterrows():
        one = meta_analysis_mv("yi", "vi", random="~ 1 | study/es",
                               data=long[long["drug"] == row["drug"]])
        assert row["estimate"] == pytest.approx(one.estimate, rel=1e-6, abs=1e-10)
        assert row["se"] == pytest.approx(one.se, rel=1e-6)
        assert row["sigma2_study"] == pytest.approx(one.sigma2[0], rel=1e-5, abs=1e-9)
        assert row["sigma2_study_es"] == pytest.approx(one.sigma2[1], rel=1e-5, abs=1e-9)
    with pytest.raises(InputError, match="nested intercepts"):
        sweep(long, by="drug", random="~ es | study")
