"""Tests for sleepmeta.pooling.registry: the one list of estimators, tests and control."""

from __future__ import annotations

import pytest

from sleepmeta.errors import InputError, UnknownOptionError
from sleepmeta.pooling.estimators import ESTIMATORS
from sleepmeta.pooling.registry import ESTIMATOR_INFO, TESTS, Control, check_options


def test_registry_and_estimator_functions_agree():
    assert list(ESTIMATOR_INFO) == list(ESTIMATORS)


def test_only_fe_assumes_tau2_zero_and_iterative_ones_are_metafors():
    assert [n for n, e in ESTIMATOR_INFO.items() if not e.estimates_tau2] == ["FE"]
    # metafor iterates for ML, REML, EB (Fisher scoring) and PM (root finding)
    assert {n for n, e in ESTIMATOR_INFO.items() if e.iterative} == {"ML", "REML", "EB", "PM"}


@pytest.mark.parametrize("p", [1, 2, 4])
def test_min_k(p):
    assert ESTIMATOR_INFO["FE"].min_k(p) == p
    assert all(e.min_k(p) == p + 1 for e in ESTIMATOR_INFO.values() if e.estimates_tau2)


def test_tests_and_check_options():
    assert TESTS["knha"].residual_df and not TESTS["z"].residual_df
    check_options("PM", "z")
    with pytest.raises(UnknownOptionError, match="valid: FE, DL"):
        check_options("XX", "z")
    with pytest.raises(UnknownOptionError, match="valid: z, t, knha, adhoc"):
        check_options("DL", "t2")
    # t and adhoc (metafor's test="t", "adhoc"): k - p df; only knha and adhoc rescale,
    # and only adhoc floors the scale at 1 (Röver, Knapp & Friede 2015)
    assert TESTS["t"].residual_df and not TESTS["t"].scaled
    assert TESTS["adhoc"].scaled and TESTS["adhoc"].scale_floor == 1
    assert TESTS["knha"].scaled and TESTS["knha"].scale_floor == 0


def test_control_defaults_are_metafors_and_are_checked():
    # metafor 3.8 rma.uni: threshold = 1e-5, maxiter = 100, stepadj = 1
    assert Control() == Control(threshold=1e-5, maxiter=100, stepadj=1.0)
    for bad in ({"threshold": 0}, {"maxiter": -1}, {"maxiter": 1.5}, {"stepadj": 0},
                {"stepadj": 1.5}):
        with pytest.raises(InputError):
            Control(**bad)
    with pytest.raises(UnknownOptionError):
        Control.of({"tol": 1})
    with pytest.raises(InputError):
        Control.of([0.5])
