"""Command line: a thin shell over the public API.

Each module of this package (not starting with ``_``) registers its
commands on :data:`sleepmeta.cli._app.app`; no computation lives here.
"""

from __future__ import annotations

import importlib
import pkgutil

from sleepmeta.cli._app import app

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")


def main() -> None:
    """Entry point of the ``sleepmeta`` console script and of ``python -m sleepmeta``."""
    app(prog_name="sleepmeta")


__all__ = ["app", "main"]
