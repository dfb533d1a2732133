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
from sleepmeta.pooling.multilevel.kernel import evaluate_kernel

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
    >>> beta, vb = float(ev.beta[0, 0]), float(ev.vb[0, 0, 0])
    >>> round(beta, 12), round(vb, 12), round(float(ev.ll_reml[0]), 6)
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
    logdet: np.ndarray | None = None  # (B,) log|M|
    rss: np.ndarray | None = None     # (B,) r'M^-1 r (QE at c = 0)


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


def evaluate(blocks: Blocks, c: np.ndarray, method: str, *, derivs: bool = False) -> Evaluation:
    """Evaluate the model at coefficients ``c`` (B, L) for every member.

    The sums run block by block in the compiled kernel
    (:func:`~.kernel.evaluate_kernel`).

    >>> import numpy as np
    >>> from sleepmeta.pooling.multilevel.blocks import Term, build_blocks
    >>> from sleepmeta.pooling.multilevel.structures import Structure
    >>> t = Term(Structure("SIGMA", 1), np.array([[0, 1]]))
    >>> b = build_blocks(np.array([[0.0, 1.0]]), np.eye(2)[None], np.ones((1, 2, 1)),
    ...                  np.ones((1, 2), bool), [t])
    >>> ev = evaluate(b, np.array([[0.0]]), "ML")
    >>> round(float(ev.beta[0, 0]), 12), round(float(ev.ll_ml[0]), 6)  # mean 0.5; -log(2 pi) - 1/4
    (0.5, -2.087877)
    """
    B = blocks.y.shape[0]
    p = blocks.X.shape[-1]
    L = blocks.bases.shape[2]
    c = np.ascontiguousarray(c, dtype=float).reshape(B, L)
    ll_ml, ll_reml, ok = np.empty(B), np.empty(B), np.empty(B, np.bool_)
    beta, vb = np.empty((B, p)), np.empty((B, p, p))
    shape = (B, L) if derivs else (0, 0)
    score = np.empty(shape)
    info, observed = np.empty(shape + (L,) if derivs else (0, 0, 0)), np.empty(
        shape + (L,) if derivs else (0, 0, 0))
    logdet, rss = np.empty(B), np.empty(B)
    evaluate_kernel(blocks.y, blocks.V, blocks.X, blocks.bases, blocks.sizes, c,
                    blocks.k.astype(float),
                    method == "REML", derivs, ll_ml, ll_reml, beta, vb, ok, score, info, observed,
                    logdet, rss)
    if not derivs:
        return Evaluation(ll_ml, ll_reml, beta, vb, ok, logdet=logdet, rss=rss)
    return Evaluation(ll_ml, ll_reml, beta, vb, ok, score, info, observed, logdet, rss)
