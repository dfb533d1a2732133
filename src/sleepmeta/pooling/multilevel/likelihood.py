"""The (restricted) log-likelihood of a multilevel model and its derivatives, batched.

With marginal covariance ``M = V + sum_l c_l B_l`` (block-diagonal, see
:mod:`.blocks`), ``W = M^-1``, ``A = X'WX`` and the GLS estimate
``beta = A^-1 X'Wy``, metafor 3.8 (``.ll.rma.mv``) defines

* ML:   ``ll = -k/2 log(2 pi) - 1/2 log|M| - 1/2 r'Wr``
* REML: ``ll = -(k-p)/2 log(2 pi) + 1/2 log|X'X| - 1/2 log|M| - 1/2 log|A| - 1/2 r'Wr``

with ``r = y - X beta`` (Harville 1977, JASA 72:320; the ``log|X'X|`` term is
metafor's default ``REMLf = TRUE``). The score and expected (Fisher)
information in the coefficients ``c_l`` are (Harville 1977, eqs. 4.5-4.6)

* ``s_l = -1/2 tr(P B_l) + 1/2 r'W B_l W r``,
* ``I_lm = 1/2 tr(P B_l P B_m)`` (expected), and the observed information
  ``-d2 ll / dc_l dc_m = r'W B_l P B_m W r - I_lm`` (with ``beta`` profiled out),

with ``P = W`` for ML and ``P = W - WX A^-1 X'W`` for REML. The REML traces
are expanded into per-block sums so no ``n x n`` matrix is formed:
``tr(P B_l) = tr(W B_l) - tr(A^-1 T_l)`` and
``tr(P B_l P B_m) = tr(W B_l W B_m) - 2 tr(A^-1 Q_lm) + tr(A^-1 T_l A^-1 T_m)``
with ``T_l = X'W B_l W X`` and ``Q_lm = X'W B_l W B_m W X``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleepmeta.pooling.multilevel.blocks import Blocks

LOG2PI = float(np.log(2 * np.pi))

__all__ = ["LOG2PI", "Evaluation", "evaluate", "marginal"]


@dataclass
class Evaluation:
    """Everything one evaluation gives, per member of the batch.

    ``y = 0, 1`` in two clusters, ``V = I``, ``sigma2 = 0``: ``beta`` is the
    mean 0.5 with variance 1/2, and the REML log-likelihood is
    ``-1/2 log(2 pi) + 1/2 log 2 - 1/2 log 2 - 1/4``:

    >>> import numpy as np
    >>> from sleepmeta.pooling.multilevel.blocks import Term, build_blocks
    >>> from sleepmeta.pooling.multilevel.structures import Structure
    >>> t = Term(Structure("SIGMA", 1), np.array([[0, 1]]))
    >>> b = build_blocks(np.array([[0.0, 1.0]]), np.eye(2)[None], np.ones((1, 2, 1)),
    ...                  np.ones((1, 2), bool), [t])
    >>> ev = evaluate(b, np.array([[0.0]]), "REML")
    >>> float(ev.beta[0, 0]), float(ev.vb[0, 0, 0]), round(float(ev.ll_reml[0]), 6)
    (0.5, 0.5, -1.168939)
    """

    ll_ml: np.ndarray
    ll_reml: np.ndarray
    beta: np.ndarray          # (B, p)
    vb: np.ndarray            # (B, p, p)
    ok: np.ndarray            # (B,) M positive definite
    score: np.ndarray | None = None  # (B, L)
    info: np.ndarray | None = None   # (B, L, L) expected information
    observed: np.ndarray | None = None  # (B, L, L) observed information (-Hessian)
    W: np.ndarray | None = None      # (B, G, m, m)
    M: np.ndarray | None = None


def marginal(blocks: Blocks, c: np.ndarray) -> np.ndarray:
    """``M = V + sum_l c_l B_l`` per block (B, G, m, m).

    Two rows of one cluster, ``V = I`` and ``sigma2 = 0.5``:

    >>> import numpy as np
    >>> from sleepmeta.pooling.multilevel.blocks import Term, build_blocks
    >>> from sleepmeta.pooling.multilevel.structures import Structure
    >>> t = Term(Structure("SIGMA", 1), np.array([[0, 0]]))
    >>> b = build_blocks(np.array([[0.0, 1.0]]), np.eye(2)[None], np.ones((1, 2, 1)),
    ...                  np.ones((1, 2), bool), [t])
    >>> marginal(b, np.array([[0.5]]))[0, 0].tolist()
    [[1.5, 0.5], [0.5, 1.5]]
    """
    if c.shape[1] == 0:
        return blocks.V.copy()
    return blocks.V + np.einsum("bl,bglij->bgij", c, blocks.bases)


def _chol(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched Cholesky; members whose block is not positive definite are flagged, not raised."""
    try:
        return np.linalg.cholesky(M), np.ones(M.shape[0], bool)
    except np.linalg.LinAlgError:
        L = np.zeros_like(M)
        ok = np.ones(M.shape[0], bool)
        for b in range(M.shape[0]):
            try:
                L[b] = np.linalg.cholesky(M[b])
            except np.linalg.LinAlgError:
                ok[b] = False
                L[b] = np.eye(M.shape[-1])
        return L, ok


