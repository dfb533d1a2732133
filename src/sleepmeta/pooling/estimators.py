"""Estimators of the between-study variance tau², one kernel branch each.

Each estimator is one branch of the compiled kernel
:func:`sleepmeta.pooling.kernels.tau2.tau2_member`, which every fit — a
single meta-analysis or a batch of a million — runs. They follow the
definitions as metafor 3.8 implements them (``rma.uni``), including its
starting values, stopping rules and truncation at zero, so that the
numbers agree with it:

* ``FE`` — common-effect model, tau² = 0.
* ``DL`` — DerSimonian & Laird (1986); with moderators, the generalised
  method of moments form of Raudenbush (2009).
* ``HE`` — Hedges (1983), Hedges & Olkin (1985); unweighted moments.
* ``HS`` / ``HSk`` — Hunter & Schmidt (2004), and its k-corrected version
  (Viechtbauer 2005 notation).
* ``SJ`` — Sidik & Jonkman (2005), one step from the variance of the yi.
* ``ML`` / ``REML`` — (restricted) maximum likelihood by Fisher scoring
  from the HE estimate (Viechtbauer 2005), with metafor's check that
  tau² = 0 does not give a higher likelihood.
* ``EB`` — empirical Bayes, Morris (1983), Berkey et al. (1995).
* ``PM`` — Paule & Mandel (1982): the generalised Q equals k - p, found with
  Brent's method as R's ``uniroot`` runs it (see :mod:`.zeroin`).

Standard errors of tau² are those of metafor (Viechtbauer 2005; NaN for FE).
A new estimator is one branch of the kernel and one line in :data:`ESTIMATORS`.

Iterations are bounded: Fisher scoring takes at most ``MAXITER + 1`` full
steps and then ``FALLBACK_MAXITER + 1`` halved ones; Brent's method at most
``MAXITER + 1`` iterations. A non-finite start, step or function value stops
the iteration as not converged.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sleepmeta.pooling.kernels import tau2 as _k

THRESHOLD = _k.THRESHOLD  # metafor's convergence threshold for Fisher scoring
MAXITER = 100  # metafor's iteration limit (Fisher scoring, and uniroot for PM)
FALLBACK_STEPADJ = 0.5  # metafor's documented remedy: control=list(stepadj=0.5, maxiter=1000)
FALLBACK_MAXITER = 1000
TAU2_MAX = _k.TAU2_MAX  # metafor's upper bound for the PM search (made adaptive)

ESTIMATORS: dict[str, int] = {
    "FE": _k.FE,
    "DL": _k.DL,
    "HE": _k.HE,
    "HS": _k.HS,
    "HSk": _k.HSK,
    "SJ": _k.SJ,
    "ML": _k.ML,
    "REML": _k.REML,
    "EB": _k.EB,
    "PM": _k.PM,
}
"""Registry of tau² estimators keyed by metafor's abbreviations (value: the kernel's code)."""

ITERATIVE = frozenset({"ML", "REML", "EB", "PM"})


def iteration_limits() -> tuple[int, int]:
    """``(MAXITER, FALLBACK_MAXITER)`` as set now (read at each fit)."""
    return int(MAXITER), int(FALLBACK_MAXITER)


@njit(cache=True, error_model="numpy")
def _halve_all(cur, adj, out):
    for i in range(cur.shape[0]):
        out[i] = _k.halve_into_range(cur[i], adj[i])


def _halve_into_range(cur: np.ndarray, adj: np.ndarray) -> np.ndarray:
    """metafor's step-halving (``while (tau2 + adj < 0) adj <- adj/2``) for arrays.

    The kernel's :func:`~sleepmeta.pooling.kernels.tau2.halve_into_range`,
    applied element by element.
    """
    cur = np.ascontiguousarray(cur, dtype=float)
    adj = np.ascontiguousarray(adj, dtype=float)
    out = np.empty_like(adj)
    _halve_all(cur, adj, out)
    return out
