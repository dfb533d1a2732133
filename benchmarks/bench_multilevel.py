"""Benchmark of the multilevel engine (issue 13), metafor's rma.mv timed in the same run.

(a) one three-level REML fit on dat.konstantopoulos2011 (k = 56), per call of
    ``meta_analysis_mv`` (validation, fit and result object included);
(b) 10,000 three-level REML fits of 20 estimates in 5 clusters, one batch of
    the engine (``build_blocks`` + ``fit_blocks``); metafor: a loop of
    ``rma.mv`` over the first 200 of the same data sets, per-fit time scaled
    to 10,000;
(c) a bivariate meta-regression of 1,000 studies (2,000 estimates, UN
    structure, ``mods = ~ outcome + outcome:x - 1``), metafor with
    ``sparse = TRUE``.
Each line prints min and median wall time of several runs and the CPU time
beside it (the machine is shared: timings are noisy). Run:
``python benchmarks/bench_multilevel.py``.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _common import fmt_time, metafor_available, print_table, r_seconds
from sleepmeta.pooling.multilevel import (Structure, Term, build_blocks, fit_blocks,
                                          meta_analysis_mv)

REF = Path(__file__).resolve().parents[1] / "tests" / "data" / "metafor_mv_references.json"
B, C, PER = 10_000, 5, 4


def timed(func, repeat):
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        func()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return min(wall), statistics.median(wall), min(cpu)


def three_level_batch(seed=1):
    rng = np.random.default_rng(seed)
    n = C * PER
    outer = np.repeat(np.arange(C), PER)
    u = rng.normal(0, np.sqrt(0.1), (B, C))[:, outer]
    vi = rng.uniform(0.01, 0.1, (B, n))
    y = 0.3 + u + rng.normal(0, np.sqrt(0.05), (B, n)) + rng.normal(0, np.sqrt(vi))
    return y, vi, outer


def fit_batch(y, vi, outer):
    n = y.shape[1]
    c1 = np.broadcast_to(outer, y.shape).copy()
    c2 = np.broadcast_to(np.arange(n), y.shape).copy()
    terms = [Term(Structure("SIGMA", 1), c1), Term(Structure("SIGMA", 1), c2)]
    blocks = build_blocks(y, vi[:, :, None] * np.eye(n), np.ones(y.shape + (1,)),
                          np.ones(y.shape, bool), terms, block=c1)
    return fit_blocks(blocks, [t.structure for t in terms])


def bivariate(seed=2, k=1000):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=k)
    G = np.array([[0.04, 0.012], [0.012, 0.02]])
    u = rng.multivariate_normal([0, 0], G, k)
    v1, v2 = rng.uniform(0.005, 0.05, k), rng.uniform(0.005, 0.05, k)
    r = 0.5
    rows, V = [], np.zeros((2 * k, 2 * k))
    for i in range(k):
        S = np.array([[v1[i], r * np.sqrt(v1[i] * v2[i])], [r * np.sqrt(v1[i] * v2[i]), v2[i]]])
        e = rng.multivariate_normal([0, 0], S)
        rows += [(i, "A", x[i], -0.3 + 0.1 * x[i] + u[i, 0] + e[0]),
                 (i, "B", x[i], 0.4 - 0.05 * x[i] + u[i, 1] + e[1])]
        V[2 * i:2 * i + 2, 2 * i:2 * i + 2] = S
    return pd.DataFrame(rows, columns=["study", "outcome", "x", "yi"]), V


def main() -> None:
    ref = json.loads(REF.read_text())
    konst = pd.DataFrame(ref["data"]["konst"])
    rows = []
    have_r = metafor_available()
    # (a)
    one = lambda: meta_analysis_mv("yi", "vi", random="~ 1 | district/school", data=konst)  # noqa: E731
    one()
    a_min, a_med, a_cpu = timed(lambda: [one() for _ in range(20)], 5)
    a_min, a_med, a_cpu = a_min / 20, a_med / 20, a_cpu / 20
    r_code = """
        dat <- dat.konstantopoulos2011; n <- 20
        t <- system.time(for (i in 1:n) rma.mv(yi, vi, random = ~ 1 | district/school, data=dat))
        cat(t[["{what}"]] / n)"""
    r_a = r_seconds(r_code.format(what="elapsed")) if have_r else float("nan")
    r_a_cpu = r_seconds(r_code.format(what="user.self")) if have_r else float("nan")
    rows.append(["(a) three-level REML fit, k = 56, per call",
                 f"{fmt_time(a_min)} (median {fmt_time(a_med)}, CPU {fmt_time(a_cpu)})",
                 f"{fmt_time(r_a)} (CPU {fmt_time(r_a_cpu)})",
                 f"{r_a / a_min:.1f}x wall, {r_a_cpu / a_cpu:.1f}x CPU" if have_r else "-"])
    # (b)
    y, vi, outer = three_level_batch()
    fit = fit_batch(y, vi, outer)
    b_min, b_med, b_cpu = timed(lambda: fit_batch(y, vi, outer), 3)
    r_b = float("nan")
    if have_r:
        with tempfile.TemporaryDirectory() as tmp:
            np.savetxt(f"{tmp}/y.csv", y[:200], delimiter=",")
            np.savetxt(f"{tmp}/v.csv", vi[:200], delimiter=",")
            r_b = r_seconds(f"""
                Y <- as.matrix(read.csv("{tmp}/y.csv", header=FALSE))
                Vv <- as.matrix(read.csv("{tmp}/v.csv", header=FALSE))
                cl <- rep(1:{C}, each={PER}); id <- 1:{C * PER}
                t <- system.time(for (i in 1:200) rma.mv(Y[i,], Vv[i,], random = ~ 1 | cl/id))
                cat(t[["elapsed"]] / 200 * {B})""")
    rows.append([f"(b) {B:,} three-level fits (20 estimates, 5 clusters), one batch",
                 f"{fmt_time(b_min)} = {B / b_min:,.0f} fits/s (median {fmt_time(b_med)}, "
                 f"CPU {fmt_time(b_cpu)}; {fit.converged.mean():.2%} converged)",
                 f"{fmt_time(r_b)} (200 timed, scaled)",
                 f"{r_b / b_min:.0f}x" if have_r else "-"])
    # (c)
    d, V = bivariate()
    big = lambda: meta_analysis_mv("yi", V, mods="~ outcome + outcome:x - 1",  # noqa: E731
                                   random="~ outcome | study", struct="UN", data=d)
    c_min, c_med, c_cpu = timed(big, 3)
    r_c = float("nan")
    if have_r:
        with tempfile.TemporaryDirectory() as tmp:
            d.to_csv(f"{tmp}/d.csv", index=False)
            np.savetxt(f"{tmp}/V.csv", V, delimiter=",")
            r_c = r_seconds(f"""
                d <- read.csv("{tmp}/d.csv"); V <- as.matrix(read.csv("{tmp}/V.csv", header=FALSE))
                t <- system.time(rma.mv(yi, V, mods = ~ outcome + outcome:x - 1,
                    random = ~ outcome | study, struct = "UN", data = d, sparse = TRUE))
                cat(t[["elapsed"]])""")
    rows.append(["(c) bivariate meta-regression, 1,000 studies (UN)",
                 f"{fmt_time(c_min)} (median {fmt_time(c_med)}, CPU {fmt_time(c_cpu)})",
                 fmt_time(r_c), f"{r_c / c_min:.1f}x" if have_r else "-"])
    print_table("sleepmeta multilevel engine vs metafor rma.mv (same run; shared machine)",
                ["task", "sleepmeta", "metafor 3.8", "speed-up"], rows)


if __name__ == "__main__":
    main()
