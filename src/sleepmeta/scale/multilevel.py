"""Three-level simulation studies: estimates nested in clusters, fitted as one batch.

A condition with ``clusters`` (see :mod:`sleepmeta.scale.grid`) draws ``k``
estimates in ``clusters`` clusters of (as nearly as possible) equal size
(cluster ``floor(j * clusters / k)`` for estimate ``j``), with true effects

``theta_ij = mu + u_i + w_ij``, ``u_i ~ N(0, sigma2_cluster)``,
``w_ij ~ N(0, sigma2_within)``

(the three-level model of Konstantopoulos 2011, Res Synth Methods 2:61-76;
metafor's ``sigma^2.1`` and ``sigma^2.2``), and each estimate's two-arm
summary data and ``yi, vi`` as the univariate generator draws them
(:func:`~sleepmeta.scale.generate.summary_effects`; sampling errors
independent). A chunk is fitted with
:func:`sleepmeta.pooling.multilevel.meta_analysis_mv_batch` and
``random = "~ 1 | cluster/estimate"``; member ``b`` equals
``meta_analysis_mv`` on its rows. The prediction interval is metafor's
``pred +- crit sqrt(se² + sigma2_1 + sigma2_2)``.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from sleepmeta import distributions as stats
from sleepmeta.pooling.inputs import out_of_range
from sleepmeta.pooling.multilevel import meta_analysis_mv_batch
from sleepmeta.scale import metrics
from sleepmeta.scale.generate import summary_effects

__all__ = ["cluster_codes", "fit_three_level", "generate_three_level", "run_three_level_chunk"]

RANDOM = "~ 1 | cluster/estimate"


def cluster_codes(k: int, clusters: int) -> np.ndarray:
    """The cluster of each of ``k`` estimates: sizes differ by at most one.

    >>> cluster_codes(7, 3).tolist()
    [0, 0, 0, 1, 1, 2, 2]
    """
    return np.arange(k) * clusters // k


def generate_three_level(condition: dict, size: int, rng: np.random.Generator):
    """Draw ``size`` three-level meta-analyses of one condition.

    Returns ``yi, vi`` (size, k) and the cluster codes (k,). Draws: the
    cluster effects (size, clusters), the within-cluster effects (size, k),
    then the summary data, from one generator in that order.

    >>> cond = {"measure": "MD", "k": 6, "clusters": 3, "effect": 0.2, "sigma2_cluster": 0.1,
    ...         "sigma2_within": 0.05, "n": 30, "sd": 1.0, "baseline_risk": None}
    >>> yi, vi, cl = generate_three_level(cond, 4, np.random.default_rng(1))
    >>> yi.shape, cl.tolist()
    ((4, 6), [0, 0, 1, 1, 2, 2])
    """
    k, c = condition["k"], condition["clusters"]
    cl = cluster_codes(k, c)
    u = np.sqrt(condition["sigma2_cluster"]) * rng.standard_normal((size, c))
    w = np.sqrt(condition["sigma2_within"]) * rng.standard_normal((size, k))
    theta = condition["effect"] + u[:, cl] + w
    yi, vi = summary_effects(theta, condition, rng)
    return yi, vi, cl


def fit_three_level(yi, vi, cluster, estimator: str, test: str, level: float):
    """Fit every analysis of a chunk; return the fields :mod:`.metrics` reads, and the skipped.

    Analyses with values outside the engine's accepted range are not
    fitted (``skipped``, counted as failures), as in the univariate runner.

    >>> rng = np.random.default_rng(2)
    >>> fit, skipped = fit_three_level(rng.normal(0.3, 0.3, (3, 6)), np.full((3, 6), 0.02),
    ...                                np.array([0, 0, 1, 1, 2, 2]), "REML", "z", 0.95)
    >>> fit.sigma2.shape, skipped.tolist()
    ((3, 2), [False, False, False])
    """
    B, k = yi.shape
    skipped = out_of_range(yi, vi).any(axis=1) | ~(np.isfinite(yi) & (vi > 0)).all(axis=1)
    keep = np.flatnonzero(~skipped)
    out = {name: np.full(B, np.nan) for name in ("estimate", "se", "ci_low", "ci_high", "pvalue",
                                                  "pi_low", "pi_high", "tau2")}
    out["sigma2"] = np.full((B, 2), np.nan)
    out["converged"] = np.zeros(B, bool)
    if keep.size:
        fit = meta_analysis_mv_batch(yi[keep], vi[keep], random=RANDOM,
                                     groups={"cluster": cluster, "estimate": np.arange(k)},
                                     method=estimator, test=test, level=level, errors="flag")
        crit = (stats.t.isf((1 - level) / 2, k - 1) if test == "t"
                else stats.norm.isf((1 - level) / 2))
        total = fit.sigma2.sum(axis=1)
        est, se = fit.estimate[:, 0], fit.se[:, 0]
        half = crit * np.sqrt(se**2 + total)
        for name, value in (("estimate", est), ("se", se), ("ci_low", fit.ci_low[:, 0]),
                            ("ci_high", fit.ci_high[:, 0]), ("pvalue", fit.pvalue[:, 0]),
                            ("pi_low", est - half), ("pi_high", est + half), ("tau2", total),
                            ("sigma2", fit.sigma2), ("converged", fit.converged)):
            out[name][keep] = value
    return SimpleNamespace(**out), skipped


def run_three_level_chunk(condition: dict, methods, level: float, seed: np.random.SeedSequence,
                          size: int) -> list[dict]:
    """One chunk of a three-level condition: draw, fit every method, reduce (see runner)."""
    yi, vi, cl = generate_three_level(condition, size, np.random.default_rng(seed))
    s1, s2 = condition["sigma2_cluster"], condition["sigma2_within"]
    rows = []
    for m, (estimator, test) in enumerate(methods):
        fit, skipped = fit_three_level(yi, vi, cl, estimator, test, level)
        q, failed = metrics.replicate_quantities(fit, condition["effect"], s1 + s2, level,
                                                 skipped)
        ok = ~failed
        q["sigma2_cluster_err"] = fit.sigma2[ok, 0] - s1
        q["sigma2_within_err"] = fit.sigma2[ok, 1] - s2
        rows.append({"method": m, "estimator": estimator, "test": test,
                     **metrics.chunk_statistics(q, failed)})
    return rows


_SWEEP_FIELDS = ("estimate", "se", "statistic", "pvalue", "ci_low", "ci_high")


def sweep_multilevel(frame, by: list, columns: list, *, random: str, method: str, test: str,
                     level: float, errors: str):
    """The multilevel part of :func:`~sleepmeta.scale.sweeps.sweep` (``random=`` given).

    ``frame`` holds the ``by`` columns, ``_yi``, ``_vi`` and the grouping
    ``columns`` the formula names; every group is padded into one batch of
    :func:`~sleepmeta.pooling.multilevel.meta_analysis_mv_batch`. Returns one
    row per group: ``by``, ``k``, the pooled coefficient's fields, one
    ``sigma2_<factor>`` column per level, ``converged``.
    """
    import pandas as pd

    groups = frame.groupby(by, sort=True, dropna=False)
    keys = groups.size().reset_index(name="k")
    code = groups.ngroup().to_numpy()
    pos = groups.cumcount().to_numpy()
    G, kmax = len(keys), int(keys["k"].max())
    Y, V = np.zeros((G, kmax)), np.ones((G, kmax))
    M = np.zeros((G, kmax), bool)
    Y[code, pos], V[code, pos], M[code, pos] = frame["_yi"], frame["_vi"], True
    grp = {}
    for col in columns:
        # codes per group (padding rows get a code of their own, never shared with data)
        codes = pd.factorize(frame[col].astype(str))[0]
        arr = np.full((G, kmax), -1, dtype=np.int64)
        arr[code, pos] = codes
        arr = np.where(M, arr, codes.max() + 1 + np.arange(kmax)[None, :])
        grp[col] = arr
    fit = meta_analysis_mv_batch(Y, V, mask=M, random=random, groups=grp, method=method,
                                 test=test, level=level, errors=errors)
    out = keys.copy()
    for name in _SWEEP_FIELDS:
        out[name] = getattr(fit, name)[:, 0]
    from sleepmeta.pooling.multilevel.random import parse_random_list

    labels = [t.label for t in parse_random_list(random) if t.is_intercept]
    for j, lab in enumerate(labels):
        out[f"sigma2_{lab.replace('/', '_')}"] = fit.sigma2[:, j]
    out["converged"] = fit.converged
    return out
