"""Single proportions: PR, PLN, PLO, PAS and PFT.

``events`` of ``n`` participants. As in metafor's ``escalc`` defaults, 1/2 is
added to the events and the non-events of a study with no events or only
events, for PR, PLN and PLO (so ``n`` grows by 1); PAS and PFT get no
correction (``escalc`` sets ``add=0`` for them). Variances are metafor's
default n-based ones (vtype "LS").

>>> import numpy as np
>>> yi, vi = _plo(np.array([3.0]), np.array([12.0]))
>>> round(float(yi[0]), 6), round(float(vi[0]), 6)
(-1.098612, 0.444444)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sleepmeta.effects.columns import check_counts
from sleepmeta.effects._registry import Arrays, Family, Measure

COLUMNS = ("events", "n")


def _pr(x, n):
    """Raw proportion ``p = x/n``; ``vi = p(1 - p)/n``."""
    p = x / n
    return p, p * (1 - p) / n


def _pln(x, n):
    """Log proportion ``log(x/n)``; ``vi = 1/x - 1/n``."""
    return np.log(x / n), 1 / x - 1 / n


def _plo(x, n):
    """Logit ``log(x/(n - x))``; ``vi = 1/x + 1/(n - x)``."""
    p = x / n
    return np.log(p / (1 - p)), 1 / x + 1 / (n - x)


def _pas(x, n):
    """Arcsine square-root ``asin(sqrt(x/n))``; ``vi = 1/(4n)`` (Anscombe 1948)."""
    return np.arcsin(np.sqrt(x / n)), 1 / (4 * n)


def _pft(x, n):
    """Freeman-Tukey double arcsine (Freeman & Tukey 1950, Ann Math Stat 21:607-611).

    ``yi = (asin(sqrt(x/(n+1))) + asin(sqrt((x+1)/(n+1)))) / 2``, ``vi = 1/(4n + 2)``.
    """
    yi = (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1)))) / 2
    return yi, 1 / (4 * n + 2)


def _validate(arrays: Arrays, labels: Sequence[str], measure: str) -> None:
    check_counts(arrays, "events", "n", labels)


def _prepare(arrays: Arrays, add: float):
    x, n = arrays["events"], arrays["n"]
    corrected = ((x == 0) | (x == n)) & (add != 0)
    extra = np.where(corrected, add, 0.0)
    return {"x": x + extra, "n": n + 2 * extra}, corrected


FAMILY = Family("single proportions", COLUMNS, _validate, _prepare, zero_rule="no events or only events")

MEASURES = {
    "PR": Measure(_pr, "raw proportion", FAMILY, add=0.5, label="Proportion", null=None),
    "PLN": Measure(_pln, "log proportion", FAMILY, add=0.5, label="Proportion",
                   log_scale=True, null=None),
    "PLO": Measure(_plo, "logit proportion", FAMILY, add=0.5, label="Odds", log_scale=True,
                   null=None),
    "PAS": Measure(_pas, "arcsine square-root proportion", FAMILY, add=0.0,
                   label="Arcsine proportion", null=None),
    "PFT": Measure(_pft, "Freeman-Tukey double arcsine proportion", FAMILY, add=0.0,
                   label="Freeman-Tukey proportion", null=None),
}