def evaluate(blocks: Blocks, c: np.ndarray, method: str, *, derivs: bool = False,
             keep: bool = False) -> Evaluation:
    """Evaluate the model at coefficients ``c`` (B, L) for every member.

    >>> import numpy as np
    >>> from sleepmeta.pooling.multilevel.blocks import Term, build_blocks
    >>> from sleepmeta.pooling.multilevel.structures import Structure
    >>> t = Term(Structure("SIGMA", 1), np.array([[0, 1]]))
    >>> b = build_blocks(np.array([[0.0, 1.0]]), np.eye(2)[None], np.ones((1, 2, 1)),
    ...                  np.ones((1, 2), bool), [t])
    >>> ev = evaluate(b, np.array([[0.0]]), "ML")
    >>> float(ev.beta[0, 0]), round(float(ev.ll_ml[0]), 6)   # mean 0.5; -log(2 pi) - 1/4
    (0.5, -2.087877)
    """
    M = marginal(blocks, c)
    Lc, ok = _chol(M)
    logdet = 2 * np.log(np.diagonal(Lc, axis1=-2, axis2=-1)).sum(axis=(1, 2))
    eye = np.broadcast_to(np.eye(M.shape[-1]), M.shape)
    Linv = np.linalg.solve(Lc, eye)
    W = np.swapaxes(Linv, -1, -2) @ Linv
    X, y = blocks.X, blocks.y
    WX = W @ X                                           # (B, G, m, p)
    Wy = np.einsum("bgij,bgj->bgi", W, y)
    A = np.einsum("bgip,bgiq->bpq", X, WX)
    rhs = np.einsum("bgip,bgi->bp", X, Wy)
    vb = np.linalg.inv(A)
    beta = np.einsum("bpq,bq->bp", vb, rhs)
    r = y - np.einsum("bgip,bp->bgi", X, beta)
    u = Wy - np.einsum("bgip,bp->bgi", WX, beta)        # W r
    rss = np.einsum("bgi,bgi->b", r, u)
    k = blocks.k.astype(float)
    p = X.shape[-1]
    XtX = np.einsum("bgip,bgiq->bpq", X, X)
    ll_ml = -0.5 * k * LOG2PI - 0.5 * logdet - 0.5 * rss
    ll_reml = (-0.5 * (k - p) * LOG2PI + 0.5 * np.linalg.slogdet(XtX)[1] - 0.5 * logdet
               - 0.5 * np.linalg.slogdet(A)[1] - 0.5 * rss)
    ll_ml = np.where(ok, ll_ml, -np.inf)
    ll_reml = np.where(ok, ll_reml, -np.inf)
    ev = Evaluation(ll_ml, ll_reml, beta, vb, ok)
    if keep:
        ev.W, ev.M = W, M
    if derivs:
        ev.score, ev.info, ev.observed = _derivatives(blocks, W, WX, u, vb, method)
    return ev


def _derivatives(blocks: Blocks, W, WX, u, Ainv, method):
    Bm = blocks.bases                                     # (B, G, L, m, m)
    WB = np.einsum("bgij,bgljk->bglik", W, Bm)
    tr_WB = np.einsum("bglii->bl", WB)
    quad = np.einsum("bgi,bglij,bgj->bl", u, Bm, u)
    tr_WBWB = np.einsum("bglij,bgmji->blm", WB, WB)
    Bu = np.einsum("bglij,bgj->bgli", Bm, u)
    WBu = np.einsum("bgij,bglj->bgli", W, Bu)
    XWBu = np.einsum("bgip,bgli->blp", WX, Bu)  # X'W B_l u
    # u'B_l P B_m u with u = P y (beta profiled out, for ML as for REML)
    uBPBu = np.einsum("bgli,bgmi->blm", Bu, WBu) - np.einsum("blp,bpq,bmq->blm", XWBu, Ainv, XWBu)
    if method == "ML":
        score = -0.5 * tr_WB + 0.5 * quad
        info = 0.5 * tr_WBWB
        return score, info, uBPBu - info
    BWX = np.einsum("bglij,bgjp->bglip", Bm, WX)     # B_l W X
    T = np.einsum("bgip,bgliq->blpq", WX, BWX)       # X'W B_l W X
    WBWX = np.einsum("bgij,bgljp->bglip", W, BWX)    # W B_m W X
    Q = np.einsum("bglip,bgmiq->blmpq", BWX, WBWX)   # X'W B_l W B_m W X
    AT = np.einsum("bpq,blqr->blpr", Ainv, T)
    tr_AT = np.einsum("blpp->bl", AT)
    score = -0.5 * (tr_WB - tr_AT) + 0.5 * quad
    tr_AQ = np.einsum("bpq,blmqp->blm", Ainv, Q)
    tr_ATAT = np.einsum("blpq,bmqp->blm", AT, AT)
    info = 0.5 * (tr_WBWB - 2 * tr_AQ + tr_ATAT)
    return score, info, uBPBu - info
