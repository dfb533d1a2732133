"""Kendall's tau test as R's ``cor.test(method="kendall", exact=TRUE)`` computes it.

Without ties the p-value is exact: the null distribution of the number of
concordant pairs ``T`` of n observations is that of the number of inversions
of a random permutation (the Mahonian numbers, generating function
``prod_{j=1..n} (1 + x + ... + x^(j-1)) / n!``; Kendall 1938), and the
two-sided p-value is ``min(1, 2 P(T <= q))`` or ``min(1, 2 P(T >= q))`` for
the observed ``q = round((tau + 1) n (n - 1) / 4)`` on the side it falls.
With ties, tau is Kendall's tau-b and the p-value is from the normal
approximation of ``S`` with the tie-corrected variance (Kendall 1970), without
continuity correction, as ``cor.test``.

R computes the exact distribution in counts divided by ``n!``, which
overflows for n > 170 (its p-value is then 0 or 1); this module works in
probabilities, so it stays exact for larger n.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def inversion_cdf(n: int) -> np.ndarray:
    """``P(T <= t)`` for ``t = 0 .. n(n-1)/2``, T the inversions of a random permutation of n.

    >>> inversion_cdf(3).round(4).tolist()     # counts 1, 2, 2, 1 out of 3! = 6
    [0.1667, 0.5, 0.8333, 1.0]
    """
    dist = np.ones(1)
    for j in range(2, n + 1):
        s = np.concatenate((np.zeros(j), np.cumsum(dist), np.full(j - 1, dist.sum())))
        dist = (s[j:] - s[:-j]) / j  # convolve with the uniform on 0..j-1
    return np.minimum(np.cumsum(dist), 1.0)


def kendall_test(x: np.ndarray, y: np.ndarray) -> tuple[float, float, bool]:
    """Kendall's tau(-b) and its two-sided p-value; returns ``(tau, pvalue, exact)``.

    Examples
    --------
    >>> tau, p, exact = kendall_test([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0])
    >>> tau, round(p, 4), exact   # exact two-sided p = 2 / 4! (one ordering of 24)
    (1.0, 0.0833, True)
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = x.size
    tau = float(stats.kendalltau(x, y).statistic)
    ties = min(np.unique(x).size, np.unique(y).size) < n
    if not ties:
        q = np.round((tau + 1) * n * (n - 1) / 4)
        cdf = inversion_cdf(n)

        def pk(t):
            t = np.floor(t + 1e-7)
            return 0.0 if t < 0 else (1.0 if t >= cdf.size else float(cdf[int(t)]))

        p = 1 - pk(q - 1) if q > n * (n - 1) / 4 else pk(q)
        return tau, min(2 * p, 1.0), True
    _, xt = np.unique(x, return_counts=True)
    _, yt = np.unique(y, return_counts=True)
    xt, yt = xt[xt > 1].astype(float), yt[yt > 1].astype(float)
    t0 = n * (n - 1) / 2
    t1 = np.sum(xt * (xt - 1)) / 2
    t2 = np.sum(yt * (yt - 1)) / 2
    s = tau * np.sqrt((t0 - t1) * (t0 - t2))
    v0 = n * (n - 1) * (2 * n + 5)
    vt = np.sum(xt * (xt - 1) * (2 * xt + 5))
    vu = np.sum(yt * (yt - 1) * (2 * yt + 5))
    v1 = np.sum(xt * (xt - 1)) * np.sum(yt * (yt - 1))
    v2 = np.sum(xt * (xt - 1) * (xt - 2)) * np.sum(yt * (yt - 1) * (yt - 2))
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2))
    z = s / np.sqrt(var_s)
    return tau, float(2 * min(stats.norm.cdf(z), stats.norm.sf(z))), False
