"""The versions of the software that computed a report's numbers."""

from __future__ import annotations

import platform
import sys

__all__ = ["library_version", "software_versions"]


def library_version(name: str) -> str:
    """Version of the installed distribution ``name``, without importing it when not loaded.

    A library already imported reports its ``__version__``; otherwise the version comes from
    the installed package's metadata (:func:`importlib.metadata.version`), the same string:
    ``sleepmeta report --format json`` draws no figure and so never imports matplotlib,
    whose import alone costs a tenth of a second.

    Examples
    --------
    >>> import numpy
    >>> library_version("numpy") == numpy.__version__
    True
    """
    module = sys.modules.get(name)
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    from importlib.metadata import version as dist_version

    return dist_version(name)


def software_versions() -> dict:
    """Versions of sleepmeta, Python and the numerical libraries.

    Examples
    --------
    >>> sorted(software_versions())
    ['matplotlib', 'numpy', 'pandas', 'python', 'scipy', 'sleepmeta']
    """
    import numpy as np
    import pandas as pd
    import scipy

    import sleepmeta

    return {"sleepmeta": sleepmeta.__version__, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "pandas": pd.__version__,
            "matplotlib": library_version("matplotlib")}
