"""The compiled optimiser against the Python definitions it restates.

``coef_kernel`` must give every structure's ``Structure.coef`` (coefficients
and Jacobian), and ``maximise`` (compiled) the same maximum as the NumPy
iterations ``_maximise_numpy`` (the same likelihood and estimates; a
component on its boundary may stop at 1e-30 in one and 1e-6 in the other,
an SD whose square does not move the likelihood).
"""

from __future__ import annotations

import numpy as np
import pytest

from sleepmeta.pooling.multilevel import Structure, Term, build_blocks
from sleepmeta.pooling.multilevel.likelihood import evaluate
from sleepmeta.pooling.multilevel.optimise import Parameters, _maximise_numpy, maximise
from sleepmeta.pooling.multilevel.optimise_kernel import coef_kernel

CASES = [Structure("SIGMA", 1), Structure("ID", 3), Structure("DIAG", 3), Structure("CS", 3),
         Structure("CS", 3, varcor=True), Structure("CS", 2, rho_fixed=True),
         Structure("HCS", 3), Structure("HCS", 2, rho_fixed=True), Structure("UN", 3),
         Structure("UN", 3, varcor=True), Structure("GEN", 2), Structure("GEN", 1),
         Structure("AR", 4), Structure("AR", 3, rho_fixed=True)]


@pytest.mark.parametrize("st", CASES, ids=lambda s: f"{s.struct}{s.q}{'v' * s.varcor}"
                         f"{'f' * s.rho_fixed}")
def test_coef_kernel_matches_structure_coef(st):
    rng = np.random.default_rng(3)
    params = Parameters([Structure("SIGMA", 1), st])  # an offset before the term
    terms, pa, pb, _ = params.kernel_arrays()
    for _ in range(5):
        theta = rng.uniform(-0.9, 0.9, params.P)
        c, J = params.coef(theta[None])
        ck, Jk = np.empty(params.L), np.empty((params.L, params.P))
        coef_kernel(theta, terms, pa, pb, ck, Jk)
        np.testing.assert_allclose(ck, c[0], rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(Jk, J[0], rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("struct", ["CS", "UN", "HCS", "AR"])
def test_compiled_iterations_follow_the_numpy_ones(struct):
    rng = np.random.default_rng(8)
    B, n = 6, 16
    outer = np.repeat(np.arange(4), 4)
    inner = np.tile(np.arange(2), 8)
    y = rng.normal(0.2, 0.5, (B, n))
    vi = rng.uniform(0.01, 0.1, (B, n))
    mask = np.ones((B, n), bool)
    mask[1, -3:] = False
    terms = [Term(Structure("SIGMA", 1), np.broadcast_to(np.arange(n), (B, n))),
             Term(Structure(struct, 2), np.broadcast_to(outer, (B, n)),
                  np.broadcast_to(np.eye(2)[inner], (B, n, 2)))]
    X = np.stack([np.ones((B, n)), rng.normal(size=(B, n))], -1)
    bl = build_blocks(np.where(mask, y, 0), vi[:, :, None] * np.eye(n), X, mask, terms)
    params = Parameters([t.structure for t in terms])
    theta0 = params.start(np.full(B, 0.1))
    for method in ("REML", "ML"):
        a = maximise(bl, params, method, theta0)
        b = _maximise_numpy(bl, params, method, theta0)
        # (a UN member may crawl along a ridge in both: fit_blocks refits it in varcor form)
        assert (a[1] == b[1]).all() and a[1].sum() >= B - 1
        ok = a[1]
        ea = evaluate(bl.take(ok), params.coef(a[0][ok])[0], method)
        eb = evaluate(bl.take(ok), params.coef(b[0][ok])[0], method)
        ll = (lambda e: e.ll_reml) if method == "REML" else (lambda e: e.ll_ml)
        np.testing.assert_allclose(ll(ea), ll(eb), rtol=1e-10)
        np.testing.assert_allclose(ea.beta, eb.beta, rtol=1e-6, atol=1e-8)
        c_a, c_b = params.coef(a[0][ok])[0], params.coef(b[0][ok])[0]  # G's entries
        np.testing.assert_allclose(c_a, c_b, rtol=1e-5, atol=1e-8)
