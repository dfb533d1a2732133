"""`DoseResponseResult`: the pooled dose–response curve and its tests."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sleepmeta import distributions as stats
from sleepmeta.dose.bases import DoseBasis
from sleepmeta.errors import InputError

__all__ = ["DoseResponseResult", "WaldTest", "RATIO_MEASURES"]

RATIO_MEASURES = ("RR", "OR")


@dataclass(frozen=True)
class WaldTest:
    """A Wald chi-square test of some coefficients being 0."""

    statistic: float
    df: int
    pvalue: float

    def to_dict(self) -> dict:
        """JSON-safe dictionary."""
        return {"statistic": self.statistic, "df": self.df, "pvalue": self.pvalue}


def wald(beta: np.ndarray, vcov: np.ndarray, which) -> WaldTest | None:
    """Wald test that ``beta[which]`` are all 0 (None when ``which`` is empty)."""
    idx = list(which)
    if not idx:
        return None
    b = beta[idx]
    stat = float(b @ np.linalg.solve(vcov[np.ix_(idx, idx)], b))
    return WaldTest(stat, len(idx), float(stats.chi2.sf(stat, len(idx))))


@dataclass(frozen=True, eq=False)
class DoseResponseResult:
    """A pooled dose–response curve (one- or two-stage; or Emax).

    Attributes
    ----------
    measure : str
        ``RR``, ``OR`` (coefficients on the log scale), ``MD`` or ``SMD``.
    model, proc, method : str
        ``linear``/``quadratic``/``spline``/``emax``; ``1stage``/``2stage``;
        ``REML``/``ML``/``FE``.
    names, coef, se, vcov
        Coefficients of the dose basis (Emax: ``emax``, ``log_ed50`` and, when
        the Hill coefficient is estimated, ``log_hill``).
    psi : numpy.ndarray
        Between-study covariance of the random slopes (zeros for FE).
    nonlinearity : WaldTest or None
        Wald test that the non-linear coefficients are 0 (spline, quadratic).
    overall : WaldTest
        Wald test of any dose effect (all coefficients 0).
    qe, qe_df, qe_pvalue, i2
        Heterogeneity: the generalised Q of the fixed-effect fit and
        ``I^2 = max(0, (Q - df) / Q)`` (in percent).
    k, n_contrasts : int
        Studies and non-reference arms.
    arms : DataFrame
        One row per non-reference arm: ``study``, ``dose``, ``reference``,
        ``y``, ``se`` (for the plot and the report).
    """

    measure: str
    model: str
    proc: str
    method: str
    basis: DoseBasis  # or EmaxCurve (same predict/names interface)
    names: tuple
    coef: np.ndarray
    vcov: np.ndarray
    psi: np.ndarray
    loglik: float
    qe: float
    qe_df: int
    k: int
    n_contrasts: int
    arms: pd.DataFrame
    level: float = 0.95
    converged: bool = True
    notes: tuple = ()

    # --- derived numbers -------------------------------------------------
    @property
    def se(self) -> np.ndarray:
        """Standard errors of the coefficients."""
        return np.sqrt(np.diag(self.vcov))

    @property
    def _z(self) -> float:
        return float(stats.norm.ppf(0.5 + self.level / 2))

    @property
    def qe_pvalue(self) -> float:
        """p-value of the heterogeneity Q test."""
        return float(stats.chi2.sf(self.qe, self.qe_df)) if self.qe_df > 0 else math.nan

    @property
    def i2(self) -> float:
        """I^2 (%) from the Q test."""
        return max(0.0, (self.qe - self.qe_df) / self.qe) * 100 if self.qe > 0 else 0.0

    @property
    def nonlinearity(self) -> WaldTest | None:
        """Wald test of the non-linear terms (None for a linear model)."""
        return wald(self.coef, self.vcov, self.basis.nonlinear)

    @property
    def overall(self) -> WaldTest:
        """Wald test of any dose effect (all basis coefficients 0)."""
        return wald(self.coef, self.vcov, self.basis.effect_terms)

    @property
    def ratio(self) -> bool:
        """Whether predictions are ratios (RR, OR)."""
        return self.measure in RATIO_MEASURES

    # --- predictions -----------------------------------------------------
    def _design(self, doses, reference):
        return self.basis.predict(doses, reference, self.coef)

    def predict(self, doses, reference: float = 0.0) -> pd.DataFrame:
        """The pooled relative effect at ``doses`` against ``reference``, with its CI.

        For ratio measures ``estimate``, ``ci_low`` and ``ci_high`` are on
        the ratio scale (``log_estimate`` and ``se`` on the log scale); for
        MD/SMD they are differences. The CI is ``estimate +- z se`` with
        ``se^2 = x' Var(beta) x``, ``x = b(dose) - b(reference)``.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> df = pd.DataFrame({"id": ["A"] * 3 + ["B"] * 3, "dose": [0, 1, 2] * 2,
        ...                    "events": [10, 20, 30, 12, 20, 35], "n": [100] * 6})
        >>> from sleepmeta.dose import dose_response
        >>> res = dose_response(df, study="id", dose="dose", events="events", n="n")
        >>> p = res.predict([2], reference=1)
        >>> bool(np.isclose(p["log_estimate"][0], res.coef[0]))
        True
        """
        doses = np.atleast_1d(np.asarray(doses, dtype=float))
        if not np.isfinite(doses).all() or not np.isfinite(reference):
            raise InputError(f"doses and reference must be finite, got {doses.tolist()}, {reference!r}")
        est, grad = self._design(doses, reference)
        var = np.einsum("ip,pq,iq->i", grad, self.vcov, grad)
        se = np.sqrt(np.clip(var, 0.0, None))
        lo, hi = est - self._z * se, est + self._z * se
        out = pd.DataFrame({"dose": doses, "reference": float(reference)})
        if self.ratio:
            out["log_estimate"], out["se"] = est, se
            out["estimate"], out["ci_low"], out["ci_high"] = np.exp(est), np.exp(lo), np.exp(hi)
        else:
            out["estimate"], out["se"], out["ci_low"], out["ci_high"] = est, se, lo, hi
        return out

    # --- output ----------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """Coefficients with SE, z, p and CI, one row each."""
        se = self.se
        z = self.coef / se
        return pd.DataFrame({"estimate": self.coef, "se": se, "z": z,
                             "pvalue": 2 * stats.norm.sf(np.abs(z)),
                             "ci_low": self.coef - self._z * se,
                             "ci_high": self.coef + self._z * se}, index=list(self.names))

    def to_dict(self) -> dict:
        """JSON-safe dictionary of every number."""
        nl = self.nonlinearity
        return {
            "measure": self.measure, "model": self.model, "proc": self.proc,
            "method": self.method, "level": self.level,
            "knots": list(self.basis.knots),
            **({"hill": self.basis.hill, "hill_estimated": self.basis.estimated,
                "ed50": float(np.exp(self.coef[1]))}
               if self.model == "emax" else {}),
            "coefficients": self.to_frame().reset_index(names="name").to_dict("records"),
            "vcov": self.vcov.tolist(), "psi": self.psi.tolist(),
            "loglik": self.loglik, "k": self.k, "n_contrasts": self.n_contrasts,
            "heterogeneity": {"q": self.qe, "df": self.qe_df, "pvalue": self.qe_pvalue,
                              "i2": self.i2},
            "nonlinearity": nl.to_dict() if nl else None,
            "overall": self.overall.to_dict(),
            "converged": self.converged, "notes": list(self.notes),
        }

    def summary(self) -> str:
        """A printed summary in dosresmeta's layout."""
        kind = {"1stage": "One-stage", "2stage": "Two-stage"}.get(self.proc, self.proc)
        eff = "fixed-effect" if self.method == "FE" else "random-effects"
        lines = [f"{kind} {eff} dose-response meta-analysis ({self.model}, {self.measure})",
                 f"Estimation method: {self.method}"]
        if self.basis.knots:
            lines.append("Knots: " + ", ".join(f"{k:g}" for k in self.basis.knots))
        if self.model == "emax":
            how = "estimated" if self.basis.estimated else "fixed"
            lines.append(f"Emax model, Hill coefficient {self.basis.hill:.4g} ({how}); "
                         f"ED50 = {np.exp(self.coef[1]):.4g}")
        ov = self.overall
        lines.append(f"Test of any dose effect: X2 = {ov.statistic:.4f} (df = {ov.df}), "
                     f"p = {ov.pvalue:.4g}")
        nl = self.nonlinearity
        if nl is not None:
            lines.append(f"Test for non-linearity: X2 = {nl.statistic:.4f} (df = {nl.df}), "
                         f"p = {nl.pvalue:.4g}")
        lines.append("")
        lines.append(self.to_frame().to_string(float_format=lambda v: f"{v:.4g}"))
        if self.method != "FE":
            sd = np.sqrt(np.clip(np.diag(self.psi), 0, None))
            lines.append("")
            lines.append("Between-study SD of the slopes: "
                         + ", ".join(f"{n} {s:.4g}" for n, s in zip(self.names, sd)))
        lines.append(f"Q = {self.qe:.4f} (df = {self.qe_df}), p = {self.qe_pvalue:.4g}; "
                     f"I^2 = {self.i2:.1f}%")
        lines.append(f"{self.k} studies, {self.n_contrasts} non-reference arms; "
                     f"logLik = {self.loglik:.4f}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<DoseResponseResult {self.model} {self.measure} k={self.k}>"

    def _repr_html_(self) -> str:
        import html

        return "<pre>" + html.escape(self.summary()) + "</pre>"

    def plot(self, **kwargs):
        """The curve with its CI band and the study points; see :func:`dose_curve_plot`."""
        from sleepmeta.plots.dose_curve import dose_curve_plot

        return dose_curve_plot(self, **kwargs)
