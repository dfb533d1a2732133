"""The versions of the software that computed a report's numbers."""

from __future__ import annotations

import platform

__all__ = ["software_versions"]


def software_versions() -> dict:
    """Versions of sleepmeta, Python and the numerical libraries.

    Examples
    --------
    >>> sorted(software_versions())
    ['matplotlib', 'numpy', 'pandas', 'python', 'scipy', 'sleepmeta']
    """
    import matplotlib
    import numpy as np
    import pandas as pd
    import scipy

    import sleepmeta

    return {"sleepmeta": sleepmeta.__version__, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "pandas": pd.__version__,
            "matplotlib": matplotlib.__version__}
