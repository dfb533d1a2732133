"""Dose bases: linear, quadratic and restricted cubic splines.

A dose–response model for contrasts against a reference dose ``d0`` is
``y(d) = (b(d) - b(d0))' beta``: the basis ``b`` is evaluated at each arm's
dose and centred at its study's reference (dosresmeta's ``center = TRUE``),
so no intercept is needed.

Restricted cubic splines use Harrell's parametrisation, as ``rms::rcs`` (and
``Hmisc::rcspline.eval`` with ``norm = 2``) builds it: for knots ``t_1 <
... < t_k`` the columns are ``x`` and, for ``j = 1 .. k-2``,

    ((x - t_j)_+^3 - (x - t_{k-1})_+^3 (t_k - t_j)/(t_k - t_{k-1})
     + (x - t_k)_+^3 (t_{k-1} - t_j)/(t_k - t_{k-1})) / (t_k - t_1)^2

(Harrell FE. Regression Modeling Strategies, 2nd ed. Springer 2015,
section 2.4.5, eq. 2.25). The curve is linear beyond the outer knots.
Knots are given as doses, or as percentiles of all doses (R's default
quantile, type 7, which is NumPy's ``linear``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmeta.errors import InputError, unknown_option

__all__ = ["BASES", "DoseBasis", "make_basis", "rcs_basis"]

BASES = ("linear", "quadratic", "spline")


def rcs_basis(dose, knots) -> np.ndarray:
    """Harrell's restricted cubic spline columns at ``dose`` (as ``rms::rcs``).

    Parameters
    ----------
    dose : array_like
        Doses.
    knots : sequence of float
        At least 3 increasing knots.

    Returns
    -------
    numpy.ndarray
        ``(len(dose), len(knots) - 1)``: ``dose`` itself, then the
        ``k - 2`` non-linear columns.

    Examples
    --------
    Knots 0, 10, 20 and dose 15: the non-linear column is
    ``(15^3 - 5^3 * 20/10) / 20^2 = (3375 - 250) / 400 = 7.8125``:

    >>> rcs_basis([15.0], [0.0, 10.0, 20.0]).tolist()
    [[15.0, 7.8125]]
    """
    x = np.asarray(dose, dtype=float)
    t = np.asarray(knots, dtype=float)
    k = len(t)
    if k < 3 or np.any(np.diff(t) <= 0):
        raise InputError(f"spline knots must be at least 3 increasing doses, got {t.tolist()}")
    plus3 = lambda u: np.clip(u, 0.0, None) ** 3  # noqa: E731
    cols = [x]
    span = (t[-1] - t[0]) ** 2
    for j in range(k - 2):
        cols.append((plus3(x - t[j])
                     - plus3(x - t[-2]) * (t[-1] - t[j]) / (t[-1] - t[-2])
                     + plus3(x - t[-1]) * (t[-2] - t[j]) / (t[-1] - t[-2])) / span)
    return np.column_stack(cols)


@dataclass(frozen=True)
class DoseBasis:
    """A dose basis: its kind, knots and column names.

    Examples
    --------
    >>> DoseBasis("quadratic").evaluate([2.0, 3.0]).tolist()
    [[2.0, 4.0], [3.0, 9.0]]
    """

    kind: str
    knots: tuple = ()

    @property
    def names(self) -> tuple:
        """Coefficient names (``dose``, ``dose^2``, ``dose'``, ``dose''``...)."""
        if self.kind == "linear":
            return ("dose",)
        if self.kind == "quadratic":
            return ("dose", "dose^2")
        return ("dose",) + tuple("dose" + "'" * j for j in range(1, len(self.knots) - 1))

    @property
    def p(self) -> int:
        """Number of columns."""
        return len(self.names)

    @property
    def nonlinear(self) -> tuple:
        """Indices of the columns that make the curve non-linear."""
        return tuple(range(1, self.p))

    @property
    def effect_terms(self) -> tuple:
        """Indices of the coefficients tested by the test of any dose effect (all)."""
        return tuple(range(self.p))

    def predict(self, doses, reference, coef):
        """Effect ``x' coef`` at ``doses`` against ``reference`` and its gradient ``x``."""
        x = self.contrast(doses, reference)
        return x @ coef, x

    def evaluate(self, dose) -> np.ndarray:
        """The basis at ``dose``, shape ``(len(dose), p)``."""
        x = np.atleast_1d(np.asarray(dose, dtype=float))
        if self.kind == "linear":
            return x[:, None]
        if self.kind == "quadratic":
            return np.column_stack([x, x ** 2])
        return rcs_basis(x, self.knots)

    def contrast(self, dose, reference) -> np.ndarray:
        """``b(dose) - b(reference)``, the design of contrasts against ``reference``."""
        ref = np.broadcast_to(np.asarray(reference, dtype=float), np.shape(np.atleast_1d(dose)))
        return self.evaluate(dose) - self.evaluate(ref)


def make_basis(model: str, *, knots=None, percentiles=None, doses=None) -> DoseBasis:
    """Build the basis of ``model`` from explicit knots or percentiles of ``doses``.

    Parameters
    ----------
    model : {"linear", "quadratic", "spline"}
    knots : sequence of float, optional
        Spline knots (doses).
    percentiles : sequence of float, optional
        Spline knots as percentiles (0-100) of ``doses`` (R's type-7
        quantiles); the default for a spline without ``knots`` is
        ``(10, 50, 90)``, the 3-knot choice of Harrell (2015, Table 2.3)
        used in dosresmeta's examples.
    doses : array_like, optional
        All doses of the data (reference arms included).

    Examples
    --------
    >>> make_basis("spline", percentiles=(10, 50, 90), doses=[0, 10, 20, 30, 40]).knots
    (4.0, 20.0, 36.0)
    """
    if model not in BASES:
        raise unknown_option("model", model, BASES)
    if model != "spline":
        if knots is not None or percentiles is not None:
            raise InputError(f"knots are only used by the spline model, not {model!r}")
        return DoseBasis(model)
    if knots is not None and percentiles is not None:
        raise InputError("give spline knots either as doses (knots=) or as percentiles, not both")
    if knots is None:
        pct = np.asarray((10, 50, 90) if percentiles is None else percentiles, dtype=float)
        if np.any((pct < 0) | (pct > 100)):
            raise InputError(f"knot percentiles must be within 0-100, got {pct.tolist()}")
        knots = np.percentile(np.asarray(doses, dtype=float), pct)
    knots = tuple(float(k) for k in knots)
    rcs_basis([0.0], knots)  # validates
    return DoseBasis("spline", knots)
