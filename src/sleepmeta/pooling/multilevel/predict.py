"""Predicted values of a multilevel model, with CI and PI as metafor 3.8 computes them.

``predict.rma`` on an ``rma.mv`` fit: ``pred = x b``, ``se = sqrt(x vb x')``,
CI ``pred ± crit se`` and PI ``pred ± crit sqrt(se² + sum(sigma2) + tau2)``
with ``crit`` the normal quantile (``test="z"``) or the t quantile with
``k - p`` df (``test="t"``). The ``tau2`` of an ``inner | outer`` term is added
when the term has a single ``tau2`` (CS, ID, AR); with several (HCS, DIAG,
UN, GEN) the PI needs ``tau2_levels`` (the inner level of each prediction),
else it is NaN — as metafor, which then prints no PI. The ``gamma2`` of a
second ``inner | outer`` term is added the same way (``gamma2_levels``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sleepmeta import distributions as stats
from sleepmeta.errors import ColumnError, InputError


def _rows(res, newmods) -> np.ndarray:
    p = res.p
    if newmods is None:
        if p > 1 or not res.intercept:
            return res.model.X
        return np.ones((1, 1))
    if isinstance(newmods, pd.DataFrame):
        spec = res.model.spec
        if spec is None:
            raise InputError("predict: newmods as a DataFrame needs a model fitted with a formula "
                             "(mods='~ ...'); pass an array of moderator values instead")
        missing = sorted(v for v in spec.required_variables if v not in newmods.columns)
        if missing:
            raise ColumnError(f"predict: term {missing[0]!r} of the model is not a column of "
                              f"newmods; columns: {', '.join(map(str, newmods.columns))}")
        try:
            return np.asarray(spec.get_model_matrix(newmods, na_action="raise"), float)
        except Exception as exc:  # formulaic's own error types (an unseen level)
            raise InputError(f"predict: cannot build the model rows from newmods: {exc}") from None
    x = np.atleast_2d(np.asarray(newmods, float))
    if x.shape[1] == p - 1 and res.intercept:
        x = np.column_stack([np.ones(x.shape[0]), x])
    if x.shape[1] != p:
        raise InputError(f"predict: newmods has {x.shape[1]} columns but the model has "
                         f"{p} coefficients ({', '.join(res.terms)})")
    if not np.all(np.isfinite(x)):
        raise InputError("predict: newmods must be finite numbers")
    return x


def _level_variance(values, levels, chosen, n, what) -> np.ndarray:
    """The variance of one ``inner | outer`` term each prediction adds (NaN if unknown)."""
    tau2 = np.asarray(values, float)
    if tau2.size == 0:
        return np.zeros(n)
    if tau2.size == 1:
        return np.full(n, tau2[0])
    if chosen is None:
        return np.full(n, np.nan)
    lv = np.atleast_1d(np.asarray(chosen, dtype=object))
    if lv.size == 1:
        lv = np.repeat(lv, n)
    if lv.size != n:
        raise InputError(f"predict: {what} has {lv.size} values for {n} predictions")
    names = [str(x) for x in levels]
    idx = []
    for v in lv:
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            if not 1 <= v <= len(names):
                raise InputError(f"predict: {what} {v} is not 1..{len(names)}")
            idx.append(int(v) - 1)
        elif str(v) in names:
            idx.append(names.index(str(v)))
        else:
            raise InputError(f"predict: {what} {v!r} is not an inner level; "
                             f"levels: {', '.join(names)}")
    return tau2[idx]


def predict(res, newmods=None, *, tau2_levels=None, gamma2_levels=None,
            level: float | None = None) -> pd.DataFrame:
    """Predictions with CI and PI (columns ``pred, se, ci_low, ci_high, pi_low, pi_high``).

    Examples
    --------
    >>> import pandas as pd
    >>> from sleepmeta.pooling.multilevel import meta_analysis_mv
    >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.35, 0.6, 0.2, 0.5], "vi": [0.01] * 6,
    ...                   "study": [1, 1, 2, 2, 3, 3], "arm": [1, 2, 1, 2, 1, 2]})
    >>> res = meta_analysis_mv("yi", "vi", random="~ 1 | study/arm", data=d)
    >>> list(predict(res).columns)
    ['pred', 'se', 'ci_low', 'ci_high', 'pi_low', 'pi_high']
    """
    level = res.level if level is None else level
    X = _rows(res, newmods)
    many = max(np.size(v) if v is not None and not isinstance(v, str) else 1
               for v in (tau2_levels, gamma2_levels))
    if X.shape[0] == 1 and many > 1:  # one row, several levels: one prediction per level
        X = np.repeat(X, many, axis=0)
    pred = X @ res.coef_table[:, 0]
    se = np.sqrt(np.einsum("ip,pq,iq->i", X, res.vcov, X))
    df = res.k - res.p
    crit = stats.t.isf((1 - level) / 2, df) if res.test == "t" else stats.norm.isf((1 - level) / 2)
    extra = np.full(X.shape[0], float(sum(res.sigma2)))
    extra += _level_variance(res.tau2, res.inner_levels, tau2_levels, X.shape[0], "tau2_levels")
    extra += _level_variance(res.gamma2, res.inner2_levels, gamma2_levels, X.shape[0],
                             "gamma2_levels")
    width = crit * np.sqrt(se**2 + extra)
    return pd.DataFrame({"pred": pred, "se": se, "ci_low": pred - crit * se,
                         "ci_high": pred + crit * se, "pi_low": pred - width,
                         "pi_high": pred + width})
