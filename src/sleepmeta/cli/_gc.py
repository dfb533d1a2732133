"""The cyclic garbage collector's policy for a command run as its own process.

CPython's collector finds reference cycles by walking the objects it tracks. A command
imports NumPy, pandas, SciPy, numba and matplotlib: some 300,000 objects that live until the
process ends and hold no garbage, yet every older-generation collection walks them again
(``sleepmeta report`` spent 0.2 s of its 3 s that way). :func:`sleepmeta.cli.main` raises the
first threshold (``GC_THRESHOLD``) and calls :func:`mark_short_lived`; a command then imports
its libraries through :func:`import_settled`, which moves them out of the collector's way.
A program that runs commands through :data:`sleepmeta.cli.app` itself (typer's ``CliRunner``,
a notebook) keeps its collector as it is.
"""

from __future__ import annotations

import gc
import importlib

__all__ = ["GC_THRESHOLD", "import_settled", "is_short_lived", "mark_short_lived"]

#: The cyclic garbage collector's first threshold for a command's run (CPython's default is
#: 700 allocations): with the default every burst of imports and figures sets off collections
#: that walk all the libraries' objects, a quarter of ``sleepmeta report``'s CPU time.
GC_THRESHOLD = 50_000

_state = {"short_lived": False}


def mark_short_lived() -> None:
    """Record that this process ends with the command (called by :func:`sleepmeta.cli.main`)."""
    _state["short_lived"] = True
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


def is_short_lived() -> bool:
    """Whether :func:`mark_short_lived` was called in this process."""
    return _state["short_lived"]


def import_settled(*modules: str) -> None:
    """Import ``modules`` (dotted names), then keep the collector from walking them again.

    The imports run with the collector paused (they make long-lived objects, no garbage).
    In a process that ends with the command (:func:`is_short_lived`), every object alive
    afterwards is then frozen (:func:`gc.freeze`): later collections walk only what the
    command itself makes. Elsewhere the imports just happen, the collector untouched.

    Examples
    --------
    >>> import_settled("json", "sleepmeta.errors")
    >>> import sys
    >>> "sleepmeta.errors" in sys.modules
    True
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        for name in modules:
            importlib.import_module(name)
    finally:
        if paused:
            gc.enable()
    if is_short_lived():
        gc.freeze()
