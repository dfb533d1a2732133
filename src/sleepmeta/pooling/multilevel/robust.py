"""Cluster-robust inference for multilevel models, as metafor 3.8's ``robust``.

* ``small_sample=False`` — metafor's ``robust(x, cluster)``: the sandwich
  ``vb X'W (sum_j e_j e_j') W X vb`` with the CR1 factor ``J / (J - p)``
  (``J`` clusters), t tests with ``J - p`` df and ``F(m, J - p)`` for the
  omnibus test ``QM / m``.
* ``small_sample=True`` — ``robust(x, cluster, clubSandwich=TRUE)``, i.e.
  clubSandwich's CR2 estimator with the working model as target
  (Pustejovsky & Tipton 2018, JBES 36:672, eqs. 6-7, Bell & McCaffrey
  2002): ``A_j = U_j' [U_j (I - H)_jj M_j U_j']^{-1/2} U_j`` with ``U_j``
  the upper Cholesky factor of the cluster's marginal covariance ``M_j``,
  and ``V = vb (sum_j X_j'W_j A_j e_j e_j' A_j W_j X_j) vb``; t tests with
  Satterthwaite df ``(tr P)^2 / sum(P^2)`` (their eq. 11) and the omnibus
  test as their Hotelling's T² approximation "HTZ" (Tipton & Pustejovsky
  2015, JEBS 40:604).

The random effects must be nested within the clusters (clubSandwich's rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sleepmeta import distributions as stats
from sleepmeta._lookup import column_of
from sleepmeta.errors import InputError, ModelError
from sleepmeta.pooling.multilevel.likelihood import marginal
from sleepmeta.pooling.multilevel.optimise import Parameters

__all__ = ["RobustResult", "robust"]


@dataclass(frozen=True)
class RobustResult:
    """Cluster-robust coefficient tests (``coefficients``) and omnibus test.

    >>> import pandas as pd
    >>> from sleepmeta.pooling.multilevel import meta_analysis_mv
    >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.35, 0.6, 0.2, 0.5, 0.4, 0.1], "vi": [0.01] * 8,
    ...                   "study": [1, 1, 2, 2, 3, 3, 4, 4]})
    >>> rob = meta_analysis_mv("yi", "vi", random="~ 1 | study", data=d).robust("study")
    >>> rob.kind, rob.clusters
    ('CR2', 4)
    """

    kind: str                 # "CR2" or "CR1"
    clusters: int
    coefficients: pd.DataFrame  # estimate, se, statistic, df, pvalue, ci_low, ci_high
    vcov: np.ndarray
    qm: float
    qm_df: tuple
    qm_pvalue: float
    level: float
    notes: tuple = ()

    def summary(self) -> str:
        """A short text table."""
        lines = [f"Cluster-robust inference ({self.kind}; {self.clusters} clusters)", "",
                 f"QM F(df1 = {self.qm_df[0]}, df2 = {self.qm_df[1]:.2f}) = {self.qm:.4f}, "
                 f"p-val = {self.qm_pvalue:.4f}", ""]
        lines.append(self.coefficients.round(4).to_string())
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)


def _sym_power(A: np.ndarray, power: float) -> np.ndarray:
    """Symmetric matrix power over eigenvalues > 1e-12 (others 0), as clubSandwich's."""
    w, U = np.linalg.eigh(A)
    wp = np.where(w > 1e-12, np.abs(w) ** power, 0.0)
    return (U * wp) @ U.T


def _full(res):
    """Full n x n marginal covariance and its inverse from the blocks of the fit."""
    m = res.model
    params = Parameters(m.structures)
    c, _ = params.coef(m.theta) if params.P else (np.zeros((1, 0)), None)
    Mb = marginal(m.blocks, c)[0]
    rows = m.blocks.rows[0]
    n = m.y.size
    M = np.zeros((n, n))
    W = np.zeros((n, n))
    for g in range(rows.shape[0]):
        r = rows[g][rows[g] >= 0]
        sub = Mb[g][: r.size, : r.size]
        M[np.ix_(r, r)] = sub
        W[np.ix_(r, r)] = np.linalg.inv(sub)
    return M, W


