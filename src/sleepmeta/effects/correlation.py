"""Correlations: COR (raw) and ZCOR (Fisher's r-to-z).

Definitions and defaults follow metafor's ``escalc``: COR uses the
large-sample variance ``(1 - r^2)^2 / (n - 1)`` (its default vtype "LS"),
ZCOR the variance ``1 / (n - 3)``. Both need ``n >= 4`` (metafor sets the
variance to NA for ``n <= 3``).

>>> import numpy as np
>>> yi, vi = _zcor(np.array([0.5]), np.array([13.0]))
>>> round(float(yi[0]), 6), float(vi[0])
(0.549306, 0.1)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sleepmeta.effects.columns import check
from sleepmeta.effects._registry import Arrays, Family, Measure, no_correction

COLUMNS = ("r", "n")


def _cor(r, n):
    """Raw correlation; ``vi = (1 - r^2)^2 / (n - 1)`` (Pearson & Filon 1898; Olkin & Pratt 1958)."""
    return r.copy(), (1 - r**2) ** 2 / (n - 1)


def _zcor(r, n):
    """Fisher's z, ``atanh(r) = log((1 + r)/(1 - r)) / 2``; ``vi = 1/(n - 3)`` (Fisher 1921)."""
    return np.arctanh(r), 1 / (n - 3)


def _validate(arrays: Arrays, labels: Sequence[str], measure: str) -> None:
    r, n = arrays["r"], arrays["n"]
    check(np.abs(r) > 1, r, labels, "r", "in [-1, 1]")
    if measure == "ZCOR":
        check(np.abs(r) == 1, r, labels, "r", "in (-1, 1) for ZCOR (z is infinite at +-1)")
    check(n < 4, n, labels, "n", f">= 4 for {measure} (the sampling variance needs n > 3)")


FAMILY = Family("correlations", COLUMNS, _validate, no_correction)

MEASURES = {
    "COR": Measure(_cor, "raw correlation coefficient", FAMILY, label="Correlation"),
    "ZCOR": Measure(_zcor, "Fisher's r-to-z transformed correlation", FAMILY,
                    label="Fisher's z"),
}
