"""Benchmark of the pooling engine against metafor and PyMARE (issue 12 goals).

(a) one REML fit on the BCG log risk ratios (k = 13), per call of
    ``meta_analysis`` (validation, the kernel and the result object), and of
    the engine alone (``fit_batch``, a batch of one);
(b) 10,000 REML analyses of k = 10 in one batch (``meta_analysis_batch``);
(c) the same with DL;
(d) 1,000,000 REML analyses of k = 10 in one call, with the peak memory of
    a separate process that holds the data and fits them.
Each sleepmeta row gives min / median of several runs, wall time and CPU
time (all threads). PyMARE (``pip install pymare``; not a sleepmeta
dependency) runs in the same process and run: its ``DerSimonianLaird`` and
``VarianceBasedLikelihoodEstimator(method="REML")`` on the same arrays
(batched over datasets). metafor (when R is installed): a loop of ``rma``
timed inside R (start-up excluded). Run: ``python benchmarks/bench_pool.py``;
``--first-call`` adds (e), the CPU cost of a new process's first fit with
numba's on-disk cache warm and empty (compiling takes tens of seconds).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np

from _common import (
    fmt_time, load_note, measure, metafor_available, print_table, pymare_available, r_seconds,
)
from sleepmeta import effect_size, meta_analysis, meta_analysis_batch
from sleepmeta.data import bcg
from sleepmeta.pooling.engine import fit_batch

B, K = 10_000, 10
BIG = 1_000_000

MEMORY_SCRIPT = textwrap.dedent("""
    import resource, sys, time
    import numpy as np
    from sleepmeta import meta_analysis_batch
    B, K = int(sys.argv[1]), 10
    rng = np.random.default_rng(7)
    yi = np.empty((B, K)); vi = np.empty((B, K))
    for lo in range(0, B, 100_000):  # drawn in pieces: no temporaries of the full size
        v = rng.uniform(0.01, 0.2, (min(100_000, B - lo), K))
        vi[lo:lo + len(v)] = v
        yi[lo:lo + len(v)] = rng.normal(0.3, np.sqrt(v + 0.05))
    meta_analysis_batch(yi[:1000], vi[:1000])  # load the kernels
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    c, t = time.process_time(), time.perf_counter()
    fit = meta_analysis_batch(yi, vi)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del fit
    import tracemalloc  # a second, traced run: the fit's own allocations (peak, and kept)
    tracemalloc.start()
    fit = meta_analysis_batch(yi, vi)
    kept, traced = (x / 2**20 for x in tracemalloc.get_traced_memory())
    print(wall, cpu, before, peak, traced, kept)
""")

FIRST_CALL = textwrap.dedent("""
    import time
    c0 = time.process_time()
    import numpy as np
    from sleepmeta import meta_analysis, meta_analysis_batch
    c1 = time.process_time()
    meta_analysis([0.1, 0.3, 0.5, 0.2], [0.01, 0.02, 0.03, 0.02])
    c2 = time.process_time()
    v = np.full((1000, 10), 0.05)
    meta_analysis_batch(np.linspace(0, 1, 10000).reshape(1000, 10), v)
    print(c1 - c0, c2 - c1, time.process_time() - c2)
