"""Benchmark of the one-stage dose-response model (issue 14).

(a) one one-stage restricted-cubic-spline fit (knots 75, 300, 600 mg/day) on
    50 studies x 4 arms (placebo + 3 doses; 150 correlated log RRs), time per
    call of ``dose_response`` (validation, Greenland-Longnecker covariance,
    fit on the multilevel engine and result object included);
(b) B = 10,000 such data sets fitted in one batch
    (``sleepmeta.dose.engine.fit_random_slopes``), as a simulation study would;
(c) metafor's ``rma.mv(y, V, mods = ~ 0 + x1 + x2, random = ~ 0 + x1 + x2 | id,
    struct = "GEN")`` on the same covariance, timed inside R in the same run
    (per fit, over 20 data sets; R start-up excluded).
Prints min and median wall time and CPU time of several runs (the machine is
shared: numbers are noisy), and where the time goes: (a) split into arm
validation with the Greenland-Longnecker covariances (``study_contrasts``)
and the fit; (b) split into the multilevel engine's ``fit_blocks`` and the
dose adapter around it (GLS start, scaling, block layout, boundary checks),
with the engine's iteration counts. Run: ``python benchmarks/bench_dose.py [B]``.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
import pandas as pd

from _common import fmt_time, metafor_available, print_table, r_seconds
from sleepmeta.dose import dose_response, rcs_basis
from sleepmeta.dose import engine as dose_engine
from sleepmeta.dose.arms import study_contrasts
from sleepmeta.dose.engine import fit_random_slopes

M, DOSES, KNOTS = 50, (0.0, 150.0, 300.0, 600.0), (75.0, 300.0, 600.0)


def simulate(B: int, seed: int = 2026):
    """B data sets of M trials x 4 arms: counts, contrasts y (B, M, 3) and S (B, M, 3, 3)."""
    rng = np.random.default_rng(seed)
    d = np.array(DOSES)
    n = rng.integers(80, 250, (B, M, 4)).astype(float)
    p0 = rng.uniform(0.04, 0.12, (B, M, 1))
    slope = 0.0025 + rng.normal(0, 0.0006, (B, M, 1))
    risk = np.minimum(p0 * np.exp(slope * d - 1.5e-6 * d ** 2), 0.9)
    ev = np.maximum(rng.binomial(n.astype(int), risk), 1).astype(float)
    c = 1 / ev - 1 / n
    y = np.log(ev[..., 1:] / n[..., 1:]) - np.log(ev[..., :1] / n[..., :1])
    S = c[..., :1, None] + np.zeros((B, M, 3, 3))
    S[..., np.arange(3), np.arange(3)] += c[..., 1:]
    return ev, n, y, S


def timed(func, repeat):
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        func()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), statistics.median(walls), min(cpus), statistics.median(cpus)


def main(B: int = 10_000) -> None:
    ev, n, y, S = simulate(B)
    frame = pd.DataFrame({"id": np.repeat(np.arange(M), 4), "dose": np.tile(DOSES, M),
                          "events": ev[0].ravel(), "n": n[0].ravel()})
    X = (rcs_basis(DOSES[1:], KNOTS) - rcs_basis([0.0], KNOTS))[None, None]  # (1, 1, 3, 2)
    X = np.broadcast_to(X, (1, M, 3, 2))
    mask = np.ones((B, M, 3), bool)
    one = lambda: dose_response(frame, study="id", dose="dose", events="events", n="n",  # noqa
                                model="spline", knots=list(KNOTS))
    res = one()
    fit = fit_random_slopes(y[:1], S[:1], X, mask[:1])
    assert np.allclose(fit.beta[0], res.coef, rtol=1e-6), "batch member 0 != dose_response"
    ta = timed(one, 7)
    cols = {"events": "events", "n": "n"}
    ta1 = timed(lambda: study_contrasts(frame, study="id", dose="dose", measure="RR",
                                        columns=cols), 7)
    engine_time = []
    inner = dose_engine._engine_chunk

    def clocked(*args, **kwargs):  # the engine's share of (b): fit_blocks and its unpacking
        w, c = time.perf_counter(), time.process_time()
        out = inner(*args, **kwargs)
        engine_time.append((time.perf_counter() - w, time.process_time() - c))
        return out

    dose_engine._engine_chunk = clocked
    try:
        fits = []
        tb = timed(lambda: fits.append(fit_random_slopes(y, S, X, mask)), 3)
    finally:
        dose_engine._engine_chunk = inner
    runs = 3
    eng_wall = sum(w for w, _ in engine_time) / runs
    eng_cpu = sum(c for _, c in engine_time) / runs
    it = fits[-1].iterations
    rows = [["(a) one fit, 50 x 4 arms", *map(fmt_time, ta), "—"],
            ["    of which arm checks + GL covariance", *map(fmt_time, ta1), "—"],
            [f"(b) {B:,} fits, one batch", *map(fmt_time, tb), f"{B / tb[1]:,.0f} fits/s"],
            ["    of which engine fit_blocks (mean)", fmt_time(eng_wall), "—", fmt_time(eng_cpu),
             "—", f"iterations median {np.median(it):.0f}, 99% {np.percentile(it, 99):.0f}, "
                  f"max {it.max()}"]]
    if metafor_available():
        R = 20
        np.savetxt("/tmp/_bench_dose_y.csv", y[:R].reshape(R, -1), delimiter=",")
        np.savetxt("/tmp/_bench_dose_c.csv", (1 / ev[:R] - 1 / n[:R]).reshape(R, -1), delimiter=",")
        x = X[0].reshape(-1, 2)
        np.savetxt("/tmp/_bench_dose_x.csv", x, delimiter=",")
        t_r = r_seconds(f"""
            Y <- as.matrix(read.csv("/tmp/_bench_dose_y.csv", header=FALSE))
            C <- as.matrix(read.csv("/tmp/_bench_dose_c.csv", header=FALSE))
            X <- as.matrix(read.csv("/tmp/_bench_dose_x.csv", header=FALSE))
            id <- rep(1:{M}, each=3); x1 <- X[,1]; x2 <- X[,2]
            vblock <- function(cc) {{ V <- matrix(0, {M}*3, {M}*3)
              for (i in 1:{M}) {{ c4 <- cc[(i-1)*4 + 1:4]; B <- matrix(c4[1], 3, 3)
                diag(B) <- c4[1] + c4[2:4]; V[(i-1)*3 + 1:3, (i-1)*3 + 1:3] <- B }}; V }}
            Vs <- lapply(1:nrow(Y), function(r) vblock(C[r,]))
            t <- system.time(for (r in 1:nrow(Y)) try(rma.mv(Y[r,], Vs[[r]], mods = ~ 0 + x1 + x2,
                  random = ~ 0 + x1 + x2 | id, struct = "GEN"), silent=TRUE))[["elapsed"]]
            cat(t / nrow(Y))""")
        rows.append(["(c) metafor rma.mv GEN, per fit", fmt_time(t_r), "—", "—", "—",
                     f"(a) is {t_r / ta[1]:.1f}x faster; (b) per fit {t_r / (tb[1] / B):.0f}x"])
    else:
        rows.append(["(c) metafor rma.mv GEN", "R/metafor not installed", "", "", "", ""])
    print_table("One-stage spline dose-response (knots 75/300/600), 50 studies x 4 arms",
                ["", "wall min", "wall median", "CPU min", "CPU median", "throughput / ratio"],
                rows)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
