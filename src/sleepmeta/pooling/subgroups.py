"""Subgroup analysis: pool each group and test for differences between groups.

Two models (Borenstein et al. 2009, ch. 19; Deeks, Higgins & Altman, Cochrane
Handbook 10.11.3):

* separate tau² (default): each group is its own random-effects model (same
  estimator and test); the between-group statistic is the Q statistic of a
  common-effect model of the group estimates with variances ``se²``,
  ``Q_b = sum w_g (mu_g - mu_w)²``, chi² with G - 1 df (RevMan; ``meta``'s
  ``Q.b.random``). The G group fits and the overall fit run as ONE batch.
* common tau² (``tau2_common=True``): one mixed-effects meta-regression on the
  subgroup factor, as metafor's ``rma(yi, vi, mods = ~ factor(g))``; the
  between-group test is its omnibus test QM of the factor (chi² with G - 1
  df, or F with G - 1 and k - G df for Knapp-Hartung). The group estimates
  are the coefficients of the same model without an intercept
  (``mods = ~ 0 + factor(g)``); both parameterisations run as one batch of
  two. Per-group ``q``/``q_pvalue`` are the within-group Q tests (they do not
  depend on tau²) and ``i2``/``h2`` use the common tau² with the group's
  typical within-study variance.

A group with a single study cannot estimate its own tau²: with separate tau²
and a random-effects estimator this is a :class:`ModelError` naming the group
(use ``tau2_common=True`` or ``method="FE"``). A common-effect group of one
study under Knapp-Hartung is tested with z, as metafor's ``k = 1`` rule (said
in the group's ``notes``). The rule is :func:`.feasibility.check_fit`.
"""

from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sleepmeta.errors import InputError, ModelError
from sleepmeta.jsonsafe import clean
from sleepmeta.pooling.design import Design
from sleepmeta.pooling.engine import fit_batch
from sleepmeta.pooling.feasibility import check_fit
from sleepmeta.pooling.heterogeneity import i2_h2_from_tau2
from sleepmeta.pooling.registry import COMMON_EFFECT, TESTS, Control
from sleepmeta.pooling.result import MetaResult, raise_unconverged

__all__ = ["SubgroupResult", "subgroup_analysis"]

TABLE = ("k", "estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q",
         "q_pvalue")


@dataclass(frozen=True)
class SubgroupResult:
    """Per-group fits, the overall fit and the test for subgroup differences.

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis_subgroups
    >>> res = meta_analysis_subgroups([0.1, 0.2, 0.5, 0.6], [0.01] * 4, ["a", "a", "b", "b"],
    ...                               method="FE")
    >>> sorted(res.groups), round(res.q_between, 4)
    (['a', 'b'], 16.0)
    """

    subgroup: str
    groups: dict
    overall: Any  # MetaResult on all studies
    q_between: float
    df_between: int
    p_between: float
    tau2_common: bool
    model: Any = None  # the mixed-effects model (common tau²), else None

    def table(self) -> pd.DataFrame:
        """One row per group: k, estimate, se, CI, PI, tau2, i2, q, q_pvalue."""
        rows = {name: {c: getattr(r, c) for c in TABLE} for name, r in self.groups.items()}
        out = pd.DataFrame.from_dict(rows, orient="index", columns=list(TABLE))
        out.index.name = self.subgroup
        return out

    def to_dict(self) -> dict:
        """JSON-safe dictionary (groups as their ``to_dict()``)."""
        return clean({"subgroup": self.subgroup, "tau2_common": self.tau2_common,
                      "q_between": self.q_between, "df_between": self.df_between,
                      "p_between": self.p_between,
                      "groups": {n: r.to_dict() for n, r in self.groups.items()},
                      "overall": self.overall.to_dict()})

    def summary(self) -> str:
        """Text table of the groups and the test for subgroup differences."""
        t = self.table()
        kind = "common tau²" if self.tau2_common else "separate tau² per group"
        stat = "QM" if self.tau2_common else "Q"
        if self.tau2_common and self.model is not None and TESTS[self.model.test].residual_df:
            stat = f"F(df1 = {self.df_between}, df2 = {self.model.k - self.model.p})"
        else:
            stat = f"{stat}(df = {self.df_between})"
        p = "< .0001" if self.p_between < 1e-4 else f"= {self.p_between:.4f}"
        return "\n".join([f"Subgroup analysis by {self.subgroup!r} ({kind})", "",
                          t.to_string(float_format=lambda x: f"{x:.4f}"), "",
                          f"Test for subgroup differences: {stat} = {self.q_between:.4f}, "
                          f"p-val {p}"])

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _levels(values, labels) -> tuple[np.ndarray, list[str]]:
    s = pd.Series(list(values))
    bad = s.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"study {labels[i]!r}: subgroup value is missing")
    cat = pd.Categorical(s)
    return np.asarray(cat.codes), [str(c) for c in cat.categories]


