"""A batch of analyses as the tau² estimators see it, and what they return.

:class:`Problem` holds padded ``(B, k)`` data with a mask and a shared or
per-analysis design; :class:`Tau2Fit` is what an estimator of
:mod:`.estimators` returns. :func:`loglik` (the ML and REML
log-likelihoods) and :func:`generalised_q` are the functions of tau² that
the estimators, the engine and the Q-profile interval share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmeta.pooling._wls import rowsum as _rowsum
from sleepmeta.pooling._wls import wls
from sleepmeta.pooling.registry import Control

__all__ = ["Problem", "Tau2Fit", "eb_pm_se", "generalised_q", "loglik", "subset_problem", "tau2_fit"]


@dataclass
class Problem:
    """A batch of analyses: ``(B, k)`` arrays with a mask, and a shared design.

    Examples
    --------
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> pr = Problem.of(es.yi, es.vi)
    >>> pr.k.tolist(), pr.p, pr.X.shape
    ([13], 1, (1, 13, 1))
    """

    X: np.ndarray  # (B or 1, k, p)
    yi: np.ndarray  # (B, k), zero where masked
    vi: np.ndarray  # (B, k), one where masked
    mask: np.ndarray  # (B, k) bool
    k: np.ndarray  # (B,) studies per analysis
    p: int
    control: Control | None = None  # None: metafor's defaults with its halved-step remedy

    def __post_init__(self) -> None:
        # an intercept-only design shared by the batch takes wls's scalar path
        self.ones = self.X.shape[0] == 1 and self.p == 1 and bool(np.all(self.X == 1))
        self.m = self.mask.astype(float)  # the mask as 0/1 weights
        mean = _rowsum(self.yi * self.m) / self.k
        # yi centred on its (unweighted) mean, as metafor uses for tau²
        self.ymc = (self.yi - mean[:, None]) * self.m

    @classmethod
    def of(cls, yi, vi, X=None, control: Control | None = None) -> Problem:
        """A batch of one analysis of all its studies (``X``: ``(k, p)``, default intercept)."""
        yi = np.asarray(yi, float)[None]
        vi = np.asarray(vi, float)[None]
        k = yi.shape[1]
        X = np.ones((1, k, 1)) if X is None else np.asarray(X, float).reshape(1, k, -1)
        return cls(X=X, yi=yi, vi=vi, mask=np.ones((1, k), bool), k=np.array([k]),
                   p=X.shape[-1], control=control)

    def fit(self, w: np.ndarray, y: np.ndarray | None = None):
        """Weighted least squares with weights ``w`` (zeroed outside the mask)."""
        return wls(self.X, self.ymc if y is None else y, w * self.m, self.ones)

    def inverse_weights(self, tau2: np.ndarray) -> np.ndarray:
        """``1 / (vi + tau²)``, zero outside the mask."""
        return self.m / (self.vi + tau2[:, None])


@dataclass
class Tau2Fit:
    """What an estimator returns for each analysis of a batch.

    Examples
    --------
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> pr = Problem.of(es.yi, es.vi)
    >>> from sleepmeta.pooling.estimators import reml
    >>> fit = reml(pr)
    >>> fit.converged.tolist(), bool(fit.iterations[0] > 0), fit.fallback.tolist()
    ([True], True, [False])
    """

    tau2: np.ndarray
    se: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    fallback: np.ndarray  # Fisher scoring needed the halved step (see _scoring)


def tau2_fit(tau2, se, iterations=None, converged=None, fallback=None) -> Tau2Fit:
    """A :class:`Tau2Fit` with defaults for a non-iterative estimator (converged, 0 iterations).

    Examples
    --------
    >>> tau2_fit(np.array([0.1]), np.array([0.05])).converged.tolist()
    [True]
    """
    n = tau2.shape[0]
    return Tau2Fit(
        tau2=tau2,
        se=se,
        converged=np.ones(n, bool) if converged is None else converged,
        iterations=np.zeros(n, int) if iterations is None else iterations,
        fallback=np.zeros(n, bool) if fallback is None else fallback,
    )


def subset_problem(pr: Problem, idx: np.ndarray) -> Problem:
    """The analyses ``idx`` of a batch (their design, data, mask and control).

    Examples
    --------
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> pr = Problem.of(es.yi, es.vi)
    >>> two = subset_problem(Problem(X=pr.X, yi=np.repeat(pr.yi, 2, 0), vi=np.repeat(pr.vi, 2, 0),
    ...                                mask=np.repeat(pr.mask, 2, 0), k=np.repeat(pr.k, 2), p=1),
    ...                        np.array([1]))
    >>> two.yi.shape
    (1, 13)
    """
    X = pr.X if pr.X.shape[0] == 1 else pr.X[idx]
    return Problem(X=X, yi=pr.yi[idx], vi=pr.vi[idx], mask=pr.mask[idx], k=pr.k[idx], p=pr.p,
                   control=pr.control)


def loglik(pr: Problem, tau2, fit=None):
    """ML and REML log-likelihoods at ``tau2``, as metafor reports them (``REMLf = TRUE``).

    ``ll_ML = -k/2 log(2 pi) - 1/2 sum log(vi + tau²) - 1/2 RSS`` and
    ``ll_REML = -(k-p)/2 log(2 pi) + 1/2 log|X'X| - 1/2 sum log(vi + tau²)
    - 1/2 log|X'WX| - 1/2 RSS`` with ``W = diag(1/(vi + tau²))`` and RSS the
    weighted residual sum of squares (Viechtbauer 2005, the ML and REML likelihoods; metafor
    adds the ``log|X'X|`` constant). ``fit`` is the weighted least-squares fit
    at ``tau2`` when the caller has it. The one log-likelihood of the package:
    the engine reports it and ``ll0check`` compares it.

    Examples
    --------
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> pr = Problem.of(es.yi, es.vi)
    >>> from sleepmeta.pooling.estimators import reml
    >>> ll_ml, ll_reml = loglik(pr, reml(pr).tau2)
    >>> round(float(ll_reml[0]), 4)   # metafor: logLik(rma(yi, vi)) -> -12.2024
    -12.2024
    """
    if fit is None:
        fit = pr.fit(pr.inverse_weights(tau2))
    rss = fit.rss
    lv = _rowsum(np.log(pr.vi + tau2[:, None]) * pr.m)
    ll_ml = -0.5 * pr.k * np.log(2 * np.pi) - 0.5 * lv - 0.5 * rss
    ll_reml = (-0.5 * (pr.k - pr.p) * np.log(2 * np.pi) + 0.5 * fit.logdet_xdx(pr.m) - 0.5 * lv
               - 0.5 * fit.logdet_xwx() - 0.5 * rss)
    return ll_ml, ll_reml


def generalised_q(pr: Problem, tau2: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    """The generalised Q statistic ``y'P(tau²)y`` (Paule–Mandel, Q-profile).

    ``y`` defaults to the centred yi, as metafor's PM estimator uses.

    Examples
    --------
    >>> from sleepmeta.data import bcg
    >>> from sleepmeta.effects import effect_size
    >>> es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    >>> pr = Problem.of(es.yi, es.vi)
    >>> round(float(generalised_q(pr, np.zeros(1))[0]), 3)   # metafor: rma(yi, vi)$QE = 152.233
    152.233
    """
    return pr.fit(pr.inverse_weights(tau2), y=y).rss


def eb_pm_se(pr: Problem, tau2):
    """Standard error of the EB and PM estimates of tau², ``sqrt(2 k² / (k - p) / (sum w)²)`` (metafor).

    Examples
    --------
    >>> pr = Problem.of([0.1, 0.3, 0.5], [0.5, 0.5, 0.5])
    >>> float(eb_pm_se(pr, np.array([0.5]))[0])   # w = 1: sqrt(2 * 9 / 2 / 9)
    1.0
    """
    sw = _rowsum(pr.inverse_weights(tau2))
    return np.sqrt(2 * pr.k**2 / (pr.k - pr.p) / sw**2)
