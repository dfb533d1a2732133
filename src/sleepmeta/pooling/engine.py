"""The one pooling engine: B analyses of up to k studies at once.

Everything that pools — a single meta-analysis, a meta-regression,
leave-one-out, permutation tests, simulations — calls :func:`fit_batch`
with padded ``(B, k)`` arrays and a boolean mask. The steps follow
metafor 3.8's ``rma.uni``:

1. tau² from the chosen estimator (:mod:`.estimators`);
2. weighted least squares with weights ``1/(vi + tau²)``;
3. the test of the registry (:data:`.registry.TESTS`): Wald-type tests
   (``z``); ``t`` (t and F tests with k - p df, the variance unchanged); the
   Knapp & Hartung (2003) adjustment (``knha``: the variance scaled by
   ``s² = Q(tau²)/(k-p)``, t and F tests with k - p denominator degrees of
   freedom); or ``adhoc``, the same with ``s²`` floored at 1 (Röver, Knapp &
   Friede 2015), as metafor 3.8's ``test = "adhoc"``;
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

from sleepmeta.pooling import registry
from sleepmeta.pooling.estimators import ESTIMATORS
from sleepmeta.pooling.feasibility import falls_back_to_z
from sleepmeta.pooling.kernels.batch import (
    CONV, FALLBACK, ITERS, LL_ML, LL_REML, Q, RSS, SE, TAU2, TRP, fit_members,
)
from sleepmeta.pooling.heterogeneity import i2_h2_from_q, i2_h2_from_tau2
from sleepmeta.pooling.registry import ESTIMATOR_INFO, TESTS, Control


@dataclass
class BatchFit:
    """Arrays for a batch of fitted models (leading axis = analysis).

    Examples
    --------
    >>> import numpy as np
    >>> fit = fit_batch(np.array([[0.2, 0.4]]), np.array([[0.01, 0.01]]),
    ...                 np.ones((1, 2), bool), np.ones((1, 2, 1)), method="FE")
    >>> round(float(fit.estimate[0]), 4), fit.converged.tolist()
    (0.3, [True])
    """

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
    z_fallback: np.ndarray | None = None  # k = 1 under a residual-df test: z used (metafor)
    notes: dict = field(default_factory=dict)  # member -> note, filled by the public entry points
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
    control: Control | None = None,
) -> BatchFit:
    """Fit B random- or common-effects (meta-regression) models at once.

    Inputs are trusted: validated ``(B, k)`` arrays (masked entries any
    finite value), ``X`` of shape ``(B or 1, k, p)`` of full column rank on
    each analysis's studies, names from :mod:`.registry`, and every analysis
    feasible by :mod:`.feasibility` (``k > p``, ``k >= 1`` for ``FE``).
    ``intercept`` says whether column 0 of ``X`` is an intercept (then the
    omnibus test QM leaves it out, as metafor does). ``control`` is
    metafor's ``control=`` for the iterative estimators (see
    :class:`.registry.Control`; ``None``: metafor's defaults with its
    halved-step remedy). A one-study member under a residual-df test
    (``knha``) gets a z test, as metafor's ``k = 1`` rule; ``z_fallback``
    flags it.

    Examples
    --------
    >>> import numpy as np
    >>> yi = np.array([[0.1, 0.3, 0.5], [0.4, 0.0, 0.0]])
    >>> vi = np.array([[0.01, 0.02, 0.03], [0.04, 1.0, 1.0]])
    >>> mask = np.array([[True, True, True], [True, False, False]])
    >>> fit = fit_batch(yi, vi, mask, np.ones((1, 3, 1)), method="FE", test="knha")
    >>> fit.k.tolist(), fit.z_fallback.tolist(), round(float(fit.se[1]), 4)
    ([3, 1], [False, True], 0.2)
    """
    mask = np.asarray(mask, bool)
    X = np.asarray(X, float)
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    if yi.ndim == 1:
        yi, vi = yi[None], vi[None]
    B = mask.shape[0]
    arrays = None
    for sl in _chunks(B):  # each chunk's results go straight into the batch's arrays
        part = _fit_chunk(_rows(yi, sl), _rows(vi, sl), mask[sl], _rows(X, sl), method, test,
                          level, intercept, control)
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
                    qm_df=(qm_m, arrays["df"] if TESTS[test].residual_df else None), **arrays)


_PER_MODEL = ("btt", "qm_m")  # the same for every chunk
CHUNK = 1 << 14  # analyses per pass: the temporaries of a pass stay in the cache, not in RAM


def _chunks(B: int) -> list[slice]:
    if B <= CHUNK:
        return [slice(0, B)]
    return [slice(lo, min(lo + CHUNK, B)) for lo in range(0, max(B, 1), CHUNK)]


def _rows(a: np.ndarray, sl: slice) -> np.ndarray:
    return a if a.shape[0] == 1 else a[sl]


def _kernel_control(control: Control | None) -> tuple:
    """``(threshold, maxiter, stepadj, fallback maxiter, fallback stepadj)`` for the kernel.

    ``control=None``: metafor's defaults with its halved-step remedy (read from
    :mod:`.registry` at each fit); an explicit control is used as given, with
    no remedy (fallback maxiter -1), as metafor does.
    """
    if control is None:
        con, fb = registry.DEFAULT_CONTROL, registry.FALLBACK_CONTROL
        return con.threshold, con.maxiter, con.stepadj, fb.maxiter, fb.stepadj
    return control.threshold, control.maxiter, control.stepadj, -1, 1.0


def _fit_chunk(yi, vi, mask, X, method, test, level, intercept, control) -> dict:
    """Steps 1-5 for one chunk of the batch: the kernel, then whole-array inference."""
    out, beta, A = fit_members(ESTIMATORS[method], yi, vi, mask, X,
                               *_kernel_control(control))
    k = mask.sum(axis=1)
    p = X.shape[-1]
    tau2 = out[TAU2]
    kp = (k - p).astype(float)
    # one errstate for the whole step: se = 0 only when s² = 0 (metafor: z = ±Inf), and members
    # that did not converge carry NaN
    with np.errstate(divide="ignore", invalid="ignore"):
        inf = _inference(beta, A, out[RSS], kp, k, test, level, intercept)
        q, q_p, i2, h2, vt = _heterogeneity(out[Q], out[TRP], kp, tau2, method)
    return dict(k=k, beta=beta, tau2=tau2, tau2_se=out[SE], q=q, q_df=kp, q_pvalue=q_p, i2=i2,
                h2=h2, vt=vt, ll_ml=out[LL_ML], ll_reml=out[LL_REML],
                converged=out[CONV].astype(bool), iterations=out[ITERS].astype(np.int64),
                fallback=out[FALLBACK].astype(bool), **inf)


def _inference(beta, A, rss, kp, k, test, level, intercept) -> dict:
    """Step 3: standard errors, tests, CIs and the omnibus test of each member.

    ``A = (X'WX)^-1`` at tau²; ``rss`` the weighted residual sum of squares
    there (Knapp–Hartung's ``s² = rss/(k-p)``). One branch per test; a new
    test adds a branch giving ``vb``, ``crit``, ``df`` and the p-values. A
    one-study member under a residual-df test gets a z test (metafor's
    ``k = 1`` rule), flagged in ``z_fallback``.
    """
    p = beta.shape[1]
    alpha = 1 - level
    z1 = falls_back_to_z(k, test)
    rule = TESTS[test]
    if rule.scaled:
        s2w = np.where(rss <= np.finfo(float).eps, 0.0, rss / kp)
        s2w = np.maximum(s2w, rule.scale_floor)  # adhoc: s² >= 1, as metafor
        s2w = np.where(z1, 1.0, s2w)
        vb = A * s2w[:, None, None]
    else:
        s2w = np.ones(rss.shape)
        vb = A
    se_beta = np.sqrt(vb[:, 0, 0, None] if p == 1 else np.einsum("bii->bi", vb))
    stat = beta / se_beta  # se = 0 only when s2w = 0 (metafor: z = ±Inf)
    btt = np.arange(1 if (intercept and p > 1) else 0, p)
    m = btt.size
    qm = _wald(beta[:, btt], vb[:, btt][:, :, btt])
    # scipy.special's distribution functions (the ones scipy.stats calls), without its overhead
    if rule.residual_df:
        df = np.where(z1, np.nan, kp)
        crit = np.where(z1, -special.ndtri(alpha / 2), special.stdtrit(df, 1 - alpha / 2))
        pval = np.where(z1[:, None], 2 * special.ndtr(-np.abs(stat)),
                        2 * special.stdtr(df[:, None], -np.abs(stat)))
        qm = qm / m
        qm_p = np.where(z1, special.chdtrc(m, qm * m), special.fdtrc(m, df, qm)) if m \
            else np.ones_like(qm)
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
                df=df, crit=crit, s2w=s2w, btt=btt, z_fallback=z1)


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
    if ESTIMATOR_INFO[method].estimates_tau2:
        i2, h2 = i2_h2_from_tau2(tau2, vt)
    else:
        i2, h2 = i2_h2_from_q(q, kp)
    i2 = np.where(has_df, i2, 0.0)
    h2 = np.where(has_df, h2, 1.0)
    return q, q_p, i2, h2, vt
