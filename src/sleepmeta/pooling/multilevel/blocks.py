"""Padded block layout of multilevel models: ``(B, G, m)`` arrays.

The marginal covariance ``M = V + sum_l c_l B_l`` of a multilevel model is
block-diagonal over *blocks*: the groups of rows linked by a nonzero
sampling covariance or by a shared level of any random factor (for nested
models, the outermost cluster, e.g. the study or district). The likelihood,
its derivatives and the estimates are sums over blocks, so the engine works
on ``(B, G, m)`` arrays — B analyses, G blocks, at most m rows a block —
and never forms an ``n x n`` matrix. Padding rows (outside ``mask``) have
``V = 1`` on the diagonal, ``y = 0``, ``X = 0`` and no random effects, so
they add nothing to any sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sleepmeta.errors import InputError
from sleepmeta.pooling.multilevel.structures import Structure, pairs

__all__ = ["Term", "Blocks", "build_blocks", "connected_blocks"]


@dataclass(frozen=True)
class Term:
    """One random-effects term in engine form (integer codes, no names).

    Attributes
    ----------
    structure : Structure
        Its parametrisation (``SIGMA`` for ``~ 1 | f``).
    outer : ndarray of int, shape (B, n)
        Cluster code of each row (the factor ``f`` of ``~ 1 | f``, the outer
        factor of ``~ inner | outer``); rows of the same code share the effect.
    inner : ndarray of float, shape (B, n, q), optional
        ``Z1``: one-hot inner levels, or the random-slope covariates (GEN).

    >>> import numpy as np
    >>> t = Term(Structure("SIGMA", 1), np.array([[0, 0, 1, 1]]))
    >>> t.structure.n_params
    1
    """

    structure: Structure
    outer: np.ndarray
    inner: np.ndarray | None = None


@dataclass(frozen=True)
class Blocks:
    """Padded data of B analyses: see the module docstring.

    ``bases`` holds the basis matrices of all terms, term after term
    (``Structure.n_basis`` each); ``rows`` maps every slot to the row of the
    original data (-1 for padding); ``k`` is the number of rows per analysis.

    >>> import numpy as np
    >>> t = Term(Structure("SIGMA", 1), np.array([[0, 0, 1, 1, 1]]))
    >>> b = build_blocks(np.zeros((1, 5)), np.eye(5)[None], np.ones((1, 5, 1)),
    ...                  np.ones((1, 5), bool), [t])
    >>> b.y.shape, b.bases.shape, b.k.tolist()
    ((1, 2, 3), (1, 2, 1, 3, 3), [5])
    """

    y: np.ndarray      # (B, G, m)
    V: np.ndarray      # (B, G, m, m)
    X: np.ndarray      # (B, G, m, p)
    mask: np.ndarray   # (B, G, m)
    bases: np.ndarray  # (B, G, L, m, m)
    rows: np.ndarray   # (B, G, m)
    k: np.ndarray      # (B,)

    @cached_property
    def sizes(self) -> np.ndarray:
        """(B, G) slots of each block the kernels visit: its rows when they fill its first
        slots (as :func:`build_blocks` lays them out), else all ``m`` (padding in between
        adds nothing, it is only visited)."""
        count = self.mask.sum(axis=2)
        m = self.mask.shape[2]
        packed = (self.mask == (np.arange(m) < count[..., None])).all(axis=2)
        return np.ascontiguousarray(np.where(packed, count, m))

    @property
    def p(self) -> int:
        return self.X.shape[-1]

    def take(self, idx) -> "Blocks":
        """The members ``idx`` of the batch."""
        return Blocks(self.y[idx], self.V[idx], self.X[idx], self.mask[idx], self.bases[idx],
                      self.rows[idx], self.k[idx])


def connected_blocks(V: np.ndarray, terms, mask: np.ndarray) -> np.ndarray:
    """Block code of every row (B, n): connected components of shared covariance.

    Two rows are linked when ``V`` has a nonzero covariance between them or
    they share the cluster code of any term. Codes are 0..G-1 in order of
    first appearance; rows outside ``mask`` get -1.

    Examples
    --------
    Rows 0 and 2 share a sampling covariance, row 1 stands alone:

    >>> import numpy as np
    >>> V = np.array([[[1.0, 0.0, 0.5], [0.0, 1.0, 0.0], [0.5, 0.0, 1.0]]])
    >>> t = Term(Structure("SIGMA", 1), np.array([[0, 1, 2]]))
    >>> connected_blocks(V, [t], np.ones((1, 3), bool)).tolist()
    [[0, 1, 0]]
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    B, n = mask.shape
    out = np.full((B, n), -1, dtype=np.int64)
    for b in range(B):
        idx = np.flatnonzero(mask[b])
        adj = V[b][np.ix_(idx, idx)] != 0
        for t in terms:
            codes = t.outer[b, idx]
            adj |= codes[:, None] == codes[None, :]
        _, lab = connected_components(csr_matrix(adj), directed=False)
        _, first = np.unique(lab, return_index=True)
        order = np.argsort(np.argsort(first))  # renumber by first appearance
        out[b, idx] = order[lab]
    return out


