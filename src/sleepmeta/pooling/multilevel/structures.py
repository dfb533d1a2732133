"""Variance structures of random effects, as metafor's ``rma.mv`` defines them.

A random-effects term adds ``(Z1 G Z1') * (Z2 Z2')`` to the marginal
covariance (``*`` is the elementwise product; ``Z1`` codes the inner levels —
outcomes, arms — or, for ``GEN``, holds the random-slope covariates; ``Z2``
codes the outer clusters). A ``~ 1 | f`` term adds ``sigma2 * Z Z'``, the
structure :class:`Sigma`. The matrix ``G`` (``q x q``) is, in metafor's
parametrisation (``.con.E`` in metafor 3.8; Viechtbauer's ``rma.mv`` help page):

* ``ID``: ``tau2 * I``; ``DIAG``: ``diag(tau2_1..tau2_q)``;
* ``CS``: ``tau2`` on the diagonal, ``rho * tau2`` off it;
* ``HCS``: ``tau2_a`` on the diagonal, ``rho * tau_a * tau_b`` off it
  (optimised in ``tau_a``, so a variance of 0 is not a singular point);
* ``UN`` and ``GEN``: any positive semi-definite matrix (variances ``tau2_a``,
  correlations ``rho_ab`` in R's ``lower.tri`` order), optimised through its
  Cholesky factor as metafor does (``cholesky=TRUE``), so a singular ``G``
  (a correlation of +-1) is reachable;
* ``AR``: ``tau2 * rho^|a - b|`` over the positions of the sorted inner levels;
  ``HAR``: ``tau_a tau_b * rho^|a - b|`` (heteroscedastic, optimised in ``tau_a``
  as HCS).

Every ``G`` is written as ``sum_l c_l(theta) E_l`` over fixed symmetric
basis pairs ``E_l`` (one per pair ``a <= b`` of inner levels, see
:mod:`.blocks`), so the marginal covariance is ``V + sum_l c_l B_l``. Each
structure gives its working parameters ``theta`` (covariances rather than
correlations where that makes ``G`` linear), the coefficients ``c(theta)`` on
the pair basis with their Jacobian, bounds, and the reported ``tau2``/``rho``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STRUCTS = ("CS", "HCS", "UN", "ID", "DIAG", "AR", "HAR", "GEN")

__all__ = ["STRUCTS", "Structure", "pairs"]


def _chol_params(G: np.ndarray) -> np.ndarray:
    """Working parameters of UN/GEN: the Cholesky factor of ``G`` (B, q, q) in pair order."""
    q = G.shape[-1]
    Lm = np.linalg.cholesky(G + 1e-14 * np.eye(q) * np.abs(G).max())
    return np.stack([Lm[:, b, a] for a, b in pairs(q)], axis=1)


def pairs(q: int) -> list[tuple[int, int]]:
    """The basis pairs ``(a, b)``, ``a <= b``: diagonal first, then R's ``lower.tri`` order.

    >>> pairs(3)
    [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]
    """
    out = [(a, a) for a in range(q)]
    out += [(a, b) for b in range(q) for a in range(b + 1, q)]  # column-major lower triangle
    return [(min(a, b), max(a, b)) for a, b in out]


@dataclass(frozen=True)
class Structure:
    """One random-effects term's parametrisation (see the module docstring).

    Attributes
    ----------
    struct : str
        ``"SIGMA"`` for a ``~ 1 | f`` term, or one of :data:`STRUCTS`.
    q : int
        Number of inner levels (or random-slope columns for ``GEN``); 1 for SIGMA.
    rho_fixed : bool
        ``rho`` fixed at 0 (metafor does this for CS/HCS/AR when no cluster
        holds two inner levels, or when there is one inner level).
    varcor : bool
        Work in variances and correlations (metafor's own parameters) rather
        than ``(tau2, cov)`` for CS and the Cholesky factor for UN/GEN; the
        profile likelihood fixes one of these at a time.

    >>> import numpy as np
    >>> s = Structure("CS", 2)
    >>> s.G(s.from_report(np.array([[2.0]]), np.array([[0.5]])))[0].tolist()
    [[2.0, 1.0], [1.0, 2.0]]
    """

    struct: str
    q: int
    rho_fixed: bool = False
    varcor: bool = False  # CS/UN/GEN in metafor's (tau2, rho) parametrisation (for profiles)

    # ---- sizes -------------------------------------------------------------------------
    @property
    def n_basis(self) -> int:
        """Number of basis matrices (pairs of inner levels; 1 for SIGMA)."""
        return 1 if self.struct == "SIGMA" else self.q * (self.q + 1) // 2

    @property
    def n_tau2(self) -> int:
        if self.struct in ("SIGMA",):
            return 0
        return self.q if self.struct in ("HCS", "HAR", "DIAG", "UN", "GEN") else 1

    @property
    def n_rho(self) -> int:
        """Number of correlations metafor reports (estimated or fixed)."""
        if self.struct == "SIGMA":
            return 0
        if self.struct in ("UN", "GEN"):
            return max(self.q * (self.q - 1) // 2, 1)
        return 1

    @property
    def n_params(self) -> int:
        """Number of working parameters that are estimated."""
        s, q = self.struct, self.q
        if s in ("SIGMA", "ID"):
            return 1
        if s == "DIAG":
            return q
        if s in ("UN", "GEN"):
            return q * (q + 1) // 2
        extra = 0 if self.rho_fixed else 1
        return (q if s in ("HCS", "HAR") else 1) + extra

    @property
    def n_estimated(self) -> int:
        """Parameters metafor counts in ``parms`` (estimated variances and correlations)."""
        return self.n_params

    def variance_mask(self) -> np.ndarray:
        """Which working parameters are variances (bounded below by 0)."""
        m = np.zeros(self.n_params, bool)
        s, q = self.struct, self.q
        if s in ("SIGMA", "ID", "DIAG"):
            m[:] = True
        elif s in ("UN", "GEN"):
            m[:q] = True  # SDs, or the Cholesky factor's diagonal (>= 0, the canonical factor)
        elif s in ("HCS", "HAR"):
            m[:q] = True
        else:  # CS, AR: tau2 first
            m[0] = True
        return m

    def working_value(self, i: int, value):
        """The working parameter ``i`` for a reported value (tau2 -> tau for HCS)."""
        if (self.struct in ("HCS", "HAR") or (self.struct in ("UN", "GEN") and self.varcor)) and i < self.q:
            return np.sqrt(value)
        return value

    def correlation_mask(self) -> np.ndarray:
        """Which working parameters are correlations (bounded by -1 and 1)."""
        m = np.zeros(self.n_params, bool)
        s = self.struct
        if s in ("HCS", "HAR", "AR") and not self.rho_fixed:
            m[-1] = True
        elif s == "CS" and self.varcor and not self.rho_fixed:
            m[1] = True
        elif s in ("UN", "GEN") and self.varcor:
            m[self.q:] = True
        return m

    # ---- start values --------------------------------------------------------------------
    def start(self, total: np.ndarray) -> np.ndarray:
        """Start values (B, P): metafor's share of the residual variance, rho = 0.5."""
        B = total.shape[0]
        s, q = self.struct, self.q
        th = np.zeros((B, self.n_params))
        v = total[:, None]
        if s in ("SIGMA", "ID", "DIAG"):
            th[:] = v
        elif s in ("UN", "GEN"):
            G0 = np.full((q, q), 0.5) + 0.5 * np.eye(q)
            th[:] = _chol_params(np.sqrt(v)[:, :, None] * G0[None] * np.sqrt(v)[:, None, :])
        elif s in ("HCS", "HAR"):
            th[:, :q] = np.sqrt(v)  # standard deviations
            if not self.rho_fixed:
                th[:, q] = 0.5
        elif s == "CS":
            th[:, 0] = total
            if not self.rho_fixed:
                th[:, 1] = 0.5 * total
        elif s == "AR":
            th[:, 0] = total
            if not self.rho_fixed:
                th[:, 1] = 0.5
        return th

    # ---- G as coefficients on the pair basis --------------------------------------------
    def coef(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients ``c`` (B, L) on the basis and the Jacobian ``dc/dtheta`` (B, L, P)."""
        B = theta.shape[0]
        s, q = self.struct, self.q
        prs = pairs(q) if s != "SIGMA" else [(0, 0)]
        L, P = len(prs), self.n_params
        c = np.zeros((B, L))
        J = np.zeros((B, L, P))
        diag = [i for i, (a, b) in enumerate(prs) if a == b]
        off = [i for i, (a, b) in enumerate(prs) if a != b]
        if s == "SIGMA":
            c[:, 0] = theta[:, 0]
            J[:, 0, 0] = 1.0
        elif s == "ID":
            c[:, diag] = theta[:, :1]
            J[:, diag, 0] = 1.0
        elif s == "DIAG":
            c[:, diag] = theta
            J[:, diag, np.arange(q)] = 1.0
        elif s in ("UN", "GEN") and self.varcor:  # SDs tau_a and correlations rho_ab
            sd = theta[:, :q]
            c[:, diag] = sd**2
            J[:, diag, np.arange(q)] = 2 * sd
            for j, i in enumerate(off):
                a, b = prs[i]
                rho = theta[:, q + j]
                c[:, i] = rho * sd[:, a] * sd[:, b]
                J[:, i, q + j] = sd[:, a] * sd[:, b]
                J[:, i, a] += rho * sd[:, b]
                J[:, i, b] += rho * sd[:, a]
        elif s in ("UN", "GEN"):
            Lm = np.zeros((B, q, q))
            for i, (a, b) in enumerate(prs):
                Lm[:, b, a] = theta[:, i]  # lower triangle: row b >= column a
            for i, (a, b) in enumerate(prs):
                c[:, i] = (Lm[:, a, :] * Lm[:, b, :]).sum(axis=1)
                for j, (e, f) in enumerate(prs):  # d G_ab / d L_fe (row f, column e)
                    if f == a:
                        J[:, i, j] += Lm[:, b, e]
                    if f == b:
                        J[:, i, j] += Lm[:, a, e]
        elif s == "CS" and self.varcor and not self.rho_fixed:
            c[:, diag] = theta[:, :1]
            J[:, diag, 0] = 1.0
            c[:, off] = (theta[:, 1] * theta[:, 0])[:, None]
            J[:, off, 0] = theta[:, 1:2]
            J[:, off, 1] = theta[:, 0:1]
        elif s == "CS":
            c[:, diag] = theta[:, :1]
            J[:, diag, 0] = 1.0
            if not self.rho_fixed:
                c[:, off] = theta[:, 1:2]
                J[:, off, 1] = 1.0
        elif s == "HCS":  # working parameters: the SDs tau_a (smooth at 0) and rho
            sd = theta[:, :q]
            c[:, diag] = sd**2
            J[:, diag, np.arange(q)] = 2 * sd
            if not self.rho_fixed:
                rho = theta[:, q]
                for i in off:
                    a, b = prs[i]
                    c[:, i] = rho * sd[:, a] * sd[:, b]
                    J[:, i, q] = sd[:, a] * sd[:, b]
                    J[:, i, a] = rho * sd[:, b]
                    J[:, i, b] = rho * sd[:, a]
        elif s == "HAR":  # SDs tau_a and rho, as HCS, with rho^|a - b| off the diagonal
            sd = theta[:, :q]
            rho = np.zeros(B) if self.rho_fixed else theta[:, q]
            for i, (a, b) in enumerate(prs):
                lag = b - a
                c[:, i] = rho**lag * sd[:, a] * sd[:, b]
                J[:, i, a] += rho**lag * sd[:, b]
                J[:, i, b] += rho**lag * sd[:, a]
                if not self.rho_fixed and lag > 0:
                    J[:, i, q] = lag * rho ** (lag - 1) * sd[:, a] * sd[:, b]
        elif s == "AR":
            t2 = theta[:, 0]
            rho = np.zeros(B) if self.rho_fixed else theta[:, 1]
            for i, (a, b) in enumerate(prs):
                lag = b - a
                c[:, i] = t2 * rho**lag
                J[:, i, 0] = rho**lag
                if not self.rho_fixed and lag > 0:
                    J[:, i, 1] = t2 * lag * rho ** (lag - 1)
        return c, J

    def G(self, theta: np.ndarray) -> np.ndarray:
        """The ``(B, q, q)`` covariance matrix of the term's random effects."""
        c, _ = self.coef(theta)
        q = self.q
        out = np.zeros((theta.shape[0], q, q))
        for i, (a, b) in enumerate(pairs(q) if self.struct != "SIGMA" else [(0, 0)]):
            out[:, a, b] = c[:, i]
            out[:, b, a] = c[:, i]
        return out

    def clip(self, theta: np.ndarray) -> np.ndarray:
        """Project onto the box of the parametrisation (variances >= 0, |rho| <= 1)."""
        th = theta.copy()
        vm = self.variance_mask()
        th[:, vm] = np.maximum(th[:, vm], 0.0)
        s = self.struct
        corr = self.correlation_mask()
        th[:, corr] = np.clip(th[:, corr], -1.0, 1.0)
        if s == "CS" and not self.rho_fixed and not self.varcor:
            th[:, 1] = np.clip(th[:, 1], -th[:, 0], th[:, 0])
        return th

    def feasible(self, theta: np.ndarray) -> np.ndarray:
        """Whether ``theta`` is admissible beyond its box, per member (B,).

        metafor requires only the marginal covariance ``M`` to be positive
        definite (checked by the likelihood), not ``G`` itself.
        """
        return np.ones(theta.shape[0], bool)  # as metafor: only M must be positive definite

    # ---- what metafor reports -------------------------------------------------------------
    def report(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(tau2, rho)`` as metafor reports them: (B, n_tau2) and (B, n_rho)."""
        B = theta.shape[0]
        s, q = self.struct, self.q
        if s == "SIGMA":
            return theta[:, :1], np.zeros((B, 0))
        if s in ("ID", "DIAG"):
            return theta.copy(), np.zeros((B, 1))
        if s in ("UN", "GEN") and self.varcor:
            return theta[:, :q] ** 2, (theta[:, q:] if q > 1 else np.zeros((B, 1)))
        if s in ("UN", "GEN"):
            c, _ = self.coef(theta)
            t2 = c[:, :q]
            if q == 1:
                return t2, np.zeros((B, 1))
            sd = np.sqrt(np.maximum(t2, 0))
            rho = np.zeros((B, q * (q - 1) // 2))
            for j, (a, b) in enumerate(pairs(q)[q:]):
                with np.errstate(divide="ignore", invalid="ignore"):
                    rho[:, j] = np.where(sd[:, a] * sd[:, b] > 0,
                                         c[:, q + j] / (sd[:, a] * sd[:, b]), 0.0)
            return t2, rho
        if s == "CS":
            t2 = theta[:, :1]
            if self.rho_fixed:
                return t2, np.zeros((B, 1))
            if self.varcor:
                return t2, theta[:, 1:2]
            with np.errstate(divide="ignore", invalid="ignore"):
                rho = np.where(t2[:, 0] > 0, theta[:, 1] / t2[:, 0], 0.0)
            return t2, rho[:, None]
        if s in ("HCS", "HAR"):
            rho = np.zeros((B, 1)) if self.rho_fixed else theta[:, q:q + 1]
            return theta[:, :q] ** 2, rho
        # AR
        rho = np.zeros((B, 1)) if self.rho_fixed else theta[:, 1:2]
        return theta[:, :1], rho

    def from_report(self, tau2: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """Working parameters from ``(tau2, rho)`` (the inverse of :meth:`report`)."""
        s, q = self.struct, self.q
        tau2 = np.atleast_2d(tau2)
        rho = np.atleast_2d(rho)
        B = tau2.shape[0]
        if s in ("SIGMA", "ID", "DIAG"):
            return tau2.copy()
        if s in ("UN", "GEN") and self.varcor:
            sd = np.sqrt(tau2)
            return np.column_stack([sd, rho]) if q > 1 else sd
        if s in ("UN", "GEN"):
            sd = np.sqrt(tau2)
            R = np.repeat(np.eye(q)[None], B, axis=0)
            for j, (a, b) in enumerate(pairs(q)[q:]):
                R[:, a, b] = R[:, b, a] = rho[:, j]
            return _chol_params(sd[:, :, None] * R * sd[:, None, :])
        if s == "CS":
            if self.rho_fixed:
                return tau2
            return np.column_stack([tau2[:, 0], rho[:, 0] * (1 if self.varcor else tau2[:, 0])])
        if s in ("HCS", "HAR"):
            sd = np.sqrt(tau2)
            return sd if self.rho_fixed else np.column_stack([sd, rho[:, 0]])
        return tau2 if self.rho_fixed else np.column_stack([tau2[:, 0], rho[:, 0]])
