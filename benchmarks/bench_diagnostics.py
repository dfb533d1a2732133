"""Benchmark the diagnostics against metafor (when R is installed).

Run: ``python benchmarks/bench_diagnostics.py``. Prints one table:

* permutation test, 1000 permutations, ``mods = ~ ablat`` on dat.bcg (REML);
* leave-one-out, influence and trim-and-fill on k = 1000 simulated studies
  (seeded; REML).

metafor's times are measured inside R with ``system.time`` (R's start-up is
excluded) on the same data; without R they are printed as "not measured".
metafor's ``leave1out`` and ``influence`` refit k = 1000 models with dense
k x k matrices (about a second each), so by default their times are
estimated as k x the time of ``rma`` on the first deletion (marked "est.");
``--full-r`` times the real calls (tens of minutes).
Goals: the permutation test >= 50x faster than ``permutest``; leave-one-out
on k = 1000 <= 0.5 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.resources import files

import numpy as np
import pandas as pd

from sleepmeta.pooling import meta_analysis

K = 1000
SEED = 20240501


def bcg() -> pd.DataFrame:
    d = pd.read_csv(files("sleepmeta").joinpath("data/bcg.csv"))
    d["yi"] = np.log((d.tpos / (d.tpos + d.tneg)) / (d.cpos / (d.cpos + d.cneg)))
    d["vi"] = 1 / d.tpos - 1 / (d.tpos + d.tneg) + 1 / d.cpos - 1 / (d.cpos + d.cneg)
    return d


def simulated(k: int = K, seed: int = SEED) -> pd.DataFrame:
    """k studies: n per arm 20-400, SMD-like variances, true effects N(0.3, 0.1²)."""
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 400, size=k)
    vi = 2 / n + 0.3**2 / (4 * n)
    yi = rng.normal(0.3, np.sqrt(0.01 + vi))
    return pd.DataFrame({"yi": yi, "vi": vi})


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


R_CODE = r"""
suppressPackageStartupMessages(library(metafor))
dat <- escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
sim <- read.csv("{path}")
r1 <- rma(yi, vi, mods=~ablat, data=dat)
t_perm <- system.time(permutest(r1, iter=1000, progbar=FALSE))[["elapsed"]]
r2 <- rma(yi, vi, data=sim)
if ({full}) {
  t_loo <- system.time(leave1out(r2))[["elapsed"]]
  t_inf <- system.time(influence(r2))[["elapsed"]]
} else {
  one <- system.time(for (i in 1:3) rma(yi, vi, data=sim, subset=-i))[["elapsed"]] / 3
  t_loo <- one * nrow(sim); t_inf <- one * nrow(sim)
}
t_tf <- system.time(trimfill(r2))[["elapsed"]]
cat(t_perm, t_loo, t_inf, t_tf, "\n")
"""


def metafor_times(sim: pd.DataFrame, full: bool) -> list[float] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sim.csv")
        sim.to_csv(path, index=False)
        res = subprocess.run(["Rscript", "--vanilla", "-e", R_CODE.replace("{path}", path).replace(
            "{full}", "TRUE" if full else "FALSE")],
                             capture_output=True, text=True, timeout=3600)
    if res.returncode != 0:
        print("R failed; metafor not timed:\n" + res.stderr[-500:], file=sys.stderr)
        return None
    return [float(x) for x in res.stdout.split()]


def main() -> None:
    d, sim = bcg(), simulated()
    reg = meta_analysis("yi", "vi", data=d, mods="~ ablat")
    big = meta_analysis("yi", "vi", data=sim)
    ours = {
        "permutation test (1000, ~ ablat, BCG, REML)": best_of(
            lambda: reg.permutation_test(n=1000, seed=1)),
        f"leave-one-out (k = {K}, REML)": best_of(big.leave_one_out),
        f"influence (k = {K}, REML)": best_of(big.influence),
        f"trim-and-fill (k = {K}, REML)": best_of(big.trim_and_fill),
    }
    full = "--full-r" in sys.argv
    r = metafor_times(sim, full)
    print(f"{'task':<46}{'sleepmeta (s)':>15}{'metafor (s)':>16}{'ratio':>10}")
    for i, (task, t) in enumerate(ours.items()):
        if r is None:
            print(f"{task:<46}{t:>15.4f}{'not measured':>16}{'':>10}")
        else:
            est = " est." if i in (1, 2) and not full else "     "
            print(f"{task:<46}{t:>15.4f}{r[i]:>11.3f}{est}{r[i] / t:>9.0f}x")
    loo = ours[f"leave-one-out (k = {K}, REML)"]
    print(f"\ngoal: leave-one-out <= 0.5 s: {'met' if loo <= 0.5 else 'NOT met'} ({loo:.3f} s)")
    if r is not None:
        ratio = r[0] / ours["permutation test (1000, ~ ablat, BCG, REML)"]
        print(f"goal: permutation test >= 50x metafor: {'met' if ratio >= 50 else 'NOT met'} "
              f"({ratio:.0f}x)")


if __name__ == "__main__":
    main()
