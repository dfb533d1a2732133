"""G matrices of the structures, written out by hand from metafor's definitions."""

from __future__ import annotations

import numpy as np
import pytest

from sleepmeta.pooling.multilevel.structures import Structure


def _G(struct, q, tau2, rho, **kw):
    s = Structure(struct, q, **kw)
    return s.G(s.from_report(np.atleast_2d(tau2), np.atleast_2d(rho)))[0]


def test_cs():
    np.testing.assert_allclose(_G("CS", 3, [2.0], [0.5]),
                               [[2, 1, 1], [1, 2, 1], [1, 1, 2]])


def test_hcs():
    np.testing.assert_allclose(_G("HCS", 2, [4.0, 9.0], [0.5]), [[4, 3], [3, 9]])


def test_har():
    # metafor's HAR: tau_a tau_b rho^|a - b| (hand: 2*3*0.5 = 3, 2*4*0.25 = 2, 3*4*0.5 = 6)
    np.testing.assert_allclose(_G("HAR", 3, [4.0, 9.0, 16.0], [0.5]),
                               [[4, 3, 2], [3, 9, 6], [2, 6, 16]])


def test_un_lower_tri_order():
    # rho in R's lower.tri order: (2,1), (3,1), (3,2)
    G = _G("UN", 3, [1.0, 4.0, 9.0], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(G, [[1, 0.2, 0.6], [0.2, 4, 1.8], [0.6, 1.8, 9]])


def test_ar_diag_id():
    np.testing.assert_allclose(_G("AR", 3, [2.0], [0.5]),
                               [[2, 1, 0.5], [1, 2, 1], [0.5, 1, 2]])
    np.testing.assert_allclose(_G("DIAG", 2, [1.0, 3.0], [0.0]), np.diag([1, 3]))
    np.testing.assert_allclose(_G("ID", 2, [1.5], [0.0]), np.eye(2) * 1.5)


@pytest.mark.parametrize("struct,q,varcor", [("CS", 3, False), ("CS", 3, True), ("HCS", 3, False),
                                             ("UN", 3, False), ("UN", 3, True), ("AR", 3, False),
                                             ("HAR", 4, False),
                                             ("GEN", 2, False), ("DIAG", 2, False)])
def test_jacobian_matches_finite_differences(struct, q, varcor):
    s = Structure(struct, q, varcor=varcor)
    rng = np.random.default_rng(0)
    th = s.start(np.array([0.3])) + 0.05 * rng.random((1, s.n_params))
    c, J = s.coef(th)
    h = 1e-7
    for j in range(s.n_params):
        e = np.zeros_like(th)
        e[0, j] = h
        fd = (s.coef(th + e)[0] - s.coef(th - e)[0]) / (2 * h)
        np.testing.assert_allclose(J[0, :, j], fd[0], rtol=1e-6, atol=1e-8)


def test_report_round_trip():
    for struct, q in (("CS", 2), ("HCS", 3), ("UN", 3), ("AR", 4), ("HAR", 3), ("GEN", 2)):
        s = Structure(struct, q)
        th = s.start(np.array([0.2]))
        t2, rho = s.report(th)
        np.testing.assert_allclose(s.G(s.from_report(t2, rho)), s.G(th), atol=1e-12)
