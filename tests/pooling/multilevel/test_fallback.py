"""The quasi-Newton fallback of the multilevel engine (sleepmeta.pooling.multilevel.fallback)."""

from __future__ import annotations

import numpy as np

from sleepmeta.pooling.multilevel.blocks import Term, build_blocks
from sleepmeta.pooling.multilevel.fallback import _loglik, needs_rescue, rescue
from sleepmeta.pooling.multilevel.optimise import Parameters, maximise
from sleepmeta.pooling.multilevel.structures import Structure


def _one_level(y, v):
    t = Term(Structure("SIGMA", 1), np.arange(y.size)[None])
    b = build_blocks(y[None], np.diag(v)[None], np.ones((1, y.size, 1)),
                     np.ones((1, y.size), bool), [t])
    return b, Parameters([t.structure])


def test_rescue_reaches_the_closed_form_ml_estimate_after_scoring_is_cut_short():
    # y = 0, 1, 2, 3 with v = 0.1: the ML estimate of sigma2 is var(y) (divisor k) - v
    # = 1.25 - 0.1 = 1.15 (equal v: the likelihood is that of N(mu, sigma2 + v))
    b, p = _one_level(np.array([0.0, 1.0, 2.0, 3.0]), np.full(4, 0.1))
    theta, conv, it = maximise(b, p, "ML", np.array([[40.0]]), maxiter=1)
    assert not conv[0]
    assert needs_rescue(b, p, "ML", theta, conv)[0]
    res = rescue(b, p, "ML", theta, conv, it, np.array([[40.0]]), [0])
    assert res.converged[0] and res.used[0]
    np.testing.assert_allclose(res.theta[0, 0], 1.15, rtol=1e-7)
    assert not needs_rescue(b, p, "ML", res.theta, res.converged)[0]


def test_rescue_never_lowers_a_converged_fit():
    rng = np.random.default_rng(3)
    for _ in range(5):
        y = rng.normal(size=8)
        v = rng.uniform(0.05, 0.3, 8)
        b, p = _one_level(y, v)
        start = np.array([[0.3]])
        theta, conv, it = maximise(b, p, "REML", start)
        before = _loglik(b, p, "REML", theta)[0]
        res = rescue(b, p, "REML", theta, conv, it, start, [0])
        assert res.converged[0]
        assert _loglik(b, p, "REML", res.theta)[0] >= before


def test_unconverged_and_non_stationary_members_are_flagged_in_a_batch():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    t = Term(Structure("SIGMA", 1), np.tile(np.arange(4), (3, 1)))
    b = build_blocks(np.tile(y, (3, 1)), np.repeat(np.eye(4)[None] * 0.1, 3, axis=0),
                     np.ones((3, 4, 1)), np.ones((3, 4), bool), [t])
    p = Parameters([t.structure])
    flag = needs_rescue(b, p, "ML", np.array([[1.15], [1.15], [3.0]]),
                        np.array([True, False, True]))
    assert flag.tolist() == [False, True, True]
