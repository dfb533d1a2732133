"""Command line: a thin shell over the public API.

Each module of this package (not starting with ``_``) registers its
commands on :data:`sleepmeta.cli._app.app`; no computation lives here.
"""

from __future__ import annotations

import gc
import importlib
import pkgutil

from sleepmeta.cli._app import app

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")


#: The cyclic garbage collector's first threshold for a command's run (CPython's default is
#: 700 allocations). A command imports NumPy, pandas, SciPy, numba and matplotlib, about
#: 270,000 long-lived objects, and with the default every burst of imports and figures sets off
#: full collections that walk all of them: a quarter of ``sleepmeta report``'s CPU time.
GC_THRESHOLD = 50_000


def main() -> None:
    """Entry point of the ``sleepmeta`` console script and of ``python -m sleepmeta``.

    A command is a short process: it collects cyclic garbage less often (``GC_THRESHOLD``),
    and freezes the heap when it ends, so the interpreter's exit does not walk every object
    once more (files are closed by then: every write goes through ``sleepmeta.atomic``).
    It is meant for a process that ends with the command; a longer-lived program runs
    commands through :data:`app` (e.g. typer's ``CliRunner``), which changes neither.
    """
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    try:
        app(prog_name="sleepmeta")
    finally:
        gc.freeze()


__all__ = ["app", "main"]
