"""The one pooling engine: B analyses of up to k studies at once.

Everything that pools — a single meta-analysis, a meta-regression,
leave-one-out, permutation tests, simulations — calls :func:`fit_batch`
with padded ``(B, k)`` arrays and a boolean mask. The steps follow
metafor 3.8's ``rma.uni``:

1. tau² from the chosen estimator (:mod:`.estimators`);
2. weighted least squares with weights ``1/(vi + tau²)``;
3. Wald-type tests (``z``) or the Knapp & Hartung (2003) adjustment
   (``knha``: the variance scaled by ``s² = Q(tau²)/(k-p)``, t and F tests with
   k - p denominator degrees of freedom);
4. the Q test with weights ``1/vi``; the "typical" within-study variance
   ``vt = (k - p)/tr(P)`` (Higgins & Thompson 2002, generalised), and
   ``I² = 100 tau²/(vt + tau²)``, ``H² = tau²/vt + 1`` (for the common-effect
   model ``I² = 100 (Q - (k-p))/Q`` truncated at 0 and ``H² = Q/(k-p)``);
5. the prediction interval ``mu ± crit sqrt(se² + tau²)``, with crit the same
   quantile as the confidence interval (metafor's default).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from sleepmeta.errors import unknown_option
from sleepmeta.pooling.estimators import ESTIMATORS, iteration_limits
from sleepmeta.pooling.kernels.batch import (
    CONV, FALLBACK, ITERS, LL_ML, LL_REML, Q, RSS, SE, TAU2, TRP, fit_members,
)

TESTS = ("z", "knha")


@dataclass
class BatchFit:
    """Arrays for a batch of fitted models (leading axis = analysis)."""

    method: str
    test: str
    level: float
    k: np.ndarray
    p: int
    beta: np.ndarray  # (B, p)
    vb: np.ndarray  # (B, p, p)
    se_beta: np.ndarray  # (B, p)
    stat_beta: np.ndarray
    pval_beta: np.ndarray
    ci_low_beta: np.ndarray
    ci_high_beta: np.ndarray
    tau2: np.ndarray
    tau2_se: np.ndarray
    q: np.ndarray
    q_df: np.ndarray
    q_pvalue: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    vt: np.ndarray
    qm: np.ndarray
    qm_df: tuple
    qm_pvalue: np.ndarray
    df: np.ndarray  # t/F denominator df (NaN for z)
    crit: np.ndarray
    s2w: np.ndarray  # Knapp-Hartung scale (1 for z)
    ll_ml: np.ndarray
    ll_reml: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    fallback: np.ndarray  # Fisher scoring converged only with metafor's stepadj=0.5 remedy
    btt: np.ndarray = field(default_factory=lambda: np.array([0]))
    vi: np.ndarray | None = field(default=None, repr=False)  # (B or 1, k), for ``weights``
    mask: np.ndarray | None = field(default=None, repr=False)

    @property
    def weights(self) -> np.ndarray:
        """``(B, k)`` model weights ``1/(vi + tau²)``, zero outside the mask.

        Computed when asked for (the same expression as the kernel's), so a
        batch of a million analyses does not hold a second ``(B, k)`` array.
        """
        vi = np.broadcast_to(self.vi, self.mask.shape)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.where(self.mask, 1.0 / (vi + self.tau2[:, None]), 0.0)

    # the first coefficient (the pooled estimate of an intercept-only model)
    @property
    def estimate(self):
        return self.beta[:, 0]

    @property
    def se(self):
        return self.se_beta[:, 0]

    @property
    def statistic(self):
        return self.stat_beta[:, 0]

    @property
    def pvalue(self):
        return self.pval_beta[:, 0]

    @property
    def ci_low(self):
        return self.ci_low_beta[:, 0]

    @property
    def ci_high(self):
        return self.ci_high_beta[:, 0]

    @property
    def pi_low(self):
        return self.estimate - self.crit * np.sqrt(self.se**2 + self.tau2)

    @property
    def pi_high(self):
        return self.estimate + self.crit * np.sqrt(self.se**2 + self.tau2)


def check_options(method: str, test: str) -> None:
    """Raise :class:`UnknownOptionError` for an unknown estimator or test."""
    if method not in ESTIMATORS:
        raise unknown_option("method", method, ESTIMATORS)
    if test not in TESTS:
        raise unknown_option("test", test, TESTS)


def fit_batch(
    yi: np.ndarray,
    vi: np.ndarray,
    mask: np.ndarray,
    X: np.ndarray,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    intercept: bool = True,
) -> BatchFit:
    """Fit B random- or common-effects (meta-regression) models at once.

    Inputs are trusted: validated ``(B or 1, k)`` arrays (entries outside
    the mask are never read), a ``(B, k)`` mask, ``X`` of shape
    ``(B or 1, k, p)`` of full column rank on each analysis's studies, and
    every analysis with ``k > p`` (``k >= 1`` for ``FE``). ``intercept``
    says whether column 0 of ``X`` is an intercept (then the omnibus test
    QM leaves it out, as metafor does). Steps 1, 2 and 4 run in the
    compiled kernel (:mod:`.kernels.batch`); the inference step 3
    (:func:`_inference`) works on whole arrays.
    """
    check_options(method, test)
    mask = np.asarray(mask, bool)
    X = np.asarray(X, float)
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    if yi.ndim == 1:
        yi, vi = yi[None], vi[None]
    B = mask.shape[0]
    arrays = None
    for sl in _chunks(B):  # each chunk's results go straight into the batch's arrays
        part = _fit_chunk(_rows(yi, sl), _rows(vi, sl), mask[sl], _rows(X, sl), method, test,
                          level, intercept)
        if arrays is None and sl.stop == B:
            arrays = part
            break
        if arrays is None:
            arrays = {name: a if name in _PER_MODEL else np.empty((B,) + a.shape[1:], a.dtype)
                      for name, a in part.items()}
        for name, a in part.items():
            if name not in _PER_MODEL:
                arrays[name][sl] = a
    qm_m = int(arrays.pop("qm_m"))
    return BatchFit(method=method, test=test, level=level, p=X.shape[-1], vi=vi, mask=mask,
                    qm_df=(qm_m, arrays["df"] if test == "knha" else None), **arrays)


_PER_MODEL = ("btt", "qm_m")  # the same for every chunk
CHUNK = 1 << 14  # analyses per pass: the temporaries of a pass stay in the cache, not in RAM


def _chunks(B: int) -> list[slice]:
    if B <= CHUNK:
        return [slice(0, B)]
    return [slice(lo, min(lo + CHUNK, B)) for lo in range(0, max(B, 1), CHUNK)]


def _rows(a: np.ndarray, sl: slice) -> np.ndarray:
    return a if a.shape[0] == 1 else a[sl]


def _fit_chunk(yi, vi, mask, X, method, test, level, intercept) -> dict:
    """Steps 1-5 for one chunk of the batch: the kernel, then whole-array inference."""
    maxiter, fb_maxiter = iteration_limits()
    out, beta, A = fit_members(ESTIMATORS[method], yi, vi, mask, X, maxiter, fb_maxiter)
    k = mask.sum(axis=1)
    p = X.shape[-1]
    tau2 = out[TAU2]
    kp = (k - p).astype(float)
    # one errstate for the whole step: se = 0 only when s² = 0 (metafor: z = ±Inf), and members
    # that did not converge carry NaN
    with np.errstate(divide="ignore", invalid="ignore"):
        inf = _inference(beta, A, out[RSS], kp, test, level, intercept)
        q, q_p, i2, h2, vt = _heterogeneity(out[Q], out[TRP], kp, tau2, method)
    return dict(k=k, beta=beta, tau2=tau2, tau2_se=out[SE], q=q, q_df=kp, q_pvalue=q_p, i2=i2,
                h2=h2, vt=vt, ll_ml=out[LL_ML], ll_reml=out[LL_REML],
                converged=out[CONV].astype(bool), iterations=out[ITERS].astype(np.int64),
                fallback=out[FALLBACK].astype(bool), **inf)


def _inference(beta, A, rss, kp, test, level, intercept) -> dict:
    """Step 3: standard errors, tests, CIs and the omnibus test of each member.

    ``A = (X'WX)^-1`` at tau²; ``rss`` the weighted residual sum of squares
    there (Knapp–Hartung's ``s² = rss/(k-p)``). One branch per test; a new
    test adds a branch giving ``vb``, ``crit``, ``df`` and the p-values.
    """
    p = beta.shape[1]
    alpha = 1 - level
    btt = np.arange(1 if (intercept and p > 1) else 0, p)
    m = btt.size
    if test == "knha":
        s2w = np.where(rss <= np.finfo(float).eps, 0.0, rss / kp)
        vb = A * s2w[:, None, None]
    else:
        s2w = np.ones(rss.shape)
        vb = A
    se_beta = np.sqrt(vb[:, 0, 0, None] if p == 1 else np.einsum("bii->bi", vb))
    stat = beta / se_beta  # se = 0 only when s2w = 0 (metafor: z = ±Inf)
    qm = _wald(beta[:, btt], vb[:, btt][:, :, btt])
    # scipy.special's distribution functions (the ones scipy.stats calls), without its overhead
    if test == "knha":
        df = kp
        crit = special.stdtrit(df, 1 - alpha / 2)
        pval = 2 * special.stdtr(df[:, None], -np.abs(stat))
        qm = qm / m
        qm_p = special.fdtrc(m, df, qm) if m else np.ones_like(qm)
    else:
        df = np.full(rss.shape, np.nan)
        crit = np.full(rss.shape, -special.ndtri(alpha / 2))
        pval = 2 * special.ndtr(-np.abs(stat))
        # chi² with 1 df is Z², whose tail is 2 Phi(-sqrt(x)): the same number as chdtrc(1, x)
        # (to rounding), which scipy computes ~100x more slowly for 1 df
        qm_p = (2 * special.ndtr(-np.sqrt(qm)) if m == 1 else special.chdtrc(m, qm) if m
                else np.ones_like(qm))
    return dict(vb=vb, se_beta=se_beta, stat_beta=stat, pval_beta=pval,
                ci_low_beta=beta - crit[:, None] * se_beta,
                ci_high_beta=beta + crit[:, None] * se_beta, qm=qm, qm_m=m, qm_pvalue=qm_p,
                df=df, crit=crit, s2w=s2w, btt=btt)


def _wald(b: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``b' V^-1 b`` for each member of a batch.

    NaN where ``V`` is not positive definite (e.g. Knapp–Hartung's scale is 0
    when all yi are equal), where metafor's Cholesky step fails and it
    reports QM as NA.
    """
    out = np.full(b.shape[0], np.nan)
    if b.shape[1] == 0:
        return np.zeros(b.shape[0])
    if b.shape[1] == 1:
        v = V[:, 0, 0]
        ok = v > 0
        out[ok] = b[ok, 0] ** 2 / v[ok]
        return out
    ok = np.all(np.linalg.eigvalsh(V) > 0, axis=1)
    if ok.any():
        bo = b[ok]
        out[ok] = np.einsum("bi,bi->b", bo, np.linalg.solve(V[ok], bo[..., None])[..., 0])
    return out


def _heterogeneity(qraw, trp, kp, tau2, method: str):
    """Q, its p-value, I², H² and the typical within-study variance (metafor's ``i2def = 1``)."""
    has_df = kp > 0
    q = np.where(has_df, np.maximum(0, qraw), 0.0)
    q_p = np.where(has_df, special.chdtrc(np.where(has_df, kp, 1), q), 1.0)
    vt = np.where(has_df, kp / trp, 0.0)
    if method == "FE":
        i2 = np.where(has_df & (q > 0), np.maximum(0, 100 * (q - kp) / q), 0.0)
        h2 = np.where(has_df, q / kp, 1.0)
    else:
        i2 = np.where(has_df, 100 * tau2 / (vt + tau2), 0.0)
        h2 = np.where(has_df, tau2 / vt + 1, 1.0)
    return q, q_p, i2, h2, vt
