"""Command line: a thin shell over the public API.

Each module of this package (not starting with ``_``) registers its
commands on :data:`sleepmeta.cli._app.app`; no computation lives here.
"""

from __future__ import annotations

import gc
import importlib
import pkgutil

from sleepmeta.cli._app import app
from sleepmeta.cli._gc import GC_THRESHOLD, mark_short_lived

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")


def main() -> None:
    """Entry point of the ``sleepmeta`` console script and of ``python -m sleepmeta``.

    A command is a short process: it collects cyclic garbage less often (``GC_THRESHOLD``),
    moves the libraries it imports out of the collector's way (:mod:`sleepmeta.cli._gc`),
    and freezes the heap when it ends, so the interpreter's exit does not walk every object
    once more (files are closed by then: every write goes through ``sleepmeta.atomic``).
    It is meant for a process that ends with the command; a longer-lived program runs
    commands through :data:`app` (e.g. typer's ``CliRunner``), which changes neither.
    """
    mark_short_lived()
    try:
        app(prog_name="sleepmeta")
    finally:
        gc.freeze()


__all__ = ["GC_THRESHOLD", "app", "main"]
