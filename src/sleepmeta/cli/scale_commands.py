"""``sleepmeta simulate``: run a simulation study from a grid TOML file."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.table import Table

from sleepmeta.cli._app import app
from sleepmeta.cli._output import console, fail_on_input_error, plain

_SHOWN = ("bias", "empse", "coverage", "pi_coverage", "ci_width", "rejection", "failure_rate")


@app.command()
@fail_on_input_error
def simulate(
    grid: Path = typer.Argument(..., help="Grid TOML file (conditions, replicates, methods)."),
    out: Path = typer.Option(..., "--out", "-o",
                             help="Output folder of Parquet files (resumed if it exists)."),
    scheduler: str = typer.Option(None, "--scheduler", "-s",
                                  help="'processes', or a Dask scheduler 'tcp://host:port'. "
                                       "Default: this process."),
    workers: int = typer.Option(None, "--workers", help="Processes for --scheduler processes."),
    timeout: float = typer.Option(10.0, "--timeout",
                                  help="Seconds to wait for a Dask scheduler."),
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
    console.print(_table(wide))
    plain(f"{len(tidy)} rows written to {out / 'summary.parquet'}; failed fits are "
          "counted in 'failed' and left out of the other measures. "
          "Values: estimate (Monte Carlo SE).")


def _table(wide) -> Table:
    table = Table(title="Simulation summary")
    skip = {"condition", "n_sim", "n_failed", *(f"{m}_mcse" for m in _SHOWN), *_SHOWN}
    keys = [c for c in wide.columns if c not in skip]
    for col in (*keys, "n_sim", "n_failed", *_SHOWN):
        table.add_column(col.replace("n_failed", "failed"), justify="right")
    for row in wide.to_dict("records"):
        cells = [_plain(row[c]) for c in keys] + [str(row["n_sim"]), str(row["n_failed"])]
        cells += [f"{row[m]:.4g} ({row[m + '_mcse']:.2g})" for m in _SHOWN]
        table.add_row(*cells)
    return table


def _plain(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:g}"
    return str(value)
