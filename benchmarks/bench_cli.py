"""Benchmark: CPU time of the command line, each run a new process (issue 12, item 5).

Times ``sleepmeta --help``, ``sleepmeta pool`` (the shipped BCG trials) and ``sleepmeta
report`` (the bundled pregabalin review: HTML with its 23 figures, and JSON) as a user runs
them: ``python -m sleepmeta ...`` in a fresh process, in a scratch folder. CPU time is the
child's user + system time (``resource.getrusage(RUSAGE_CHILDREN)``), which the other jobs
on a shared machine disturb far less than wall time; both are printed, min and median of
``--repeat`` runs. One untimed run of each command comes first, so numba's on-disk cache is
filled and the files are in the page cache: "cold" here means a new process, not an empty
disk cache (a first run after installing also compiles the kernels; see docs/design.md).

Usage: ``python benchmarks/bench_cli.py [--repeat 7]`` (about a minute).
Goals (issue 12): ``--help`` < 0.3 s, ``pool`` < 1.5 s, ``report`` <= 3 s CPU.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from _common import fmt_time, load_note

COMMANDS = [
    ("sleepmeta --help", ["--help"], 0.3),
    ("sleepmeta pool (BCG)", ["pool"], 1.5),
    ("sleepmeta report --format json", ["report", "--format", "json", "--out", "r"], None),
    ("sleepmeta report (HTML + JSON)", ["report", "--out", "r"], 3.0),
]


def child_env() -> dict:
    """The environment of the timed processes: they import the sleepmeta this benchmark
    imports (a relative ``PYTHONPATH`` would not survive the change of folder)."""
    import sleepmeta

    root = os.path.dirname(os.path.dirname(os.path.abspath(sleepmeta.__file__)))
    paths = [root] + [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(
        os.pathsep) if p]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def run_once(args: list[str], cwd: str) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one ``python -m sleepmeta ARGS`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sleepmeta", *args], cwd=cwd, check=True,
                   env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="timed runs of each command")
    args = ap.parse_args()
    before = load_note()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        for name, argv, goal in COMMANDS:
            run_once(argv, tmp)  # untimed: numba's cache filled, files in the page cache
            cpus, walls = zip(*(run_once(argv, tmp) for _ in range(args.repeat)))
            rows.append((name, goal, cpus, walls))
    import sleepmeta

    print(f"\nCommand line, each run a new process ({args.repeat} runs), sleepmeta from "
          f"{os.path.dirname(os.path.abspath(sleepmeta.__file__))}; before: {before}; "
          f"after: {load_note().split('cores, ')[-1]}\n")
    head = (f"{'command':<32} {'goal (CPU)':>10} {'CPU min':>9} {'CPU median':>10} "
            f"{'wall min':>9} {'wall median':>11} {'min/goal':>8}")
    print(head)
    print("-" * len(head))
    for name, goal, cpus, walls in rows:
        ratio = f"{min(cpus) / goal:8.2f}" if goal else f"{'':>8}"
        goal_text = f"< {goal:g} s" if goal else ""
        print(f"{name:<32} {goal_text:>10} {fmt_time(min(cpus)):>9} "
              f"{fmt_time(statistics.median(cpus)):>10} {fmt_time(min(walls)):>9} "
              f"{fmt_time(statistics.median(walls)):>11} {ratio}")
    print("\nmin/goal < 1 meets the goal. CPU is the child process's user + system time "
          f"(Python {sys.version.split()[0]}, {os.cpu_count()} cores shared with other jobs: "
          "CPU times rise a little under load, wall times a lot).")


if __name__ == "__main__":
    main()
