"""Tests for sleepmeta.pooling.feasibility: the one rule for 'enough studies'."""

from __future__ import annotations

import numpy as np
import pytest

from sleepmeta.errors import ModelError
from sleepmeta.pooling.feasibility import check_fit, falls_back_to_z, feasible_members
from sleepmeta.pooling.registry import ESTIMATOR_INFO


@pytest.mark.parametrize("method", list(ESTIMATOR_INFO))
@pytest.mark.parametrize("test", ["z", "knha"])
@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_rule_table(method, test, p, k):
    # metafor 3.8 rma.uni: k >= p always; k > p to estimate tau²; Knapp-Hartung needs
    # k - p > 0 except that k = 1 sets test = "z"
    tau2 = ESTIMATOR_INFO[method].estimates_tau2
    ok = k >= p and not (tau2 and k <= p) and not (test == "knha" and k <= p and k > 1)
    if ok:
        note = check_fit(k, p, method, test)
        assert (note != "") == (test == "knha" and k == 1)
    else:
        with pytest.raises(ModelError):
            check_fit(k, p, method, test)


def test_where_prefixes_the_message():
    with pytest.raises(ModelError, match="^group 'a': k = 1"):
        check_fit(1, 1, "REML", "z", where="group 'a': ")


def test_members_and_engine_rule():
    ok, single = feasible_members(np.array([0, 1, 2, 3]), 2, "FE")
    assert ok.tolist() == [False, False, True, True] and not single.any()
    ok, single = feasible_members(np.array([0, 1, 2]), 1, "DL")
    assert ok.tolist() == [False, True, True] and single.tolist() == [False, True, False]
    assert falls_back_to_z(np.array([1, 2]), "knha").tolist() == [True, False]
    assert not falls_back_to_z(np.array([1]), "z").any()
