"""``MetaResult``: one fitted meta-analysis (or meta-regression), plain data."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from sleepmeta.errors import ModelError

RATIO_MEASURES = {"RR", "OR", "ROM", "PETO", "PLN", "PLO", "IRR"}
COEF_COLUMNS = ("estimate", "se", "statistic", "pvalue", "ci_low", "ci_high")
FIELDS = ("estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "pi_low", "pi_high",
          "tau2", "tau2_se", "i2", "h2", "q", "q_df", "q_pvalue", "k")


@dataclass(frozen=True)
class MetaResult:
    """A fitted random- or common-effects model, as plain floats and arrays.

    ``estimate`` ... ``ci_high`` refer to the first coefficient (the pooled
    effect of an intercept-only model); a meta-regression has them all in
    ``coefficients``. Ratio measures are on the log scale, as metafor
    reports them; ``summary()`` adds the back-transformed values.
    """

    method: str
    test: str
    level: float
    k: int
    p: int
    estimate: float
    se: float
    statistic: float
    pvalue: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    tau2_se: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_pvalue: float
    df: float | None
    qm: float
    qm_df: tuple
    qm_pvalue: float
    coef_table: np.ndarray  # (p, 6): the columns of COEF_COLUMNS, one row per term
    terms: tuple
    vcov: np.ndarray
    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray
    labels: tuple
    weights: np.ndarray
    vt: float
    ll_ml: float
    ll_reml: float
    iterations: int
    intercept: bool = True
    measure: str | None = None
    notes: tuple = ()
    r2: float | None = None
    extras: dict = field(default_factory=dict)

    @cached_property
    def coefficients(self) -> pd.DataFrame:
        """Coefficient table indexed by term: estimate, se, statistic, pvalue, ci_low, ci_high."""
        return pd.DataFrame(self.coef_table, columns=list(COEF_COLUMNS),
                            index=pd.Index(self.terms, name="term", dtype=object))

    @property
    def tau(self) -> float:
        """The between-study standard deviation ``sqrt(tau²)``."""
        return math.sqrt(self.tau2)

    @property
    def qe(self) -> float:
        """Residual heterogeneity statistic QE (metafor's name; the same as ``q``)."""
        return self.q

    @property
    def qe_pvalue(self) -> float:
        """p-value of QE (the same as ``q_pvalue``)."""
        return self.q_pvalue

    @property
    def is_ratio(self) -> bool:
        """Whether the measure is a log ratio (shown back-transformed)."""
        return self.measure in RATIO_MEASURES

    def tau2_ci(self) -> pd.DataFrame:
        """Q-profile confidence intervals for tau², tau, I² and H².

        As metafor's ``confint(res)``; rows ``tau2, tau, i2, h2``, columns
        ``estimate, ci_low, ci_high``.
        """
        from sleepmeta.pooling.qprofile import tau2_ci_batch

        if self.method == "FE":
            raise ModelError("tau2_ci: the common-effect (FE) model has no tau² to estimate")
        lo, hi, _ = tau2_ci_batch(self.yi[None], self.vi[None], np.ones((1, self.k), bool),
                                  self.X[None], np.array([self.tau2]), self.level)
        lo, hi = float(lo[0]), float(hi[0])
        vt = self.vt
        rows = {
            "tau2": (self.tau2, lo, hi),
            "tau": (self.tau, math.sqrt(lo), math.sqrt(hi)),
            "i2": (self.i2, 100 * lo / (vt + lo), 100 * hi / (vt + hi)),
            "h2": (self.h2, lo / vt + 1, hi / vt + 1),
        }
        return pd.DataFrame.from_dict(rows, orient="index", columns=["estimate", "ci_low", "ci_high"])

    # ---- meta-regression and diagnostics (each delegates to its module) ----------------------
    def predict(self, newdata=None, *, intercept: bool = True, level: float | None = None):
        """Predicted effects with CI and PI (metafor's ``predict``); :func:`.regression.predict`."""
        from sleepmeta.pooling.regression import predict

        return predict(self, newdata, intercept=intercept, level=level)

    def permutation_test(self, n: int = 1000, seed=None, exact: bool = False):
        """Permutation p-values (metafor's ``permutest``); :func:`.permutation.permutation_test`."""
        from sleepmeta.pooling.permutation import permutation_test

        return permutation_test(self, n=n, seed=seed, exact=exact)

    def leave_one_out(self) -> pd.DataFrame:
        """Leave-one-out fits (metafor's ``leave1out``); see :func:`.sensitivity.leave_one_out`."""
        from sleepmeta.pooling.sensitivity import leave_one_out

        return leave_one_out(self)

    def cumulative(self, order=None, *, decreasing: bool = False) -> pd.DataFrame:
        """Cumulative meta-analysis (metafor's ``cumul``); see :func:`.sensitivity.cumulative`."""
        from sleepmeta.pooling.sensitivity import cumulative

        return cumulative(self, order, decreasing=decreasing)

    def influence(self) -> pd.DataFrame:
        """Case-deletion diagnostics (metafor's ``influence``); see :func:`.influence.influence`."""
        from sleepmeta.pooling.influence import influence

        return influence(self)

    def egger_test(self):
        """Egger's regression test (metafor's ``regtest``); see :func:`.bias.egger_test`."""
        from sleepmeta.pooling.bias import egger_test

        return egger_test(self)

    regtest = egger_test

    def rank_test(self):
        """Begg & Mazumdar's rank test (metafor's ``ranktest``); see :func:`.bias.rank_test`."""
        from sleepmeta.pooling.bias import rank_test

        return rank_test(self)

    def trim_and_fill(self, estimator: str = "L0", side: str | None = None):
        """Trim and fill (metafor's ``trimfill``); see :func:`.trimfill.trim_and_fill`."""
        from sleepmeta.pooling.trimfill import trim_and_fill

        return trim_and_fill(self, estimator=estimator, side=side)

    def pet_peese(self, *, alpha: float = 0.05, method: str = "FE", test: str = "knha"):
        """PET-PEESE (Stanley & Doucouliagos 2014); see :func:`.bias.pet_peese`."""
        from sleepmeta.pooling.bias import pet_peese

        return pet_peese(self, alpha=alpha, method=method, test=test)

    # ---- views -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of the results (non-finite numbers become ``None``)."""
        out: dict[str, Any] = {name: _plain(getattr(self, name)) for name in FIELDS}
        out.update(method=self.method, test=self.test, level=self.level, measure=self.measure,
                   tau=_plain(self.tau), df=_plain(self.df), p=self.p, qm=_plain(self.qm),
                   qe=_plain(self.q), qe_pvalue=_plain(self.q_pvalue),
                   qm_pvalue=_plain(self.qm_pvalue), r2=_plain(self.r2), notes=list(self.notes))
        if self.is_ratio:
            out.update({f"{n}_exp": _plain(math.exp(getattr(self, n)))
                        for n in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")})
        out["coefficients"] = {
            term: {c: _plain(v) for c, v in row.items()} for term, row in self.coefficients.iterrows()
        }
        out["studies"] = [
            {"study": lab, "yi": _plain(y), "vi": _plain(v), "weight": _plain(w)}
            for lab, y, v, w in zip(self.labels, self.yi, self.vi, self.weights)
        ]
        return out

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame with the pooled-result fields."""
        row = {name: getattr(self, name) for name in FIELDS}
        row.update(method=self.method, test=self.test, tau=self.tau)
        return pd.DataFrame([row])

    def study_frame(self) -> pd.DataFrame:
        """Per-study table: yi, vi, CI and weight (%), indexed by study label."""
        from scipy import special

        crit = -special.ndtri((1 - self.level) / 2)
        se = np.sqrt(self.vi)
        return pd.DataFrame(
            {"yi": self.yi, "vi": self.vi, "ci_low": self.yi - crit * se,
             "ci_high": self.yi + crit * se, "weight": self.weights},
            index=pd.Index(self.labels, name="study"))

    def summary(self) -> str:
        """A text table a person reads, in the layout of metafor's print."""
        from sleepmeta.pooling._summary import format_summary

        return format_summary(self)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n):.6g}" for n in
                           ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q"))
        return f"MetaResult(method={self.method!r}, test={self.test!r}, k={self.k}, p={self.p}, {fields})"

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _plain(x):
    if x is None:
        return None
    if isinstance(x, (np.integer, int)) and not isinstance(x, bool):
        return int(x)
    x = float(x)
    return x if math.isfinite(x) else None
