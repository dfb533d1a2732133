"""``MetaResult``: one fitted meta-analysis (or meta-regression), plain data.

A result is built from a member of an engine fit by :meth:`MetaResult.from_fit`
(the one place a :class:`~sleepmeta.pooling.engine.BatchFit` becomes a
result, with the notes the fit calls for). The diagnostic methods delegate
to their modules, imported when called; those modules never import this one
(a refit is ``type(res).from_fit(...)``), so dependencies point one way:
engine -> result -> diagnostics.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from sleepmeta.effects.intervals import wald_interval
from sleepmeta.effects.measures import is_log_scale
from sleepmeta.errors import ConvergenceError, ModelError
from sleepmeta.jsonsafe import clean
from sleepmeta.pooling.engine import BatchFit
from sleepmeta.pooling.feasibility import k1_note

__all__ = ["COEF_COLUMNS", "FIELDS", "MetaResult", "fit_notes", "raise_unconverged"]

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

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.5], [0.01, 0.02, 0.03], method="FE")
    >>> res.k, round(res.estimate, 4), res.coefficients.index.tolist()
    (3, 0.2273, ['intrcpt'])
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
        return is_log_scale(self.measure)

    @classmethod
    def from_fit(cls, fit: BatchFit, b: int, yi, vi, design, labels, measure, notes=(), *,
                 r2: float | None = None, extras: dict | None = None) -> MetaResult:
        """The result of member ``b`` of an engine fit (``design``: a :class:`.design.Design`).

        ``notes`` come first, then the notes the fit itself calls for
        (:func:`fit_notes`). A one-study member under Knapp-Hartung reports
        ``test="z"``, as metafor.

        Examples
        --------
        >>> import numpy as np
        >>> from sleepmeta.pooling.design import Design
        >>> from sleepmeta.pooling.engine import fit_batch
        >>> fit = fit_batch(np.array([[0.2, 0.4]]), np.array([[0.01, 0.01]]),
        ...                 np.ones((1, 2), bool), np.ones((1, 2, 1)), method="FE")
        >>> d = Design(np.ones((2, 1)), ("intrcpt",), True)
        >>> round(MetaResult.from_fit(fit, 0, [0.2, 0.4], [0.01, 0.01], d, ["a", "b"], None).estimate, 4)
        0.3
        """
        coef = np.array([fit.beta[b], fit.se_beta[b], fit.stat_beta[b], fit.pval_beta[b],
                         fit.ci_low_beta[b], fit.ci_high_beta[b]]).T
        # (``.item`` gives Python numbers: an array's scalars, read one by one, cost more)
        df = fit.df.item(b)
        df = None if math.isnan(df) else df
        qm_df = (fit.qm_df[0], None if fit.qm_df[1] is None or math.isnan(fit.qm_df[1][b])
                 else int(fit.qm_df[1][b]))
        estimate, se, tau2 = coef.item(0, 0), coef.item(0, 1), fit.tau2.item(b)
        half = fit.crit.item(b) * math.sqrt(se**2 + tau2)  # the prediction interval's half-width
        z1 = fit.z_fallback is not None and bool(fit.z_fallback[b])
        yi, vi = np.asarray(yi, float), np.asarray(vi, float)
        w = 1.0 / (vi + tau2)  # the model's weights (vi > 0 and tau² >= 0 were checked)
        if len(w):
            w = 100 * w / np.add.reduce(w)  # in percent, in metafor's order of operations
        return cls(
            method=fit.method, test="z" if z1 else fit.test, level=fit.level, k=int(fit.k[b]),
            p=fit.p, estimate=estimate, se=se, statistic=coef.item(0, 2),
            pvalue=coef.item(0, 3), ci_low=coef.item(0, 4), ci_high=coef.item(0, 5),
            pi_low=estimate - half, pi_high=estimate + half, tau2=tau2,
            tau2_se=fit.tau2_se.item(b), i2=fit.i2.item(b), h2=fit.h2.item(b),
            q=fit.q.item(b), q_df=int(fit.q_df[b]), q_pvalue=fit.q_pvalue.item(b), df=df,
            qm=fit.qm.item(b), qm_df=qm_df, qm_pvalue=fit.qm_pvalue.item(b),
            coef_table=coef, terms=tuple(design.terms), vcov=fit.vb[b], yi=yi, vi=vi,
            X=design.X, labels=tuple(labels),
            weights=w, vt=fit.vt.item(b),
            ll_ml=fit.ll_ml.item(b), ll_reml=fit.ll_reml.item(b),
            iterations=int(fit.iterations[b]), intercept=design.intercept, measure=measure,
            notes=tuple(notes) + tuple(fit_notes(fit, b)), r2=r2,
            extras={} if extras is None else extras,
        )

    def tau2_ci(self) -> pd.DataFrame:
        """Q-profile confidence intervals for tau², tau, I² and H².

        As metafor's ``confint(res)``; rows ``tau2, tau, i2, h2``, columns
        ``estimate, ci_low, ci_high``.
        """
        from sleepmeta.pooling.heterogeneity import i2_h2_from_tau2
        from sleepmeta.pooling.qprofile import tau2_ci_batch
        from sleepmeta.pooling.registry import ESTIMATOR_INFO

        if not ESTIMATOR_INFO[self.method].estimates_tau2:
            raise ModelError(f"tau2_ci: the {ESTIMATOR_INFO[self.method].label} ({self.method}) "
                             "has no tau² to estimate")
        lo, hi, _ = tau2_ci_batch(self.yi[None], self.vi[None], np.ones((1, self.k), bool),
                                  self.X[None], np.array([self.tau2]), self.level)
        lo, hi = float(lo[0]), float(hi[0])
        vt = self.vt
        rows = {
            "tau2": (self.tau2, lo, hi),
            "tau": (self.tau, math.sqrt(lo), math.sqrt(hi)),
            "i2": (self.i2, *(float(i2_h2_from_tau2(t, vt)[0]) for t in (lo, hi))),
            "h2": (self.h2, *(float(i2_h2_from_tau2(t, vt)[1]) for t in (lo, hi))),
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
        out: dict[str, Any] = {name: getattr(self, name) for name in FIELDS}
        out.update(method=self.method, test=self.test, level=self.level, measure=self.measure,
                   tau=self.tau, df=self.df, p=self.p, qm=self.qm, qe=self.q,
                   qe_pvalue=self.q_pvalue, qm_pvalue=self.qm_pvalue, r2=self.r2,
                   notes=list(self.notes))
        if self.is_ratio:
            out.update({f"{n}_exp": math.exp(getattr(self, n))
                        for n in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")})
        out["coefficients"] = {
            term: dict(row.items()) for term, row in self.coefficients.iterrows()
        }
        out["studies"] = [
            {"study": lab, "yi": y, "vi": v, "weight": w}
            for lab, y, v, w in zip(self.labels, self.yi, self.vi, self.weights)
        ]
        return clean(out)

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame with the pooled-result fields."""
        row = {name: getattr(self, name) for name in FIELDS}
        row.update(method=self.method, test=self.test, tau=self.tau)
        return pd.DataFrame([row])

    def study_frame(self) -> pd.DataFrame:
        """Per-study table: yi, vi, CI and weight (%), indexed by study label."""
        ci_low, ci_high = wald_interval(self.yi, np.sqrt(self.vi), self.level)
        return pd.DataFrame(
            {"yi": self.yi, "vi": self.vi, "ci_low": ci_low, "ci_high": ci_high,
             "weight": self.weights},
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


def fit_notes(fit: BatchFit, b: int) -> list[str]:
    """The notes member ``b`` of an engine fit calls for (metafor's k = 1 rule, s² = 0, remedy).

    Examples
    --------
    >>> import numpy as np
    >>> from sleepmeta.pooling.engine import fit_batch
    >>> fit = fit_batch(np.array([[0.3]]), np.array([[0.04]]), np.ones((1, 1), bool),
    ...                 np.ones((1, 1, 1)), method="FE", test="knha")
    >>> fit_notes(fit, 0)[0][:31]
    'k = 1: test "z" is used instead'
    """
    notes = []
    if fit.z_fallback is not None and fit.z_fallback[b]:
        notes.append(k1_note(fit.test))
    elif fit.test == "knha" and fit.s2w[b] == 0:
        notes.append("Knapp-Hartung scale s² = 0 (the model fits the yi exactly): the standard "
                     "errors are 0, as in metafor")
    if fit.fallback[b] and fit.converged[b]:
        notes.append(f"Fisher scoring for {fit.method} oscillated with full steps; it converged "
                     "with halved steps (metafor: control=list(stepadj=0.5, maxiter=1000))")
    return notes


def raise_unconverged(fit: BatchFit, method: str, labels=None) -> None:
    """Raise :class:`ConvergenceError` for the first member of ``fit`` that did not converge.

    ``labels[b]`` names member ``b`` (default ``"analysis b"``).

    Examples
    --------
    >>> import numpy as np
    >>> from sleepmeta.pooling.engine import fit_batch
    >>> fit = fit_batch(np.array([[0.2, 0.4]]), np.array([[0.01, 0.01]]),
    ...                 np.ones((1, 2), bool), np.ones((1, 2, 1)), method="DL")
    >>> raise_unconverged(fit, "DL")  # DL does not iterate: nothing to raise
    """
    if np.count_nonzero(fit.converged) == fit.converged.size:  # (.all() costs more on a few)
        return
    bad = np.flatnonzero(~fit.converged)
    if bad.size:
        b = int(bad[0])
        where = f"analysis {b}" if labels is None else f"analysis {labels[b]!r}"
        from sleepmeta.pooling.registry import ESTIMATOR_INFO

        if not ESTIMATOR_INFO[method].iterative:  # a closed form: only non-finite arithmetic
            raise ConvergenceError(
                f"{where}: the {method} fit gives non-finite values (tau² = {fit.tau2[b]:.6g}, "
                f"estimate = {fit.estimate[b]:.6g}); the yi or vi are too extreme to pool "
                "in floating point — rescale them or check the data")
        raise ConvergenceError(
            f"{where}: the {method} estimator of tau² did not converge after "
            f"{int(fit.iterations[b])} iterations (last tau² = {fit.tau2[b]:.6g}); "
            "try method='DL' or 'PM', or check the data")
