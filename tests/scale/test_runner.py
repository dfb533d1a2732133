"""Simulation runs: schedulers, resumable output, and known coverage results.

Coverage expectations come from the literature and are checked against the
run's own Monte Carlo SE, never a pasted number: the DerSimonian-Laird
random-effects CI with Wald z undercovers when k is small and tau² is large
relative to the within-study variances (Brockwell & Gordon 2001, Stat Med
20:825-840; IntHout, Ioannidis & Borm 2014, BMC Med Res Methodol 14:25),
while the Knapp-Hartung CI stays close to nominal in the same normal model
(IntHout et al. 2014; Knapp & Hartung 2003).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from sleepmeta.errors import InputError, SchedulerError, UnknownOptionError
from sleepmeta.pooling.registry import Control
from sleepmeta.scale import runner, simulate
from sleepmeta.scale.store import CHUNKS, MANIFEST, SUMMARY

SMALL = {
    "replicates": 300, "seed": 42, "chunk_size": 100, "estimators": ["DL", "REML"],
    "tests": ["z", "knha"],
    "conditions": {"measure": ["MD", "OR"], "k": 4, "effect": 0.2, "tau2": 0.1,
                   "n": {"dist": "uniform", "low": 10, "high": 60}},
}


@pytest.fixture(scope="module")
def local_cluster():
    distributed = pytest.importorskip("distributed", reason="Dask is not installed; to test "
                                      "clusters: pip install 'sleepmeta[dask]'")
    import dask

    from sleepmeta.scale import DASK_WORKER_CONFIG

    with dask.config.set(DASK_WORKER_CONFIG), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield cluster, client


@pytest.fixture(scope="module")
def reference():
    return simulate(SMALL, progress=False)


def test_tidy_table(reference):
    assert reference["performance"].nunique() == 11
    # 2 conditions x 4 methods x 11 measures
    assert len(reference) == 2 * 4 * 11
    assert {"measure", "k", "effect", "tau2", "n", "estimator", "test", "estimate", "mcse",
            "n_sim", "n_failed"} <= set(reference.columns)
    assert (reference.groupby(["condition", "estimator", "test"])["n_sim"].first()
            + reference.groupby(["condition", "estimator", "test"])["n_failed"].first()
            == 300).all()


def test_processes_give_identical_results(reference):
    res = simulate(SMALL, scheduler="processes", n_workers=2, progress=False)
    pd.testing.assert_frame_equal(res, reference, check_exact=True)


def test_dask_cluster_gives_identical_results(reference, local_cluster):
    cluster, client = local_cluster
    res = simulate(SMALL, scheduler=client, progress=False)
    pd.testing.assert_frame_equal(res, reference, check_exact=True)
    res = simulate(SMALL, scheduler=cluster.scheduler_address, progress=False)
    pd.testing.assert_frame_equal(res, reference, check_exact=True)


def test_unreachable_scheduler_fails_fast_naming_it():
    start = time.monotonic()
    with pytest.raises(SchedulerError, match="tcp://127.0.0.1:1"):
        simulate(SMALL, scheduler="tcp://127.0.0.1:1", timeout=1, progress=False)
    assert time.monotonic() - start < 15


def test_unknown_scheduler():
    with pytest.raises(UnknownOptionError, match="unknown scheduler 'threads'"):
        simulate(SMALL, scheduler="threads", progress=False)


def test_output_and_resume(tmp_path, reference, monkeypatch):
    out = tmp_path / "results.parquet"
    real = runner.run_chunk
    calls = []

    def interrupted(*args):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(runner, "run_chunk", interrupted)
    with pytest.raises(KeyboardInterrupt):
        simulate(SMALL, out=out, progress=False)
    parts = sorted(p.name for p in (out / CHUNKS).iterdir())
    assert parts == ["part-c00000-j000000.parquet", "part-c00000-j000001.parquet"]
    assert not (out / SUMMARY).exists()

    calls.clear()
    monkeypatch.setattr(runner, "run_chunk", lambda *a: calls.append(a) or real(*a))
    res = simulate(SMALL, out=out, progress=True)
    assert len(calls) == 4  # 6 chunks, 2 already written
    pd.testing.assert_frame_equal(res, reference, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out), reference, check_exact=True)
    # a third run computes nothing
    calls.clear()
    pd.testing.assert_frame_equal(simulate(SMALL, out=out, progress=False), reference,
                                  check_exact=True)
    assert calls == []
    # nothing half-written: no temporary files left anywhere
    assert not [p for p in out.rglob(".*")]


def test_refuses_to_mix_grids(tmp_path):
    out = tmp_path / "res"
    small = {**SMALL, "replicates": 20, "chunk_size": 10}
    simulate(small, out=out, progress=False)
    other = {**small, "seed": 43}
    with pytest.raises(InputError, match="different grid"):
        simulate(other, out=out, progress=False)
    (tmp_path / "file.parquet").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        simulate(small, out=tmp_path / "file.parquet", progress=False)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "data.csv").write_text("a\n1\n")
    with pytest.raises(InputError, match="not a sleepmeta simulation output"):
        simulate(small, out=foreign, progress=False)
    assert (out / MANIFEST).exists()


def _row(res, estimator, test, performance):
    sel = res[(res.estimator == estimator) & (res.test == test)
              & (res.performance == performance)]
    assert len(sel) == 1
    return sel.iloc[0]


def test_dl_undercovers_with_few_studies_knha_does_not():
    # k = 3, tau² = 0.3 against vi ~ 2/50 = 0.04 (MD, sd 1, n = 50 per arm)
    res = simulate({"conditions": {"measure": "MD", "k": 3, "effect": 0.5, "tau2": 0.3,
                                   "n": 50}},
                   replicates=4000, seed=2019, estimators=["DL", "REML"],
                   tests=["z", "knha"], progress=False)
    dl = _row(res, "DL", "z", "coverage")
    assert dl["n_failed"] == 0
    assert dl["estimate"] < 0.95 - 3 * dl["mcse"]
    for est in ("DL", "REML"):
        kh = _row(res, est, "knha", "coverage")
        assert abs(kh["estimate"] - 0.95) < 3.5 * kh["mcse"]


def test_near_nominal_in_a_well_behaved_condition():
    # k = 20 normal studies: REML with Knapp-Hartung near 95 %; MD unbiased
    res = simulate({"conditions": {"measure": "MD", "k": 20, "effect": 0.3, "tau2": 0.05,
                                   "n": 100}},
                   replicates=4000, seed=7, estimators=["REML"], tests=["knha"],
                   progress=False)
    cov = _row(res, "REML", "knha", "coverage")
    assert abs(cov["estimate"] - 0.95) < 3.5 * cov["mcse"]
    bias = _row(res, "REML", "knha", "bias")
    assert abs(bias["estimate"]) < 3.5 * bias["mcse"]
    assert np.isfinite(res["mcse"]).all()


def test_knha_with_identical_studies_counts_as_failure():
    # binary, tiny arms, rare events: some meta-analyses have identical tables (all yi equal),
    # so Knapp-Hartung's s² is 0 and the CI has zero width: counted as a failure
    res = simulate({"conditions": {"measure": "OR", "k": 3, "effect": 0.0, "tau2": 0.0,
                                   "n": 5, "baseline_risk": 0.02}},
                   replicates=200, seed=3, estimators=["DL"], tests=["z", "knha"],
                   progress=False)
    assert _row(res, "DL", "knha", "failure_rate")["n_failed"] > 0
    assert _row(res, "DL", "z", "failure_rate")["n_failed"] == 0


def test_fallback_rate_counts_fits_that_needed_the_halved_step_remedy(monkeypatch):
    import sleepmeta.pooling.registry as est

    grid = {**SMALL, "replicates": 40, "chunk_size": 40, "estimators": ["REML", "DL"],
            "tests": ["z"]}

    def rates(res):
        rows = res[res["performance"] == "fallback_rate"]
        return {e: rows.loc[rows["estimator"] == e, "estimate"].to_numpy() for e in ("REML", "DL")}

    normal = rates(simulate(grid))
    # DL is not iterative: it never needs the remedy
    assert (normal["DL"] == 0).all()
    # allowing no full-step iteration sends every REML fit that has to iterate to the
    # halved-step remedy, so its rate rises (and DL's stays 0)
    monkeypatch.setattr(est, "DEFAULT_CONTROL", Control(maxiter=0))
    forced = rates(simulate(grid))
    assert (forced["DL"] == 0).all()
    assert (forced["REML"] > normal["REML"]).all()
    assert (forced["REML"] <= 1).all()


def test_draws_outside_the_engine_range_count_as_failures():
    # issue 18: no silent NaN; sd = 1e-300 makes every vi underflow to 0 (outside 1e-50..1e50)
    res = simulate({"replicates": 6, "seed": 1, "estimators": ["DL"],
                    "conditions": {"measure": "MD", "k": 3, "effect": 0.0, "tau2": 0.0, "n": 10,
                                   "sd": 1e-300}}, progress=False)
    fail = res[res.performance == "failure_rate"].iloc[0]
    assert fail["estimate"] == 1.0 and fail["n_failed"] == 6


def test_huge_tau2_counts_failures_instead_of_hanging():
    # issue 18: tau2 = 1e300 made REML's Fisher scoring spin forever on an infinite step; the
    # grid now refuses tau2 above the accepted range (1e50), and at that edge every iteration
    # is bounded, so the fits that cannot proceed are counted in n_failed
    from sleepmeta.errors import SleepmetaError

    with pytest.raises(SleepmetaError, match="tau2"):
        simulate({"conditions": {"measure": "MD", "k": 5, "effect": 0.0, "tau2": 1e300,
                                 "n": 50}}, replicates=6, seed=1, estimators=["REML"], tests=["z"],
                 progress=False)
    res = simulate({"conditions": {"measure": "MD", "k": 5, "effect": 0.0, "tau2": 1e50,
                                   "n": 50}},
                   replicates=60, seed=1, estimators=["REML", "ML"], tests=["z"],
                   progress=False)
    for est in ("REML", "ML"):
        row = _row(res, est, "z", "failure_rate")
        assert row["n_failed"] + row["n_sim"] == 60
        assert row["n_failed"] > 0
