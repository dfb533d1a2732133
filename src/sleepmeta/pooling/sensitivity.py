"""Leave-one-out and cumulative meta-analysis, each ONE batch of the engine.

Definitions follow metafor 3.8's ``leave1out.rma.uni`` and ``cumul.rma.uni``:
the model is refitted with the same estimator, test and level on the data
without study *i* (leave-one-out), or on the first *i* studies in the chosen
order (cumulative; Lau et al. 1992). A one-study subset is fitted as metafor
fits ``k = 1``: tau² = 0 and a z test.

metafor only allows these for models without moderators; here a
meta-regression is allowed too (the columns then refer to the first
coefficient, plus the omnibus test ``qm``/``qm_pvalue``), and a member that
cannot be fitted (too few studies, a rank-deficient design, no convergence)
is a NaN row with ``ok = False`` and a ``note`` saying why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sleepmeta.errors import InputError, ModelError
from sleepmeta.pooling.members import fit_members
from sleepmeta.resources import DIAGNOSTIC_ARRAYS, require_batch_memory


def _frame(res, members, labels) -> pd.DataFrame:
    cols = members.frame_columns()
    if res.p > 1:
        cols.update(qm=members.qm, qm_pvalue=members.qm_pvalue)
    cols.update(k=members.k, ok=members.ok, note=members.note)
    return pd.DataFrame(cols, index=pd.Index(list(labels), name="study"))


def leave_one_out(res) -> pd.DataFrame:
    """Refit the model leaving out each study in turn (metafor's ``leave1out``).

    Parameters
    ----------
    res : MetaResult
        A fitted model.

    Returns
    -------
    DataFrame
        One row per left-out study (index = its label): ``estimate, se,
        statistic, pvalue, ci_low, ci_high, q, q_pvalue, tau2, i2, h2`` of the
        model without it (``qm, qm_pvalue`` for a meta-regression), ``k``,
        ``ok`` and ``note`` (why a row is NaN).

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.5, 0.2], [0.01, 0.02, 0.04, 0.02], method="FE")
    >>> loo = res.leave_one_out()
    >>> round(float(loo.loc["1", "estimate"]), 4)   # (15 + 12.5 + 10) / (50 + 25 + 50)
    0.3
    """
    k = res.k
    if k == 1:
        raise ModelError("leave_one_out: the model has k = 1 study; nothing to leave out")
    _require_memory(k, res.p, "leave_one_out")
    mask = ~np.eye(k, dtype=bool)
    yi = np.broadcast_to(res.yi, (k, k))
    vi = np.broadcast_to(res.vi, (k, k))
    members = fit_members(res, yi, vi, mask, res.X[None],
                          labels_of=lambda b: f"without study {res.labels[b]!r}")
    return _frame(res, members, res.labels)


def cumulative(res, order=None, *, decreasing: bool = False) -> pd.DataFrame:
    """Cumulative meta-analysis: add the studies one at a time (metafor's ``cumul``).

    Parameters
    ----------
    res : MetaResult
        A fitted model.
    order : array-like, optional
        A sort key with one value per study (e.g. publication year); the
        studies are added in the stable ascending order of the key, as R's
        ``order()``. Default: the order of the data.
    decreasing : bool
        Sort the key in decreasing order instead.

    Returns
    -------
    DataFrame
        Row *i* (index = the label of the *i*-th added study) holds the fit on
        the first *i* studies: the columns of :func:`leave_one_out`.

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.5], [0.01, 0.01, 0.02], method="FE")
    >>> cum = res.cumulative(order=[2001, 1999, 2005])
    >>> list(cum.index), round(float(cum["estimate"].iloc[1]), 4)   # (0.3 + 0.1) / 2
    (['2', '1', '3'], 0.2)
    """
    k = res.k
    if order is None:
        idx = np.arange(k)
    else:
        key = np.asarray(order)
        if key.ndim != 1 or key.size != k:
            raise InputError(f"cumulative: order must have one value per study ({k}), "
                             f"got shape {key.shape}")
        if key.dtype.kind in "fc" and not np.isfinite(key).all():
            i = int(np.flatnonzero(~np.isfinite(key))[0])
            raise InputError(f"cumulative: study {res.labels[i]!r}: order value is missing")
        idx = np.argsort(key, kind="stable")
        if decreasing:  # R's order(decreasing=TRUE) keeps ties in their original order
            _, inv = np.unique(key, return_inverse=True)
            idx = np.lexsort((np.arange(k), -inv))
    _require_memory(k, res.p, "cumulative")
    mask = np.tri(k, dtype=bool)
    yi = np.broadcast_to(res.yi[idx], (k, k))
    vi = np.broadcast_to(res.vi[idx], (k, k))
    X = res.X[idx][None]
    labels = [res.labels[i] for i in idx]
    members = fit_members(res, yi, vi, mask, X,
                          labels_of=lambda b: f"first {b + 1} stud{'y' if b == 0 else 'ies'}")
    return _frame(res, members, labels)


def _require_memory(k: int, p: int, what: str) -> None:
    """Refuse a k x k diagnostic batch that would not fit in memory (before allocating it)."""
    require_batch_memory(k, k * p, DIAGNOSTIC_ARRAYS, f"{what} with k = {k:,} studies",
                         "it fits k models of k studies in one batch; fit the models in parts "
                         "of at most {fits} with meta_analysis_batch and masks")