""")


def first_call(empty_cache: bool) -> list[float]:
    """CPU seconds of a new process: import, first fit, first parallel batch.

    ``empty_cache``: numba's on-disk cache in a new empty folder, so the
    kernels are compiled (what the first run after installing costs).
    """
    import os
    import tempfile

    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as d:
        if empty_cache:
            env["NUMBA_CACHE_DIR"] = d
        out = subprocess.run([sys.executable, "-c", FIRST_CALL], capture_output=True, text=True,
                             check=True, env=env).stdout.split()
    return [float(x) for x in out]


def _pymare(method: str, y: np.ndarray, v: np.ndarray):
    from pymare.estimators import DerSimonianLaird, VarianceBasedLikelihoodEstimator

    est = DerSimonianLaird() if method == "DL" else VarianceBasedLikelihoodEstimator(method="REML")
    X = np.ones((y.shape[1], 1))
    return lambda: est.fit(y=y.T, v=v.T, X=X)


def main() -> None:
    es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    yi, vi = es.yi, es.vi
    rng = np.random.default_rng(2024)
    vi_b = rng.uniform(0.01, 0.2, (B, K))
    yi_b = rng.normal(0.3, np.sqrt(vi_b + 0.05))
    meta_analysis(yi, vi)
    meta_analysis_batch(yi_b, vi_b)  # kernels loaded from the on-disk cache before timing
    one = np.ones((1, yi.size), bool)
    X1 = np.ones((1, yi.size, 1))
    t_a = measure(lambda: meta_analysis(yi, vi), repeat=7, number=200)
    t_a2 = measure(lambda: fit_batch(yi[None], vi[None], one, X1), repeat=7, number=500)
    t_b = measure(lambda: meta_analysis_batch(yi_b, vi_b, method="REML"), repeat=9)
    t_c = measure(lambda: meta_analysis_batch(yi_b, vi_b, method="DL"), repeat=9)
    mem = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(BIG)], capture_output=True,
                         text=True, check=True).stdout.split()
    d_wall, d_cpu, d_before, d_peak, d_traced, d_kept = map(float, mem)

    py = {}
    if pymare_available():
        py["a"] = measure(_pymare("REML", yi[None], vi[None]), repeat=5, number=20).wall_min
        py["b"] = measure(_pymare("REML", yi_b, vi_b), repeat=3).wall_min
        py["c"] = measure(_pymare("DL", yi_b, vi_b), repeat=5).wall_min
        big = rng.uniform(0.01, 0.2, (100_000, K))
        ybig = rng.normal(0.3, np.sqrt(big + 0.05))
        py["d"] = measure(_pymare("REML", ybig, big), repeat=1).wall_min * BIG / 100_000
    r = {}
    if metafor_available():
        np.savetxt("/tmp/_bench_y.csv", yi_b[:1000], delimiter=",")
        np.savetxt("/tmp/_bench_v.csv", vi_b[:1000], delimiter=",")
        r["a"] = r_seconds("""
            dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
            n <- 200; t <- system.time(for (i in 1:n) rma(yi, vi, data=dat))[["elapsed"]]
            cat(t / n)""")
        loop = """
            Y <- as.matrix(read.csv("/tmp/_bench_y.csv", header=FALSE))
            V <- as.matrix(read.csv("/tmp/_bench_v.csv", header=FALSE))
            t <- system.time(for (i in 1:nrow(Y)) try(rma(Y[i,], V[i,], method="{m}"), silent=TRUE))[["elapsed"]]
            cat(t / nrow(Y) * {B})"""
        r["b"] = r_seconds(loop.format(m="REML", B=B))
        r["c"] = r_seconds(loop.format(m="DL", B=B))
        r["d"] = r["b"] * BIG / B

    def ratio(key, ours):
        out = []
        for peer in (py, r):
            out.append(f"{fmt_time(peer[key])} ({peer[key] / ours:,.1f}x)" if key in peer else "—")
        return out

    rows = [
        ["(a) one REML fit, BCG k = 13, meta_analysis", *t_a.cells(), "<= 60 µs, >= 50x metafor",
         *ratio("a", t_a.wall_min)],
        ["(a') the same, engine alone (fit_batch, B = 1)", *t_a2.cells(), "",
         *ratio("a", t_a2.wall_min)],
        [f"(b) {B:,} REML fits, k = {K}, one batch", *t_b.cells(), "<= 0.01 s, >= 10x PyMARE",
         *ratio("b", t_b.wall_min)],
        [f"(c) {B:,} DL fits, k = {K}, one batch", *t_c.cells(), "<= 0.002 s, >= PyMARE",
         *ratio("c", t_c.wall_min)],
        [f"(d) {BIG:,} REML fits, k = {K}, one call", f"{fmt_time(d_wall)} (one run)",
         f"{fmt_time(d_cpu)}", "<= 1.5 s, <= 0.5 GB peak", *ratio("d", d_wall)],
        ["(d) peak memory of that process (max RSS)", f"{d_peak:,.0f} MB",
         f"{d_before:,.0f} MB before the fit", "<= 512 MB", "", ""],
        ["(d) the fit's own allocations (tracemalloc)", f"{d_traced:,.0f} MB peak",
         f"{d_kept:,.0f} MB kept (the result)", "", "", ""],
    ]
    if "--first-call" in sys.argv:  # compiling from an empty cache takes a while
        for label, empty in (("warm numba cache", False), ("empty numba cache", True)):
            imp, one, batch = first_call(empty)
            rows.append([f"(e) new process, {label}: import / first fit / first batch (CPU)",
                         f"{fmt_time(imp)} / {fmt_time(one)} / {fmt_time(batch)}", "", "", "",
                         ""])
    print_table(f"bench_pool — {load_note()}",
                ["task", "sleepmeta wall min / median", "CPU min / median", "goal",
                 "PyMARE 0.0.13 (ratio)", "metafor (ratio)"], rows)
    print("PyMARE: batched estimators on the same arrays, min of runs"
          + ("; (d) extrapolated from 100,000 fits" if py else " — not installed")
          + ". metafor: loop of rma() in R timed with system.time; (b)-(d) extrapolated from "
          "1,000 fits" + ("" if r else " — R not installed") + ". Ratios are peer / sleepmeta "
          "wall min. The machine's 2 cores are shared with other jobs: see the medians.")


if __name__ == "__main__":
    main()
