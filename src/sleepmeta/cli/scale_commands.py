"""``sleepmeta simulate``: run a simulation study from a grid TOML file."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.text import Text

from sleepmeta.cli._app import app
from sleepmeta.cli._output import console, fail_on_input_error

_SHOWN = ("bias", "empse", "coverage", "pi_coverage", "ci_width", "rejection", "failure_rate")


@app.command()
@fail_on_input_error
def simulate(
    grid: Path = typer.Argument(..., help="Grid TOML file (conditions, replicates, methods; "
                                "see the README), e.g. grid.toml."),
    out: Path = typer.Option(..., "--out", "-o",
                             help="Output folder of Parquet files (resumed if it exists), e.g. "
                                  "--out results.parquet. Needs the simulate extra (pyarrow)."),
    scheduler: str = typer.Option(None, "--scheduler", "-s",
                                  help="Where chunks run: default this process; 'processes' "
                                       "(local processes), or a Dask scheduler's address, e.g. "
                                       "--scheduler tcp://10.0.0.5:8786."),
    workers: int = typer.Option(None, "--workers",
                                help="Processes for --scheduler processes, e.g. --workers 4 "
                                     "(default: one per core)."),
    timeout: float = typer.Option(10.0, "--timeout",
                                  help="Seconds to wait for a Dask scheduler, e.g. --timeout 30."),
    progress: bool = typer.Option(None, "--progress/--no-progress",
                                  help="Progress bar (default: when in a terminal)."),
) -> None:
    """Run a simulation study comparing meta-analysis methods; print its summary.

    Example: sleepmeta simulate grid.toml --out results.parquet --scheduler processes
    """
    from sleepmeta.scale import simulate as run, summary_table

    tidy = run(grid, out=out, scheduler=scheduler, n_workers=workers, progress=progress,
               timeout=timeout)
    wide = summary_table(tidy, _SHOWN)
    for part in _tables(wide, console.width):
        console.print(part)
    console.print(Text(f"{len(tidy)} rows written to {out / 'summary.parquet'}; failed fits "
                       "are counted in 'failed' and left out of the other measures. "
                       "Values: estimate (Monte Carlo SE)."))  # Text: the path is not markup


def _tables(wide, width: int) -> list:
    """The summary as text that fits ``width`` columns.

    Condition settings shared by every row are said once above the table;
    the performance measures are split over as many tables as the width
    needs, each repeating the columns that tell the rows apart. No cell is
    cut short.
    """
    from rich.text import Text

    from sleepmeta.cli._layout import fitted_tables

    skip = {"condition", "n_sim", "n_failed", *(f"{m}_mcse" for m in _SHOWN), *_SHOWN}
    keys = [c for c in wide.columns if c not in skip]
    shared = [c for c in keys if wide[c].nunique(dropna=False) == 1]
    varying = [c for c in keys if c not in shared]
    counts = ["n_sim"] if wide["n_sim"].nunique() > 1 else []
    counts += ["n_failed"] if (wide["n_failed"] > 0).any() else []
    cells = {c: [_plain(v) for v in wide[c]] for c in (*varying, *counts)}
    for m in _SHOWN:
        cells[m] = [f"{e:.4g} ({se:.2g})" for e, se in zip(wide[m], wide[m + "_mcse"])]

    out = []
    head = [f"{c} {_plain(wide[c].iloc[0])}" for c in shared]
    if "n_sim" not in counts:
        head.append(f"{int(wide['n_sim'].iloc[0])} analyses per row")
    if "n_failed" not in counts:
        head.append("none failed")
    out.append(Text("Simulation summary: " + ", ".join(head)))
    cells = {("failed" if c == "n_failed" else c): v for c, v in cells.items()}
    keys = [*varying, *("failed" if c == "n_failed" else c for c in counts)]
    return out + fitted_tables(cells, keys, width, right=list(cells))


def _plain(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:g}"
    return str(value)
