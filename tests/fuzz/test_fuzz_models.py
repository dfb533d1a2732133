"""Fuzz the new model families' entry points with hostile arm- and row-level data.

Invariant (as the rest of the campaign): finite numbers, or a sleepmeta error,
within a time bound -- never NaN/inf, never another exception, never a hang.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from sleepmeta.dose import dose_response
from sleepmeta.errors import SleepmetaError
from sleepmeta.pooling.multilevel import meta_analysis_mv

from tests.fuzz._limits import finite_or_typed, fuzz_settings, within

FUZZ = fuzz_settings(40)
value = st.one_of(st.floats(-1e6, 1e6), st.sampled_from([0.0, 1e-300, 1e50, -1e50, 1e300]))
variance = st.one_of(st.floats(1e-12, 1e12), st.sampled_from([0.0, -1.0, 1e-300, 1e300]))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 3), value, variance), min_size=1, max_size=12),
       st.sampled_from(["REML", "ML"]))
def test_multilevel_is_finite_or_a_typed_error(rows, method):
    # found by this test: yi = 1e300 gave a non-finite fit; meta_analysis_mv now applies
    # meta_analysis's accepted range (|yi| <= 1e50, 1e-50 <= vi <= 1e50) at its boundary
    d = pd.DataFrame(rows, columns=["study", "yi", "vi"])
    d["arm"] = np.arange(len(d))
    finite_or_typed(lambda: meta_analysis_mv("yi", "vi", random="~ 1 | study/arm", data=d,
                                             method=method),
                    ("estimate", "se", "ci_low", "ci_high"), seconds=30)


@st.composite
def arms(draw):
    """Arm-level rows: mostly plausible studies (a dose-0 reference, increasing doses,
    0 <= events <= n), each cell sometimes replaced by a hostile value."""
    hostile = draw(st.booleans())
    out = []
    for s in range(draw(st.integers(1, 5))):
        doses = [0.0] + sorted(draw(st.sets(st.sampled_from([75.0, 150.0, 300.0, 450.0, 600.0]),
                                            min_size=1, max_size=4)))
        for d in doses:
            n = draw(st.integers(20, 300))
            row = {"study": f"s{s}", "dose": d, "n": n, "events": draw(st.integers(0, n))}
            if hostile and draw(st.integers(0, 5)) == 0:
                col = draw(st.sampled_from(["dose", "n", "events"]))
                row[col] = draw(st.sampled_from([-5, 0, 10**9, -1]))
            out.append(row)
    return pd.DataFrame(out)


@FUZZ
@given(arms(), st.sampled_from(["linear", "quadratic", "spline"]),
       st.sampled_from(["1stage", "2stage"]))
def test_dose_response_is_finite_or_a_typed_error(data, model, proc):
    with within(60, "dose_response"):
        try:
            res = dose_response(data, study="study", dose="dose", events="events", n="n",
                                model=model, proc=proc)
        except SleepmetaError:
            return
    pred = res.predict([150.0, 300.0])
    assert np.isfinite(pred[["estimate", "ci_low", "ci_high"]].to_numpy(float)).all()


@FUZZ
@given(arms())
def test_emax_with_estimated_hill_is_finite_or_a_typed_error(data):
    # the Hill coefficient estimated (hill=None): a fit, a documented fallback to h = 1,
    # or a typed error (ED50 not identifiable, no convergence), never NaN or a hang
    with within(60, "dose_response emax"):
        try:
            res = dose_response(data, study="study", dose="dose", events="events", n="n",
                                model="emax", hill=None)
        except SleepmetaError:
            return
    pred = res.predict([150.0, 300.0])
    assert np.isfinite(pred[["estimate", "ci_low", "ci_high"]].to_numpy(float)).all()


limit = st.one_of(st.floats(0.05, 20.0), st.sampled_from([0.0, -1.0, 1e-300, 1e300]),
                  st.just(float("nan")))


@FUZZ
@given(arms(), st.lists(st.tuples(limit, limit), min_size=24, max_size=24),
       st.sampled_from(["cc", "ci", "ir"]))
def test_adjusted_ratio_limits_are_finite_or_a_typed_error(data, limits, kind):
    # adjusted ratios given by their 95% limits (lb/ub, as dosresmeta): hostile limits
    # (zero, negative, reversed, NaN, 1e300) are typed errors naming the study
    d = data.copy()
    lo, hi = (np.array(c[:len(d)], float) for c in zip(*limits))
    d["lb"], d["ub"] = lo, hi
    d["logrr"] = np.log(np.sqrt(np.abs(lo * hi)) + 1e-3)
    ref = d["dose"] == 0
    d.loc[ref, ["logrr", "lb", "ub"]] = [0.0, 1.0, 1.0]
    with within(60, "dose_response lb/ub"):
        try:
            res = dose_response(d, study="study", dose="dose", events="events", n="n",
                                logrr="logrr", lb="lb", ub="ub", type=kind)
        except SleepmetaError:
            return
    assert np.isfinite(res.predict([300.0])[["estimate", "ci_low", "ci_high"]]
                       .to_numpy(float)).all()


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["A", "B"]), value, variance),
                min_size=1, max_size=12),
       st.sampled_from(["CS", "HCS", "UN", "DIAG"]))
def test_two_random_terms_are_finite_or_a_typed_error(rows, struct):
    # nested intercepts beside an outcome | study term (metafor's list of formulas)
    d = pd.DataFrame(rows, columns=["study", "outcome", "yi", "vi"])
    d["arm"] = np.arange(len(d))
    finite_or_typed(lambda: meta_analysis_mv("yi", "vi", random=["~ 1 | study/arm",
                                                                 "~ outcome | study"],
                                             struct=struct, data=d),
                    ("estimate", "se", "ci_low", "ci_high"), seconds=60)
