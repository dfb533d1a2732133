"""The compiled optimiser against the Python definitions it restates.

``coef_kernel`` must give every structure's ``Structure.coef`` (coefficients
and Jacobian); ``maximise`` must stop where the score is 0 (interior
maxima), and give a batch member what a one-member batch gives.
"""

from __future__ import annotations

import numpy as np
import pytest

from sleepmeta.pooling.multilevel import Structure, Term, build_blocks
from sleepmeta.pooling.multilevel.likelihood import evaluate
from sleepmeta.pooling.multilevel.optimise import Parameters, maximise
from sleepmeta.pooling.multilevel.optimise_kernel import coef_kernel

CASES = [Structure("SIGMA", 1), Structure("ID", 3), Structure("DIAG", 3), Structure("CS", 3),
         Structure("CS", 3, varcor=True), Structure("CS", 2, rho_fixed=True),
         Structure("HCS", 3), Structure("HCS", 2, rho_fixed=True), Structure("UN", 3),
         Structure("UN", 3, varcor=True), Structure("GEN", 2), Structure("GEN", 1),
         Structure("AR", 4), Structure("AR", 3, rho_fixed=True), Structure("HAR", 4),
         Structure("HAR", 3, rho_fixed=True)]


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


@pytest.mark.parametrize("struct", ["CS", "UN", "HCS", "AR", "DIAG"])
def test_compiled_iterations_stop_at_a_stationary_point(struct):
    # at an interior maximum the score in the working parameters is 0 (relative to the
    # information's scale), and a batch member equals its one-member fit
    rng = np.random.default_rng(8)
    B, n = 6, 24
    outer = np.repeat(np.arange(8), 3)
    inner = np.tile(np.arange(3), 8)
    y = rng.normal(0.2, 0.6, (B, n))
    vi = rng.uniform(0.01, 0.05, (B, n))
    mask = np.ones((B, n), bool)
    mask[1, -3:] = False
    terms = [Term(Structure(struct, 3), np.broadcast_to(outer, (B, n)),
                  np.broadcast_to(np.eye(3)[inner], (B, n, 3)))]
    X = np.stack([np.ones((B, n)), rng.normal(size=(B, n))], -1)
    bl = build_blocks(np.where(mask, y, 0), vi[:, :, None] * np.eye(n), X, mask, terms)
    params = Parameters([t.structure for t in terms])
    theta0 = params.start(np.full(B, 0.1))
    for method in ("REML", "ML"):
        theta, ok, _ = maximise(bl, params, method, theta0)
        ev = evaluate(bl, params.coef(theta)[0], method, derivs=True)
        c, J = params.coef(theta)
        score = np.einsum("blp,bl->bp", J, ev.score)
        interior = (theta[:, params.variance] > 1e-4).all(axis=1) & \
            (np.abs(theta[:, params.correlation]) < 0.999).all(axis=1)
        assert ok.all() and interior.sum() >= 2
        info = np.einsum("blp,blm,bmq->bpq", J, ev.info, J)
        scale = np.sqrt(np.abs(np.diagonal(info, axis1=1, axis2=2)))
        assert (np.abs(score[interior]) <= 1e-5 * np.maximum(scale[interior], 1)).all()
        for b in range(B):
            one, ok1, _ = maximise(bl.take([b]), params, method, theta0[[b]])
            np.testing.assert_array_equal(one[0], theta[b])


@pytest.mark.parametrize("st", [Structure("GEN", 2), Structure("CS", 3, varcor=True),
                                Structure("UN", 3), Structure("HCS", 3)],
                         ids=lambda s: f"{s.struct}{s.q}{'v' * s.varcor}")
def test_objective_kernel_is_the_batched_likelihood_and_its_chain_rule(st):
    # objective_kernel (the L-BFGS-B objective of the fallback) must give the likelihood of
    # likelihood.evaluate and the score J' s of the coefficients' chain rule
    from sleepmeta.pooling.multilevel.optimise_kernel import objective_kernel

    rng = np.random.default_rng(5)
    n = 18
    outer = np.repeat(np.arange(6), 3)
    inner = np.tile(np.arange(3), 6)
    Z = np.eye(3)[inner] if st.struct != "GEN" else np.stack(
        [np.ones(n), rng.normal(size=n)], -1)
    terms = [Term(st, outer[None], Z[None])]
    X = np.stack([np.ones(n), rng.normal(size=n)], -1)[None]
    bl = build_blocks(rng.normal(0.2, 0.6, (1, n)), np.diag(rng.uniform(0.01, 0.05, n))[None],
                      X, np.ones((1, n), bool), terms)
    params = Parameters([st])
    kt, pa, pb, _ = params.kernel_arrays()
    theta = params.start(np.array([0.05]))
    for method in ("REML", "ML"):
        ev = evaluate(bl, params.coef(theta)[0], method, derivs=True)
        want_ll = ev.ll_reml if method == "REML" else ev.ll_ml
        want_grad = np.einsum("blp,bl->bp", params.coef(theta)[1], ev.score)[0]
        grad = np.empty(params.P)
        ll = objective_kernel(theta[0], bl.y[0], bl.V[0], bl.X[0], bl.bases[0], bl.sizes[0],
                              float(bl.k[0]), method == "REML", kt, pa, pb, grad)
        np.testing.assert_allclose(ll, want_ll[0], rtol=1e-13)
        np.testing.assert_allclose(grad, want_grad, rtol=1e-10, atol=1e-12)
