"""Benchmark of the pooling engine (issue: the package, effect sizes and pooling).

(a) one REML fit on the BCG log risk ratios (k = 13), time per call of
    ``meta_analysis`` (validation, fit and result object included);
(b) 10,000 REML analyses of k = 10 in one batch (``meta_analysis_batch``);
(c) the same with DL.
When R with metafor is installed, the same fits run as a plain loop of
``rma`` in the same run (timed inside R, start-up excluded) and the ratio is
printed. Run: ``python benchmarks/bench_pool.py``.
"""

from __future__ import annotations

import numpy as np

from _common import best_of, fmt_time, metafor_available, print_table, r_seconds
from sleepmeta import effect_size, meta_analysis, meta_analysis_batch
from sleepmeta.data import bcg

B, K = 10_000, 10


def main() -> None:
    es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    yi, vi = es.yi, es.vi
    rng = np.random.default_rng(2024)
    vi_b = rng.uniform(0.01, 0.2, (B, K))
    yi_b = rng.normal(0.3, np.sqrt(vi_b + 0.05))
    rows = []
    t_a = best_of(lambda: meta_analysis(yi, vi), repeat=5, number=200)
    t_b = best_of(lambda: meta_analysis_batch(yi_b, vi_b, method="REML"), repeat=3)
    t_c = best_of(lambda: meta_analysis_batch(yi_b, vi_b, method="DL"), repeat=3)
    have_r = metafor_available()
    if have_r:
        np.savetxt("/tmp/_bench_y.csv", yi_b[:1000], delimiter=",")
        np.savetxt("/tmp/_bench_v.csv", vi_b[:1000], delimiter=",")
        r_a = r_seconds("""
            dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
            n <- 200; t <- system.time(for (i in 1:n) rma(yi, vi, data=dat))[["elapsed"]]
            cat(t / n)""")
        loop = """
            Y <- as.matrix(read.csv("/tmp/_bench_y.csv", header=FALSE))
            V <- as.matrix(read.csv("/tmp/_bench_v.csv", header=FALSE))
            t <- system.time(for (i in 1:nrow(Y)) try(rma(Y[i,], V[i,], method="{m}"), silent=TRUE))[["elapsed"]]
            cat(t / nrow(Y) * {B})"""
        r_b = r_seconds(loop.format(m="REML", B=B))
        r_c = r_seconds(loop.format(m="DL", B=B))
    else:
        r_a = r_b = r_c = float("nan")
    goal = {"a": "<= 100 µs", "b": "<= 0.2 s", "c": "—"}
    for key, label, ours, theirs in (
        ("a", "(a) one REML fit, BCG k = 13, per call", t_a, r_a),
        ("b", f"(b) {B:,} REML analyses, k = {K}, one batch", t_b, r_b),
        ("c", f"(c) {B:,} DL analyses, k = {K}, one batch", t_c, r_c),
    ):
        ratio = f"{theirs / ours:,.0f}x" if theirs == theirs else "—"
        rows.append([label, fmt_time(ours), goal[key], fmt_time(theirs), ratio])
    note = ("metafor: plain loop of rma() in R, timed with system.time inside R; "
            "(b)/(c) extrapolated from 1,000 fits" if have_r else "metafor: R not installed")
    print_table(f"bench_pool — sleepmeta vs metafor ({note})",
                ["task", "sleepmeta", "goal", "metafor", "speed-up"], rows)


if __name__ == "__main__":
    main()
