"""Shared output helpers of the CLI: the rich console, atomic writes, error exits."""

from __future__ import annotations

import functools
from pathlib import Path

import typer
from rich.console import Console

from sleepmeta.atomic import atomic_write_text

console = Console()
err_console = Console(stderr=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)


def fail_on_input_error(func):
    """Turn a sleepmeta input error into a one-line message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from sleepmeta.errors import SleepmetaError

        try:
            return func(*args, **kwargs)
        except (SleepmetaError, FileNotFoundError) as exc:
            from rich.markup import escape  # the message is text, not markup ('[simulate]')

            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False,
                              markup=True)
            raise typer.Exit(2) from None

    return wrapper
