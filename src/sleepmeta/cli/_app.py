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


def _print_version(value: bool) -> None:
    if value:
        from sleepmeta import __version__

        typer.echo(f"sleepmeta {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the version (e.g. sleepmeta 0.1.0) and exit."),
) -> None:
    """sleepmeta: sleep endpoints, effect sizes, meta-analysis matching metafor, benefit-risk
    and a claims-versus-evidence report. Run a command with --help for its options and an example.
    """
