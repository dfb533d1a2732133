"""Performance measures of a simulation study, with Monte Carlo standard errors.

Each chunk of replicates is reduced to sufficient statistics per method: the
number of replicates, the number of failed fits, and for each per-replicate
quantity its mean and sum of squared deviations ``M2``. Chunks are combined in
a fixed order (condition, chunk) with the pairwise update of Chan, Golub &
LeVeque (1983), so the result does not depend on where or in which order
the chunks ran.

The measures and their Monte Carlo SEs are those of Morris, White & Crowther
(2019), Using simulation studies to evaluate statistical methods, Stat Med
38:2074-2102, Table 6, with ``n`` the number of successful replicates,
``e_i = mu_hat_i - mu`` and ``S²`` the sample variance:

=============  =======================================  ===========================================
measure        estimate                                 Monte Carlo SE
=============  =======================================  ===========================================
bias           mean(e)                                  sqrt(S²(e) / n)
empse          sqrt(S²(mu_hat))                         empse / sqrt(2 (n - 1))
mse            mean(e²)                                 sqrt(sum((e² - mse)²) / (n (n - 1)))
modse          sqrt(mean(se²))                          sqrt(S²(se²) / (4 n modse²))
coverage       mean(ci_low <= mu <= ci_high)            sqrt(cov (1 - cov) / n)
pi_coverage    mean(P(ci of theta_new))  (see below)    sqrt(S² / n)
ci_width       mean(ci_high - ci_low)                   sqrt(S² / n)
rejection      mean(pvalue < 1 - level)                 sqrt(r (1 - r) / n)
tau2_bias      mean(tau2_hat - tau2)                    sqrt(S² / n)
sigma2_*_bias  mean(sigma2_hat - sigma2)  (three-level)  sqrt(S² / n)
failure_rate   failed / replicates                      sqrt(f (1 - f) / replicates)
fallback_rate  halved-step fits / replicates            sqrt(g (1 - g) / replicates)
=============  =======================================  ===========================================

The coverage of a prediction interval is, per replicate, the share of the
true distribution of effects ``N(mu, tau²)`` it contains,
``Phi((pi_high - mu)/tau) - Phi((pi_low - mu)/tau)`` (Partlett & Riley 2017,
Stat Med 36:301-317), or whether it contains ``mu`` when ``tau² = 0``.
A replicate fails when its estimator did not converge, any of estimate,
CI or tau² is not finite, or its standard error is not > 0 (Knapp-Hartung
when all yi are equal); failures are counted and left out of every other
measure. ``fallback_rate`` counts the fits that converged only with the
engine's halved-step remedy for oscillating Fisher scoring (REML, ML, EB),
where metafor's ``rma`` with its defaults stops with an error.

In a three-level study (:mod:`sleepmeta.scale.multilevel`) ``tau2`` is the
total heterogeneity ``sigma2_cluster + sigma2_within`` (the variance of a new
estimate's true effect around ``mu``, so ``pi_coverage`` keeps its meaning),
and ``sigma2_cluster_bias`` and ``sigma2_within_bias`` are added: extra
per-replicate quantities (``<name>_err``) become ``<name>_bias`` measures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

QUANTITIES = ("err", "err2", "se2", "cover", "pi_cover", "width", "reject", "tau2_err")
PERFORMANCE = ("bias", "empse", "mse", "modse", "coverage", "pi_coverage", "ci_width",
               "rejection", "tau2_bias", "failure_rate", "fallback_rate")


def replicate_quantities(fit, mu: float, tau2: float, level: float,
                         skipped: np.ndarray | None = None) -> tuple[dict, np.ndarray]:
    """Per-replicate quantities of a :class:`~sleepmeta.pooling.BatchFit`, and the failures.

    A replicate fails when it is ``skipped`` (not fitted), did not converge,
    or has a non-finite estimate, CI or tau², or a standard error that is
    not > 0 (Knapp-Hartung with all yi equal).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> fit = SimpleNamespace(estimate=np.array([0.1, 0.4]), se=np.array([0.1, 0.1]),
    ...     ci_low=np.array([-0.1, 0.2]), ci_high=np.array([0.3, 0.6]),
    ...     pi_low=np.array([-0.1, 0.2]), pi_high=np.array([0.3, 0.6]),
    ...     pvalue=np.array([0.3, 0.001]), tau2=np.array([0.0, 0.0]),
    ...     converged=np.array([True, True]))
    >>> q, failed = replicate_quantities(fit, mu=0.15, tau2=0.0, level=0.95)
    >>> q["cover"].tolist(), q["reject"].tolist(), failed.tolist()
    ([1.0, 0.0], [0.0, 1.0], [False, False])
    """
    est, lo, hi = fit.estimate, fit.ci_low, fit.ci_high
    with np.errstate(invalid="ignore"):
        failed = ~(np.asarray(fit.converged, bool) & np.isfinite(est) & np.isfinite(lo)
                   & np.isfinite(hi) & np.isfinite(fit.tau2) & np.isfinite(fit.se)
                   & (fit.se > 0))
    if skipped is not None:
        failed |= skipped
    ok = ~failed
    est, lo, hi = est[ok], lo[ok], hi[ok]
    pi_lo, pi_hi = fit.pi_low[ok], fit.pi_high[ok]
    if tau2 > 0:
        tau = np.sqrt(tau2)
        pi_cover = ndtr((pi_hi - mu) / tau) - ndtr((pi_lo - mu) / tau)
    else:
        pi_cover = ((pi_lo <= mu) & (mu <= pi_hi)).astype(float)
    err = est - mu
    q = {
        "err": err,
        "err2": err**2,
        "se2": fit.se[ok] ** 2,
        "cover": ((lo <= mu) & (mu <= hi)).astype(float),
        "pi_cover": pi_cover,
        "width": hi - lo,
        "reject": (fit.pvalue[ok] < 1 - level).astype(float),
        "tau2_err": fit.tau2[ok] - tau2,
    }
    return q, failed


def chunk_statistics(quantities: dict, failed: np.ndarray, fallback=None) -> dict:
    """Reduce one chunk of one method to ``n_total, n_failed, n_fallback, <q>_mean, <q>_m2``.

    ``fallback`` marks successful fits that needed the engine's halved-step
    remedy for oscillating Fisher scoring (where metafor's ``rma`` stops).
    """
    row = {"n_total": int(failed.size), "n_failed": int(failed.sum()),
           "n_fallback": 0 if fallback is None else int(np.sum(fallback))}
    for name in QUANTITIES + tuple(q for q in quantities if q not in QUANTITIES):
        x = quantities[name]
        mean = float(x.mean()) if x.size else 0.0
        row[f"{name}_mean"] = mean
        row[f"{name}_m2"] = float(np.sum((x - mean) ** 2)) if x.size else 0.0
    return row


def combine(stats: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Combine chunk statistics per ``keys`` in the frame's row order (Chan et al. 1983)."""
    out = []
    for key, group in stats.groupby(keys, sort=False):
        acc = None
        for row in group.to_dict("records"):
            acc = dict(row) if acc is None else _merge(acc, row)
        out.append(acc)
    return pd.DataFrame(out)


def _merge(a: dict, b: dict) -> dict:
    na, nb = a["n_total"] - a["n_failed"], b["n_total"] - b["n_failed"]
    n = na + nb
    out = dict(a)
    out["n_total"] = a["n_total"] + b["n_total"]
    out["n_failed"] = a["n_failed"] + b["n_failed"]
    out["n_fallback"] = a["n_fallback"] + b["n_fallback"]
    for name in _names(a):
        ma, mb = a[f"{name}_mean"], b[f"{name}_mean"]
        if n == 0:
            continue
        delta = mb - ma
        out[f"{name}_mean"] = ma + delta * nb / n
        out[f"{name}_m2"] = a[f"{name}_m2"] + b[f"{name}_m2"] + delta**2 * na * nb / n
    return out


def _names(row: dict) -> tuple[str, ...]:
    """The quantities of a row of chunk statistics: QUANTITIES, then any extra ones."""
    extra = tuple(k[:-5] for k in row if k.endswith("_mean") and k[:-5] not in QUANTITIES)
    return QUANTITIES + extra


def performance(combined: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The tidy table: one row per ``keys`` and performance measure.

    Columns: ``keys``, ``performance``, ``estimate``, ``mcse``, ``n_sim``
    (successful replicates used) and ``n_failed``.
    """
    rows = []
    for rec in combined.to_dict("records"):
        n_total, n_failed = rec["n_total"], rec["n_failed"]
        for name, (est, mcse) in _measures(rec).items():
            rows.append({**{k: rec[k] for k in keys}, "performance": name, "estimate": est,
                         "mcse": mcse, "n_sim": n_total - n_failed, "n_failed": n_failed})
    return pd.DataFrame(rows)


def _measures(rec: dict) -> dict[str, tuple[float, float]]:
    n = rec["n_total"] - rec["n_failed"]
    with np.errstate(divide="ignore", invalid="ignore"):
        n = np.float64(n)

        def mean(q):
            return rec[f"{q}_mean"] if n > 0 else np.nan

        def var(q):  # sample variance S²
            return rec[f"{q}_m2"] / (n - 1) if n > 1 else np.nan

        def se_of_mean(q):
            return np.sqrt(var(q) / n)

        def prop(q):
            p = mean(q)
            return p, np.sqrt(p * (1 - p) / n)

        empse = np.sqrt(var("err"))
        modse = np.sqrt(mean("se2"))
        f = rec["n_failed"] / rec["n_total"]
        fb = rec["n_fallback"] / rec["n_total"]
        extra = {f"{q[:-4]}_bias": (mean(q), se_of_mean(q)) for q in _names(rec)
                 if q not in QUANTITIES and q.endswith("_err")}
        return {
            "bias": (mean("err"), se_of_mean("err")),
            "empse": (empse, empse / np.sqrt(2 * (n - 1))),
            "mse": (mean("err2"), se_of_mean("err2")),
            "modse": (modse, np.sqrt(var("se2") / (4 * n * modse**2))),
            "coverage": prop("cover"),
            "pi_coverage": (mean("pi_cover"), se_of_mean("pi_cover")),
            "ci_width": (mean("width"), se_of_mean("width")),
            "rejection": prop("reject"),
            "tau2_bias": (mean("tau2_err"), se_of_mean("tau2_err")),
            "failure_rate": (f, np.sqrt(f * (1 - f) / rec["n_total"])),
            "fallback_rate": (fb, np.sqrt(fb * (1 - fb) / rec["n_total"])),
            **extra,
        }
