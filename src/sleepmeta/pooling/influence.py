"""Case-deletion influence diagnostics (Viechtbauer & Cheung 2010), one batch.

As metafor 3.8's ``influence.rma.uni``: the k deletion fits run as ONE
batch of the engine; then, with ``x_i`` the i-th row of X, ``b`` and ``V``
the full-model coefficients and their covariance, ``b_(i)``, ``V_(i)``,
``tau²_(i)``, ``s²_(i)`` (the Knapp-Hartung scale, 1 for z tests) those of
the model without study i, and ``W = diag(1/(v + tau²))``:

* ``hat_i`` = the i-th diagonal of ``X (X'WX)^-1 X'W`` (full model);
* ``rstudent_i = (y_i - x_i b_(i)) / sqrt(v_i s²_(i) + x_i V_(i) x_i' + tau²_(i) s²_(i))``;
* ``dffits_i = x_i (b - b_(i)) / sqrt(s²_(i) hat_i (tau²_(i) + v_i))``;
* ``cooks_d_i = (b - b_(i))' V^-1 (b - b_(i))`` (all coefficients);
* ``cov_r_i = det V_(i) / det V``;
* ``dfbetas_ij = (b_j - b_(i)j) / sqrt(s²_(i) [(X' W_(i) X)^-1]_jj)`` with
  ``W_(i) = diag(1/(v + tau²_(i)))`` over all k studies;
* ``tau2_del``, ``qe_del``: tau² and QE without study i; ``weight``: the
  study's weight in % in the full model.

A study is ``influential`` (metafor's ``*``) when ``|dffits| > 3 sqrt(p/(k-p))``,
or ``pchisq(cooks_d, p) > 0.5``, or ``hat > 3p/k``, or any ``|dfbetas| > 1``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sleepmeta.errors import ModelError
from sleepmeta.pooling.members import fit_members
from sleepmeta.resources import DIAGNOSTIC_ARRAYS, require_batch_memory

EPS = np.finfo(float).eps


def hat_values(res) -> np.ndarray:
    """Diagonal of the hat matrix ``X (X'WX)^-1 X'W`` with ``W = 1/(v + tau²)``.

    Values within ``10 eps`` of 1 are set to 1, as metafor (and ``lm.influence``).

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.5], [1.0, 1.0, 0.5], method="FE")
    >>> h = hat_values(res)          # w_i / sum(w) for an intercept-only common-effect model
    >>> [round(float(x), 4) for x in h], round(float(h.sum()), 10)   # trace = p = 1
    ([0.25, 0.25, 0.5], 1.0)
    """
    w = 1 / (res.vi + res.tau2)
    A = np.linalg.inv(res.X.T @ (w[:, None] * res.X))
    h = w * np.einsum("ip,pq,iq->i", res.X, A, res.X)
    return np.where(h > 1 - 10 * EPS, 1.0, h)


def influence(res) -> pd.DataFrame:
    """Influence diagnostics of each study (metafor's ``influence``).

    Parameters
    ----------
    res : MetaResult
        A fitted model (with or without moderators).

    Returns
    -------
    DataFrame
        Indexed by study: ``rstudent, dffits, cooks_d, cov_r, tau2_del,
        qe_del, hat, weight, influential``, the ``dfbetas_<term>`` columns,
        and ``ok``/``note`` for deletions that cannot be fitted (NaN rows, as
        metafor gives NA).

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.5, 0.2], [0.01, 0.02, 0.04, 0.02], method="FE")
    >>> inf = res.influence()
    >>> round(float(inf["hat"].sum()), 6)   # the hat values sum to p = 1
    1.0
    """
    k, p = res.k, res.p
    if k == 1:
        raise ModelError("influence: the model has k = 1 study; nothing to delete")
    X, yi, vi = res.X, res.yi, res.vi
    require_batch_memory(k, k * res.p, DIAGNOSTIC_ARRAYS, f"influence with k = {k:,} studies",
                         "it fits k models of k studies in one batch; fit the models in parts "
                         "of at most {fits} with meta_analysis_batch and masks")
    mask = ~np.eye(k, dtype=bool)
    m = fit_members(res, np.broadcast_to(yi, (k, k)), np.broadcast_to(vi, (k, k)), mask,
                    X[None], labels_of=lambda b: f"without study {res.labels[b]!r}")
    beta, vb = res.coefficients["estimate"].to_numpy(), res.vcov
    hat = hat_values(res)
    pred_full = X @ beta
    delpred = np.einsum("ip,ip->i", X, m.beta)
    vdelpred = np.einsum("ip,ipq,iq->i", X, m.vb, X)
    resid = yi - delpred
    resid = np.where(np.abs(resid) < 100 * EPS, 0.0, resid)
    with np.errstate(invalid="ignore", divide="ignore"):
        rstudent = resid / np.sqrt(vi * m.s2w + vdelpred + m.tau2 * m.s2w)
        dffits = (pred_full - delpred) / np.sqrt(m.s2w * hat * (m.tau2 + vi))
    dfb = beta[None, :] - m.beta
    cooks = np.einsum("ip,ip->i", dfb, np.linalg.solve(vb, dfb.T).T)
    cov_r = np.full(k, np.nan)
    cov_r[m.ok] = np.linalg.det(m.vb[m.ok]) / np.linalg.det(vb)
    # (X' W_(i) X)^-1 over all k studies, with tau² of the deletion fit
    tau2_del = np.where(np.isnan(m.tau2), 0.0, m.tau2)
    w_del = 1 / (vi[None, :] + tau2_del[:, None])
    xwx = np.einsum("kp,bk,kq->bpq", X, w_del, X)
    vdel_diag = np.einsum("bii->bi", np.linalg.inv(xwx))
    with np.errstate(invalid="ignore"):
        dfbetas = dfb / np.sqrt(m.s2w[:, None] * vdel_diag)
    with np.errstate(invalid="ignore"):
        influential = (
            (np.abs(dffits) > 3 * np.sqrt(p / (k - p)))
            | (stats.chi2.cdf(cooks, p) > 0.5)
            | (hat > 3 * p / k)
            | np.any(np.abs(dfbetas) > 1, axis=1)
        )
    out = pd.DataFrame(
        {"rstudent": rstudent, "dffits": dffits, "cooks_d": cooks, "cov_r": cov_r,
         "tau2_del": m.tau2, "qe_del": m.q, "hat": hat, "weight": res.weights,
         "influential": influential},
        index=pd.Index(list(res.labels), name="study"))
    for j, term in enumerate(res.coefficients.index):
        out[f"dfbetas_{term}"] = dfbetas[:, j]
    out["ok"] = m.ok
    out["note"] = m.note
    return out
