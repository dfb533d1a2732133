"""Helpers shared by the benchmarks: timing, R detection, table printing."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table


def best_of(func, repeat: int = 5, number: int = 1) -> float:
    """Best wall time of ``repeat`` runs of ``number`` calls, per call (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            func()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


@dataclass
class Timing:
    """Per-call times of several runs: wall and CPU (all threads), min and median (seconds)."""

    wall_min: float
    wall_med: float
    cpu_min: float
    cpu_med: float

    def cells(self) -> list[str]:
        return [f"{fmt_time(self.wall_min)} / {fmt_time(self.wall_med)}",
                f"{fmt_time(self.cpu_min)} / {fmt_time(self.cpu_med)}"]


def measure(func, repeat: int = 7, number: int = 1) -> Timing:
    """Run ``func`` ``number`` times per run, ``repeat`` runs; per-call wall and CPU times.

    CPU time is the process's (all threads: a parallel kernel's CPU can exceed
    its wall time). The machine is shared, so the median says how noisy it was.
    """
    walls, cpus = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(number):
            func()
        walls.append((time.perf_counter() - t0) / number)
        cpus.append((time.process_time() - c0) / number)
    return Timing(min(walls), statistics.median(walls), min(cpus), statistics.median(cpus))


def load_note() -> str:
    """Cores and load average, printed beside every table (the machine is shared)."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.1f} (1 min) / {five:.1f} (5 min)"


def pymare_available() -> bool:
    try:
        import pymare  # noqa: F401
    except ImportError:
        return False
    return True


def metafor_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(metafor)"], capture_output=True).returncode == 0


def r_seconds(code: str) -> float:
    """Run R code that prints one number (seconds, timed inside R) and return it."""
    out = subprocess.run(["Rscript", "--vanilla", "-e",
                          "suppressPackageStartupMessages(library(metafor))\n" + code],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().split()[-1])


def print_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    table = Table(title=title)
    for c in columns:
        table.add_column(c, justify="right" if c != columns[0] else "left")
    for r in rows:
        table.add_row(*r)
    Console(width=140).print(table)


def fmt_time(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "not measured"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"