def subgroup_analysis(yi, vi, labels, values, *, name: str, method: str, test: str,
                      level: float, measure, notes=(), tau2_common: bool = False,
                      control: Control | None = None) -> SubgroupResult:
    """Fit the subgroup models (see the module docstring); inputs are validated arrays.

    The public entry point is :func:`sleepmeta.pooling.meta_analysis_subgroups`.

    Examples
    --------
    >>> import numpy as np
    >>> res = subgroup_analysis(np.array([0.1, 0.2, 0.5]), np.array([0.01] * 3),
    ...                         ["s1", "s2", "s3"], ["a", "a", "b"], name="g", method="FE",
    ...                         test="knha", level=0.95, measure=None)
    >>> res.groups["b"].test, res.groups["b"].notes[0][:31]
    ('z', 'k = 1: test "z" is used instead')
    """
    codes, names = _levels(values, labels)
    G, k = len(names), yi.size
    if G < 2:
        raise ModelError(f"subgroup {name!r}: only one group ({names[0]!r}); need at least two")
    members = [np.flatnonzero(codes == g) for g in range(G)]
    if not tau2_common:
        for g, idx in enumerate(members):
            try:
                check_fit(idx.size, 1, method, test)
            except ModelError as exc:
                one = f" ({labels[idx[0]]!r})" if idx.size == 1 else ""
                raise ModelError(f"subgroup {name!r}: group {names[g]!r} has {idx.size} "
                                 f"stud{'y' if idx.size == 1 else 'ies'}{one}: "
                                 f"{str(exc).split(';')[0]}; use tau2_common=True or "
                                 "method='FE'") from None
    # one batch: G groups (left-aligned, padded) + the overall model
    Y, V, M = np.zeros((G + 1, k)), np.ones((G + 1, k)), np.zeros((G + 1, k), bool)
    for g, idx in enumerate(members):
        Y[g, :idx.size], V[g, :idx.size], M[g, :idx.size] = yi[idx], vi[idx], True
    Y[G], V[G], M[G] = yi, vi, True
    sep_method = COMMON_EFFECT if tau2_common else method
    sep_test = "z" if tau2_common else test
    fit = fit_batch(Y, V, M, np.ones((1, k, 1)), method=sep_method, test=sep_test, level=level,
                    control=control)
    if not tau2_common:
        raise_unconverged(fit, method, labels=[f"subgroup {n}" for n in names] + ["overall"])
    one = Design(np.ones((k, 1)), ("intrcpt",), True)
    groups = {}
    for g, idx in enumerate(members):
        d = Design(np.ones((idx.size, 1)), ("intrcpt",), True)
        groups[names[g]] = MetaResult.from_fit(fit, g, yi[idx], vi[idx], d,
                                               [labels[i] for i in idx], measure, notes)
    if tau2_common:
        ov = fit_batch(yi[None], vi[None], np.ones((1, k), bool), np.ones((1, k, 1)),
                       method=method, test=test, level=level, control=control)
        raise_unconverged(ov, method, labels=["overall"])
        overall = MetaResult.from_fit(ov, 0, yi, vi, one, labels, measure, notes)
        model, groups, qb, pb = _common(yi, vi, labels, codes, names, groups, name=name,
                                        method=method, test=test, level=level, measure=measure,
                                        control=control)
        return SubgroupResult(subgroup=name, groups=groups, overall=overall, q_between=qb,
                              df_between=G - 1, p_between=pb, tau2_common=True, model=model)
    overall = MetaResult.from_fit(fit, G, yi, vi, one, labels, measure, notes)
    est = fit.estimate[:G]
    qb_fit = fit_batch(est[None], (fit.se[:G] ** 2)[None], np.ones((1, G), bool),
                       np.ones((1, G, 1)), method=COMMON_EFFECT)
    return SubgroupResult(subgroup=name, groups=groups, overall=overall,
                          q_between=float(qb_fit.q[0]), df_between=G - 1,
                          p_between=float(qb_fit.q_pvalue[0]), tau2_common=False)


