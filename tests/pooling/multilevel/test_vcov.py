"""Covariance builders: hand calculations from their defining formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sleepmeta.errors import InputError
from sleepmeta.pooling.multilevel.vcov import (check_positive_definite, correlated_outcomes_vcov,
                                               shared_control_vcov, vcov_from_long)


def test_shared_control_each_measure():
    base = dict(study=[1, 1, 2], vi=[0.1, 0.2, 0.3])
    # log RR: 1/x_c - 1/n_c = 1/10 - 1/50; log OR: 1/10 + 1/40; RD: 0.2 * 0.8 / 50
    V = shared_control_vcov("RR", events_ctrl=[10, 10, 5], n_ctrl=[50, 50, 40], **base)
    assert V[0, 1] == pytest.approx(1 / 10 - 1 / 50) and V[0, 2] == 0 and V[1, 1] == 0.2
    V = shared_control_vcov("OR", events_ctrl=[10, 10, 5], n_ctrl=[50, 50, 40], **base)
    assert V[1, 0] == pytest.approx(1 / 10 + 1 / 40)
    V = shared_control_vcov("RD", events_ctrl=[10, 10, 5], n_ctrl=[50, 50, 40], **base)
    assert V[0, 1] == pytest.approx(0.2 * 0.8 / 50)
    # SMD: 1/n_c + d_i d_j / (2 N)
    V = shared_control_vcov("SMD", yi=[0.5, 0.8, 0.1], n_ctrl=[50, 50, 40],
                            n_total=[150, 150, 80], **base)
    assert V[0, 1] == pytest.approx(1 / 50 + 0.5 * 0.8 / 300)


def test_shared_control_bad_input_names_study():
    with pytest.raises(InputError, match="study '2'.*events_ctrl"):
        shared_control_vcov("RR", study=[1, 2], vi=[0.1, 0.1], events_ctrl=[3, 0], n_ctrl=[9, 9])
    with pytest.raises(InputError, match="differs"):
        shared_control_vcov("MD", study=[1, 1], vi=[0.1, 0.1], n_ctrl=[9, 10], sd_ctrl=[1, 1])
    with pytest.raises(InputError, match="not positive definite"):
        shared_control_vcov("MD", study=["s", "s"], vi=[0.01, 0.01], n_ctrl=[5, 5],
                            sd_ctrl=[3, 3])


def test_correlated_outcomes_like_vcalc():
    V = correlated_outcomes_vcov([1.0, 4.0, 9.0], [1, 1, 1], rho=0.5)
    np.testing.assert_allclose(V, [[1, 1, 1.5], [1, 4, 3], [1.5, 3, 9]])
    V = correlated_outcomes_vcov([1.0, 4.0], [1, 1], rho={("SOL", "TST"): -0.3},
                                 outcome=["TST", "SOL"])
    assert V[0, 1] == pytest.approx(-0.6)
    with pytest.raises(InputError, match="no correlation"):
        correlated_outcomes_vcov([1.0, 4.0], [1, 1], rho={("A", "B"): 0.1}, outcome=["A", "C"])


def test_positive_definite_check_names_study():
    V = np.eye(4)
    V[2, 3] = V[3, 2] = 1.5
    with pytest.raises(InputError, match="study 'c'"):
        check_positive_definite(V, ["a", "b", "c", "d"])


def test_long_file():
    t = pd.DataFrame({"row1": ["1", "b"], "row2": ["2", "c"], "cov": [0.1, 0.2]})
    V = vcov_from_long(t, ["a", "b", "c"], [1.0, 2.0, 3.0])
    assert V[0, 1] == 0.1 and V[2, 1] == 0.2 and V[2, 2] == 3.0
    with pytest.raises(InputError, match="line 2"):
        vcov_from_long(pd.DataFrame({"row1": ["x"], "row2": ["a"], "cov": [1]}), ["a"], [1.0])


def test_correlated_outcomes_equals_metafor_vcalc():
    # pinned: vcalc(vi, cluster = trial, obs = outcome, rho = 0.6, data = dat.berkey1998)
    import json
    from pathlib import Path

    ref = json.loads((Path(__file__).resolve().parents[2] / "data" /
                      "metafor_mv_references.json").read_text())
    d = pd.DataFrame(ref["data"]["berkey"])
    V = correlated_outcomes_vcov("vi", "trial", rho=0.6, data=d)
    np.testing.assert_allclose(V, np.array(ref["vcalc"]["V"]), rtol=1e-12, atol=1e-15)
