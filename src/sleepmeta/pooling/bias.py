"""Small-study effects: Egger's regression test, Begg's rank test and PET-PEESE.

* :func:`egger_test` — metafor 3.8's ``regtest`` default (``model="rma"``,
  ``predictor="sei"``): the model's own design plus the standard error
  ``sqrt(vi)`` as a moderator, fitted with the model's estimator, test and
  level; the test of the ``sei`` coefficient is the test for funnel-plot
  asymmetry (Egger et al. 1997; Sterne & Egger 2005), and for an
  intercept-only model the intercept is the "limit estimate" (the effect as
  the standard error goes to 0; Rücker et al. 2011).
* :func:`rank_test` — Begg & Mazumdar (1994), as metafor's ``ranktest``:
  Kendall's tau between the standardised deviates
  ``(yi - theta) / sqrt(vi - 1/sum(1/vi))`` (theta the common-effect
  estimate) and ``vi``, with R's ``cor.test`` p-value (exact without ties).
* :func:`pet_peese` — Stanley & Doucouliagos (2014): PET regresses ``yi`` on
  ``sei``, PEESE on ``vi``, both by weighted least squares with weights
  ``1/vi`` and a multiplicative dispersion (the ``lm(yi ~ sei, weights=1/vi)``
  of their paper = the engine's common-effect model with the Knapp-Hartung
  scale, t tests with k - 2 df). Conditional rule (Stanley & Doucouliagos
  2014, sec. 3; Stanley 2008): if PET rejects ``H0: beta0 = 0`` with a
  one-sided test at ``alpha = 0.05`` in the direction of its estimate
  (i.e. two-sided p < 2 alpha), report PEESE's intercept, otherwise PET's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sleepmeta.errors import ModelError
from sleepmeta.pooling.augment import fit_with_column
from sleepmeta.pooling.engine import fit_batch
from sleepmeta.pooling.kendall import kendall_test
from sleepmeta.pooling.registry import COMMON_EFFECT, check_options

__all__ = ["EggerResult", "PetPeeseResult", "RankTestResult", "egger_test", "pet_peese",
           "rank_test"]


@dataclass(frozen=True)
class EggerResult:
    """Regression test for funnel-plot asymmetry (``statistic`` is z or t).

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> eg = meta_analysis([0.9, 0.5, 0.4, 0.2], [0.25, 0.09, 0.04, 0.01], method="FE").egger_test()
    >>> eg.predictor, eg.fit.coefficients.index.tolist()
    ('sei', ['intrcpt', 'sei'])
    """

    statistic: float
    pvalue: float
    df: float | None
    limit_estimate: float | None
    ci_low: float | None
    ci_high: float | None
    predictor: str
    fit: object = field(repr=False)  # MetaResult of the regression model


@dataclass(frozen=True)
class RankTestResult:
    """Begg & Mazumdar's rank correlation test.

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> rt = meta_analysis([0.9, 0.5, 0.4, 0.2], [0.25, 0.09, 0.04, 0.01], method="FE").rank_test()
    >>> rt.tau, rt.exact   # concordant pairs only: tau = 1
    (1.0, True)
    """

    tau: float
    pvalue: float
    exact: bool


@dataclass(frozen=True)
class PetPeeseResult:
    """PET and PEESE fits and the conditionally chosen estimate.

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> pp = meta_analysis([0.9, 0.5, 0.4, 0.2, 0.25], [0.25, 0.09, 0.04, 0.01, 0.0025],
    ...                    method=COMMON_EFFECT).pet_peese()
    >>> pp.estimate == (pp.peese if pp.use_peese else pp.pet).estimate
    True
    """

    pet: object = field(repr=False)  # MetaResult, coefficients intrcpt and sei
    peese: object = field(repr=False)  # MetaResult, coefficients intrcpt and vi
    use_peese: bool
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pvalue: float
    pet_pvalue_one_sided: float
    alpha: float


def _need_k(res, what: str, k_min: int = 3) -> None:
    if res.k < k_min:
        raise ModelError(f"{what}: needs at least {k_min} studies, the model has k = {res.k} "
                         f"({', '.join(map(repr, res.labels))})")


def egger_test(res) -> EggerResult:
    """Egger's regression test (metafor's ``regtest(res)``, ``model="rma"``, predictor ``sei``).

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> yi = [0.9, 0.5, 0.4, 0.2, 0.25]
    >>> vi = [0.25, 0.09, 0.04, 0.01, 0.0025]
    >>> eg = meta_analysis(yi, vi, method="FE").egger_test()
    >>> eg.statistic > 0, eg.df is None
    (True, True)
    """
    _need_k(res, "egger_test")
    fit = fit_with_column(res, np.sqrt(res.vi), "sei", res.method, res.test)
    row = fit.coefficients.loc["sei"]
    limit = res.p == 1 and res.intercept
    return EggerResult(
        statistic=float(row.statistic), pvalue=float(row.pvalue), df=fit.df,
        limit_estimate=fit.estimate if limit else None, ci_low=fit.ci_low if limit else None,
        ci_high=fit.ci_high if limit else None, predictor="sei", fit=fit)


def rank_test(res) -> RankTestResult:
    """Begg & Mazumdar's rank correlation test (metafor's ``ranktest(res)``).

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([0.9, 0.5, 0.4, 0.2], [0.25, 0.09, 0.04, 0.01], method="FE")
    >>> rt = res.rank_test()
    >>> rt.tau, rt.exact      # larger variances go with larger deviates
    (1.0, True)
    """
    _need_k(res, "rank_test")
    fe = fit_batch(res.yi[None], res.vi[None], np.ones((1, res.k), bool), np.ones((1, res.k, 1)),
                   method=COMMON_EFFECT)
    theta, vb = float(fe.estimate[0]), float(fe.se[0]) ** 2
    ystar = (res.yi - theta) / np.sqrt(res.vi - vb)
    tau, p, exact = kendall_test(ystar, res.vi)
    if not np.isfinite(tau):
        raise ModelError("rank_test: Kendall's tau is undefined (all variances or all "
                         "standardised deviates are equal)")
    return RankTestResult(tau=tau, pvalue=p, exact=exact)


def pet_peese(res, *, alpha: float = 0.05, method: str = "FE",
              test: str = "knha") -> PetPeeseResult:
    """PET-PEESE (Stanley & Doucouliagos 2014) with the conditional rule of the module docstring.

    ``method``/``test`` default to unrestricted weighted least squares
    (``"FE"``, ``"knha"``); pass e.g. ``method="REML", test="z"`` for the
    random-effects variant.

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> yi = [0.9, 0.5, 0.4, 0.2, 0.25]
    >>> vi = [0.25, 0.09, 0.04, 0.01, 0.0025]
    >>> pp = meta_analysis(yi, vi, method="FE").pet_peese()
    >>> list(pp.pet.coefficients.index), list(pp.peese.coefficients.index)
    (['intrcpt', 'sei'], ['intrcpt', 'vi'])
    """
    check_options(method, test)
    if not 0 < alpha < 0.5:
        raise ModelError(f"pet_peese: alpha must be in (0, 0.5), got {alpha!r}")
    if not (res.p == 1 and res.intercept):
        raise ModelError("pet_peese: only for models without moderators")
    _need_k(res, "pet_peese")
    pet = fit_with_column(res, np.sqrt(res.vi), "sei", method, test)
    peese = fit_with_column(res, res.vi, "vi", method, test)
    p_one = pet.pvalue / 2  # one-sided, in the direction of the PET estimate
    use_peese = bool(p_one < alpha)
    chosen = peese if use_peese else pet
    return PetPeeseResult(
        pet=pet, peese=peese, use_peese=use_peese, estimate=chosen.estimate, se=chosen.se,
        ci_low=chosen.ci_low, ci_high=chosen.ci_high, pvalue=chosen.pvalue,
        pet_pvalue_one_sided=float(p_one), alpha=alpha)