def _common(yi, vi, labels, codes, names, fe_groups, *, name, method, test, level, measure,
            control):
    """Mixed-effects model on the factor: QM (with intercept) and group means (without)."""
    G, k = len(names), yi.size
    try:
        check_fit(k, G, method, test)
    except ModelError as exc:
        raise ModelError(f"subgroup {name!r}: {k} studies for {G} groups with a common-tau² "
                         f"model: {str(exc).split(';')[0]}") from None
    dummies = (codes[:, None] == np.arange(G)[None, :]).astype(float)
    X_int = np.column_stack([np.ones(k), dummies[:, 1:]])
    fit = fit_batch(np.tile(yi, (2, 1)), np.tile(vi, (2, 1)), np.ones((2, k), bool),
                    np.stack([X_int, dummies]), method=method, test=test, level=level,
                    intercept=True, control=control)
    raise_unconverged(fit, method, labels=["common-tau² model", "common-tau² model"])
    terms = ("intrcpt", *(f"{name}[{n}]" for n in names[1:]))
    model = MetaResult.from_fit(fit, 0, yi, vi, Design(X_int, terms, True), labels, measure)
    tau2 = float(fit.tau2[1])
    crit = float(fit.crit[1])
    groups = {}
    for g, gname in enumerate(names):
        base = fe_groups[gname]
        est, se = float(fit.beta[1, g]), float(fit.se_beta[1, g])
        w = 1 / (base.vi + tau2)
        has_df = base.k > 1 and base.vt + tau2 > 0
        i2, h2 = (float(x) for x in i2_h2_from_tau2(tau2, base.vt)) if has_df else (0.0, 1.0)
        coef = np.array([[est, se, fit.stat_beta[1, g], fit.pval_beta[1, g], fit.ci_low_beta[1, g],
                          fit.ci_high_beta[1, g]]])
        groups[gname] = dataclasses.replace(
            base, method=method, test=test, estimate=est, se=se,
            statistic=float(fit.stat_beta[1, g]), pvalue=float(fit.pval_beta[1, g]),
            ci_low=float(fit.ci_low_beta[1, g]), ci_high=float(fit.ci_high_beta[1, g]),
            pi_low=est - crit * np.sqrt(se**2 + tau2), pi_high=est + crit * np.sqrt(se**2 + tau2),
            tau2=tau2, tau2_se=float(fit.tau2_se[1]), i2=float(i2), h2=float(h2),
            df=None if np.isnan(fit.df[1]) else float(fit.df[1]), coef_table=coef,
            vcov=np.array([[se**2]]), weights=100 * w / w.sum(), ll_ml=float("nan"),
            ll_reml=float("nan"),
            notes=base.notes + (f"estimate from the common-tau² model of subgroup {name!r} "
                                f"(tau² = {tau2:.4g}); q is the within-group Q test",))
    return model, groups, float(fit.qm[0]), float(fit.qm_pvalue[0])
