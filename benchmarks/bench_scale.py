"""Benchmark: REML fits per second for many meta-analyses of k = 10 studies.

Runs, on the same machine and in the same run:

1. the engine alone (``fit_batch``, REML, z) on pre-drawn data, in chunks;
2. ``sleepmeta.simulate`` end to end (drawing the data, fitting, measures)
   in this process;
3. the same with ``scheduler=`` a warm 2-process pool;
4. the same on a 2-worker ``dask.distributed.LocalCluster`` (loopback);
5. when R with metafor is installed, a loop of ``rma(yi, vi)`` (REML) in R
   over analyses drawn the same way, and the ratio.

Usage: ``python benchmarks/bench_scale.py [--n 1000000] [--chunk 20000] [--r-n 2000]``.
Goals (issue 6): >= 200,000 REML fits/s in-process; the Dask run within 1.5x
of the in-process time per worker (per-worker efficiency >= 0.67).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from sleepmeta.pooling.engine import fit_batch
from sleepmeta.scale import DASK_WORKER_CONFIG, simulate

K = 10


def _grid(n: int, chunk: int) -> dict:
    return {"replicates": n, "seed": 1, "chunk_size": chunk, "estimators": ["REML"],
            "tests": ["z"],
            "conditions": {"measure": "MD", "k": K, "effect": 0.3, "tau2": 0.05,
                           "n": {"dist": "uniform", "low": 20, "high": 200}}}


def engine_only(n: int, chunk: int) -> float:
    rng = np.random.default_rng(1)
    X = np.ones((1, K, 1))
    mask = np.ones((chunk, K), bool)
    total = 0.0
    for start in range(0, n, chunk):
        b = min(chunk, n - start)
        vi = rng.uniform(0.01, 0.1, (b, K))
        yi = rng.normal(0.3, np.sqrt(vi + 0.05))
        t = time.perf_counter()
        fit_batch(yi, vi, mask[:b], X, method="REML")
        total += time.perf_counter() - t
    return total


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


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
    ap.add_argument("--r-n", type=int, default=2_000, help="analyses in the metafor loop")
    ap.add_argument("--malloc-default", action="store_true",
                    help="also run Dask workers with distributed's default malloc environment")
    args = ap.parse_args()
    n, chunk = args.n, args.chunk
    rows = []
    simulate(_grid(2 * chunk, chunk), progress=False)  # warm up imports and caches

    t = engine_only(n, chunk)
    rows.append(("engine only (fit_batch), in-process", 1, t))
    t_in = timed(lambda: simulate(_grid(n, chunk), progress=False))
    rows.append(("simulate, in-process", 1, t_in))

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["sleepmeta.scale.runner"])
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        simulate(_grid(2 * chunk, chunk), scheduler=pool, progress=False)  # warm workers
        rows.append(("simulate, 2 processes", 2,
                     timed(lambda: simulate(_grid(n, chunk), scheduler=pool, progress=False))))

    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        Client = None
    for name, config in (("Dask LocalCluster (2 workers)", DASK_WORKER_CONFIG),
                         ("Dask, distributed's default malloc env", {})):
        if Client is None or (not config and not args.malloc_default):
            continue
        with dask.config.set(config), \
                LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                             host="127.0.0.1", dashboard_address=None) as cluster, \
                Client(cluster) as client:
            simulate(_grid(2 * chunk, chunk), scheduler=client, progress=False)  # warm workers
            rows.append((f"simulate, {name}", 2,
                         timed(lambda: simulate(_grid(n, chunk), scheduler=client,
                                                progress=False))))

    r_rate = metafor_rate(args.r_n)
    ours = n / t_in
    print(f"\nREML fits per second, {n:,} analyses of k = {K} (chunks of {chunk:,}); "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}\n")
    head = f"{'run':<42} {'workers':>7} {'seconds':>9} {'fits/s':>12} {'per worker':>11} " \
           f"{'eff.':>5} {'x metafor':>10}"
    print(head)
    print("-" * len(head))
    for name, workers, secs in rows:
        rate = n / secs
        eff = rate / workers / ours
        ratio = f"{rate / r_rate:10.0f}" if r_rate else f"{'-':>10}"
        print(f"{name:<42} {workers:>7} {secs:>9.2f} {rate:>12,.0f} {rate / workers:>11,.0f} "
              f"{eff:>5.2f} {ratio}")
    if r_rate:
        print(f"{'metafor rma() loop in R (' + format(args.r_n, ',') + ' fits)':<42} {1:>7} "
              f"{args.r_n / r_rate:>9.2f} {r_rate:>12,.0f} {r_rate:>11,.0f} {'':>5} {1:>10}")
    else:
        print("metafor: R with metafor not found, skipped")
    print("\neff. = fits/s per worker / in-process simulate fits/s (goal >= 0.67, i.e. the "
          "run within 1.5x of the in-process time per worker); goal in-process >= 200,000 "
          "fits/s")


if __name__ == "__main__":
    main()
