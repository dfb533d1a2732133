"""The Emax dose–response model as a non-linear mixed model.

``f(d) = E0 + Emax d^h / (ED50^h + d^h)`` (the sigmoid Emax model; ``h = 1``
is the hyperbolic one). Contrasts against a study's reference dose ``d0``
remove ``E0``::

    y_ij = (Emax + u_i) (g(d_ij) - g(d_i0)) + e_ij,   g(d) = d^h / (ED50^h + d^h),
    u_i ~ N(0, tau^2),   e_i ~ N(0, S_i),

with a random effect on Emax, as in model-based meta-analysis of
dose-response (Mawdsley D, Bennetts M, Dias S, Boucher M, Welton NJ.
Model-based network meta-analysis: a framework for evidence synthesis of
clinical trial data. CPT Pharmacometrics Syst Pharmacol 2016;5:393-401;
Thomas N, Sweeney K, Somayaji V. Meta-analysis of clinical dose-response in
a large drug development portfolio. Stat Biopharm Res 2014;6:302-17). The
Hill coefficient ``h`` is fixed (given).

Given ED50 the model is the one-stage random-slope model with the single
column ``g(d) - g(d0)``, so it is fitted by maximum likelihood on the same
engine (:func:`sleepmeta.dose.engine.fit_random_slopes`): the profile
log-likelihood of ``log ED50`` is evaluated as one batch over a grid of 81
values from ``min dose / 100`` to ``100 x max dose`` and refined by Brent's
method. The covariance of ``(Emax, log ED50)`` is the inverse of the
observed information of the log-likelihood at the estimates (tau^2 held at
its estimate), by central differences.

ED50 is not identifiable when the profile likelihood is still rising at an
end of the grid (the curve is linear over the doses, ED50 -> infinity, or a
step at the lowest dose, ED50 -> 0): that is a :class:`ModelError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmeta.dose.engine import fit_random_slopes, pad_blocks
from sleepmeta.errors import ConvergenceError, InputError, ModelError

__all__ = ["EmaxCurve", "fit_emax_curve"]


@dataclass(frozen=True)
class EmaxCurve:
    """The Emax curve's shape: Hill coefficient (fixed) and coefficient names.

    Examples
    --------
    >>> c = EmaxCurve(hill=1.0)
    >>> est, grad = c.predict([100.0], 0.0, np.array([2.0, np.log(100.0)]))
    >>> round(float(est[0]), 12)  # Emax * 100 / (100 + 100)
    1.0
    """

    hill: float = 1.0
    kind: str = "emax"
    knots: tuple = ()
    names: tuple = ("emax", "log_ed50")
    nonlinear: tuple = ()
    effect_terms: tuple = (0,)

    def g(self, dose, ed50):
        """``d^h / (ED50^h + d^h)`` (0 at dose 0)."""
        d = np.asarray(dose, dtype=float)
        with np.errstate(divide="ignore"):
            ratio = np.where(d > 0, (ed50 / np.where(d > 0, d, 1.0)) ** self.hill, np.inf)
        return 1.0 / (1.0 + ratio)

    def predict(self, doses, reference, coef):
        """Effect at ``doses`` against ``reference`` and its gradient in (Emax, log ED50)."""
        emax, ed50 = coef[0], float(np.exp(coef[1]))
        gd, g0 = self.g(doses, ed50), self.g(np.full(np.shape(doses), reference), ed50)
        dg = -self.hill * (gd * (1 - gd) - g0 * (1 - g0))
        return emax * (gd - g0), np.column_stack([gd - g0, emax * dg])


def _loglik(curve, studies, emax, log_ed50, tau2):
    ll = 0.0
    for s in studies:
        x = curve.g(s.doses, np.exp(log_ed50)) - curve.g(s.reference_dose, np.exp(log_ed50))
        V = s.S + tau2 * np.outer(x, x)
        r = s.y - emax * x
        ll -= 0.5 * (np.linalg.slogdet(V)[1] + r @ np.linalg.solve(V, r))
    return ll


def fit_emax_curve(studies, *, hill: float = 1.0, method: str = "ML"):
    """Fit the Emax model to study contrasts (see the module docstring).

    Returns
    -------
    curve : EmaxCurve
    coef : ndarray ``(Emax, log ED50)``
    vcov : ndarray (2, 2)
    psi : ndarray (1, 1)  (tau^2 of Emax)
    loglik, qe : float
    converged : bool
    """
    if not (np.isfinite(hill) and hill > 0):
        raise InputError(f"hill must be a finite number > 0, got {hill!r}")
    if method == "REML":
        method = "ML"  # the design depends on ED50: the restricted likelihood is not comparable
    curve = EmaxCurve(hill=float(hill))
    doses = np.concatenate([s.doses for s in studies])
    pos = doses[doses > 0]
    if len(np.unique(pos)) < 2:
        raise ModelError("ED50 is not identifiable: the Emax model needs at least two distinct "
                         f"non-zero doses, got {np.unique(pos).tolist()}")
    lo, hi = np.log(pos.min() / 100), np.log(pos.max() * 100)
    grid = np.linspace(lo, hi, 81)

    def designs(log_ed50s):
        return [[(curve.g(s.doses, np.exp(t)) - curve.g(s.reference_dose, np.exp(t)))[:, None]
                 for s in studies] for t in log_ed50s]

    ys, Ss = [s.y for s in studies], [s.S for s in studies]
    y, S, _, mask = pad_blocks(ys, Ss, designs(grid[:1])[0])
    X = np.stack([pad_blocks(ys, Ss, xs)[2] for xs in designs(grid)])
    B = len(grid)
    fits = fit_random_slopes(np.broadcast_to(y, (B,) + y.shape), np.broadcast_to(S, (B,) + S.shape),
                             X, np.broadcast_to(mask, (B,) + mask.shape), method=method)
    best = int(np.argmax(fits.loglik))
    if best in (0, B - 1):
        side = "0 (a step at the lowest dose)" if best == 0 else "infinity (linear over the doses)"
        raise ModelError(f"ED50 is not identifiable from the doses: the likelihood keeps rising as "
                         f"ED50 goes to {side}; use a linear or spline model")

    def one(t):
        xs = designs([t])[0]
        Xt = pad_blocks(ys, Ss, xs)[2]
        return fit_random_slopes(y[None], S[None], Xt[None], mask[None], method=method)

    from scipy import optimize  # here: scipy.optimize costs a noticeable import at start-up

    opt = optimize.minimize_scalar(lambda t: -one(t).loglik[0], method="bounded",
                                   bounds=(grid[best - 1], grid[best + 1]),
                                   options={"xatol": 1e-10})
    if not opt.success:
        raise ConvergenceError(f"Emax: the profile likelihood of log ED50 was not maximised "
                               f"({opt.message})")
    t = float(opt.x)
    fit = one(t)
    emax, tau2 = float(fit.beta[0, 0]), float(fit.psi[0, 0, 0])
    theta = np.array([emax, t])
    step = np.array([max(abs(emax), 1e-8), 1.0]) * 1e-4
    H = np.zeros((2, 2))
    f = lambda th: _loglik(curve, studies, th[0], th[1], tau2)  # noqa: E731
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * step[i], np.eye(2)[j] * step[j]
            H[i, j] = (f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej)
                       + f(theta - ei - ej)) / (4 * step[i] * step[j])
    try:
        vcov = np.linalg.inv(-H)
    except np.linalg.LinAlgError:
        vcov = np.full((2, 2), np.nan)
    if not np.all(np.isfinite(vcov)) or np.any(np.diag(vcov) <= 0):
        raise ModelError("ED50 is not identifiable from the doses: the log-likelihood is flat in "
                         "(Emax, ED50) at the estimate")
    return (curve, theta, vcov, fit.psi[0], float(fit.loglik[0]), float(fit.qe[0]),
            bool(fit.converged[0]))
