"""Simulated meta-analyses at the participant-summary level, a batch at a time.

For each of ``B`` meta-analyses of ``k`` two-arm studies (``n`` per arm,
fixed or drawn per study), the true study effects are
``theta_i ~ N(mu, tau²)`` and the studies' summary data are drawn as a trial
would report them:

* continuous (MD, SMD): arm means ``~ N(mean, sd²/n)`` (control mean 0;
  treatment mean ``theta_i`` for MD, ``theta_i * sd`` for SMD, so that
  ``theta_i`` is the standardised difference) and arm SDs
  ``sd * sqrt(chi²_{n-1} / (n-1))``, the sampling distribution of a normal
  sample's SD;
* binary (OR, RR): control risk ``p2`` (fixed or uniform per study),
  treatment risk ``expit(logit(p2) + theta_i)`` for OR and
  ``min(1, p2 exp(theta_i))`` for RR, events ``~ Binomial(n, p)``.

``yi`` and ``vi`` then come from :data:`sleepmeta.effects.MEASURES`, the
same code as :func:`sleepmeta.effects.effect_size` (metafor's ``escalc``:
Hedges' g with the exact correction for SMD; 1/2 added to every cell of a
table with a zero cell for OR and RR). Draws are made in a fixed order from
one ``numpy.random.Generator``, so a chunk's data depend only on its seed.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

from sleepmeta.effects import MEASURES
from sleepmeta.scale.grid import CONTINUOUS


def generate(condition: dict, size: int, rng: np.random.Generator):
    """Draw ``size`` meta-analyses of one condition.

    Parameters
    ----------
    condition : dict
        One condition of a :class:`~sleepmeta.scale.grid.Grid` (``measure``,
        ``k``, ``effect``, ``tau2``, ``n``, ``sd``, ``baseline_risk``).
    size : int
        Number of meta-analyses ``B``.
    rng : numpy.random.Generator

    Returns
    -------
    yi, vi : ndarray, shape (B, k)

    Examples
    --------
    >>> cond = {"measure": "MD", "k": 4, "effect": 0.5, "tau2": 0.0, "n": 50,
    ...         "sd": 1.0, "baseline_risk": None}
    >>> yi, vi = generate(cond, 3, np.random.default_rng(1))
    >>> yi.shape, bool((vi > 0).all())
    ((3, 4), True)
    """
    shape = (size, condition["k"])
    theta = condition["effect"] + np.sqrt(condition["tau2"]) * rng.standard_normal(shape)
    return summary_effects(theta, condition, rng)


def summary_effects(theta: np.ndarray, condition: dict, rng: np.random.Generator):
    """Draw two-arm summary data around true effects ``theta`` (B, k); return ``yi, vi``.

    The draws after the true effects in :func:`generate` (``n``, arm data),
    shared with the three-level generator (:mod:`sleepmeta.scale.multilevel`).

    >>> cond = {"measure": "MD", "n": 50, "sd": 1.0, "baseline_risk": None}
    >>> yi, vi = summary_effects(np.zeros((2, 3)), cond, np.random.default_rng(1))
    >>> yi.shape, bool((vi > 0).all())
    ((2, 3), True)
    """
    shape = theta.shape
    n = _draw(condition["n"], shape, rng, integer=True)
    measure = condition["measure"]
    spec = MEASURES[measure]
    if measure in CONTINUOUS:
        sd = condition["sd"]
        delta = theta if measure == "MD" else theta * sd
        se = sd / np.sqrt(n)
        mean1 = delta + se * rng.standard_normal(shape)
        mean2 = se * rng.standard_normal(shape)
        sd1 = sd * np.sqrt(rng.chisquare(n - 1) / (n - 1))
        sd2 = sd * np.sqrt(rng.chisquare(n - 1) / (n - 1))
        columns = {"mean1": mean1, "sd1": sd1, "n1": n, "mean2": mean2, "sd2": sd2, "n2": n}
    else:
        p2 = _draw(condition["baseline_risk"], shape, rng, integer=False)
        if measure == "OR":
            p1 = expit(logit(p2) + theta)
        else:
            with np.errstate(over="ignore"):  # a huge log RR: exp is inf, p1 is 1
                p1 = np.minimum(1.0, p2 * np.exp(theta))
        events1 = rng.binomial(n.astype(np.int64), p1).astype(float)
        events2 = rng.binomial(n.astype(np.int64), p2).astype(float)
        columns = {"events1": events1, "n1": n, "events2": events2, "n2": n}
    prepared, _ = spec.family.prepare(columns, spec.add)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        yi, vi = spec.compute(**prepared)  # a non-finite analysis is a failure, counted as such
    return np.asarray(yi, float), np.asarray(vi, float)


def _draw(value, shape, rng: np.random.Generator, *, integer: bool) -> np.ndarray:
    """A fixed value, or uniform draws per study (integers inclusive of ``high``)."""
    if isinstance(value, dict):
        if integer:
            return rng.integers(value["low"], value["high"], size=shape,
                                endpoint=True).astype(float)
        return rng.uniform(value["low"], value["high"], size=shape)
    return np.full(shape, float(value))
