"""Score and observed information of the likelihood against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from sleepmeta.pooling.multilevel import Structure, Term, build_blocks
from sleepmeta.pooling.multilevel.likelihood import evaluate


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_derivatives(method):
    rng = np.random.default_rng(5)
    n = 12
    outer = np.repeat(np.arange(4), 3)
    inner = np.tile(np.arange(3), 4)
    Z = np.eye(3)[inner]
    vi = rng.uniform(0.01, 0.1, n)
    y = rng.normal(0, 0.4, n)
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    terms = [Term(Structure("SIGMA", 1), outer[None]), Term(Structure("UN", 3), outer[None], Z[None])]
    bl = build_blocks(y[None], np.diag(vi)[None], X[None], np.ones((1, n), bool), terms)
    c = np.array([[0.05, 0.1, 0.08, 0.12, 0.02, 0.01, 0.03]])
    ev = evaluate(bl, c, method, derivs=True)
    ll = (lambda e: e.ll_reml if method == "REML" else e.ll_ml)
    h = 1e-6
    for l in range(c.shape[1]):
        e = np.zeros_like(c)
        e[0, l] = h
        up, dn = evaluate(bl, c + e, method, derivs=True), evaluate(bl, c - e, method, derivs=True)
        assert ev.score[0, l] == pytest.approx((ll(up) - ll(dn))[0] / (2 * h), rel=1e-5, abs=1e-7)
        # observed information = - d score / dc
        np.testing.assert_allclose(ev.observed[0, :, l], -(up.score - dn.score)[0] / (2 * h),
                                   rtol=1e-4, atol=1e-5)
