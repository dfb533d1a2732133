"""``sleepmeta nights`` and ``sleepmeta contrast``: stages 1 and 2 from the shell.

Thin: parse the arguments, call :func:`sleepmeta.sleep.read_nights` or
:func:`sleepmeta.trials.contrast`, print with rich, write files atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sleepmeta.cli._app import app
from sleepmeta.errors import InputError, SleepmetaError
from sleepmeta.cli._output import error_line, plain
from sleepmeta.cli._output import write_text_atomic as atomic_write_text

_console = Console()


def _fail(exc) -> typer.Exit:
    """One plain line on stderr and exit code 2, like every other command."""
    plain(error_line(exc) if isinstance(exc, BaseException) else f"error: {exc}", err=True)
    return typer.Exit(code=2)


def _read_csv(path: Path, what: str):
    import pandas as pd

    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise _fail(f"{what} file '{path}': cannot be read: {exc}") from None


def _show(frame, columns: list[str], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, justify="left" if frame[col].dtype == object else "right")
    for _, row in frame[columns].iterrows():
        table.add_row(*(Text(f"{v:.4g}" if isinstance(v, float) else str(v)) for v in row))
    _console.print(table)


@app.command()
def nights(
    files: Annotated[list[Path], typer.Argument(help="Hypnogram files: .csv, .edf (Sleep-EDF style), .xml (NSRR).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV to write: one row per night.")],
    epoch_seconds: Annotated[Optional[float], typer.Option(help="Epoch length for files that do not state it.")] = None,
    meta: Annotated[Optional[Path], typer.Option(help="CSV with a 'file' column and participant columns (subject, arm, period...) to join.")] = None,
    persistent_minutes: Annotated[float, typer.Option(help="Uninterrupted sleep defining LPS.")] = 10.0,
    min_awakening_minutes: Annotated[float, typer.Option(help="Shortest wake run counted as an awakening.")] = 0.0,
) -> None:
    """Sleep endpoints (TIB, TST, SOL, LPS, WASO, SE, stages...) of each night.

    Example: sleepmeta nights data/*.edf --meta participants.csv --out nights.csv
    """
    meta_frame = _read_csv(meta, "meta") if meta is not None else None
    try:
        from sleepmeta.sleep import read_nights

        table = read_nights(
            files, epoch_seconds=epoch_seconds, meta=meta_frame,
            persistent_minutes=persistent_minutes, min_awakening_minutes=min_awakening_minutes,
        )
        if table.index.name in table.columns:  # checked before writing, not after
            raise InputError(f"meta file: column {table.index.name!r} clashes with the night "
                             "table's own column of that name; rename it")
        atomic_write_text(out, table.to_csv(lineterminator="\n"))
    except (SleepmetaError, ValueError, OSError) as exc:
        raise _fail(exc) from None
    shown = table.reset_index()
    _show(shown, ["night", "TIB", "TST", "SOL", "LPS", "WASO", "SE", "n_awakenings"],
          f"{len(table)} night(s) -> {out}")


@app.command()
def contrast(
    nights_csv: Annotated[Path, typer.Argument(metavar="NIGHTS", help="Night table CSV (from 'sleepmeta nights' plus subject/arm columns).")],
    endpoint: Annotated[list[str], typer.Option("--endpoint", "-e", help="Endpoint column(s), e.g. WASO; repeat for more.")],
    design: Annotated[str, typer.Option(help="parallel or crossover.")] = "parallel",
    arm: Annotated[str, typer.Option(help="Arm column.")] = "arm",
    subject: Annotated[str, typer.Option(help="Participant column.")] = "subject",
    period: Annotated[Optional[str], typer.Option(help="Period column (crossover; adjusts for period).")] = None,
    baseline: Annotated[Optional[str], typer.Option(help="True/False column marking baseline nights (parallel; ANCOVA).")] = None,
    treatment: Annotated[Optional[str], typer.Option(help="Arm value of the treatment.")] = None,
    control: Annotated[Optional[str], typer.Option(help="Arm value of the control.")] = None,
    method: Annotated[Optional[str], typer.Option(help="welch, pooled, ancova, change, paired or senn.")] = None,
    study: Annotated[Optional[str], typer.Option(help="Column naming the trial: one contrast per trial.")] = None,
    label: Annotated[Optional[str], typer.Option(help="Study label when there is no study column.")] = None,
    missing: Annotated[str, typer.Option(help="raise or omit nights without a value.")] = "raise",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="CSV to write (ready for a meta-analysis: yi, vi).")] = None,
) -> None:
    """Treatment-minus-control mean difference per trial and endpoint.

    Example: sleepmeta contrast nights.csv --endpoint WASO --design crossover
    """
    frame = _read_csv(nights_csv, "nights")
    try:
        from sleepmeta.trials import contrast as _contrast

        result = _contrast(
            frame, endpoint, arm=arm, subject=subject, design=design, period=period,
            baseline=baseline, treatment=treatment, control=control, method=method,
            study=study, label=label, missing=missing,
        )
        if out is not None:
            atomic_write_text(out, result.to_csv(index=False, lineterminator="\n"))
    except (SleepmetaError, ValueError, OSError) as exc:
        raise _fail(exc) from None
    title = f"{design} contrast, {result['treatment'].iloc[0]} - {result['control'].iloc[0]}"
    if bool(result["simulated"].any()):
        title += " (SIMULATED data)"
    _show(result, ["study", "endpoint", "method", "n1", "n2", "md", "se", "df", "ci_low", "ci_high", "smd"],
          title + (f" -> {out}" if out is not None else ""))
