"""Lazy exports of a package: public names imported from their module on first use.

``import sleepmeta`` and ``import sleepmeta.pooling`` stay quick (the command
line starts without loading SciPy), and reading a registry does not load the
engine.
"""

from __future__ import annotations

import importlib

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: dict[str, str], namespace: dict,
                 subpackages: tuple[str, ...] = ()):
    """``(__getattr__, __dir__)`` for ``package``: ``exports`` maps a name to its module.

    A name is imported once and then stored in the package's ``namespace``;
    ``subpackages`` are imported on first attribute access.

    Examples
    --------
    >>> ns = {}
    >>> getattr_, dir_ = lazy_exports("demo", {"sqrt": "math"}, ns)
    >>> getattr_("sqrt")(9.0), "sqrt" in ns, dir_()
    (3.0, True, ['sqrt'])
    """
    names = sorted(exports)

    def __getattr__(name: str):
        if name in subpackages:
            return importlib.import_module(f"{package}.{name}")
        try:
            module = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__():
        return list(names)

    return __getattr__, __dir__
