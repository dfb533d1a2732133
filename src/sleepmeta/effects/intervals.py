"""The Wald interval of a study's effect: the one place it is computed.

``yi ± z sqrt(vi)`` with ``z`` the ``(1 + level)/2`` normal quantile, as
metafor's ``summary.escalc`` and its forest plots show study intervals.
The effect sizes' tables, a pooled result's study table, the forest plot and
the Mantel-Haenszel/Peto intervals use it.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from sleepmeta.errors import InputError

__all__ = ["normal_quantile", "wald_interval"]


def normal_quantile(level: float) -> float:
    """The two-sided critical value ``z`` of a ``level`` interval (1.96 for 0.95).

    Examples
    --------
    >>> round(normal_quantile(0.95), 6)
    1.959964
    """
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1), got {level!r}")
    return float(-special.ndtri((1 - level) / 2))


def wald_interval(estimate, se, level: float = 0.95):
    """``(estimate - z se, estimate + z se)`` with ``z = normal_quantile(level)``.

    Examples
    --------
    >>> lo, hi = wald_interval(np.array([0.5]), np.array([0.1]))
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.304, 0.696)
    """
    z = normal_quantile(level)
    estimate, se = np.asarray(estimate, float), np.asarray(se, float)
    return estimate - z * se, estimate + z * se
