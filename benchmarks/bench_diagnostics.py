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
Each sleepmeta row gives min / median of several runs, wall and CPU time.
Goals (issue 12): leave-one-out and influence at k = 1000 <= 0.05 s each;
permutation test with 1,000 permutations <= 5 ms.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from importlib.resources import files

import numpy as np
import pandas as pd

from _common import load_note, measure
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
    reg.permutation_test(n=50, seed=1), big.leave_one_out()  # kernels loaded before timing
    ours = {
        "permutation test (1000, ~ ablat, BCG, REML)": (
            measure(lambda: reg.permutation_test(n=1000, seed=1), repeat=7), "<= 5 ms"),
        f"leave-one-out (k = {K}, REML)": (measure(big.leave_one_out, repeat=7), "<= 0.05 s"),
        f"influence (k = {K}, REML)": (measure(big.influence, repeat=7), "<= 0.05 s"),
        f"cumulative (k = {K}, REML)": (measure(big.cumulative, repeat=7), ""),
        f"trim-and-fill (k = {K}, REML)": (measure(big.trim_and_fill, repeat=7), ""),
    }
    full = "--full-r" in sys.argv
    r = metafor_times(sim, full)
    r_of = {0: 0, 1: 1, 2: 2, 4: 3}  # our rows -> metafor's timings (no cumul timed in R)
    print(f"bench_diagnostics — {load_note()}")
    print(f"{'task':<46}{'wall min / median':>22}{'CPU min / median':>22}{'goal':>11}"
          f"{'metafor (s)':>16}{'ratio':>10}")
    for i, (task, (t, goal)) in enumerate(ours.items()):
        wall, cpu = t.cells()
        theirs = ""
        if r is not None and i in r_of:
            est = " est." if i in (1, 2) and not full else "     "
            ri = r[r_of[i]]
            theirs = f"{ri:>11.3f}{est}{ri / t.wall_min:>9,.0f}x"
        elif r is None:
            theirs = f"{'not measured':>16}"
        print(f"{task:<46}{wall:>22}{cpu:>22}{goal:>11}{theirs}")
    print("metafor: timed inside R with system.time (start-up excluded); 'est.' = k x one refit. "
          "The machine's cores are shared with other jobs: see the medians.")


if __name__ == "__main__":
    main()
