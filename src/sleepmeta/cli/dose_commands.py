"""``sleepmeta dose``: a dose–response curve from arm-level rows of a CSV file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from sleepmeta.cli._app import app
from sleepmeta.cli._output import console, fail_on_input_error, write_text_atomic
from sleepmeta.errors import InputError

_Col = Annotated[Optional[str], typer.Option(
    help="Column name for this quantity, e.g. --events events --n n (or --mean m --sd sd).")]


def _hill(text: str) -> float | None:
    """``--hill``: a number, or ``estimate`` (None)."""
    if text.strip().lower() == "estimate":
        return None
    try:
        return float(text)
    except ValueError:
        raise InputError(f"--hill must be a number or 'estimate', got {text!r}") from None


def _numbers(text: str | None, option: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"{option} must be numbers separated by commas, got {text!r}") from None


@app.command(
    epilog=(
        "Examples:\n\n"
        "  sleepmeta dose arms.csv --study id --dose dose --events events --n n\n\n"
        "  sleepmeta dose arms.csv --study id --dose dose --events events --n n --model spline "
        "--knots 75,300,600 --at 150,300,600 --plot curve.png --json\n\n"
        "  sleepmeta dose arms.csv --study id --dose dose --measure MD --mean m --sd sd --n n"
    )
)
@fail_on_input_error
def dose(
    file: Annotated[Path, typer.Argument(
        help="CSV file, one row per dose arm (the reference arm, dose 0, included), the rows "
             "of a study in increasing dose, e.g. arms.csv.")],
    study: Annotated[str, typer.Option(help="Column with the study label, e.g. --study id.")],
    dose: Annotated[str, typer.Option(help="Column with the daily dose, e.g. --dose dose_mg.")],
    measure: Annotated[str, typer.Option(
        help="RR or OR (--events --n), MD or SMD (--mean --sd --n), e.g. --measure OR.")] = "RR",
    events: _Col = None, n: _Col = None, mean: _Col = None, sd: _Col = None,
    model: Annotated[str, typer.Option(
        help="linear, quadratic, spline, or emax (random Emax, ML), e.g. --model spline.")] = "linear",
    knots: Annotated[Optional[str], typer.Option(
        help="Spline knots as doses (default: 10th, 50th, 90th percentiles of the doses), "
             "e.g. --knots 75,300,600.")] = None,
    hill: Annotated[str, typer.Option(
        help="Hill coefficient of --model emax: a number (fixed) or 'estimate', "
             "e.g. --hill 2.")] = "1",
    at: Annotated[Optional[str], typer.Option(
        help="Doses to report (default: the distinct doses), e.g. --at 150,300,600.")] = None,
    reference: Annotated[float, typer.Option(help="Reference dose, e.g. --reference 0.")] = 0.0,
    proc: Annotated[str, typer.Option(
        help="1stage (random slopes) or 2stage, e.g. --proc 2stage.")] = "1stage",
    method: Annotated[str, typer.Option(help="REML, ML or FE, e.g. --method ML.")] = "REML",
    level: Annotated[float, typer.Option(help="Confidence level, e.g. --level 0.9.")] = 0.95,
    control_risk: Annotated[Optional[float], typer.Option(
        help="Risk at the reference dose (0-1): adds NNH/NNT and events per 1,000, "
             "e.g. --control-risk 0.05.")] = None,
    plot: Annotated[Optional[Path], typer.Option(
        help="Write the curve (.png/.svg/.pdf), e.g. --plot curve.png.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of the summary.")] = False,
    out: Annotated[Optional[Path], typer.Option(
        help="Also write the JSON result to this file, e.g. --out dose.json.")] = None,
) -> None:
    """Pool a dose-response curve (dosresmeta's one- or two-stage model) and predict by dose.

    Prints the coefficients, the test of any dose effect, the test for
    non-linearity, heterogeneity, and the pooled relative effect at each
    --at dose against the reference with its CI.
    """
    import pandas as pd

    from sleepmeta.dose import dose_response

    if not file.exists():
        raise InputError(f"file {str(file)!r} does not exist")
    try:
        data = pd.read_csv(file)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"file {str(file)!r} is not a readable CSV table: {exc}") from None
    res = dose_response(data, study=study, dose=dose, measure=measure, events=events, n=n,
                        mean=mean, sd=sd, model=model, knots=_numbers(knots, "--knots"), hill=_hill(hill),
                        reference=reference, proc=proc, method=method, level=level)
    doses = _numbers(at, "--at") or sorted(set(res.arms["dose"]))
    pred = res.predict(doses, reference=reference)
    payload = res.to_dict()
    payload["predictions"] = pred.to_dict("records")
    if control_risk is not None:
        from sleepmeta.dose.benefit import dose_number_needed

        payload["numbers_needed"] = dose_number_needed(res, doses, control_risk,
                                                       reference=reference).to_dict("records")
    text = json.dumps(payload, indent=2, sort_keys=True, allow_nan=False)
    if out is not None:
        write_text_atomic(out, text)
    if plot is not None:
        from sleepmeta.plots import save_figure

        save_figure(res.plot(reference=reference, title=str(file.name)), plot)
    if as_json:
        typer.echo(text)
        return
    console.print(res.summary(), highlight=False, markup=False)
    console.print("")
    console.print(pred.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
                  highlight=False, markup=False)
    if control_risk is not None:
        for row in payload["numbers_needed"]:
            console.print(f"{row['dose']:g}: {row['per_1000']:+.0f} per 1,000 "
                          f"({row['per_1000_low']:+.0f} to {row['per_1000_high']:+.0f}); "
                          f"{row['text']}", highlight=False, markup=False)
    for path in (plot, out):
        if path is not None:
            console.print(f"wrote {path}", highlight=False, markup=False)


__all__ = ["dose"]
