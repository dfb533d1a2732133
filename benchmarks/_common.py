"""Helpers shared by the benchmarks: timing, R detection, table printing."""

from __future__ import annotations

import shutil
import subprocess
import time

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
