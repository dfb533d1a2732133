"""Two groups of counts (2x2 tables): RR, OR, RD, AS and PETO.

Each study is a table with ``a = events1``, ``b = n1 - events1``,
``c = events2`` and ``d = n2 - events2`` (group 1 = treatment). As in
metafor's ``escalc`` defaults (``add=1/2, to="only0", drop00=FALSE``), 1/2 is
added to all four cells of a study with a zero cell, for RR, OR, RD and
PETO; AS gets no correction (``escalc`` sets ``add=0`` for it). Studies with
no events in both groups are kept (and corrected).

>>> import numpy as np
>>> a, b, c, d = (np.array([v]) for v in (4.0, 119.0, 11.0, 128.0))
>>> yi, vi = _log_rr(a, b, c, d)
>>> round(float(yi[0]), 4), round(float(vi[0]), 4)
(-0.8893, 0.3256)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sleepmeta.effects.columns import check_counts
from sleepmeta.effects._registry import Arrays, Family, Measure

COLUMNS = ("events1", "n1", "events2", "n2")


def cells(events1, n1, events2, n2) -> tuple[np.ndarray, ...]:
    """The four cells ``a, b, c, d`` of the 2x2 tables."""
    return events1, n1 - events1, events2, n2 - events2


def continuity_correct(a, b, c, d, add: float):
    """Add ``add`` to all four cells of tables with a zero cell (metafor's ``to="only0"``).

    Works on arrays of any shape. Returns the corrected cells and the
    boolean array of corrected tables (all ``False`` when ``add == 0``).

    >>> import numpy as np
    >>> out = continuity_correct(np.array([0.0, 2]), np.array([5.0, 3]),
    ...                          np.array([1.0, 1]), np.array([4.0, 4]), 0.5)
    >>> [float(x[0]) for x in out[:4]], out[4].tolist()
    ([0.5, 5.5, 1.5, 4.5], [True, False])
    """
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    corrected = zero & (add != 0)
    extra = np.where(corrected, add, 0.0)
    return a + extra, b + extra, c + extra, d + extra, corrected


def _log_rr(a, b, c, d):
    """Log risk ratio ``log(a/n1) - log(c/n2)``; ``vi = 1/a - 1/n1 + 1/c - 1/n2``.

    Katz D, Baptista J, Azen SP, Pike MC (1978). Obtaining confidence
    intervals for the risk ratio in cohort studies. Biometrics 34:469-474.
    """
    n1, n2 = a + b, c + d
    return np.log(a / n1) - np.log(c / n2), 1 / a - 1 / n1 + 1 / c - 1 / n2


def _log_or(a, b, c, d):
    """Log odds ratio ``log(a d / (b c))``; ``vi = 1/a + 1/b + 1/c + 1/d`` (Woolf 1955)."""
    n1, n2 = a + b, c + d
    p1, p2 = a / n1, c / n2
    return np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2)), 1 / a + 1 / b + 1 / c + 1 / d


def _rd(a, b, c, d):
    """Risk difference ``p1 - p2``; ``vi = p1(1-p1)/n1 + p2(1-p2)/n2`` (metafor vtype "LS")."""
    n1, n2 = a + b, c + d
    p1, p2 = a / n1, c / n2
    return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2


def _as(a, b, c, d):
    """Arcsine square-root risk difference (Rücker et al. 2009, Stat Med 28:721-738).

    ``yi = asin(sqrt(p1)) - asin(sqrt(p2))``, ``vi = 1/(4 n1) + 1/(4 n2)``.
    """
    n1, n2 = a + b, c + d
    return np.arcsin(np.sqrt(a / n1)) - np.arcsin(np.sqrt(c / n2)), 1 / (4 * n1) + 1 / (4 * n2)


def _peto(a, b, c, d):
    """Log odds ratio by Peto's one-step method (Yusuf et al. 1985, Prog Cardiovasc Dis 27:335-371).

    With ``N = n1 + n2``, ``E = (a + c) n1 / N`` and hypergeometric variance
    ``V = (a + c)(b + d) n1 n2 / (N^2 (N - 1))``: ``yi = (a - E)/V``, ``vi = 1/V``.
    """
    n1, n2 = a + b, c + d
    n = n1 + n2
    expected = (a + c) * n1 / n
    var = (a + c) * (b + d) * (n1 / n) * (n2 / n) / (n - 1)
    return (a - expected) / var, 1 / var


def _validate(arrays: Arrays, labels: Sequence[str], measure: str) -> None:
    check_counts(arrays, "events1", "n1", labels)
    check_counts(arrays, "events2", "n2", labels)


def _prepare(arrays: Arrays, add: float):
    a, b, c, d = cells(arrays["events1"], arrays["n1"], arrays["events2"], arrays["n2"])
    a, b, c, d, corrected = continuity_correct(a, b, c, d, add)
    return {"a": a, "b": b, "c": c, "d": d}, corrected


FAMILY = Family("two groups of counts", COLUMNS, _validate, _prepare, zero_rule="a zero cell")

MEASURES = {
    "RR": Measure(_log_rr, "log risk ratio", FAMILY, add=0.5, label="Risk ratio",
                  log_scale=True, null=1.0),
    "OR": Measure(_log_or, "log odds ratio", FAMILY, add=0.5, label="Odds ratio",
                  log_scale=True, null=1.0),
    "RD": Measure(_rd, "risk difference", FAMILY, add=0.5, label="Risk difference"),
    "AS": Measure(_as, "arcsine square-root risk difference", FAMILY, add=0.0,
                  label="Arcsine risk difference"),
    "PETO": Measure(_peto, "log odds ratio (Peto's method)", FAMILY, add=0.5,
                    label="Peto odds ratio", log_scale=True, null=1.0),
}
