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

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from sleepmeta.pooling import registry
from sleepmeta.pooling.estimators import ESTIMATORS
from sleepmeta.pooling.feasibility import falls_back_to_z
from sleepmeta.pooling.kernels.batch import (
    BAD, CONV, CRIT, DF, FALLBACK, H2, I2, ITERS, LL_ML, LL_REML, Q, QM, S2W, SE, TAU2, VT,
    fit_members, test_rule,
)
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
    nonfinite: np.ndarray | None = field(default=None, repr=False)  # see inputs.nonfinite_members

    @property
    def weights(self) -> np.ndarray:
        """``(B, k)`` model weights ``1/(vi + tau²)``, zero outside the mask.

        Computed when asked for (the same expression as the kernel's), so a
        batch of a million analyses does not hold a second ``(B, k)`` array.
        """
        vi = np.broadcast_to(self.vi, self.mask.shape)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.where(self.mask, 1.0 / (vi + self.tau2[:, None]), 0.0)

    def member_weights(self, b: int) -> np.ndarray:
        """Row ``b`` of :attr:`weights`, computed for that member alone.

        Examples
        --------
        >>> fit = fit_batch(np.array([[0.2, 0.4]]), np.array([[0.01, 0.04]]),
        ...                 np.array([[True, False]]), np.ones((1, 2, 1)), method="FE")
        >>> fit.member_weights(0).tolist()
        [100.0, 0.0]
        """
        vi = self.vi[0 if self.vi.shape[0] == 1 else b]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.where(self.mask[b], 1.0 / (vi + self.tau2[b]), 0.0)

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
        return _control_array(con.threshold, con.maxiter, con.stepadj, fb.maxiter, fb.stepadj)
    return _control_array(control.threshold, control.maxiter, control.stepadj, -1, 1.0)


@functools.lru_cache(maxsize=64)
def _control_array(*values) -> np.ndarray:
    out = np.array(values, dtype=np.float64)
    return out


def _fit_chunk(yi, vi, mask, X, method, test, level, intercept, control) -> dict:
    """Steps 1-5 for one chunk of the batch: the kernel, then the p-values over arrays.

    The kernel computes everything but the distribution functions (tau², the
    fit, the tests' statistics and intervals, Q, I², H², the log-likelihoods
    and a flag for non-finite results); ``scipy.special`` gives the
    p-values and the t quantiles (one per distinct df).
    """
    rule = TESTS[test]
    p = X.shape[-1]
    alpha = 1 - level
    k = mask.sum(axis=1)
    kp = (k - p).astype(float)
    btt0 = 1 if (intercept and p > 1) else 0
    m = p - btt0
    crit = None
    if rule.residual_df:  # t quantiles, once per distinct df
        u, inv = np.unique(kp, return_inverse=True)
        crit = special.stdtrit(u, 1 - alpha / 2)[inv.ravel()]
    estimates = ESTIMATOR_INFO[method].estimates_tau2
    out, beta, vb, inf = fit_members(ESTIMATORS[method], yi, vi, mask, X,
                                     _kernel_control(control),
                                     _kernel_rule(test, alpha, btt0, estimates), crit)
    stat, qm, q = inf[1], out[QM], out[Q]
    z1 = falls_back_to_z(k, test)
    # scipy.special's distribution functions (the ones scipy.stats calls), without its overhead
    with np.errstate(divide="ignore", invalid="ignore"):
        if rule.residual_df:
            df = out[DF]
            pval = 2 * special.stdtr(df[:, None], -np.abs(stat))
            qm_p = special.fdtrc(m, df, qm)
            if z1.any():
                pval = np.where(z1[:, None], 2 * special.ndtr(-np.abs(stat)), pval)
                qm_p = np.where(z1, special.chdtrc(m, qm * m), qm_p)
        else:
            pval = 2 * special.ndtr(-np.abs(stat))
            # chi² with 1 df is Z², whose tail is 2 Phi(-sqrt(x)): the same number as
            # chdtrc(1, x) (to rounding), which scipy computes ~100x more slowly for 1 df
            qm_p = 2 * special.ndtr(-np.sqrt(qm)) if m == 1 else special.chdtrc(m, qm)
        has_df = kp > 0
        q_p = special.chdtrc(kp, q)
        if not has_df.all():
            q_p = np.where(has_df, q_p, 1.0)
    return dict(k=k, beta=beta, tau2=out[TAU2], tau2_se=out[SE], q=q, q_df=kp, q_pvalue=q_p,
                i2=out[I2], h2=out[H2], vt=out[VT], ll_ml=out[LL_ML], ll_reml=out[LL_REML],
                converged=out[CONV].astype(bool), iterations=out[ITERS].astype(np.int64),
                fallback=out[FALLBACK].astype(bool), vb=vb, se_beta=inf[0], stat_beta=stat,
                pval_beta=pval, ci_low_beta=inf[2], ci_high_beta=inf[3], qm=qm, qm_m=m,
                qm_pvalue=qm_p, df=out[DF], crit=out[CRIT], s2w=out[S2W],
                btt=np.arange(btt0, p), z_fallback=z1, nonfinite=out[BAD].astype(bool))


@functools.lru_cache(maxsize=64)
def _kernel_rule(test: str, alpha: float, btt0: int, estimates_tau2: bool) -> np.ndarray:
    """The kernel's rule array for a test, level and model (cached; the kernel only reads it)."""
    rule = TESTS[test]
    out = test_rule(scaled=rule.scaled, floor=rule.scale_floor, residual_df=rule.residual_df,
                    zcrit=float(-special.ndtri(alpha / 2)), btt0=btt0,
                    estimates_tau2=estimates_tau2, tau2_se=estimates_tau2)
    return out
