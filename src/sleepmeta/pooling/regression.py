"""Meta-regression extras: the pseudo-R² and predictions with CI and PI.

* :func:`pseudo_r2` — metafor 3.8's ``R2`` of ``rma.uni`` (default
  ``r2def = "1"``; Raudenbush 1994): for a model with moderators *and* an
  intercept, ``100 max(0, (tau²_RE - tau²_ME) / tau²_RE)`` with tau²_RE from
  the intercept-only model fitted with the same estimator and test (R² = 0
  when tau²_RE = 0). For the common-effect model it is the adjusted R² of
  the weighted least-squares fit with weights ``1/vi`` (as ``lm``):
  ``1 - (QE / Q0) (k - 1) / (k - p)`` with QE, Q0 the weighted residual sums of
  squares of the model and of the intercept-only model, truncated at 0
  (R² = 0 when all yi are equal). No R² (``None``) for intercept-only models
  or models without an intercept.
* :func:`predict` — metafor's ``predict.rma``: ``pred = x b``,
  ``se = sqrt(x V x')``, CI ``pred ± crit se`` and PI
  ``pred ± crit sqrt(se² + tau²)``, crit the normal quantile (z tests) or
  the t quantile with k - p df (Knapp-Hartung). metafor omits the PI of a
  common-effect model; here it is reported and equals the CI (tau² = 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sleepmeta.errors import ColumnError, InputError, ModelError
from sleepmeta.pooling.engine import BatchFit, fit_batch
from sleepmeta.pooling.registry import COMMON_EFFECT, ESTIMATOR_INFO, TESTS


def pseudo_r2(fit: BatchFit, yi: np.ndarray, vi: np.ndarray,
              intercept: bool) -> tuple[float | None, str | None]:
    """R² of member 0 of ``fit`` (see module docstring); returns ``(r2, note)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sleepmeta.pooling.engine import fit_batch
    >>> yi, vi = np.array([0.1, 0.3, 0.5, 0.6]), np.full(4, 0.01)
    >>> X = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 3.0]])
    >>> fit = fit_batch(yi[None], vi[None], np.ones((1, 4), bool), X[None], method="FE")
    >>> r2, note = pseudo_r2(fit, yi, vi, True)
    >>> bool(0 <= r2 <= 100), note
    (True, None)
    """
    k, p = int(fit.k[0]), fit.p
    if p == 1 or not intercept:
        return None, None
    if not ESTIMATOR_INFO[fit.method].estimates_tau2:
        if np.var(yi) == 0:
            return 0.0, None
        f0 = fit_batch(yi[None], vi[None], np.ones((1, k), bool), np.ones((1, k, 1)),
                       method=COMMON_EFFECT)
        r2 = 1 - (fit.q[0] / f0.q[0]) * (k - 1) / (k - p)
        return float(max(0.0, 100 * r2)), None
    f0 = fit_batch(yi[None], vi[None], np.ones((1, k), bool), np.ones((1, k, 1)),
                   method=fit.method, test=fit.test, level=fit.level)
    if not f0.converged[0]:
        return None, ("R² not computed: the intercept-only model's tau² estimator "
                      f"({fit.method}) did not converge")
    tau2_re = float(f0.tau2[0])
    if tau2_re == 0:
        return 0.0, None
    return float(max(0.0, 100 * (tau2_re - fit.tau2[0]) / tau2_re)), None


def _rows_from_frame(res, newdata: pd.DataFrame) -> np.ndarray:
    spec = res.extras.get("model_spec")
    if spec is None:
        raise InputError("predict: newdata as a DataFrame needs a model fitted with a formula "
                         "(mods='~ ...'); pass an array of moderator values instead")
    needed = set(spec.required_variables)
    missing = sorted(v for v in needed if v not in newdata.columns)
    if missing:
        raise ColumnError(f"predict: term {missing[0]!r} of the model is not a column of newdata; "
                          f"columns: {', '.join(map(str, newdata.columns))}")
    for col in sorted(needed):
        bad = newdata[col].isna().to_numpy()
        if bad.any():
            raise InputError(f"predict: row {newdata.index[int(np.flatnonzero(bad)[0])]!r}: "
                             f"moderator {col!r} is missing")
    try:
        mm = spec.get_model_matrix(newdata, na_action="raise")
    except Exception as exc:  # formulaic raises its own types (e.g. an unseen factor level)
        raise InputError(f"predict: cannot build the model rows from newdata: {exc}") from None
    if mm.shape[1] != res.p:
        raise InputError(f"predict: newdata gives {mm.shape[1]} model columns, "
                         f"the model has {res.p}")
    return np.asarray(mm, float)


def _rows_from_array(res, newmods, intercept: bool) -> np.ndarray:
    a = np.asarray(newmods, float)
    n_mods = res.p - (1 if res.intercept else 0)
    if n_mods == 0:
        raise InputError("predict: the model has no moderators; call predict() without newdata")
    if n_mods == 1:
        a = a.reshape(-1, 1)
    elif a.ndim == 1:
        a = a.reshape(1, -1)
    if a.ndim != 2 or a.shape[1] != n_mods:
        raise InputError(f"predict: newdata has {a.shape[-1]} columns but the model has {n_mods} "
                         f"moderator(s): {', '.join(res.coefficients.index[res.p - n_mods:])}")
    if not np.isfinite(a).all():
        raise InputError("predict: newdata has missing or non-finite moderator values")
    if res.intercept:
        a = np.column_stack([np.full(len(a), 1.0 if intercept else 0.0), a])
    return a


def predict(res, newdata=None, *, intercept: bool = True,
            level: float | None = None) -> pd.DataFrame:
    """Predicted (average) effects with confidence and prediction intervals.

    Parameters
    ----------
    res : MetaResult
    newdata : DataFrame or array-like, optional
        Moderator values: a DataFrame for a formula model (rows built with
        the model's formulaic spec, so factor coding matches), or an array
        of moderator values without the intercept (a vector is one value per
        row for a one-moderator model, else one row), as metafor's
        ``newmods``. Default: the fitted values of the k studies (one row for
        an intercept-only model).
    intercept : bool
        Include the intercept in the predictions (metafor's ``intercept``).
    level : float, optional
        Confidence level (default: the model's).

    Returns
    -------
    DataFrame
        Columns ``pred, se, ci_low, ci_high, pi_low, pi_high``.

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.5, 0.6], [0.01] * 4, mods=[0, 1, 2, 3], method="FE")
    >>> res.predict([2]).round(4)["pred"].tolist()   # least squares by hand: 0.12 + 0.17 * 2
    [0.46]
    """
    level = res.level if level is None else level
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, got {level!r}")
    if newdata is None:
        if res.p == 1 and res.intercept:
            X, index = np.ones((1, 1)), pd.RangeIndex(1)
        else:
            X, index = res.X, pd.Index(list(res.labels), name="study")
    elif isinstance(newdata, pd.DataFrame):
        X, index = _rows_from_frame(res, newdata), newdata.index
    else:
        X = _rows_from_array(res, newdata, intercept)
        index = pd.RangeIndex(len(X))
    beta = res.coefficients["estimate"].to_numpy()
    pred = X @ beta
    vpred = np.einsum("ip,pq,iq->i", X, res.vcov, X)
    if (vpred < 0).any():
        raise ModelError("predict: negative variance of a prediction (numerical problem)")
    se = np.sqrt(vpred)
    alpha = 1 - level
    if TESTS[res.test].residual_df:  # t with k - p df (knha, adhoc, t), as metafor's predict
        crit = stats.t.isf(alpha / 2, res.k - res.p)
    else:
        crit = stats.norm.isf(alpha / 2)
    sp = np.sqrt(vpred + res.tau2)
    return pd.DataFrame({"pred": pred, "se": se, "ci_low": pred - crit * se,
                         "ci_high": pred + crit * se, "pi_low": pred - crit * sp,
                         "pi_high": pred + crit * sp}, index=index)