def _nested_blocks(V, terms, mask):
    """Blocks from the coarsest term's clusters when every term nests in them (else None).

    The common case (``~ 1 | study/arm``, ``~ outcome | study``) needs no graph
    search: rows of one outermost cluster form a block when every other
    term's clusters and every nonzero covariance stay within it.
    """
    if not terms or mask.shape[0] != 1 or not mask.all():
        return None
    outer = [t.outer[0] for t in terms]
    base = min(outer, key=lambda c: np.unique(c).size)
    for c in outer:
        first = np.full(int(c.max()) + 1, -1)
        first[c[::-1]] = base[::-1]  # the base cluster of each code's first row
        if not np.array_equal(first[c], base):
            return None
    i, j = np.nonzero(V[0])
    if not np.array_equal(base[i], base[j]):
        return None
    _, block = np.unique(base, return_inverse=True)
    return block.reshape(1, -1)


def _positions(block: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Position of each row within its block (B, n), the number of blocks and max block size."""
    B, n = block.shape
    key = np.where(mask, block, np.iinfo(np.int64).max)
    order = np.argsort(key, axis=1, kind="stable")
    sk = np.take_along_axis(key, order, axis=1)
    start = np.ones((B, n), bool)
    start[:, 1:] = sk[:, 1:] != sk[:, :-1]
    idx = np.where(start, np.arange(n)[None, :], 0)
    first = np.maximum.accumulate(idx, axis=1)
    pos_sorted = np.arange(n)[None, :] - first
    pos = np.empty_like(pos_sorted)
    np.put_along_axis(pos, order, pos_sorted, axis=1)
    pos = np.where(mask, pos, -1)
    G = int(block[mask].max()) + 1 if mask.any() else 1
    m = int(pos.max()) + 1 if mask.any() else 1
    return pos, G, m


def build_blocks(y, V, X, mask, terms, block=None) -> Blocks:
    """Lay out B analyses as padded blocks (see the module docstring).

    Parameters
    ----------
    y : (B, n); V : (B, n, n) full sampling covariance (zeros between blocks);
    X : (B, n, p); mask : (B, n) bool; terms : sequence of :class:`Term`.
    block : (B, n) int, optional
        Block code of each row; computed with :func:`connected_blocks` if omitted.
        Rows of different blocks must not share a cluster or a covariance.

    Examples
    --------
    Two analyses of four estimates in two clusters (the second padded):

    >>> import numpy as np
    >>> codes = np.array([[0, 0, 1, 1], [0, 0, 1, 1]])
    >>> mask = np.array([[True] * 4, [True, True, True, False]])
    >>> b = build_blocks(np.zeros((2, 4)), np.broadcast_to(np.eye(4), (2, 4, 4)),
    ...                  np.ones((2, 4, 1)), mask, [Term(Structure("SIGMA", 1), codes)])
    >>> b.k.tolist(), b.mask[1].sum(axis=1).tolist()
    ([4, 3], [2, 1])
    """
    y = np.asarray(y, float)
    V = np.asarray(V, float)
    X = np.asarray(X, float)
    mask = np.asarray(mask, bool)
    B, n = y.shape
    if block is None:
        block = _nested_blocks(V, terms, mask)
    if block is None:
        block = connected_blocks(V, terms, mask)
    block = np.where(mask, block, -1)
    pos, G, m = _positions(block, mask)
    p = X.shape[-1]
    bi, ri = np.nonzero(mask)
    g, s = block[bi, ri], pos[bi, ri]
    yb = np.zeros((B, G, m))
    yb[bi, g, s] = y[bi, ri]
    Xb = np.zeros((B, G, m, p))
    Xb[bi, g, s] = X[bi, ri]
    mb = np.zeros((B, G, m), bool)
    mb[bi, g, s] = True
    rows = np.full((B, G, m), -1, dtype=np.int64)
    rows[bi, g, s] = ri
    # pairs of rows in the same block
    same = (block[:, :, None] == block[:, None, :]) & mask[:, :, None] & mask[:, None, :]
    pb, pi, pj = np.nonzero(same)
    pg, ps, pt = block[pb, pi], pos[pb, pi], pos[pb, pj]
    Vb = np.zeros((B, G, m, m))
    Vb[pb, pg, ps, pt] = V[pb, pi, pj]
    pad = ~mb
    Vb[..., np.arange(m), np.arange(m)] += pad  # identity on padding slots
    L = sum(t.structure.n_basis for t in terms)
    bases = np.zeros((B, G, L, m, m))
    off = 0
    for t in terms:
        same_outer = t.outer[pb, pi] == t.outer[pb, pj]
        st = t.structure
        if st.struct == "SIGMA":
            bases[pb, pg, off, ps, pt] = same_outer
            off += 1
            continue
        Z = t.inner
        zi, zj = Z[pb, pi], Z[pb, pj]  # (npairs, q)
        for l, (a, c) in enumerate(pairs(st.q)):
            val = zi[:, a] * zj[:, c]
            if a != c:
                val = val + zi[:, c] * zj[:, a]
            bases[pb, pg, off + l, ps, pt] = val * same_outer
        off += st.n_basis
    _check_separated(V, terms, block, mask)
    return Blocks(yb, Vb, Xb, mb, bases, rows, mask.sum(axis=1))


def _check_separated(V, terms, block, mask) -> None:
    """Rows in different blocks share no covariance and no cluster (else the layout is wrong)."""
    diff = (block[:, :, None] != block[:, None, :]) & mask[:, :, None] & mask[:, None, :]
    bad = diff & (V != 0)
    for t in terms:
        bad |= diff & (t.outer[:, :, None] == t.outer[:, None, :])
    if bad.any():
        b, i, j = map(int, np.argwhere(bad)[0])
        raise InputError(f"analysis {b}: rows {i} and {j} are in different blocks but share a "
                         "covariance or a random effect")
