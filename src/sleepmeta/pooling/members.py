"""Fit the members of a diagnostic batch (deletions, cumulative subsets, ...).

Leave-one-out, cumulative meta-analysis and influence diagnostics each run
ONE batch of the engine over masked copies of a fitted model's data. Some
members cannot be fitted; metafor then reports ``NA`` for them (its refit
fails inside ``try``). Here such members get NaN *and* a flag ``ok = False``
with a note saying why, never a silent NaN:

* too few studies for the coefficients (``k <= p`` for random effects,
  ``k < p`` for the common-effect model);
* a design that is rank-deficient on the member's studies (e.g. deleting
  the only study of a factor level);
* an iterative tau² estimator that did not converge.

A member that the engine fitted only with its halved-step rescue of Fisher
scoring (where metafor's default gives up and reports NA) keeps its values,
with a note saying so.

A member of an intercept-only model with a single study is fitted as metafor
fits ``k = 1`` (tau² = 0 and a z test; ``rma.uni`` sets ``method`` aside and
``test = "z"`` when k = 1), in a second small engine call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmeta.pooling.engine import fit_batch
from sleepmeta.pooling.feasibility import feasible_members
from sleepmeta.pooling.registry import COMMON_EFFECT

__all__ = ["Members", "fit_members"]

FIELDS_1D = ("tau2", "tau2_se", "q", "q_pvalue", "i2", "h2", "s2w", "qm", "qm_pvalue", "df", "crit")
FIELDS_2D = ("beta", "se_beta", "stat_beta", "pval_beta", "ci_low_beta", "ci_high_beta")


@dataclass
class Members:
    """Per-member arrays (NaN where ``ok`` is False), aligned with the masks.

    Examples
    --------
    >>> import numpy as np
    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.5], [0.01, 0.02, 0.03], method="FE")
    >>> m = fit_members(res, res.yi[None], res.vi[None], np.array([[True, True, False]]),
    ...                 np.ones((1, 3, 1)))
    >>> m.ok.tolist(), round(float(m.frame_columns()["estimate"][0]), 4)
    ([True], 0.1667)
    """

    k: np.ndarray
    ok: np.ndarray
    note: list
    beta: np.ndarray
    vb: np.ndarray
    se_beta: np.ndarray
    stat_beta: np.ndarray
    pval_beta: np.ndarray
    ci_low_beta: np.ndarray
    ci_high_beta: np.ndarray
    tau2: np.ndarray
    tau2_se: np.ndarray
    q: np.ndarray
    q_pvalue: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    s2w: np.ndarray
    qm: np.ndarray
    qm_pvalue: np.ndarray
    df: np.ndarray
    crit: np.ndarray

    def frame_columns(self) -> dict:
        """The pooled-result columns of metafor's ``leave1out``/``cumul`` (first coefficient)."""
        return {
            "estimate": self.beta[:, 0], "se": self.se_beta[:, 0],
            "statistic": self.stat_beta[:, 0], "pvalue": self.pval_beta[:, 0],
            "ci_low": self.ci_low_beta[:, 0], "ci_high": self.ci_high_beta[:, 0],
            "q": self.q, "q_pvalue": self.q_pvalue, "tau2": self.tau2, "i2": self.i2,
            "h2": self.h2,
        }


def fit_members(res, yi: np.ndarray, vi: np.ndarray, mask: np.ndarray, X: np.ndarray,
                labels_of=None) -> Members:
    """Fit every member ``b`` (studies ``mask[b]``) with the model of ``res``.

    ``yi``, ``vi`` are ``(B, k)``, ``X`` is ``(1 or B, k, p)``.
    ``labels_of(b)`` describes member ``b`` in notes (default ``"member b"``).
    Which members can be fitted is :func:`.feasibility.feasible_members`.

    Examples
    --------
    >>> import numpy as np
    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.5], [0.01, 0.01, 0.01], method="FE")
    >>> masks = ~np.eye(3, dtype=bool)                  # leave each study out
    >>> m = fit_members(res, np.tile(res.yi, (3, 1)), np.tile(res.vi, (3, 1)), masks,
    ...                 np.ones((1, 3, 1)))
    >>> np.round(m.beta[:, 0], 4).tolist()              # means of the two others
    [0.4, 0.3, 0.2]
    """
    B, k = mask.shape
    p = X.shape[-1]
    kb = mask.sum(axis=1)
    notes = [""] * B
    ok, k1 = feasible_members(kb, p, res.method)  # k1: metafor's k = 1 rule (intercept-only)
    for b in np.flatnonzero(~ok):
        notes[b] = (f"{int(kb[b])} stud{'y' if kb[b] == 1 else 'ies'} for {p} coefficient(s): "
                    f"the {res.method} model cannot be fitted")
    if p > 1:
        Xm = np.broadcast_to(X, (B, k, p)) * mask[:, :, None]
        rank = np.linalg.matrix_rank(Xm[ok])
        deficient = np.flatnonzero(ok)[rank < p]
        for b in deficient:
            notes[b] = "the design is rank-deficient on the remaining studies (metafor: NA)"
        ok[deficient] = False

    out = {name: np.full(B, np.nan) for name in FIELDS_1D}
    out.update({name: np.full((B, p), np.nan) for name in FIELDS_2D})
    vb = np.full((B, p, p), np.nan)
    groups = [(ok & ~k1, res.method, res.test), (ok & k1, COMMON_EFFECT, "z")]
    for sel, method, test in groups:
        idx = np.flatnonzero(sel)
        if not idx.size:
            continue
        Xs = X if X.shape[0] == 1 else X[idx]
        fit = fit_batch(_take(yi, idx), _take(vi, idx), mask[idx], Xs, method=method, test=test,
                        level=res.level, intercept=res.intercept,
                        control=res.extras.get("control"))
        conv = fit.converged
        for name in FIELDS_1D + FIELDS_2D:
            out[name][idx] = getattr(fit, name)
        vb[idx] = fit.vb
        for j in np.flatnonzero(fit.fallback & conv):
            notes[idx[j]] = (f"Fisher scoring ({method}) converged only with halved steps "
                             "(metafor's default would report NA)")
        for j in np.flatnonzero(~conv):
            b = idx[j]
            ok[b] = False
            notes[b] = (f"the {method} estimator of tau² did not converge after "
                        f"{int(fit.iterations[j])} iterations")
            for name in FIELDS_1D:
                out[name][b] = np.nan
            for name in FIELDS_2D:
                out[name][b] = np.nan
            vb[b] = np.nan
    if labels_of is not None:
        notes = [f"{labels_of(b)}: {n}" if n else "" for b, n in enumerate(notes)]
    return Members(k=kb, ok=ok, note=notes, vb=vb, **out)


def _take(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Rows ``idx`` of ``a``; one shared row (a broadcast, e.g. leave-one-out's yi) stays one row,
    which the engine shares across the batch without copying it."""
    return a[:1] if a.strides[0] == 0 else a[idx]
