"""Tests for sleepmeta.pooling.heterogeneity (Higgins & Thompson 2002), by hand."""

from __future__ import annotations

import numpy as np
import pytest

from sleepmeta.pooling import meta_analysis
from sleepmeta.pooling.heterogeneity import i2_h2_from_q, i2_h2_from_tau2
from tests._bcg import bcg_yi_vi


def test_from_q_by_hand():
    i2, h2 = i2_h2_from_q(np.array([30.0, 5.0, 0.0]), np.array([10, 10, 10]))
    # I² = 100 (Q - df) / Q truncated at 0; H² = Q / df
    assert i2.tolist() == pytest.approx([100 * 20 / 30, 0.0, 0.0])
    assert h2.tolist() == pytest.approx([3.0, 0.5, 0.0])


def test_from_tau2_by_hand_and_as_the_engine_reports():
    i2, h2 = i2_h2_from_tau2(np.array([0.0, 1.0]), np.array([0.5, 0.5]))
    assert i2.tolist() == pytest.approx([0.0, 100 / 1.5]) and h2.tolist() == pytest.approx([1, 3])
    yi, vi = bcg_yi_vi()
    res = meta_analysis(yi, vi)
    # metafor 3.8 on dat.bcg: I² = 92.22%, H² = 12.86
    assert res.i2 == pytest.approx(92.22, abs=5e-3) and res.h2 == pytest.approx(12.86, abs=5e-3)
    assert (res.i2, res.h2) == pytest.approx(tuple(float(x) for x in
                                                   i2_h2_from_tau2(res.tau2, res.vt)))
