"""The Emax dose–response model as a non-linear mixed model.

``f(d) = E0 + Emax d^h / (ED50^h + d^h)``: the sigmoid Emax model (Hill's
equation; ``h = 1`` is the hyperbolic Emax model). Contrasts against a
study's reference dose ``d0`` remove ``E0``::

    y_ij = (Emax + u_i) (g(d_ij) - g(d_i0)) + e_ij,   g(d) = d^h / (ED50^h + d^h),
    u_i ~ N(0, tau^2),   e_i ~ N(0, S_i),

with a random effect on Emax, as in model-based meta-analysis of
dose-response (Mawdsley D, Bennetts M, Dias S, Boucher M, Welton NJ.
Model-based network meta-analysis: a framework for evidence synthesis of
clinical trial data. CPT Pharmacometrics Syst Pharmacol 2016;5:393-401;
Thomas N, Sweeney K, Somayaji V. Meta-analysis of clinical dose-response in
a large drug development portfolio. Stat Biopharm Res 2014;6:302-17; the
sigmoid model and the identifiability of its Hill parameter: Macdougall J.
Analysis of dose-response studies -- Emax model. In: Ting N (ed), Dose
Finding in Drug Development. Springer 2006, ch. 9).

The Hill coefficient ``h`` is given (fixed) or estimated (``hill=None``).
Given ED50 (and ``h``) the model is the one-stage random-slope model with the
single column ``g(d) - g(d0)``, so it is fitted by maximum likelihood on the
same engine (:func:`sleepmeta.dose.engine.fit_random_slopes`): the profile
log-likelihood of ``log ED50`` (and ``log h``) is evaluated as one batch
over a grid -- 81 values of ED50 from ``min dose / 100`` to ``100 x max
dose``; with ``h`` estimated, 41 of ED50 by 21 of ``h`` from 0.2 to 10 --
and refined from the grid's best point (Brent's method for ED50 alone,
Nelder-Mead for both). The covariance of ``(Emax, log ED50[, log h])`` is the
inverse of the observed information of the log-likelihood at the estimates
(tau^2 held at its estimate), by central differences.

Identifiability (the issue's rules; each a :class:`ModelError` or a note):

* ED50 needs two distinct non-zero doses, and a profile likelihood that
  peaks inside the grid (still rising at an end: the curve is linear over the
  doses, ED50 -> infinity, or a step at the lowest dose, ED50 -> 0): else a
  ``ModelError``;
* an estimated ``h`` needs three distinct non-zero doses and a peak inside
  its range; otherwise the fit falls back to ``h = 1`` (fixed) and says so
  in the result's notes;
* a flat or non-invertible information matrix at the estimate is a
  ``ModelError``; an optimiser that fails is a ``ConvergenceError``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmeta.dose.engine import fit_random_slopes, pad_blocks
from sleepmeta.errors import ConvergenceError, InputError, ModelError

__all__ = ["EmaxCurve", "fit_emax_curve"]

HILL_RANGE = (0.2, 10.0)


@dataclass(frozen=True)
class EmaxCurve:
    """The Emax curve's shape: Hill coefficient (fixed, or the third coefficient).

    Examples
    --------
    >>> c = EmaxCurve(hill=1.0)
    >>> est, grad = c.predict([100.0], 0.0, np.array([2.0, np.log(100.0)]))
    >>> round(float(est[0]), 12)  # Emax * 100 / (100 + 100)
    1.0
    """

    hill: float = 1.0
    estimated: bool = False
    kind: str = "emax"
    knots: tuple = ()
    nonlinear: tuple = ()
    effect_terms: tuple = (0,)

    @property
    def names(self) -> tuple:
        """``emax``, ``log_ed50`` and, when estimated, ``log_hill``."""
        return ("emax", "log_ed50", "log_hill") if self.estimated else ("emax", "log_ed50")

    def with_hill(self, hill: float) -> "EmaxCurve":
        """The same curve with ``hill`` (used while estimating it)."""
        return EmaxCurve(hill=float(hill), estimated=self.estimated)

    def g(self, dose, ed50, hill=None):
        """``d^h / (ED50^h + d^h)`` (0 at dose 0)."""
        h = self.hill if hill is None else hill
        d = np.asarray(dose, dtype=float)
        with np.errstate(divide="ignore", over="ignore"):
            ratio = np.where(d > 0, (ed50 / np.where(d > 0, d, 1.0)) ** h, np.inf)
        return 1.0 / (1.0 + ratio)

    def predict(self, doses, reference, coef):
        """Effect at ``doses`` against ``reference`` and its gradient in the coefficients."""
        emax, ed50 = coef[0], float(np.exp(coef[1]))
        h = float(np.exp(coef[2])) if self.estimated else self.hill
        ref = np.full(np.shape(doses), reference, dtype=float)
        gd, g0 = self.g(doses, ed50, h), self.g(ref, ed50, h)
        cols = [gd - g0, -emax * h * (gd * (1 - gd) - g0 * (1 - g0))]
        if self.estimated:
            # dg/dlog h = -g (1 - g) h log(ED50 / d)  (0 at d = 0)
            def dlogh(g, d):
                with np.errstate(divide="ignore", invalid="ignore"):
                    return np.where(np.asarray(d) > 0,
                                    -g * (1 - g) * h * np.log(ed50 / np.where(d > 0, d, 1.0)), 0.0)
            cols.append(emax * (dlogh(gd, np.asarray(doses, float)) - dlogh(g0, ref)))
        return emax * (gd - g0), np.column_stack(cols)


def _loglik(curve, studies, theta, tau2):
    emax, ed50 = theta[0], np.exp(theta[1])
    h = np.exp(theta[2]) if curve.estimated else curve.hill
    ll = 0.0
    for s in studies:
        x = curve.g(s.doses, ed50, h) - curve.g(s.reference_dose, ed50, h)
        V = s.S + tau2 * np.outer(x, x)
        r = s.y - emax * x
        ll -= 0.5 * (np.linalg.slogdet(V)[1] + r @ np.linalg.solve(V, r))
    return ll


class _Profile:
    """Profile log-likelihood of (log ED50, log h): batched engine fits of the Emax slope."""

    def __init__(self, curve, studies, method):
        self.curve, self.studies, self.method = curve, studies, method
        self.ys, self.Ss = [s.y for s in studies], [s.S for s in studies]
        self.y, self.S, _, self.mask = pad_blocks(self.ys, self.Ss, [s.doses[:, None]
                                                                      for s in studies])

    def fits(self, points):
        """Fits at ``points`` (rows of log ED50, log h), one batch."""
        X = []
        for t, lh in points:
            xs = [(self.curve.g(s.doses, np.exp(t), np.exp(lh))
                   - self.curve.g(s.reference_dose, np.exp(t), np.exp(lh)))[:, None]
                  for s in self.studies]
            X.append(pad_blocks(self.ys, self.Ss, xs)[2])
        B = len(points)
        return fit_random_slopes(np.broadcast_to(self.y, (B,) + self.y.shape),
                                 np.broadcast_to(self.S, (B,) + self.S.shape), np.stack(X),
                                 np.broadcast_to(self.mask, (B,) + self.mask.shape),
                                 method=self.method)


def _grid_best(profile, ed_grid, h_grid):
    points = np.array([(t, lh) for lh in h_grid for t in ed_grid])
    ll = profile.fits(points).loglik.reshape(len(h_grid), len(ed_grid))
    ih, ie = np.unravel_index(int(np.argmax(ll)), ll.shape)
    return ie, ih


def _ed50_not_identifiable(at_low: bool):
    side = "0 (a step at the lowest dose)" if at_low else "infinity (linear over the doses)"
    return ModelError(f"ED50 is not identifiable from the doses: the likelihood keeps rising as "
                      f"ED50 goes to {side}; use a linear or spline model")


def fit_emax_curve(studies, *, hill: float | None = 1.0, method: str = "ML"):
    """Fit the Emax model to study contrasts (see the module docstring).

    Parameters
    ----------
    studies : list of StudyContrasts
    hill : float or None
        The Hill coefficient, fixed; None estimates it.
    method : {"ML", "FE"}

    Returns
    -------
    curve : EmaxCurve
    coef : ndarray ``(Emax, log ED50[, log h])``
    vcov : ndarray
    psi : ndarray (1, 1)  (tau^2 of Emax)
    loglik, qe : float
    converged : bool
    notes : tuple of str
    """
    if hill is not None and not (np.isfinite(hill) and hill > 0):
        raise InputError(f"hill must be a finite number > 0 (or None to estimate it), got {hill!r}")
    if method == "REML":
        method = "ML"  # the design depends on ED50: the restricted likelihood is not comparable
    notes = []
    doses = np.concatenate([s.doses for s in studies])
    levels = np.unique(doses[doses > 0])
    if len(levels) < 2:
        raise ModelError("ED50 is not identifiable: the Emax model needs at least two distinct "
                         f"non-zero doses, got {levels.tolist()}")
    if hill is None and len(levels) < 3:
        notes.append(f"the Hill coefficient is not identifiable from {len(levels)} distinct "
                     "non-zero doses (it needs 3); fitted with h = 1 fixed")
        hill = 1.0
    curve = EmaxCurve(hill=1.0 if hill is None else float(hill), estimated=hill is None)
    profile = _Profile(curve, studies, method)
    lo, hi = np.log(levels.min() / 100), np.log(levels.max() * 100)
    if curve.estimated:
        ed_grid, h_grid = np.linspace(lo, hi, 41), np.linspace(*np.log(HILL_RANGE), 21)
        ie, ih = _grid_best(profile, ed_grid, h_grid)
        if ih in (0, len(h_grid) - 1):
            side = "infinity (a step)" if ih else "0 (a flat curve)"
            notes.append(f"the Hill coefficient is not identifiable from the doses (the "
                         f"likelihood keeps rising as h goes to {side}); fitted with h = 1 fixed")
            curve = EmaxCurve(hill=1.0)
            profile = _Profile(curve, studies, method)
    if not curve.estimated:
        ed_grid, h_grid = np.linspace(lo, hi, 81), np.log([curve.hill])
        ie, ih = _grid_best(profile, ed_grid, h_grid)
    if ie in (0, len(ed_grid) - 1):
        raise _ed50_not_identifiable(ie == 0)
    bounds = (ed_grid[ie - 1], ed_grid[ie + 1])
    from scipy import optimize  # here: scipy.optimize costs a noticeable import at start-up

    if curve.estimated:
        def neg(par):
            t = float(np.clip(par[0], lo, hi))
            lh = float(np.clip(par[1], *np.log(HILL_RANGE)))
            return -profile.fits([(t, lh)]).loglik[0]

        opt = optimize.minimize(neg, [ed_grid[ie], h_grid[ih]], method="Nelder-Mead",
                                options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 2000})
        point = (float(opt.x[0]), float(opt.x[1]))
    else:
        lh = float(h_grid[0])
        opt = optimize.minimize_scalar(lambda t: -profile.fits([(t, lh)]).loglik[0],
                                       method="bounded", bounds=bounds,
                                       options={"xatol": 1e-10})
        point = (float(opt.x), lh)
    if not opt.success:
        raise ConvergenceError(f"Emax: the profile likelihood was not maximised ({opt.message})")
    fit = profile.fits([point])
    emax, tau2 = float(fit.beta[0, 0]), float(fit.psi[0, 0, 0])
    theta = np.array([emax, point[0]] + ([point[1]] if curve.estimated else []))
    vcov = _inverse_information(curve, studies, theta, tau2)
    if curve.estimated:
        curve = EmaxCurve(hill=float(np.exp(point[1])), estimated=True)
    return (curve, theta, vcov, fit.psi[0], float(fit.loglik[0]), float(fit.qe[0]),
            bool(fit.converged[0]), tuple(notes))


def _inverse_information(curve, studies, theta, tau2):
    k = len(theta)
    step = np.r_[max(abs(theta[0]), 1e-8), np.ones(k - 1)] * 1e-4
    H = np.zeros((k, k))
    f = lambda th: _loglik(curve, studies, th, tau2)  # noqa: E731
    eye = np.eye(k)
    for i in range(k):
        for j in range(k):
            ei, ej = eye[i] * step[i], eye[j] * step[j]
            H[i, j] = (f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej)
                       + f(theta - ei - ej)) / (4 * step[i] * step[j])
    try:
        vcov = np.linalg.inv(-H)
    except np.linalg.LinAlgError:
        vcov = np.full((k, k), np.nan)
    if not np.all(np.isfinite(vcov)) or np.any(np.diag(vcov) <= 0):
        raise ModelError("ED50 is not identifiable from the doses: the log-likelihood is flat in "
                         "(Emax, ED50" + (", h" if k == 3 else "") + ") at the estimate")
    return vcov
