"""The accepted range of yi/vi, the level check and the non-finite guard (issue 18)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmeta.errors import ConvergenceError, InputError, ModelError, SleepmetaError
from sleepmeta.pooling import meta_analysis, meta_analysis_batch
from sleepmeta.pooling.inputs import VI_MAX, VI_MIN, YI_MAX, check_level, out_of_range
from sleepmeta.pooling.counts import mantel_haenszel, peto

FIELDS = ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "h2", "q", "pi_low", "pi_high")


def test_dl_on_values_spanning_1e300_is_refused_naming_the_study():
    # issue 18: DL printed "estimate nan" and "tau2 inf" for such inputs
    with pytest.raises(InputError, match=r"study '2': vi = 1e-300 is outside \[1e-50, 1e\+50\]"):
        meta_analysis([0.5, 1e-300, 3.0], [1.0, 1e-300, 1e300], method="DL")
    with pytest.raises(InputError, match=r"study 'c': yi = -1e\+200 is outside"):
        meta_analysis([0.5, 1.0, -1e200], [1.0, 1.0, 1.0], method="DL", labels=["a", "b", "c"])


def test_the_edges_of_the_range_are_accepted_and_give_finite_numbers():
    # inside the range, a fit either gives finite numbers or a typed error
    res = meta_analysis([YI_MAX, -YI_MAX, 0.0], [VI_MAX, VI_MAX, VI_MAX], method="DL")
    assert all(np.isfinite(getattr(res, f)) for f in FIELDS)
    # by symmetry (yi = +-1e50, -0 and equal vi) the DL estimate is 0
    assert res.estimate == 0.0
    res = meta_analysis([0.0, 1e-40, 2e-40], [VI_MIN, VI_MIN, 2 * VI_MIN], method="FE")
    # FE by hand: weights 1e50, 1e50, 5e49 -> (0 + 1e-40*1e50 + 2e-40*5e49) / 2.5e50 = 8e-41
    assert res.estimate == pytest.approx(8e-41, rel=1e-12)


def test_out_of_range_mask():
    assert out_of_range([1.0, 1e51, 1.0, 1.0], [1.0, 1.0, 1e-51, 1e51]).tolist() == [
        False, True, True, True]


def test_a_fit_that_cannot_be_represented_is_a_model_error_not_nan():
    # weights spanning 1e56: DL's sum(w) - sum(w^2)/sum(w) cancels to 0 (tau2 = inf before)
    yi = [9.8e-30, 6.25e18, -5.8e24, -2.5e6, -5.9e13]
    vi = [414.0, 1.27e26, 8.9e18, 1.46e-30, 2.78e21]
    try:
        res = meta_analysis(yi, vi, method="DL")
    except (ModelError, ConvergenceError) as exc:  # the engine flags the member non-finite
        assert "non-finite" in str(exc) or "cannot be computed in double precision" in str(exc)
    else:
        assert all(np.isfinite(getattr(res, f)) for f in FIELDS)


def test_batch_flags_nonfinite_members_and_refuses_out_of_range():
    yi = np.array([[0.1, 0.3, 0.2], [9.8e-30, 6.25e18, -5.8e24]])
    vi = np.array([[0.01, 0.02, 0.03], [1.46e-30, 1.27e26, 8.9e18]])
    fit = meta_analysis_batch(yi, vi, method="DL", errors="flag")
    ok = fit.converged
    assert ok[0]
    for name in ("estimate", "se", "tau2"):
        assert np.isfinite(getattr(fit, name)[ok]).all()
    with pytest.raises(InputError, match="analysis 1, study 2: yi = 1e\\+60"):
        meta_analysis_batch([[0.1, 0.2, 0.3], [0.1, 0.2, 1e60]], np.ones((2, 3)), method="DL")


@pytest.mark.parametrize("level", ["0.95", None, True, float("nan"), 1.0, -0.5])
def test_level_must_be_a_number_in_0_1(level):
    # issue 18: level="0.95" raised TypeError
    with pytest.raises(InputError, match="level must be a number between 0 and 1"):
        meta_analysis([0.1, 0.2], [0.1, 0.1], level=level)
    with pytest.raises(InputError, match="level must be a number between 0 and 1"):
        check_level(level)


def test_peto_with_extreme_counts_is_a_typed_error():
    # issue 18: OverflowError (Python ints beyond a float), and SE = 0 for counts near 1e30
    with pytest.raises(InputError, match="events1 must be numeric"):
        peto([10**400, 5], [10**401, 10], [1, 3], [10**31, 10])
    with pytest.raises(InputError, match=r"n1 must be <= 1e\+12"):
        peto([10**30, 5], [10**31, 10], [1, 3], [10**31, 10])
    with pytest.raises(InputError, match=r"n1 must be <= 1e\+12"):
        mantel_haenszel([1e300, 5], [2e300, 10], [1, 3], [2e300, 10])


def test_any_finite_input_gives_finite_numbers_or_a_typed_error():
    # a fixed sample of the campaign: values spanning 1e-300..1e300 (948 of 1,500 DL fits
    # returned nan/inf silently); non-iterative estimators only (the iterative ones are
    # bounded by the engine's loops, tested below)
    rng = np.random.default_rng(18)
    for _ in range(300):
        k = int(rng.integers(2, 6))
        yi = rng.choice([-1, 1], k) * 10.0 ** rng.uniform(-300, 300, k)
        vi = 10.0 ** rng.uniform(-300, 300, k)
        for method in ("FE", "DL", "HE", "HS", "HSk", "SJ"):
            try:
                res = meta_analysis(yi, vi, method=method)
            except SleepmetaError:
                continue
            assert all(np.isfinite(getattr(res, f)) for f in FIELDS), (method, yi, vi)


@pytest.fixture(scope="module")
def compiled_kernels():
    # A child process with an empty numba cache compiles the kernels first (tens of
    # seconds on a loaded 2-core machine); compile them once, untimed, so that the
    # 20-s limit below times the fit and not the compiler (cache=True keeps them on disk).
    subprocess.run([sys.executable, "-c", "from sleepmeta.pooling import meta_analysis; "
                    "meta_analysis([0.1, 0.3, 0.2], [0.01, 0.02, 0.03], method='REML'); "
                    "meta_analysis([0.1, 0.3, 0.2], [0.01, 0.02, 0.03], method='ML')"],
                   check=True, capture_output=True, timeout=900)


@pytest.mark.parametrize(("method", "yi", "vi"), [
    ("REML", [7.83e-6, -2800.0], [4.28e9, 4.9e-4]),  # the reproducer of issue 18
    ("ML", [7.83e-6, -2800.0], [4.28e9, 4.9e-4]),
    ("REML", [-0.00011741253015159376, 9.330876031965586e-07],  # found by this campaign
     [6.1682987905959585, 33244209390.089657]),
])
def test_reml_two_study_hang_returns_within_20_seconds(method, yi, vi, compiled_kernels):
    # run in a child process so that a hang cannot stall the suite
    code = textwrap.dedent(f"""
        from sleepmeta.errors import SleepmetaError
        from sleepmeta.pooling import meta_analysis
        try:
            r = meta_analysis({yi!r}, {vi!r}, method={method!r})
            import math
            assert math.isfinite(r.estimate) and math.isfinite(r.tau2)
        except SleepmetaError:
            pass
    """)
    try:
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{method} did not return within 20 s")
    assert res.returncode == 0, res.stderr.decode()


def test_peto_whose_ci_cannot_be_back_transformed_is_a_model_error():
    # found by the fuzz campaign: one event in 131,514 against none in 1 -> log-OR CI up to 709+
    with pytest.raises(ModelError, match="cannot be back-transformed"):
        peto([0], [1], [1], [131514])


def _first_invalid_by_numpy(yi, vi, mask):
    """The rule of ``first_invalid`` written with NumPy: the first masked non-finite (or
    vi <= 0) study anywhere in the batch, else the first masked out-of-range one."""
    mask = np.broadcast_to(mask, yi.shape)
    with np.errstate(invalid="ignore"):
        bad = mask & ~(np.isfinite(yi) & np.isfinite(vi) & (vi > 0))
    if bad.any():
        b, j = np.argwhere(bad)[0]
        return 1, int(b), int(j)
    far = mask & out_of_range(np.nan_to_num(yi), np.nan_to_num(vi, nan=1.0))
    if far.any():
        b, j = np.argwhere(far)[0]
        return 2, int(b), int(j)
    return 0, -1, -1


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 6), st.integers(1, 7), st.integers(0, 2**32 - 1), st.booleans())
def test_first_invalid_is_its_rule_written_with_numpy(B, k, seed, shared):
    """Random batches with bad values planted (NaN, inf, vi <= 0, out of range) and a
    random mask (or one row shared by the batch): the compiled pass finds what NumPy finds."""
    from sleepmeta.pooling.inputs import first_invalid

    rng = np.random.default_rng(seed)
    yi = rng.normal(0, 1, (B, k))
    vi = rng.uniform(0.01, 1, (B, k))
    for _ in range(rng.integers(0, 4)):
        b, j = rng.integers(B), rng.integers(k)
        arr = yi if rng.random() < 0.5 else vi
        arr[b, j] = rng.choice([np.nan, np.inf, -np.inf, 0.0, -1.0, 1e60, 1e-60])
    mask = rng.random((1 if shared else B, k)) < 0.7
    assert first_invalid(yi, vi, mask) == _first_invalid_by_numpy(yi, vi, mask)


def test_studies_per_analysis_counts_the_mask():
    from sleepmeta.pooling.inputs import studies_per_analysis

    mask = np.random.default_rng(1).random((50, 9)) < 0.4
    assert studies_per_analysis(mask).tolist() == mask.sum(axis=1).tolist()
