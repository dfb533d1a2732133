"""The typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="sleepmeta",
    help=(
        "sleepmeta: does a drug help sleep, and at what cost? "
        "Sleep endpoints, effect sizes, meta-analysis matching R's metafor, "
        "benefit-risk and a claims-versus-evidence report.\n\n"
        "Example: sleepmeta pool --help"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


@app.callback()
def _root() -> None:
    """sleepmeta: sleep endpoints, effect sizes, meta-analysis matching metafor, benefit-risk
    and a claims-versus-evidence report. Run a command with --help for its options and an example.
    """
