"""``sleepmeta nights`` and ``sleepmeta contrast``: stages 1 and 2 from the shell.

Thin: parse the arguments, call :func:`sleepmeta.sleep.read_nights` or
:func:`sleepmeta.trials.contrast`, print with rich, write files atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from sleepmeta.cli._app import app
from sleepmeta.errors import SleepmetaError
from sleepmeta.cli._output import write_text_atomic as atomic_write_text

_console = Console()
_errors = Console(stderr=True)


def _fail(exc: Exception) -> typer.Exit:
    """One plain-text line on stderr and exit code 2, as every command does for bad input."""
    _errors.print("[bold red]error:[/] " + escape(str(exc)), highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _read_csv(path: Path, what: str):
    import pandas as pd

    try:
        return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise _fail(f"{what} file '{path}': cannot be read: {type(exc).__name__}: {exc}") from None


def _show(frame, columns: list[str], title: str) -> None:
    import pandas as pd

    from sleepmeta.cli._layout import fitted_tables

    text = [c for c in columns if not pd.api.types.is_numeric_dtype(frame[c])]
    shared = [c for c in text if len(frame) > 1 and frame[c].nunique(dropna=False) == 1]
    if shared:  # the same in every row: said once, in the title
        title += " (" + ", ".join(f"{c} {frame[c].iloc[0]}" for c in shared) + ")"
    columns = [c for c in columns if c not in shared]
    cells = {c: [f"{v:.4g}" if isinstance(v, float) else str(v) for v in frame[c]]
             for c in columns}
    keys = [c for c in columns if c in text][:2]  # what tells the rows apart
    for table in fitted_tables(cells, keys, _console.width, title,
                               right=[c for c in columns if c not in text]):
        _console.print(table)


@app.command()
def nights(
    files: Annotated[list[Path], typer.Argument(help="Hypnogram files: .csv, .txt (one stage per line), .edf (Sleep-EDF style), .xml (NSRR, Profusion, Embla), e.g. data/*.edf.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV to write: one row per night, e.g. --out nights.csv.")],
    epoch_seconds: Annotated[Optional[float], typer.Option(help="Epoch length (seconds) for files that do not state it, e.g. --epoch-seconds 30.")] = None,
    meta: Annotated[Optional[Path], typer.Option(help="CSV with a 'file' column and participant columns (subject, arm, period...) to join; optional lights_off/lights_on columns, e.g. --meta participants.csv.")] = None,
    coding: Annotated[Optional[str], typer.Option(help="Coding of digit stages: rk (4 = stage 4, Sleep-EDF/NSRR) or yasa (4 = REM), e.g. --coding rk.")] = None,
    lights_off: Annotated[Optional[str], typer.Option(help="Lights off for every night: seconds from the start, or a clock time, e.g. --lights-off 23:10.")] = None,
    lights_on: Annotated[Optional[str], typer.Option(help="Lights on for every night: seconds from the start, or a clock time, e.g. --lights-on 07:05.")] = None,
    persistent_minutes: Annotated[float, typer.Option(help="Minutes of uninterrupted sleep defining LPS, e.g. --persistent-minutes 10.")] = 10.0,
    min_awakening_minutes: Annotated[float, typer.Option(help="Shortest wake run (minutes) counted as an awakening or wake bout, e.g. --min-awakening-minutes 1.")] = 0.0,
) -> None:
    """Sleep endpoints (TIB, TST, SOL, LPS, WASO, SE, stages, cycles...) of each night.

    Statistics cover lights off to lights on (from the files, the meta
    columns or --lights-off/--lights-on; the 'lights' column says which).

    Example: sleepmeta nights data/*.edf --meta participants.csv --out nights.csv
    """
    meta_frame = _read_csv(meta, "meta") if meta is not None else None
    try:
        from sleepmeta.sleep import read_nights

        table = read_nights(
            files, epoch_seconds=epoch_seconds, meta=meta_frame, coding=coding,
            lights_off=_time_or_seconds(lights_off), lights_on=_time_or_seconds(lights_on),
            persistent_minutes=persistent_minutes, min_awakening_minutes=min_awakening_minutes,
        )
        atomic_write_text(out, table.to_csv(lineterminator="\n"))
    except (SleepmetaError, ValueError, OSError) as exc:
        raise _fail(exc) from None
    shown = table.reset_index()
    _show(shown, ["night", "TIB", "TST", "SOL", "LPS", "WASO_AASM", "SE", "lights"],
          f"{len(table)} night(s) -> {out}")


def _time_or_seconds(text: Optional[str]):
    """A number of seconds when the text is one, else the text (a clock time)."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return text


@app.command()
def contrast(
    nights_csv: Annotated[Path, typer.Argument(metavar="NIGHTS", help="Night table CSV (from 'sleepmeta nights' plus subject/arm columns), e.g. nights.csv.")],
    endpoint: Annotated[list[str], typer.Option("--endpoint", "-e", help="Endpoint column(s), e.g. WASO; repeat for more.")],
    design: Annotated[str, typer.Option(help="parallel or crossover, e.g. --design crossover.")] = "parallel",
    arm: Annotated[str, typer.Option(help="Column with each night's arm, e.g. --arm arm.")] = "arm",
    subject: Annotated[str, typer.Option(help="Column with the participant, e.g. --subject subject.")] = "subject",
    period: Annotated[Optional[str], typer.Option(help="Period column (crossover; adjusts for period), e.g. --period period.")] = None,
    baseline: Annotated[Optional[str], typer.Option(help="True/False column marking baseline nights (parallel; ANCOVA), e.g. --baseline is_baseline.")] = None,
    treatment: Annotated[Optional[str], typer.Option(help="Arm value of the treatment, e.g. --treatment drug.")] = None,
    control: Annotated[Optional[str], typer.Option(help="Arm value of the control, e.g. --control placebo.")] = None,
    method: Annotated[Optional[str], typer.Option(help="welch, pooled, ancova, change, paired or senn, e.g. --method pooled.")] = None,
    study: Annotated[Optional[str], typer.Option(help="Column naming the trial: one contrast per trial, e.g. --study trial.")] = None,
    label: Annotated[Optional[str], typer.Option(help="Study label when there is no study column, e.g. --label 'Roth 2012'.")] = None,
    missing: Annotated[str, typer.Option(help="raise, or omit nights without a value, e.g. --missing omit.")] = "raise",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="CSV to write (ready for a meta-analysis: yi, vi), e.g. --out contrasts.csv.")] = None,
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
