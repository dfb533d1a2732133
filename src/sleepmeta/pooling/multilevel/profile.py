"""Profile-likelihood CIs of variance components, as metafor 3.8's ``confint.rma.mv``.

For each estimated component ``c`` (every ``sigma2``, then ``tau2`` and
``rho``, then ``gamma2`` and ``phi`` of a second ``inner | outer`` term) the bounds solve ``-2 (ll(c) - ll_max) = qchisq(level, 1)``, where
``ll(c)`` is the (restricted) log-likelihood maximised over everything else
with ``c`` held fixed (Hardy & Thompson 1996). As metafor does:

* the search interval is ``[0, max(10, 100 c)]`` for variances (``10`` when
  ``c <= sqrt(eps)``), ``[-1, 1]`` for correlations (``[min(0, c), 1]`` for AR);
* if the end of the interval is itself inside the region, it is the bound
  (and the upper one is reported as ``>``, i.e. ``ci_high_censored``);
* otherwise the bound is found by Brent's ``zeroin`` with R's ``uniroot``
  tolerance ``eps^0.25`` (:mod:`sleepmeta.pooling.zeroin`), so the answer is
  metafor's to that tolerance's precision.

All refits of all components run as one batch of the engine.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from sleepmeta import distributions as stats
from sleepmeta.pooling.multilevel.engine import fit_blocks
from sleepmeta.pooling.multilevel.optimise import Parameters
from sleepmeta.pooling.zeroin import DEFAULT_TOL, zeroin

EPS = float(np.finfo(float).eps)


def _components(res, structures, params):
    """(name, parameter index, estimate, kind, struct) of every estimated component."""
    out = []
    sig = [j for j, s in enumerate(structures) if s.struct == "SIGMA"]
    for n, j in enumerate(sig):
        if res.model.fixed[0, params.slices[j]].all():
            continue
        name = "sigma^2" if len(sig) == 1 else f"sigma^2.{n + 1}"
        out.append((name, params.slices[j].start, res.sigma2[n], "var", "SIGMA"))
    inner = 0
    for j, s in enumerate(structures):
        if s.struct == "SIGMA":
            continue
        var, cor, values, cors = (("tau^2", "rho", res.tau2, res.rho) if inner == 0 else
                                  ("gamma^2", "phi", res.gamma2, res.phi))
        inner += 1
        sl = params.slices[j]
        ntau = s.n_tau2
        for i in range(ntau):
            name = var if ntau == 1 else f"{var}.{i + 1}"
            out.append((name, sl.start + i, values[i], "var", s.struct))
        corr = np.flatnonzero(s.correlation_mask())
        for i, pos in enumerate(corr):
            name = cor if corr.size == 1 else f"{cor}.{i + 1}"
            out.append((name, sl.start + pos, cors[i], "rho", s.struct))
    return out


def profile_ci(res, level: float | None = None) -> pd.DataFrame:
    """Profile-likelihood CIs of every estimated variance component and correlation.

    Returns a DataFrame indexed by component (``sigma^2.1``, ``tau^2``, ``rho``,
    ...) with ``estimate, ci_low, ci_high`` and ``sqrt`` columns for the
    variances, plus ``ci_low_censored``/``ci_high_censored`` where the bound
    is the end of the searched interval (metafor prints ``<``/``>``).

    Examples
    --------
    >>> import pandas as pd
    >>> from sleepmeta.pooling.multilevel import meta_analysis_mv
    >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.35, 0.6, 0.2, 0.5, 0.9, 0.7],
    ...                   "vi": [0.01] * 8, "study": [1, 1, 2, 2, 3, 3, 4, 4]})
    >>> ci = meta_analysis_mv("yi", "vi", random="~ 1 | study", data=d).profile_ci()
    >>> list(ci.index)
    ['sigma^2', 'sigma']
    """
    level = res.level if level is None else level
    m = res.model
    structures = [dataclasses.replace(s, varcor=True) if s.struct in ("CS", "UN", "GEN") else s
                  for s in m.structures]
    params = Parameters(structures)
    theta = np.concatenate(
        [s.from_report(*orig.report(m.theta[:, sl]))
         for s, orig, sl in zip(structures, m.structures, Parameters(m.structures).slices)],
        axis=1) if params.P else np.zeros((1, 0))
    comps = _components(res, structures, params)
    ll_hat = res.ll
    objective = stats.chi2.ppf(level, 1)
    n = len(comps)
    rows = {}
    if n == 0:
        return pd.DataFrame(columns=["estimate", "ci_low", "ci_high"])
    est = np.array([c[2] for c in comps])
    lo = np.empty(n)
    hi = np.empty(n)
    for i, c in enumerate(comps):
        if c[3] == "var":
            lo[i] = 0.0
            hi[i] = 10.0 if est[i] <= EPS**0.5 else max(10.0, 100 * est[i])
        else:
            lo[i] = min(0.0, est[i]) if c[4] in ("AR", "HAR") else -1.0
            hi[i] = 1.0
    pos = np.array([c[1] for c in comps])
    owner = [next(j for j, sl in enumerate(params.slices) if sl.start <= p_ < sl.stop) for p_ in pos]
    # searches: n lower ones then n upper ones, each a refit with one parameter held
    which = np.concatenate([np.arange(n), np.arange(n)])
    blocks = m.blocks.take(np.zeros(2 * n, dtype=np.int64))
    fixed_base = np.repeat(m.fixed, 2 * n, axis=0)

    def f(x, idx):
        th0 = np.repeat(theta, idx.size, axis=0)
        fx = fixed_base[idx].copy()
        rows_ = np.arange(idx.size)
        for r_, (member, val) in enumerate(zip(which[idx], x)):
            j = owner[member]
            th0[r_, pos[member]] = structures[j].working_value(pos[member] - params.slices[j].start,
                                                               val)
        fx[rows_, pos[which[idx]]] = True
        fit = fit_blocks(blocks.take(idx), structures, res.method, theta0=th0, fixed=fx)
        return -2 * (fit.ll - ll_hat) - objective

    ends = np.concatenate([lo, hi])
    f_end = f(ends, np.arange(2 * n))
    f_est = np.full(2 * n, -objective)
    inside = f_end < 0
    bound = ends.copy()
    search = np.flatnonzero(~inside)
    if search.size:
        a = np.where(search < n, ends[search], est[which[search]])
        b = np.where(search < n, est[which[search]], ends[search])
        fa = np.where(search < n, f_end[search], f_est[search])
        fb = np.where(search < n, f_est[search], f_end[search])

        def g(x, idx):
            return f(x, search[idx])

        root, _, _ = zeroin(g, a, b, fa, fb, tol=DEFAULT_TOL)
        bound[search] = root
    for i, c in enumerate(comps):
        row = {"estimate": est[i], "ci_low": bound[i], "ci_high": bound[n + i],
               "ci_low_censored": bool(inside[i] and lo[i] > (0 if c[3] == "var" else -1)),
               "ci_high_censored": bool(inside[n + i] and (c[3] == "var" or hi[i] < 1))}
        rows[c[0]] = row
        if c[3] == "var":
            name = c[0].replace("^2", "")
            rows[name] = {"estimate": np.sqrt(est[i]), "ci_low": np.sqrt(bound[i]),
                          "ci_high": np.sqrt(bound[n + i]),
                          "ci_low_censored": row["ci_low_censored"],
                          "ci_high_censored": row["ci_high_censored"]}
    return pd.DataFrame.from_dict(rows, orient="index")
