"""Tests for the public entry point and registry in sleepmeta.effects (__init__)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sleepmeta.effects import MEASURES, effect_size

ALL = ["MD", "SMD", "SMDH", "ROM", "RR", "OR", "RD", "AS", "PETO",
       "COR", "ZCOR", "PR", "PLN", "PLO", "PAS", "PFT"]


def test_registry_holds_every_measure_with_metafor_default_correction():
    assert sorted(MEASURES) == sorted(ALL)
    # escalc: add=1/2 by default, but add=0 for AS, PAS, PFT (and no counts for the rest)
    corrected = {name for name, spec in MEASURES.items() if spec.add}
    assert corrected == {"RR", "OR", "RD", "PETO", "PR", "PLN", "PLO"}
    assert all(spec.description for spec in MEASURES.values())


def test_data_may_be_a_mapping():
    es = effect_size("COR", {"r": [0.1, 0.2], "n": [10, 20]}, r="r", n="n")
    np.testing.assert_allclose(es.yi, [0.1, 0.2])


def test_proportion_correction_is_described():
    es = effect_size("PLO", pd.DataFrame({"x": [0, 4], "n": [10, 10]}), events="x", n="n",
                     labels=["Kassell", "Swift"])
    assert es.correction == (
        "continuity correction: 0.5 added to events and non-events of 1 study "
        "with no events or only events: 'Kassell'"
    )


def test_effect_size_rejects_non_string_measure():
    with pytest.raises(ValueError, match="unknown measure"):
        effect_size(None, r=[0.1], n=[10])


# --- fuzz (issue 11): counts and summaries from user tables

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sleepmeta.errors import SleepmetaError  # noqa: E402

_COUNT = st.integers(-3, 80)
_ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)


@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_COUNT, _COUNT, _COUNT, _COUNT), min_size=1, max_size=6),
       st.sampled_from(["RR", "OR", "RD", "AS", "PETO"]))
def test_fuzz_binary_measures_are_finite_or_typed_errors(rows, measure):
    e1, n1, e2, n2 = map(list, zip(*rows))
    try:
        es = effect_size(measure, events1=e1, n1=n1, events2=e2, n2=n2)
    except SleepmetaError:
        return
    assert np.isfinite(es.yi).all() and np.isfinite(es.vi).all() and (es.vi >= 0).all()


@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_ANY_FLOAT, _ANY_FLOAT, st.integers(-2, 50), _ANY_FLOAT, _ANY_FLOAT,
                          st.integers(-2, 50)), min_size=1, max_size=6),
       st.sampled_from(["MD", "SMD", "SMDH", "ROM"]))
def test_fuzz_continuous_measures_are_finite_or_typed_errors(rows, measure):
    m1, s1, n1, m2, s2, n2 = map(list, zip(*rows))
    try:
        es = effect_size(measure, mean1=m1, sd1=s1, n1=n1, mean2=m2, sd2=s2, n2=n2)
    except SleepmetaError:
        return
    assert np.isfinite(es.yi).all() and np.isfinite(es.vi).all()
