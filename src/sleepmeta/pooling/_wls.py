"""Batched weighted least squares and the traces the tau² estimators need.

Every array has a leading batch axis ``B``: ``X`` is ``(B or 1, k, p)``,
``y``, ``w`` and ``d`` are ``(B, k)``. Studies outside an analysis carry a
weight of zero, so they drop out of every sum; no ``(k, k)`` matrix is ever
formed. With ``W = diag(w)``, ``A = (X'WX)^-1`` and
``P = W - W X A X' W`` (Viechtbauer 2005, eq. 5), the identities used are

* ``P y = w * e`` with ``e = y - X beta`` (so ``y'Py = sum(w e²)``),
* ``tr(PD) = sum(w d) - tr(A X'W²D X)``,
* ``tr(PDPD) = sum((w d)²) - 2 tr(A X'W³D² X) + tr((A X'W²D X)²)``,
* ``tr(PDP) = sum(w² d) - 2 tr(A X'W³D X) + tr(A X'W²D X A X'W² X)``,

for any diagonal ``D``; ``D = I`` gives ``tr(P)`` and ``tr(PP)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def rowsum(a: np.ndarray) -> np.ndarray:
    """Row sums of a ``(B, k)`` array (einsum: several times faster than
    ``a.sum(axis=1)`` for the short rows of meta-analyses).

    Examples
    --------
    >>> import numpy as np
    >>> rowsum(np.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [3.0, 7.0]
    """
    if a.shape[0] < 64:  # einsum's set-up cost dominates for small batches
        return np.add.reduce(a, axis=1)
    return np.einsum("ij->i", a)


def xdx(X: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``X' diag(d) X`` for a batch: ``(B, p, p)``.

    Examples
    --------
    >>> import numpy as np
    >>> xdx(np.ones((1, 3, 1)), np.array([[1.0, 2.0, 3.0]]))[0].tolist()   # sum(d)
    [[6.0]]
    """
    Xb = np.broadcast_to(X, d.shape + X.shape[-1:])
    return np.einsum("bkp,bk,bkq->bpq", Xb, d, Xb)


def _trace_prod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``tr(a @ b)`` for batches of square matrices."""
    return np.einsum("bij,bji->b", a, b)


@dataclass
class WLS:
    """Weighted least-squares fit of ``y`` on ``X`` with weights ``w`` (batched).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.column_stack([np.ones(3), [0.0, 1.0, 2.0]])[None]
    >>> f = wls(X, np.array([[1.0, 3.0, 5.0]]), np.ones((1, 3)))   # y = 1 + 2x exactly
    >>> np.round(f.beta, 10).tolist(), float(np.round(f.rss[0], 10))
    ([[1.0, 2.0]], 0.0)
    """

    X: np.ndarray
    y: np.ndarray
    w: np.ndarray
    A: np.ndarray  # (X'WX)^-1
    beta: np.ndarray  # (B, p)
    resid: np.ndarray  # (B, k)

    @property
    def rss(self) -> np.ndarray:
        """``y'Py = sum(w e²)``, the weighted residual sum of squares."""
        return rowsum(self.w * self.resid**2)

    def tr_pd(self, d: np.ndarray) -> np.ndarray:
        """``tr(P D)`` for ``D = diag(d)``."""
        w = self.w
        return rowsum(w * d) - _trace_prod(self.A, xdx(self.X, w * w * d))

    def tr_pdpd(self, d: np.ndarray) -> np.ndarray:
        """``tr(P D P D)`` for ``D = diag(d)``."""
        w = self.w
        awdw = self.A @ xdx(self.X, w * w * d)
        return (rowsum((w * d) ** 2)
                - 2.0 * _trace_prod(self.A, xdx(self.X, w**3 * d * d))
                + _trace_prod(awdw, awdw))

    def tr_pdp(self, d: np.ndarray) -> np.ndarray:
        """``tr(P D P)`` for ``D = diag(d)``."""
        w = self.w
        return (rowsum(w * w * d)
                - 2.0 * _trace_prod(self.A, xdx(self.X, w**3 * d))
                + _trace_prod(self.A @ xdx(self.X, w * w * d), self.A @ xdx(self.X, w * w)))

    def logdet_xwx(self) -> np.ndarray:
        """``log |X'WX|``."""
        return -np.linalg.slogdet(self.A)[1]

    def logdet_xdx(self, d: np.ndarray) -> np.ndarray:
        """``log |X' diag(d) X|``."""
        return np.linalg.slogdet(xdx(self.X, d))[1]


def wls(X: np.ndarray, y: np.ndarray, w: np.ndarray, ones: bool | None = None) -> WLS:
    """Fit weighted least squares on a batch; ``w = 0`` removes a study.

    Raises ``numpy.linalg.LinAlgError`` when ``X'WX`` is singular for a
    member of the batch; callers check the rank beforehand. ``ones`` says
    whether ``X`` is a single shared intercept column (found if not given).

    Examples
    --------
    >>> import numpy as np
    >>> f = wls(np.ones((1, 2, 1)), np.array([[1.0, 3.0]]), np.array([[1.0, 3.0]]))
    >>> float(f.beta[0, 0])   # weighted mean (1*1 + 3*3) / 4
    2.5
    """
    if X.shape[-1] == 1:
        return _wls1(X, y, w, ones)
    Xb = np.broadcast_to(X, w.shape + X.shape[-1:])
    xtw = np.swapaxes(Xb, 1, 2) * w[:, None, :]
    A = np.linalg.inv(xtw @ Xb)
    beta = np.einsum("bpq,bq->bp", A, np.einsum("bpk,bk->bp", xtw, y))
    resid = y - np.einsum("bkp,bp->bk", Xb, beta)
    return WLS(X=Xb, y=y, w=w, A=A, beta=beta, resid=resid)


@dataclass
class WLS1(WLS):
    """The same fit for a one-column design ``x``: every matrix is a scalar.

    Algebraically identical to :class:`WLS` with ``p = 1`` (``A = 1/sum(w x²)``);
    it skips the small-matrix machinery, which dominates for short analyses.

    Examples
    --------
    >>> import numpy as np
    >>> f = wls(np.ones((1, 2, 1)), np.array([[1.0, 3.0]]), np.array([[1.0, 3.0]]), ones=True)
    >>> type(f).__name__, float(f.beta[0, 0]), float(f.rss[0])   # 1*(1-2.5)² + 3*(3-2.5)²
    ('WLS1', 2.5, 3.0)
    """

    x2: np.ndarray = None  # (B or 1, k): squared design column
    ones: bool = False  # the column is an intercept (x = 1): skip multiplying by x²

    def _s(self, d):  # x' diag(d) x
        return rowsum(d) if self.ones else rowsum(d * self.x2)

    @property
    def a(self) -> np.ndarray:
        return self.A[:, 0, 0]

    def tr_pd(self, d):
        w = self.w
        return rowsum(w * d) - self.a * self._s(w * w * d)

    def tr_pdpd(self, d):
        w, a = self.w, self.a
        return rowsum((w * d) ** 2) - 2 * a * self._s(w**3 * d * d) + (a * self._s(w * w * d)) ** 2

    def tr_pdp(self, d):
        w, a = self.w, self.a
        return (rowsum(w * w * d) - 2 * a * self._s(w**3 * d)
                + a * self._s(w * w * d) * a * self._s(w * w))

    def logdet_xwx(self):
        return -np.log(self.a)

    def logdet_xdx(self, d):
        return np.log(self._s(d))


def _wls1(X: np.ndarray, y: np.ndarray, w: np.ndarray, ones: bool | None) -> WLS1:
    x = X[..., 0]
    if ones is None:
        ones = x.shape[0] == 1 and bool(np.all(x == 1))
    x2 = x * x
    if ones:
        a = 1.0 / rowsum(w)
        b = a * rowsum(w * y)
        resid = y - b[:, None]
    else:
        a = 1.0 / rowsum(w * x2)
        b = a * rowsum(w * x * y)
        resid = y - x * b[:, None]
    return WLS1(X=X, y=y, w=w, A=a[:, None, None], beta=b[:, None], resid=resid, x2=x2, ones=ones)
