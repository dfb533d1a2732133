"""Shared output helpers of the CLI: the rich console, atomic writes, error exits."""

from __future__ import annotations

import functools
from pathlib import Path

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    ``path`` must be a regular file or not exist yet (a folder, link, FIFO or
    device is refused, see :func:`sleepmeta.outputs.check_output_file`);
    temporaries an earlier killed run left beside it are removed; an
    :class:`OSError` (disk full, read-only folder) becomes an ``OutputError``.
    """
    from sleepmeta.atomic import atomic_path
    from sleepmeta.outputs import check_output_file, clean_stale, output_error, temp_prefix

    path = check_output_file(path, "--out")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(path.parent, [path.name])
        with atomic_path(path, prefix=temp_prefix(path.name, "tmp")) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise output_error(exc, path, "--out") from None


def plain(text: str, *, err: bool = False) -> None:
    """Print user-derived text as it is: no rich markup, no highlighting, no layout.

    rich would read ``[/bold]`` in a study name as markup (and fail, or drop
    ``[min, max]``), and its line layout takes quadratic time on very long
    words; this writes the text in linear time.
    """
    typer.echo(text, err=err)


def error_line(exc: BaseException) -> str:
    """One line for an error: ``error: <message>`` with line breaks flattened."""
    if isinstance(exc, OSError) and not str(exc).startswith("cannot "):
        where = f" {str(exc.filename)!r}" if exc.filename else ""
        text = f"{exc.strerror or type(exc).__name__}:{where}"
    else:
        text = str(exc)
    return "error: " + " ".join(text.splitlines())


def fail_on_input_error(func):
    """Turn a sleepmeta input error (or an OSError) into one plain line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from sleepmeta.errors import SleepmetaError

        try:
            return func(*args, **kwargs)
        except (SleepmetaError, OSError, MemoryError) as exc:
            plain(error_line(exc), err=True)
            raise typer.Exit(2) from None

    return wrapper
