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

__all__ = ["i2_h2_from_q", "i2_h2_from_tau2"]


def i2_h2_from_tau2(tau2, vt):
    """``(I², H²)`` from tau² and the typical within-study variance (batched).

    Examples
    --------
    >>> i2, h2 = i2_h2_from_tau2(np.array([0.75]), np.array([0.25]))
    >>> float(i2[0]), float(h2[0])
    (75.0, 4.0)
    """
    tau2, vt = np.asarray(tau2, float), np.asarray(vt, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100 * tau2 / (vt + tau2), tau2 / vt + 1


def i2_h2_from_q(q, df):
    """``(I², H²)`` from Q and its degrees of freedom (batched; ``df > 0``).

    I² is 0 where Q is 0 (no variation at all).

    Examples
    --------
    >>> i2, h2 = i2_h2_from_q(np.array([20.0, 0.0]), np.array([10, 10]))
    >>> i2.tolist(), h2.tolist()
    ([50.0, 0.0], [2.0, 0.0])
    """
    q, df = np.asarray(q, float), np.asarray(df, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = np.where(q > 0, np.maximum(0.0, 100 * (q - df) / np.where(q > 0, q, 1.0)), 0.0)
        return i2, q / df
