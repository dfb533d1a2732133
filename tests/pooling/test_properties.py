"""Invariants of the engine (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sleepmeta.pooling import ESTIMATORS, meta_analysis, meta_analysis_batch

METHODS = sorted(ESTIMATORS)


@st.composite
def studies(draw, min_k=2, max_k=12):
    k = draw(st.integers(min_k, max_k))
    yi = draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k))
    vi = draw(st.lists(st.floats(0.005, 2.0), min_size=k, max_size=k))
    return np.array(yi), np.array(vi)


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(studies(), st.sampled_from(METHODS), st.randoms(use_true_random=False))
def test_invariant_to_study_order(data, method, rnd):
    yi, vi = data
    perm = list(range(yi.size))
    rnd.shuffle(perm)
    a = meta_analysis(yi, vi, method=method)
    b = meta_analysis(yi[perm], vi[perm], method=method)
    for field in ("estimate", "se", "tau2", "i2", "h2", "q"):
        assert np.isclose(getattr(a, field), getattr(b, field), rtol=1e-7, atol=1e-9), field


@SETTINGS
@given(studies(), st.sampled_from(METHODS))
def test_tau2_nonnegative_i2_in_range_weights_sum_to_100(data, method):
    yi, vi = data
    r = meta_analysis(yi, vi, method=method)
    assert r.tau2 >= 0
    assert 0 <= r.i2 <= 100
    if method != "FE":  # H² = tau²/vt + 1; for FE it is Q/(k-1), which may be < 1
        assert r.h2 >= 1
    assert np.isclose(r.weights.sum(), 100)
    assert r.ci_low <= r.estimate <= r.ci_high
    assert r.pi_low <= r.ci_low and r.pi_high >= r.ci_high


@SETTINGS
@given(st.floats(-2, 2), st.lists(st.floats(0.01, 1.0), min_size=2, max_size=10),
       st.sampled_from(METHODS))
def test_equal_effects_give_the_common_effect_result(y, vi, method):
    vi = np.array(vi)
    yi = np.full(vi.size, y)
    fe = meta_analysis(yi, vi, method="FE")
    re = meta_analysis(yi, vi, method=method)
    assert abs(re.tau2) < 1e-12  # zero up to floating-point rounding of the centred yi
    assert np.isclose(re.estimate, fe.estimate) and np.isclose(re.se, fe.se)


@SETTINGS
@given(st.lists(studies(min_k=3, max_k=8), min_size=1, max_size=5), st.sampled_from(METHODS),
       st.sampled_from(["z", "knha"]))
def test_batch_equals_one_by_one(analyses, method, test):
    kmax = max(y.size for y, _ in analyses)
    B = len(analyses)
    yi = np.full((B, kmax), np.nan)
    vi = np.full((B, kmax), np.nan)
    for b, (y, v) in enumerate(analyses):
        yi[b, : y.size], vi[b, : y.size] = y, v
    fit = meta_analysis_batch(yi, vi, ~np.isnan(yi), method=method, test=test)
    for b, (y, v) in enumerate(analyses):
        one = meta_analysis(y, v, method=method, test=test)
        for field in ("estimate", "se", "pvalue", "ci_low", "ci_high", "pi_low", "pi_high",
                      "tau2", "i2", "h2", "q", "q_pvalue"):
            assert np.isclose(getattr(fit, field)[b], getattr(one, field), rtol=1e-9,
                              atol=1e-12), (b, field)