def robust(res, cluster, *, small_sample: bool = True) -> RobustResult:
    """Cluster-robust tests of a :class:`~.result.MultilevelResult` (see module docstring).

    ``cluster`` is a column of the model's data or one value per row.

    >>> import pandas as pd
    >>> from sleepmeta.pooling.multilevel import meta_analysis_mv
    >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.35, 0.6, 0.2, 0.5, 0.4, 0.1], "vi": [0.01] * 8,
    ...                   "study": [1, 1, 2, 2, 3, 3, 4, 4]})
    >>> res = meta_analysis_mv("yi", "vi", random="~ 1 | study", data=d)
    >>> float(robust(res, "study", small_sample=False).coefficients["df"].iloc[0])  # J - p
    3.0
    """
    m = res.model
    n, p = m.X.shape
    cl = column_of(m.data, cluster, "cluster") if isinstance(cluster, str) else np.asarray(cluster)
    if len(cl) != n:
        raise InputError(f"cluster has {len(cl)} values but the model has {n} rows")
    if pd.isna(pd.Series(cl)).any():
        i = int(np.flatnonzero(pd.isna(pd.Series(cl)).to_numpy())[0])
        raise InputError(f"study {m.labels[i]!r}: cluster is missing")
    codes = pd.factorize(pd.Series(cl).astype(str))[0]
    J = int(codes.max()) + 1
    if J - p <= 0:
        raise ModelError(f"{J} clusters for {p} coefficients: cluster-robust tests need more "
                         "clusters than coefficients")
    block_rows = m.blocks.rows[0]
    for g in range(block_rows.shape[0]):
        r = block_rows[g][block_rows[g] >= 0]
        if np.unique(codes[r]).size > 1:
            raise ModelError(f"study {m.labels[r[0]]!r}: its random effects or covariances link "
                             "rows of different clusters; the random effects must be nested "
                             "within the clusters")
    M, W = _full(res)
    beta = res.coef_table[:, 0]
    vb = res.vcov
    e = m.y - m.X @ beta
    groups = [np.flatnonzero(codes == j) for j in range(J)]
    level = res.level
    btt = np.array(res.btt)
    if not small_sample:
        bread = vb @ m.X.T @ W
        comps = np.stack([bread[:, g] @ e[g] for g in groups], axis=1)
        V = (J / (J - p)) * comps @ comps.T
        se = np.sqrt(np.diag(V))
        df = np.full(p, float(J - p))
        t = beta / se
        crit = stats.t.isf((1 - level) / 2, df)
        mm = btt.size
        qm = float(beta[btt] @ np.linalg.solve(V[np.ix_(btt, btt)], beta[btt])) / mm
        qm_df = (mm, float(J - p))
        qm_p = float(stats.f.sf(qm, mm, J - p))
        return _result("CR1", J, res, beta, se, t, df, crit, V, qm, qm_df, qm_p)
    single = [m.labels[g[0]] for g in groups if g.size == 1]
    Gs, Hs, comps = [], [], []
    Lmx = np.linalg.cholesky(vb)
    for g in groups:
        Mj = M[np.ix_(g, g)]
        Wj = np.linalg.inv(Mj)
        Xj = m.X[g]
        U = np.linalg.cholesky(Mj).T                      # upper: U'U = Mj
        IH = np.eye(g.size) - Xj @ vb @ Xj.T @ Wj
        Gmat = U @ IH @ Mj @ U.T
        A = U.T @ _sym_power((Gmat + Gmat.T) / 2, -0.5) @ U
        E = Xj.T @ Wj @ A                                 # p x n_j
        comps.append(E @ e[g])
        ME = vb @ E
        Gs.append(ME @ U.T)                               # p x n_j
        Hs.append(ME @ Xj @ Lmx)                          # p x p
    comps = np.stack(comps, axis=1)
    V = vb @ comps @ comps.T @ vb
    se = np.sqrt(np.diag(V))
    H = np.stack(Hs, axis=2)                              # (p, p, J)
    gnorm = np.stack([(Gj**2).sum(axis=1) for Gj in Gs], axis=1)   # (p, J)
    df = np.empty(p)
    for i in range(p):
        P = -H[i].T @ H[i]
        P[np.diag_indices(J)] += gnorm[i]
        df[i] = np.trace(P) ** 2 / (P**2).sum()
    t = beta / se
    crit = stats.t.isf((1 - level) / 2, df)
    if res.p == 1 and res.intercept:
        qm, qm_df, qm_p = float(t[0] ** 2), (1, float(df[0])), float(2 * stats.t.sf(abs(t[0]), df[0]))
    else:
        qm, qm_df, qm_p = _htz(beta, V, Gs, H, btt, p, J)
    notes = () if not single else (
        f"{len(single)} cluster(s) with a single row (first: {single[0]!r}); CR2 is computed "
        "for them as clubSandwich does, but a one-row cluster adds little information on the "
        "within-cluster covariance",)
    return _result("CR2", J, res, beta, se, t, df, crit, V, qm, qm_df, qm_p, notes)


def _htz(beta, V, Gs, H, btt, p, J):
    """clubSandwich's HTZ Wald test of ``beta[btt] = 0``."""
    q = btt.size
    C = np.eye(p)[btt]
    CG = [C @ Gj for Gj in Gs]
    CH = np.einsum("ap,puj->auj", C, H)                   # (q, p, J)
    P = np.empty((q, q, J, J))
    for a in range(q):
        for b in range(q):
            tmp = -CH[a].T @ CH[b]
            tmp[np.diag_indices(J)] += np.array([(g[a] * g[b]).sum() for g in CG])
            P[a, b] = tmp
    omega = np.einsum("abjj->ab", P)
    On = _sym_power(omega, -0.5)
    Bjk = np.einsum("sa,abjk,bt->stjk", On, P, On)
    var = np.empty((q, q))
    for s in range(q):
        for t in range(q):
            var[s, t] = (Bjk[s, t] * Bjk[t, s]).sum() + (Bjk[s, s] * Bjk[t, t]).sum()
    nu = q * (q + 1) / var.sum()
    Cb = C @ beta
    Q = float(Cb @ np.linalg.solve(C @ V @ C.T, Cb))
    delta = max((nu - q + 1) / nu, 0.0)
    df2 = nu - q + 1
    F = delta * Q / q
    pval = float(stats.f.sf(F, q, df2)) if df2 > 0 else float("nan")
    return float(F), (q, float(df2)), pval


def _result(kind, J, res, beta, se, t, df, crit, V, qm, qm_df, qm_p, notes=()):
    pval = 2 * stats.t.sf(np.abs(t), df)
    table = pd.DataFrame({"estimate": beta, "se": se, "statistic": t, "df": df, "pvalue": pval,
                          "ci_low": beta - crit * se, "ci_high": beta + crit * se},
                         index=pd.Index(res.terms, name="term", dtype=object))
    return RobustResult(kind, J, table, V, qm, qm_df, qm_p, res.level, tuple(notes))
