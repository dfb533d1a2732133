"""I² and H², the one place they are computed (Higgins & Thompson 2002).

Two definitions, as metafor uses them:

* from tau² and the "typical" within-study variance ``vt`` (random-effects
  models; metafor's ``i2def = 1``): ``I² = 100 tau² / (vt + tau²)``,
  ``H² = tau² / vt + 1``;
* from Q and its degrees of freedom (the common-effect model, and the
  Mantel-Haenszel and Peto analyses): ``I² = max(0, 100 (Q - df) / Q)``,
  ``H² = Q / df``.

Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a
meta-analysis. Stat Med 21:1539-1558.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["i2_h2_from_q", "i2_h2_from_tau2", "i2_h2_q", "i2_h2_tau2"]


@njit(cache=True, error_model="numpy")
def i2_h2_tau2(tau2, vt):
    """``(I², H²)`` of one analysis from tau² and ``vt`` (compiled; the engine's kernel calls it).

    Examples
    --------
    >>> i2_h2_tau2(0.75, 0.25)
    (75.0, 4.0)
    """
    return 100.0 * tau2 / (vt + tau2), tau2 / vt + 1.0


@njit(cache=True, error_model="numpy")
def i2_h2_q(q, df):
    """``(I², H²)`` of one analysis from Q and its ``df > 0`` (compiled); I² is 0 where Q is 0.

    Examples
    --------
    >>> i2_h2_q(20.0, 10.0)
    (50.0, 2.0)
    """
    if not q > 0:
        return 0.0, q / df
    i2 = 100.0 * (q - df) / q
    return (0.0 if i2 < 0 else i2), q / df  # NaN stays NaN


@njit(cache=True, error_model="numpy")
def _many(from_q, a, b, i2, h2):
    for j in range(a.size):
        i2[j], h2[j] = i2_h2_q(a[j], b[j]) if from_q else i2_h2_tau2(a[j], b[j])


def _apply(from_q: bool, a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        a, b = np.broadcast_arrays(a, b)
    i2, h2 = np.empty(a.shape), np.empty(a.shape)
    _many(from_q, np.ascontiguousarray(a).ravel(), np.ascontiguousarray(b).ravel(), i2.ravel(),
          h2.ravel())
    return i2, h2


def i2_h2_from_tau2(tau2, vt):
    """``(I², H²)`` from tau² and the typical within-study variance (batched).

    Examples
    --------
    >>> i2, h2 = i2_h2_from_tau2(np.array([0.75]), np.array([0.25]))
    >>> float(i2[0]), float(h2[0])
    (75.0, 4.0)
    """
    return _apply(False, tau2, vt)


def i2_h2_from_q(q, df):
    """``(I², H²)`` from Q and its degrees of freedom (batched; ``df > 0``).

    I² is 0 where Q is 0 (no variation at all).

    Examples
    --------
    >>> i2, h2 = i2_h2_from_q(np.array([20.0, 0.0]), np.array([10, 10]))
    >>> i2.tolist(), h2.tolist()
    ([50.0, 0.0], [2.0, 0.0])
    """
    return _apply(True, q, df)
