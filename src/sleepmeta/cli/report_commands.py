"""``sleepmeta report``: run a review spec and write the claims-versus-evidence report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sleepmeta.cli._app import app
from sleepmeta.cli._gc import import_settled
from sleepmeta.cli._output import console, fail_on_input_error, plain

DEFAULT_OUT = Path("sleepmeta-report")
#: The modules a report needs (imported up front, see :func:`import_settled`); the HTML
#: report draws figures and renders a template too.
REPORT_MODULES = ("sleepmeta.review.build", "sleepmeta.review.analyse",
                  "sleepmeta.review.certainty", "sleepmeta.review.sensitivity",
                  "sleepmeta.review.dose_curves", "sleepmeta.review.payload",
                  "sleepmeta.review.methods", "sleepmeta.pooling.api", "sleepmeta.dose")
HTML_MODULES = ("sleepmeta.plots", "sleepmeta.plots.dose_response", "sleepmeta.plots.rob",
                "sleepmeta.plots.dose_curve", "sleepmeta.review.display", "jinja2",
                "PIL.PngImagePlugin")


@app.command(
    epilog=(
        "Examples:\n\n"
        "  sleepmeta report                                (the bundled pregabalin review)\n\n"
        "  sleepmeta report my_review.toml --out my-report\n\n"
        "  sleepmeta report --format json --out numbers"
    )
)
@fail_on_input_error
def report(
    review: Annotated[Optional[Path], typer.Argument(
        help="Review spec (TOML), e.g. my_review.toml. Omit to run the bundled review of "
             "pregabalin and sleep.")] = None,
    out: Annotated[Path, typer.Option(
        "--out", help="Folder for the report (replaced only when the new one is complete), "
                      "e.g. --out my-report.")]
        = DEFAULT_OUT,
    fmt: Annotated[str, typer.Option(
        "--format", help="html (report.html + report.json) or json (report.json only), "
                         "e.g. --format json.")] = "html",
    allow_outside: Annotated[Optional[list[Path]], typer.Option(
        "--allow-outside", metavar="PATH",
        help="Let the spec read data or notes under PATH, outside the spec's own folder "
             "(repeatable), e.g. --allow-outside ../shared-tables. By default a spec reads "
             "only files in its own folder.")] = None,
) -> None:
    """Set claims beside the published evidence: pooled estimates, verdicts, gaps.

    Runs the review spec through the effect-size, pooling and benefit-risk
    stages and writes a self-contained report. The report summarises
    published evidence; it gives no advice on use or dose.
    """
    import_settled(*REPORT_MODULES, *(HTML_MODULES if fmt == "html" else ()))
    from sleepmeta.review.build import build_report

    if not console.is_terminal:  # no progress output (nor its blank line) in pipes and logs
        result = build_report(review, out, fmt=fmt, allow_outside=allow_outside)
    else:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False),
                      TimeElapsedColumn(), console=console, transient=True) as progress:
            task = progress.add_task("starting", total=None)

            def step(msg: str) -> None:
                progress.update(task, description=msg[:200])  # user text, kept short

            result = build_report(review, out, fmt=fmt, progress=step,
                                  allow_outside=allow_outside)
    verdicts: dict = {}
    for c in result.payload["claims"]:
        verdicts[c["verdict"]] = verdicts.get(c["verdict"], 0) + 1
    plain(result.payload["title"])  # user text: no markup, no quadratic layout
    plain("claims: " + ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())))
    plain(f"report written to {result.main_file}")
