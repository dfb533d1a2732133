"""Permutation tests for meta-analytic models (Follmann & Proschan 1999;
Higgins & Thompson 2004), as metafor 3.8's ``permutest.rma.uni``.

* Intercept-only model: the signs of the ``yi`` are flipped at random; the
  exact test enumerates all ``2^k`` sign vectors.
* Meta-regression: the rows of the design X are permuted (the pairs
  ``(yi, vi)`` stay together); the exact test enumerates all *distinct*
  permutations of the rows, ``k! / prod(n_j!)`` with ``n_j`` the counts of
  identical rows.
* The test is exact when ``exact=True`` or when the number of distinct
  permutations is at most ``n`` (metafor's default rule).
* An approximate test draws ``n - 1`` random permutations; the observed
  data count as the first (metafor replaces permutation 1 by the observed
  model), so ``p = #{stat_perm >= stat_obs - tol} / n`` with the observed
  statistic among the ``n`` (the "+1" of Phipson & Smyth 2010), and
  ``tol = sqrt(machine eps)``. For an exact test ``p`` is the same
  proportion over all enumerated permutations (the identity included).
* Coefficient p-values compare ``|z|`` (or ``|t|``); the omnibus p-value
  compares QM (the same coefficients as the model's QM).

All permuted models are fitted as ONE batch of the engine. A permuted model
whose tau² estimator does not converge with metafor's default Fisher scoring
(100 full steps; the engine's halved-step rescue is not counted) is dropped
(exact test: metafor's ``na.rm``) or replaced by a fresh draw (approximate
test), as metafor's ``try``/retry loop does; ``n`` counts the models kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sleepmeta.errors import ConvergenceError, InputError, ModelError
from sleepmeta.pooling.engine import fit_batch

COMPTOL = np.finfo(float).eps ** 0.5  # metafor's control$comptol
MAX_EXACT = 2**20  # largest exact enumeration run in memory
MAX_DRAWS = 10  # draws per permutation kept before giving up (fits that keep failing)


@dataclass(frozen=True)
class PermutationResult:
    """Permutation p-values of a fitted model.

    ``pvalues`` is indexed by term (the order of the coefficient table);
    ``n`` is the number of permutations (all distinct ones when ``exact``, as
    metafor's ``exact.iter``); ``n_dropped`` those of an exact test whose
    model could not be fitted (left out of the p-values, as metafor's
    ``na.rm``); ``statistic_perm`` and ``qm_perm`` hold the permutation
    distributions of the kept models (row 0 = observed data for approximate
    tests).

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.5, 0.6], [0.01] * 4, mods=[0, 1, 2, 3], method="FE")
    >>> pt = res.permutation_test(exact=True)
    >>> pt.exact, pt.n, pt.pvalues.index.tolist()
    (True, 24, ['intrcpt', 'x1'])
    """

    qm_pvalue: float
    pvalues: pd.Series
    n: int
    exact: bool
    exact_n: float
    statistic_perm: np.ndarray = field(repr=False)
    qm_perm: np.ndarray = field(repr=False)
    n_dropped: int = 0

    def to_frame(self) -> pd.DataFrame:
        """Coefficient p-values as a one-column DataFrame indexed by term."""
        return self.pvalues.to_frame("perm_pvalue")


def count_exact(res) -> int:
    """Number of distinct permutations (``2^k`` sign vectors, or distinct row orders of X).

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.5, 0.6], [0.01] * 4, mods=[0, 1, 2, 3], method="FE")
    >>> count_exact(res)   # 4! orderings of the moderator's distinct values
    24
    """
    if res.p == 1 and res.intercept:
        return 2**res.k
    _, counts = np.unique(res.X, axis=0, return_counts=True)
    total = math.factorial(res.k)
    for c in counts:
        total //= math.factorial(int(c))
    return total


def _unique_perms(codes: np.ndarray) -> np.ndarray:
    """All distinct permutations of a multiset of codes, in lexicographic order."""
    a = np.sort(codes).tolist()
    out = [a[:]]
    n = len(a)
    while True:  # Narayana's next-permutation, which skips duplicates
        i = n - 2
        while i >= 0 and a[i] >= a[i + 1]:
            i -= 1
        if i < 0:
            return np.array(out)
        j = n - 1
        while a[j] <= a[i]:
            j -= 1
        a[i], a[j] = a[j], a[i]
        a[i + 1:] = reversed(a[i + 1:])
        out.append(a[:])


def _fit(res, B, yi, X):
    # a row shared by all B models is passed once (the kernel reads it for each): no copies
    return fit_batch(yi, res.vi[None], np.ones((B, res.k), bool), X,
                     method=res.method, test=res.test, level=res.level, intercept=res.intercept)


def permutation_test(res, n: int = 1000, seed=None, exact: bool = False) -> PermutationResult:
    """Permutation p-values for each coefficient and the omnibus test (metafor's ``permutest``).

    Parameters
    ----------
    res : MetaResult
        A fitted model.
    n : int
        Number of permutations (>= 2) for an approximate test (1000).
    seed : int or numpy Generator, optional
        Seed of the random permutations (NumPy's generator: the draws differ
        from R's, so approximate p-values agree with metafor only within
        Monte-Carlo error).
    exact : bool
        Enumerate all distinct permutations even when there are more than ``n``.

    Returns
    -------
    PermutationResult

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([0.2, 0.5, 0.3, 0.4], [0.01, 0.02, 0.01, 0.03], method="FE")
    >>> perm = res.permutation_test()
    >>> perm.exact, perm.n, perm.qm_pvalue   # 16 sign flips; as extreme: observed, all flipped
    (True, 16, 0.125)
    """
    n = int(n)
    if n < 2:
        raise InputError(f"permutation_test: n must be >= 2, got {n}")
    exact_n = count_exact(res)
    use_exact = exact or exact_n <= n
    if use_exact and exact_n > MAX_EXACT:
        raise ModelError(f"permutation_test: an exact test needs {exact_n} permutations "
                         f"(more than {MAX_EXACT}); use exact=False")
    sign_flip = res.p == 1 and res.intercept
    rng = np.random.default_rng(seed)
    if use_exact:
        if sign_flip:
            bits = (np.arange(exact_n)[:, None] >> np.arange(res.k)[None, :]) & 1
            stat, qm = _run(res, 1 - 2 * bits.astype(float), None)
        else:
            rows, codes = np.unique(res.X, axis=0, return_inverse=True)
            stat, qm = _run(res, None, rows[_unique_perms(codes.ravel())])
        keep = ~np.isnan(qm)
        stat, qm = stat[keep], qm[keep]
        n_used, dropped = exact_n, int((~keep).sum())
    else:
        stats_, qms = [np.asarray(res.coefficients["statistic"])[None]], [np.array([res.qm])]
        have, drawn = 1, 0
        while have < n:
            need = n - have
            if drawn > MAX_DRAWS * n:  # bounded: a model that rarely fits must not loop forever
                raise ConvergenceError(
                    f"permutation_test: only {have - 1} of {drawn} permuted models could be "
                    f"fitted with {res.method}; use another estimator or an exact test")
            drawn += need
            if sign_flip:
                s, q = _run(res, rng.choice([-1.0, 1.0], size=(need, res.k)), None)
            else:
                perm = rng.permuted(np.tile(np.arange(res.k), (need, 1)), axis=1)
                s, q = _run(res, None, res.X[perm])
            keep = ~np.isnan(q)
            stats_.append(s[keep])
            qms.append(q[keep])
            have += int(keep.sum())
        stat, qm = np.concatenate(stats_), np.concatenate(qms)
        n_used, dropped = n, 0
    obs_stat = np.abs(res.coefficients["statistic"].to_numpy())
    pvals = np.mean(np.abs(stat) >= obs_stat[None, :] - COMPTOL, axis=0)
    qm_p = float(np.mean(qm >= res.qm - COMPTOL))
    return PermutationResult(
        qm_pvalue=qm_p, pvalues=pd.Series(np.minimum(pvals, 1), index=res.coefficients.index,
                                          name="perm_pvalue"),
        n=int(n_used), exact=bool(use_exact), exact_n=float(exact_n), statistic_perm=stat,
        qm_perm=qm, n_dropped=dropped)


def _run(res, signs, X):
    """Fit the permuted models (one batch); NaN rows for unconverged fits."""
    if signs is not None:
        fit = _fit(res, signs.shape[0], signs * res.yi[None, :], res.X[None])
    else:
        fit = _fit(res, X.shape[0], res.yi[None], X)
    # metafor's permutest drops a permuted model whose default Fisher scoring fails; the
    # engine rescues such models with halved steps (``fallback``): drop them too, to match
    ok = fit.converged & ~fit.fallback
    stat = np.where(ok[:, None], fit.stat_beta, np.nan)
    qm = np.where(ok, fit.qm, np.nan)
    return stat, qm
