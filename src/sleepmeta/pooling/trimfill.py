"""Trim and fill (Duval & Tweedie 2000a, 2000b), as metafor 3.8's ``trimfill.rma.uni``.

1. Side: if not given, the side with the missing studies is the opposite of
   the sign of the slope of ``sqrt(vi)`` in a meta-regression fitted with the
   model's estimator (slope < 0: studies are missing on the right).
2. The estimates are flipped if the side is "right" and sorted; then,
   iterating, the ``k0`` largest are trimmed, the model is refitted on the
   rest (same estimator), the centred values ``yi - beta`` are ranked by
   absolute value (ties in order of appearance) and ``k0`` re-estimated:
   ``L0 = (4 S_r - k(k + 1)) / (2k - 1)`` with ``S_r`` the sum of the
   positive signed ranks, or ``R0 = k - r - 1`` with ``r`` the largest rank
   of a negative centred value; ``k0 = max(0, round(.))`` (R's half-to-even
   rounding), until it does not change (at most 100 iterations).
3. The ``k0`` most extreme studies are mirrored about the last centre,
   ``2 beta - yi``, with their ``vi``, and the model is refitted on the
   augmented data with the estimator of the original fit — and, as
   metafor, its default ``test="z"`` and ``level=0.95``.

The standard error of ``k0`` follows Duval & Tweedie (2000b), as metafor;
for R0 the p-value of ``k0`` is metafor's ``p.k0``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sleepmeta.errors import ConvergenceError, InputError, ModelError, unknown_option
from sleepmeta.pooling.augment import fit_with_column
from sleepmeta.pooling.design import Design
from sleepmeta.pooling.engine import fit_batch
from sleepmeta.pooling.members import fit_members

__all__ = ["TrimFillResult", "trim_and_fill"]

MAXITER = 100
ESTIMATORS = ("L0", "R0")


@dataclass(frozen=True)
class TrimFillResult:
    """Estimated number of missing studies, the filled studies and the adjusted fit.

    ``adjusted.estimate`` is the trim-and-fill estimate (metafor's ``beta``
    of the ``trimfill`` object).

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> tf = meta_analysis([0.1, 0.3, 0.35, 0.5, 0.6], [0.01, 0.02, 0.03, 0.05, 0.06],
    ...                    method="FE").trim_and_fill()
    >>> tf.k0 == len(tf.filled), tf.adjusted.k == 5 + tf.k0
    (True, True)
    """

    k0: int
    se_k0: float
    side: str
    estimator: str
    filled: pd.DataFrame  # yi, vi of the imputed studies, indexed "Filled 1", ...
    adjusted: object = field(repr=False)  # MetaResult on the augmented data (the original fit when k0 = 0)
    p_k0: float | None = None
    iterations: int = 0


def _side(res) -> str:
    fit = fit_with_column(res, np.sqrt(res.vi), "sei", res.method, "z")
    return "right" if fit.coefficients["estimate"].iloc[1] < 0 else "left"


def _centre(res, yi, vi, kt) -> float:
    """Pooled estimate of the first ``kt`` (sorted) studies: one engine call."""
    k = yi.size
    mask = (np.arange(k) < kt)[None]
    m = fit_members(res, yi[None], vi[None], mask, np.ones((1, k, 1)))
    if not m.ok[0]:
        raise ConvergenceError(f"trim_and_fill: the fit on the {kt} remaining studies failed: "
                               f"{m.note[0]}")
    return float(m.beta[0, 0])


def trim_and_fill(res, estimator: str = "L0", side: str | None = None) -> TrimFillResult:
    """Trim-and-fill adjustment for funnel-plot asymmetry (metafor's ``trimfill``).

    Parameters
    ----------
    res : MetaResult
        An intercept-only model.
    estimator : {"L0", "R0"}
        Estimator of the number of missing studies.
    side : {"left", "right"}, optional
        Side of the funnel plot with the missing studies (default: chosen
        from the sign of Egger's slope, as metafor).

    Returns
    -------
    TrimFillResult

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> yi = [0.1, 0.3, 0.35, 0.5, 0.6, 0.8, 1.1]
    >>> vi = [0.01, 0.02, 0.03, 0.05, 0.06, 0.09, 0.12]
    >>> tf = meta_analysis(yi, vi, method="FE").trim_and_fill()
    >>> tf.side, tf.k0 == len(tf.filled), tf.adjusted.k == 7 + tf.k0
    ('left', True, True)
    """
    if estimator not in ESTIMATORS:
        raise unknown_option("estimator", estimator, ESTIMATORS)
    if side is not None and side not in ("left", "right"):
        raise unknown_option("side", side, ("left", "right"))
    if not (res.p == 1 and res.intercept):
        raise ModelError("trim_and_fill: only for models without moderators (as metafor)")
    k = res.k
    if k < 3:
        raise ModelError(f"trim_and_fill: needs at least 3 studies, the model has k = {k}")
    if side is None:
        side = _side(res)
    sign = -1.0 if side == "right" else 1.0
    y0 = sign * res.yi
    ix = np.argsort(y0, kind="stable")
    yi, vi = y0[ix], res.vi[ix]
    k0, k0_prev, it = 0, -1, 0
    se_k0 = np.nan
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > MAXITER:
            raise ConvergenceError(f"trim_and_fill did not converge in {MAXITER} iterations "
                                   f"(last k0 = {k0})")
        if k - k0 < 1:
            raise ModelError(f"trim_and_fill: the estimated k0 = {k0} leaves no study to pool")
        beta = _centre(res, yi, vi, k - k0)
        yc = yi - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(yc), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(yc) * ranks
        if estimator == "R0":
            neg = -signed[signed < 0]
            if neg.size == 0:
                raise ModelError("trim_and_fill: R0 is undefined (no study below the centre)")
            est = (k - neg.max()) - 1
            se_k0 = np.sqrt(2 * max(0, est) + 2)
        else:
            sr = signed[signed > 0].sum()
            est = (4 * sr - k * (k + 1)) / (2 * k - 1)
            var_sr = (k * (k + 1) * (2 * k + 1) + 10 * est**3 + 27 * est**2 + 17 * est
                      - 18 * k * est**2 - 18 * k * est + 6 * k**2 * est) / 24
            se_k0 = 4 * np.sqrt(var_sr) / (2 * k - 1)
        k0 = int(max(0, np.round(est)))
        se_k0 = max(0.0, float(se_k0))
    p_k0 = None
    if estimator == "R0":
        m = np.arange(-1, k0)
        from scipy.special import comb

        p_k0 = float(1 - np.sum(comb(m + 1, m + 1) * 0.5 ** (m + 2)))
    if k0 == 0:
        filled = pd.DataFrame({"yi": [], "vi": []}, index=pd.Index([], name="study"))
        adjusted = res
    else:
        fill_y = sign * (2 * beta - yi[k - k0:])
        fill_v = vi[k - k0:]
        names = [f"Filled {i + 1}" for i in range(k0)]
        filled = pd.DataFrame({"yi": fill_y, "vi": fill_v}, index=pd.Index(names, name="study"))
        adjusted = _refit(res, fill_y, fill_v, names)
    return TrimFillResult(k0=k0, se_k0=se_k0, side=side, estimator=estimator, filled=filled,
                          adjusted=adjusted, p_k0=p_k0, iterations=it)


def _refit(res, fill_y, fill_v, names):
    """The model of ``res`` on the studies plus the filled ones (metafor: test "z", level 0.95)."""
    labels = list(res.labels)
    dup = set(labels) & set(names)
    if dup:
        raise InputError(f"trim_and_fill: study label {sorted(dup)[0]!r} clashes with the "
                         "labels of the filled studies")
    yi, vi = np.concatenate([res.yi, fill_y]), np.concatenate([res.vi, fill_v])
    k = yi.size
    fit = fit_batch(yi[None], vi[None], np.ones((1, k), bool), np.ones((1, k, 1)),
                    method=res.method, test="z", level=0.95, control=res.extras.get("control"))
    if not fit.converged[0]:
        raise ConvergenceError(f"trim_and_fill: the {res.method} estimator of tau² did not "
                               "converge on the augmented data")
    design = Design(np.ones((k, 1)), ("intrcpt",), True)
    return type(res).from_fit(fit, 0, yi, vi, design, labels + names, res.measure)
