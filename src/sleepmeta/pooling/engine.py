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
from sleepmeta.pooling.heterogeneity import i2_h2_from_q, i2_h2_from_tau2
from sleepmeta.pooling.inputs import studies_per_analysis
from sleepmeta.pooling.lazy import cached_property
from sleepmeta.pooling.kernels.batch import (
    BAD, CONV, CRIT, DF, FALLBACK, H2, I2, ITERS, LL_ML, LL_REML, N, Q, QM, S2W, SE, TAU2, VT,
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
    p: int
    beta: np.ndarray  # (B, p)
    vb: np.ndarray  # (B, p, p)
    se_beta: np.ndarray  # (B, p)
    tau2: np.ndarray
    tau2_se: np.ndarray
    q: np.ndarray
    vt: np.ndarray
    qm: np.ndarray
    qm_df: tuple
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

    # Computed when first asked for (a batch of a million analyses does not hold arrays that
    # nobody reads): the tests' statistics and limits (the kernel's expressions), and the
    # p-values from scipy.special's distribution functions (the ones scipy.stats calls)
    @cached_property
    def k(self) -> np.ndarray:
        """Studies per analysis."""
        return studies_per_analysis(self.mask)

    @cached_property
    def q_df(self) -> np.ndarray:
        """Degrees of freedom of Q, ``k - p`` (as floats)."""
        return (self.k - self.p).astype(float)

    @cached_property
    def _i2_h2(self):
        # the kernel's definition (it checks them for finiteness): heterogeneity's functions
        kp = self.q_df
        if ESTIMATOR_INFO[self.method].estimates_tau2:
            i2, h2 = i2_h2_from_tau2(self.tau2, self.vt)
        else:
            i2, h2 = i2_h2_from_q(self.q, kp)
        has_df = kp > 0
        return (i2, h2) if has_df.all() else (np.where(has_df, i2, 0.0), np.where(has_df, h2, 1.0))

    @property
    def i2(self) -> np.ndarray:
        return self._i2_h2[0]

    @property
    def h2(self) -> np.ndarray:
        return self._i2_h2[1]

    @cached_property
    def stat_beta(self) -> np.ndarray:
        se = self.se_beta
        if np.count_nonzero(se) == se.size:  # no warning to silence (the usual case)
            return self.beta / se
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.beta / se  # se = 0 only when s² = 0 (metafor: z = ±Inf)

    @cached_property
    def ci_low_beta(self) -> np.ndarray:
        return self.beta - self.crit[:, None] * self.se_beta

    @cached_property
    def ci_high_beta(self) -> np.ndarray:
        return self.beta + self.crit[:, None] * self.se_beta

    @cached_property
    def pval_beta(self) -> np.ndarray:
        a = np.abs(self.stat_beta)
        if not TESTS[self.test].residual_df:
            return 2 * special.ndtr(-a)
        with np.errstate(invalid="ignore"):
            p = 2 * special.stdtr(self.df[:, None], -a)
        z1 = self.z_fallback
        return np.where(z1[:, None], 2 * special.ndtr(-a), p) if np.count_nonzero(z1) else p

    @cached_property
    def qm_pvalue(self) -> np.ndarray:
        # (scipy.special's distribution functions return NaN for NaN or out-of-domain
        # arguments without floating-point warnings; qm >= 0 or NaN, so sqrt warns neither)
        m, qm = self.qm_df[0], self.qm
        if TESTS[self.test].residual_df:
            p = special.fdtrc(m, self.df, qm)
            z1 = self.z_fallback
            return np.where(z1, special.chdtrc(m, qm * m), p) if np.count_nonzero(z1) else p
        # chi² with 1 df is Z², whose tail is 2 Phi(-sqrt(x)): the same number as
        # chdtrc(1, x) (to rounding), which scipy computes ~100x more slowly for 1 df
        return 2 * special.ndtr(-np.sqrt(qm)) if m == 1 else special.chdtrc(m, qm)

    @cached_property
    def q_pvalue(self) -> np.ndarray:
        p = special.chdtrc(self.q_df, self.q)  # NaN where k - p = 0
        has_df = self.q_df > 0
        return p if np.count_nonzero(has_df) == has_df.size else np.where(has_df, p, 1.0)

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
    if B <= CHUNK:  # one pass: its k, k - p, I² and H² are kept (views of the kernel's output)
        arrays = _fit_chunk(yi, vi, mask, X, method, test, level, intercept, control)
        cached = {name: arrays.pop(name) for name in _CACHED}
    else:
        arrays = _fit_chunked(yi, vi, mask, X, method, test, level, intercept, control)
        cached = None
    qm_m = int(arrays.pop("qm_m"))
    fit = BatchFit(method=method, test=test, level=level, p=X.shape[-1], vi=vi, mask=mask,
                   qm_df=(qm_m, arrays["df"] if TESTS[test].residual_df else None), **arrays)
    if cached is not None:
        fit.__dict__.update(k=cached["k"], q_df=cached["q_df"], _i2_h2=cached["i2_h2"])
    return fit


def _fit_chunked(yi, vi, mask, X, method, test, level, intercept, control) -> dict:
    """:func:`_fit_chunk` over chunks of a large batch, each chunk's results written straight
    into the batch's arrays (k, I² and H² are left for BatchFit to compute when asked)."""
    B = mask.shape[0]
    rule = TESTS[test]
    # constant over the batch (z: crit, df; no scale: s2w): a large batch holds them once, as a
    # read-only broadcast, not once per analysis
    const = tuple(n for n, c in (("s2w", not rule.scaled), ("crit", not rule.residual_df),
                                 ("df", not rule.residual_df)) if c)
    arrays = None
    for sl in _chunks(B):
        part = _fit_chunk(_rows(yi, sl), _rows(vi, sl), mask[sl], _rows(X, sl), method, test,
                          level, intercept, control)
        for name in _CACHED:
            del part[name]
        if arrays is None:
            arrays = {name: a if name in _PER_MODEL or name in const
                      else np.empty((B,) + a.shape[1:], a.dtype) for name, a in part.items()}
        for name, a in part.items():
            if name not in _PER_MODEL and name not in const:
                arrays[name][sl] = a
    for name in const:
        arrays[name] = np.broadcast_to(arrays[name][0], (B,))
    return arrays


_PER_MODEL = ("btt", "qm_m")  # the same for every chunk
_CACHED = ("k", "q_df", "i2_h2")  # BatchFit's cached properties, filled from a single chunk
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
    """Steps 1-5 for one chunk of the batch, in the kernel.

    The kernel computes everything but the distribution functions (tau², the
    fit, the tests' SEs, Q, I², H², the log-likelihoods and a flag for
    non-finite results); ``scipy.special`` gives the t quantiles (one per
    distinct df) here and the p-values when they are asked for
    (:class:`BatchFit`).
    """
    rule = TESTS[test]
    p = X.shape[-1]
    alpha = 1 - level
    btt0 = 1 if (intercept and p > 1) else 0
    m = p - btt0
    crit = None
    if rule.residual_df:  # t quantiles, once per distinct df
        kp = studies_per_analysis(mask) - float(p)
        u, inv = np.unique(kp, return_inverse=True)
        crit = special.stdtrit(u, 1 - alpha / 2)[inv.ravel()]
    estimates = ESTIMATOR_INFO[method].estimates_tau2
    out, beta, vb, inf = fit_members(ESTIMATORS[method], yi, vi, mask, X,
                                     _kernel_control(control),
                                     _kernel_rule(test, alpha, btt0, estimates), crit)
    # k, k - p, I² and H² are at hand (the kernel's rows): a batch held in one chunk keeps them
    # (I² and H² as views of ``out``); a chunked batch computes them when asked (see fit_batch)
    k = out[N].astype(np.int64)
    return dict(k=k, q_df=out[N] - p, i2_h2=(out[I2], out[H2]),
                beta=beta, tau2=out[TAU2], tau2_se=out[SE], q=out[Q], vt=out[VT],
                ll_ml=out[LL_ML], ll_reml=out[LL_REML],
                converged=out[CONV].astype(bool), iterations=out[ITERS].astype(np.int64),
                fallback=out[FALLBACK].astype(bool), vb=vb, se_beta=inf, qm=out[QM], qm_m=m,
                df=out[DF], crit=out[CRIT], s2w=out[S2W], btt=np.arange(btt0, p),
                z_fallback=falls_back_to_z(k, test), nonfinite=out[BAD].astype(bool))


@functools.lru_cache(maxsize=64)
def _kernel_rule(test: str, alpha: float, btt0: int, estimates_tau2: bool) -> np.ndarray:
    """The kernel's rule array for a test, level and model (cached; the kernel only reads it)."""
    rule = TESTS[test]
    out = test_rule(scaled=rule.scaled, floor=rule.scale_floor, residual_df=rule.residual_df,
                    zcrit=float(-special.ndtri(alpha / 2)), btt0=btt0,
                    estimates_tau2=estimates_tau2, tau2_se=estimates_tau2)
    return out
