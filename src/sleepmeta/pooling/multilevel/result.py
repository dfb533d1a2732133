"""``MultilevelResult``: one fitted multilevel/multivariate model, plain data."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

COEF_COLUMNS = ("estimate", "se", "statistic", "pvalue", "ci_low", "ci_high")

__all__ = ["COEF_COLUMNS", "Component", "Model", "MultilevelResult"]


@dataclass(frozen=True)
class Component:
    """One ``sigma2`` variance component (a ``~ 1 | f`` term).

    Three clusters of two estimates with equal ``v = 0.01``: the REML
    ``sigma2`` is the variance of the cluster means (0.2, 0.475, 0.35;
    divisor J - 1) less ``v / 2``, 0.018958 - 0.005:

    >>> import pandas as pd
    >>> from sleepmeta.pooling.multilevel import meta_analysis_mv
    >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.35, 0.6, 0.2, 0.5], "vi": [0.01] * 6,
    ...                   "study": [1, 1, 2, 2, 3, 3]})
    >>> c = meta_analysis_mv("yi", "vi", random="~ 1 | study", data=d).sigma2_components[0]
    >>> c.factor, c.nlevels, c.name, round(c.estimate, 6)
    ('study', 3, 'sigma^2.1', 0.013958)
    """

    kind: str
    factor: str
    estimate: float
    nlevels: int
    fixed: bool
    name: str


@dataclass(frozen=True)
class Model:
    """What refits need (profile CIs, robust tests, predictions); not part of the results.

    >>> import pandas as pd
    >>> from sleepmeta.pooling.multilevel import meta_analysis_mv
    >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.35, 0.6], "vi": [0.01] * 4, "s": [1, 1, 2, 2]})
    >>> m = meta_analysis_mv("yi", "vi", random="~ 1 | s", data=d).model
    >>> m.X.tolist(), m.V.diagonal().tolist(), m.labels
    ([[1.0], [1.0], [1.0], [1.0]], [0.01, 0.01, 0.01, 0.01], ('1', '2', '3', '4'))
    """

    blocks: Any
    structures: tuple
    fixed: np.ndarray
    theta: np.ndarray
    X: np.ndarray
    y: np.ndarray
    V: np.ndarray
    labels: tuple
    data: Any
    mods: Any
    random: Any
    struct: str
    spec: Any = None  # formulaic ModelSpec of a mods formula (rows for new data)


@dataclass(frozen=True)
class MultilevelResult:
    """A fitted ``rma.mv``-type model.

    ``coefficients`` is the table of fixed effects; ``sigma2`` the variances
    of the ``~ 1 | f`` terms; ``tau2`` and ``rho`` those of the
    first ``inner | outer`` term (``G`` its covariance matrix), ``gamma2``,
    ``phi`` and ``H`` those of a second one; ``qe``/``qm`` the
    heterogeneity and omnibus tests; ``fit_stats`` logLik, deviance, AIC, BIC
    and AICc for ML and REML, as metafor's ``fitstats``.

    >>> import pandas as pd
    >>> from sleepmeta.pooling.multilevel import meta_analysis_mv
    >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.35, 0.6, 0.2, 0.5], "vi": [0.01] * 6,
    ...                   "study": [1, 1, 2, 2, 3, 3]})
    >>> res = meta_analysis_mv("yi", "vi", random="~ 1 | study", data=d)
    >>> list(res.coefficients.columns)[:3], res.k
    (['estimate', 'se', 'statistic'], 6)
    """

    method: str
    test: str
    level: float
    k: int
    p: int
    struct: str
    coef_table: np.ndarray
    terms: tuple
    vcov: np.ndarray
    btt: tuple
    sigma2_components: tuple
    tau2: tuple
    rho: tuple
    G: np.ndarray | None
    inner: str | None
    inner_levels: tuple
    inner_k: tuple
    outer_nlevels: int
    qe: float
    qe_df: int
    qe_pvalue: float
    qm: float
    qm_df: tuple
    qm_pvalue: float
    df: float | None
    fit_stats: dict
    parms: int
    intercept: bool
    measure: str | None
    notes: tuple
    iterations: int
    model: Model = field(repr=False, compare=False)
    # the second ``inner | outer`` term (metafor's gamma2, phi and H), if any
    gamma2: tuple = ()
    phi: tuple = ()
    H: np.ndarray | None = None
    inner2: str | None = None
    inner2_levels: tuple = ()
    inner2_k: tuple = ()
    outer2_nlevels: int = 0
    struct2: str | None = None

    # ---- numbers ----------------------------------------------------------------------------
    @cached_property
    def coefficients(self) -> pd.DataFrame:
        """Fixed effects: estimate, se, statistic, pvalue, ci_low, ci_high (one row per term)."""
        return pd.DataFrame(self.coef_table, columns=list(COEF_COLUMNS),
                            index=pd.Index(self.terms, name="term", dtype=object))

    @property
    def estimate(self) -> float:
        """The first coefficient (the pooled effect of an intercept-only model)."""
        return float(self.coef_table[0, 0])

    @property
    def se(self) -> float:
        return float(self.coef_table[0, 1])

    @property
    def ci_low(self) -> float:
        return float(self.coef_table[0, 4])

    @property
    def ci_high(self) -> float:
        return float(self.coef_table[0, 5])

    @property
    def pvalue(self) -> float:
        return float(self.coef_table[0, 3])

    @property
    def sigma2(self) -> tuple:
        """Variances of the ``~ 1 | f`` terms, in the order of the formula."""
        return tuple(c.estimate for c in self.sigma2_components)

    @property
    def ll(self) -> float:
        """The maximised (restricted) log-likelihood (metafor's ``logLik``)."""
        return self.fit_stats[self.method]["ll"]

    @property
    def deviance(self) -> float:
        return self.fit_stats[self.method]["dev"]

    @property
    def aic(self) -> float:
        return self.fit_stats[self.method]["AIC"]

    @property
    def bic(self) -> float:
        return self.fit_stats[self.method]["BIC"]

    @property
    def aicc(self) -> float:
        return self.fit_stats[self.method]["AICc"]

    def variance_components(self) -> pd.DataFrame:
        """One row per variance component or correlation: name, estimate, sqrt, levels."""
        rows = [{"name": c.name, "component": "sigma2", "estimate": c.estimate,
                 "sqrt": math.sqrt(c.estimate), "nlevels": c.nlevels, "fixed": c.fixed,
                 "factor": c.factor} for c in self.sigma2_components]
        rows += _inner_rows("tau^2", "rho", self.tau2, self.rho, self.struct, self.inner,
                            self.inner_levels, self.inner_k, self.outer_nlevels)
        if self.inner2 is not None:
            rows += _inner_rows("gamma^2", "phi", self.gamma2, self.phi, self.struct2, self.inner2,
                                self.inner2_levels, self.inner2_k, self.outer2_nlevels)
        return pd.DataFrame(rows)

    # ---- inference ----------------------------------------------------------------------------
    def predict(self, newmods=None, *, tau2_levels=None, gamma2_levels=None,
                level: float | None = None):
        """Predicted values with CI and PI, as metafor's ``predict``; see :func:`.predict.predict`."""
        from sleepmeta.pooling.multilevel.predict import predict

        return predict(self, newmods, tau2_levels=tau2_levels, gamma2_levels=gamma2_levels,
                       level=level)

    def profile_ci(self, level: float | None = None) -> pd.DataFrame:
        """Profile-likelihood CIs of the variance components (metafor's ``confint``)."""
        from sleepmeta.pooling.multilevel.profile import profile_ci

        return profile_ci(self, level=level)

    confint = profile_ci

    def robust(self, cluster, *, small_sample: bool = True):
        """Cluster-robust tests: CR2 + Satterthwaite (``small_sample=True``) or CR1."""
        from sleepmeta.pooling.multilevel.robust import robust

        return robust(self, cluster, small_sample=small_sample)

    # ---- views -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of the results."""
        out: dict[str, Any] = {
            "method": self.method, "test": self.test, "level": self.level, "k": self.k,
            "p": self.p, "struct": self.struct, "measure": self.measure,
            "sigma2": [_plain(x) for x in self.sigma2],
            "sigma2_factors": [c.factor for c in self.sigma2_components],
            "tau2": [_plain(x) for x in self.tau2], "rho": [_plain(x) for x in self.rho],
            "gamma2": [_plain(x) for x in self.gamma2], "phi": [_plain(x) for x in self.phi],
            "qe": _plain(self.qe), "qe_df": self.qe_df, "qe_pvalue": _plain(self.qe_pvalue),
            "qm": _plain(self.qm), "qm_df": [None if d is None else _plain(d) for d in self.qm_df],
            "qm_pvalue": _plain(self.qm_pvalue), "df": _plain(self.df), "parms": self.parms,
            "fit_stats": {m: {k: _plain(v) for k, v in d.items()} for m, d in self.fit_stats.items()},
            "notes": list(self.notes),
        }
        out["coefficients"] = {
            t: {c: _plain(v) for c, v in row.items()} for t, row in self.coefficients.iterrows()}
        return out

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table with the model's method and test."""
        return self.coefficients.assign(method=self.method, test=self.test)

    def summary(self) -> str:
        """A text table in the layout of metafor's ``print.rma.mv``."""
        from sleepmeta.pooling.multilevel.summary import format_summary

        return format_summary(self)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (f"MultilevelResult(method={self.method!r}, k={self.k}, p={self.p}, "
                f"estimate={self.estimate:.6g}, se={self.se:.6g}, sigma2={self.sigma2}, "
                f"tau2={self.tau2}, rho={self.rho})")

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _inner_rows(var, cor, values, cors, struct, label, levels, ks, nlevels):
    """Rows of :meth:`MultilevelResult.variance_components` for one ``inner | outer`` term."""
    rows = []
    many = len(values) > 1
    for i, t in enumerate(values):
        rows.append({"name": f"{var}.{i + 1}" if many else var, "component": var.replace("^", ""),
                     "estimate": t, "sqrt": math.sqrt(t),
                     "nlevels": ks[i] if many else nlevels,
                     "fixed": False, "factor": levels[i] if many else label})
    if struct not in ("ID", "DIAG"):
        for i, r in enumerate(cors):
            rows.append({"name": f"{cor}.{i + 1}" if len(cors) > 1 else cor, "component": cor,
                         "estimate": r, "sqrt": float("nan"), "nlevels": nlevels,
                         "fixed": False, "factor": label})
    return rows


def _plain(x):
    if x is None:
        return None
    if isinstance(x, (np.integer, int)) and not isinstance(x, bool):
        return int(x)
    x = float(x)
    return x if math.isfinite(x) else None
