"""Benchmark: REML fits per second for many meta-analyses of k = 10 studies.

Runs, on the same machine and in the same run:

1. the engine alone (``fit_batch``, REML, z) on pre-drawn data, in chunks,
   with numba's threads (both cores) and with one thread;
2. ``sleepmeta.simulate`` end to end (drawing the data, fitting, measures)
   in this process, with one kernel thread (the baseline of the parallel
   efficiency) and with both;
3. the same with ``scheduler=`` a warm 2-process pool (each worker runs the
   kernels on one thread);
4. the same on a 2-worker ``dask.distributed.LocalCluster`` (loopback);
5. when R with metafor is installed, a loop of ``rma(yi, vi)`` (REML) in R
   over analyses drawn the same way, and the ratio.

Each run is repeated (``--repeat``); the table gives min and median wall time
and this process's CPU time (workers' CPU is not in it). Parallel efficiency
= fits/s / (workers x in-process one-thread fits/s).

Usage: ``python benchmarks/bench_scale.py [--n 1000000] [--chunk 20000] [--r-n 2000]``.
Goals (issue 12): >= 1,000,000 REML fits/s in-process for k = 10; parallel
efficiency >= 0.85 on 2 processes (and on a 2-worker LocalCluster).
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import subprocess
from concurrent.futures import ProcessPoolExecutor

import numba
import numpy as np

from _common import fmt_time, load_note, measure
from sleepmeta.pooling.engine import fit_batch
from sleepmeta.scale import DASK_WORKER_CONFIG, simulate

K = 10


def _grid(n: int, chunk: int) -> dict:
    return {"replicates": n, "seed": 1, "chunk_size": chunk, "estimators": ["REML"],
            "tests": ["z"],
            "conditions": {"measure": "MD", "k": K, "effect": 0.3, "tau2": 0.05,
                           "n": {"dist": "uniform", "low": 20, "high": 200}}}


def engine_only(n: int, chunk: int):
    """A function fitting ``n`` pre-drawn analyses in chunks (data drawn once, outside)."""
    rng = np.random.default_rng(1)
    X = np.ones((1, K, 1))
    mask = np.ones((chunk, K), bool)
    vi = rng.uniform(0.01, 0.1, (chunk, K))
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))

    def run():
        for _ in range(0, n, chunk):
            fit_batch(yi, vi, mask, X, method="REML")
    return run


def metafor_rate(n: int) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    code = f"""
suppressPackageStartupMessages(library(metafor))
set.seed(1); k <- {K}; n <- {n}
vi <- matrix(runif(n * k, 0.01, 0.1), n, k)
yi <- matrix(rnorm(n * k, 0.3, sqrt(vi + 0.05)), n, k)
fit <- function(i) try(rma(yi[i, ], vi[i, ], method = "REML"), silent = TRUE)
t <- system.time(for (i in seq_len(n)) fit(i))[["elapsed"]]
cat(n / t)
"""
    res = subprocess.run(["Rscript", "--vanilla", "-e", code], capture_output=True, text=True,
                         timeout=1800)
    if res.returncode != 0:
        print(f"metafor loop failed: {res.stderr.strip()[-300:]}")
        return None
    return float(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="analyses per run")
    ap.add_argument("--chunk", type=int, default=20_000, help="analyses per engine batch")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each row")
    ap.add_argument("--r-n", type=int, default=2_000, help="analyses in the metafor loop")
    args = ap.parse_args()
    n, chunk, rep = args.n, args.chunk, args.repeat
    grid = _grid(n, chunk)
    simulate(_grid(2 * chunk, chunk), progress=False)  # warm up imports and caches
    threads = numba.get_num_threads()
    rows = []

    def one_thread(fn):
        def run():
            numba.set_num_threads(1)
            try:
                fn()
            finally:
                numba.set_num_threads(threads)
        return run

    rows.append(("engine only (fit_batch), 1 kernel thread", 1,
                 measure(one_thread(engine_only(n, chunk)), repeat=rep)))
    rows.append((f"engine only (fit_batch), {threads} kernel threads", 1,
                 measure(engine_only(n, chunk), repeat=rep)))
    base = measure(one_thread(lambda: simulate(grid, progress=False)), repeat=rep)
    rows.append(("simulate, in-process, 1 kernel thread", 1, base))
    rows.append((f"simulate, in-process, {threads} kernel threads", 1,
                 measure(lambda: simulate(grid, progress=False), repeat=rep)))

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["sleepmeta.scale.runner"])
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        simulate(_grid(4 * chunk, chunk), scheduler=pool, progress=False)  # warm workers
        rows.append(("simulate, 2 processes (warm pool)", 2,
                     measure(lambda: simulate(grid, scheduler=pool, progress=False), repeat=rep)))
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        Client = None
    if Client is not None:
        with dask.config.set(DASK_WORKER_CONFIG), \
                LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                             host="127.0.0.1", dashboard_address=None) as cluster, \
                Client(cluster) as client:
            simulate(_grid(4 * chunk, chunk), scheduler=client, progress=False)  # warm workers
            rows.append(("simulate, Dask LocalCluster (2 workers)", 2,
                         measure(lambda: simulate(grid, scheduler=client, progress=False),
                                 repeat=rep)))

    r_rate = metafor_rate(args.r_n)
    ref = n / base.wall_min
    print(f"\nREML fits per second, {n:,} analyses of k = {K} (chunks of {chunk:,}); "
          f"{load_note()}\n")
    head = (f"{'run':<44} {'workers':>7} {'wall min':>9} {'median':>9} {'CPU min':>9} "
            f"{'fits/s (min)':>13} {'eff.':>5} {'x metafor':>10}")
    print(head)
    print("-" * len(head))
    for name, workers, t in rows:
        rate = n / t.wall_min
        eff = f"{rate / workers / ref:5.2f}" if name.startswith("simulate") else f"{'':>5}"
        ratio = f"{rate / r_rate:10.0f}" if r_rate else f"{'-':>10}"
        print(f"{name:<44} {workers:>7} {fmt_time(t.wall_min):>9} {fmt_time(t.wall_med):>9} "
              f"{fmt_time(t.cpu_min):>9} {rate:>13,.0f} {eff} {ratio}")
    if r_rate:
        print(f"{'metafor rma() loop in R (' + format(args.r_n, ',') + ' fits)':<44} {1:>7} "
              f"{fmt_time(args.r_n / r_rate):>9} {'':>9} {'':>9} {r_rate:>13,.0f} {'':>5} {1:>10}")
    else:
        print("metafor: R with metafor not found, skipped")
    print("\neff. = fits/s / (workers x in-process one-thread simulate fits/s). Goals: engine "
          ">= 1,000,000 fits/s; eff. >= 0.85 on 2 processes and on the LocalCluster. The cores "
          "are shared with other jobs: compare min and median, and the load average above.")


if __name__ == "__main__":
    main()
