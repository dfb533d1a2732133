"""Tests for sleepmeta.effects.measures: the registry answers about each measure."""

from __future__ import annotations

import math

import pytest

from sleepmeta.effects import MEASURES
from sleepmeta.effects.measures import display_name, is_log_scale, log_scale_measures, null_value


def test_log_scale_measures_are_metafors_log_measures():
    # escalc: RR, OR, PETO ("log odds ratio"), ROM ("log ratio of means"), PLN ("log
    # proportion") and PLO ("logit") are analysed on a log scale
    # and IRR, a metafor name recognised for yi computed elsewhere (log incidence rate ratio)
    assert log_scale_measures() == {"RR", "OR", "PETO", "ROM", "PLN", "PLO", "IRR"}
    assert display_name("IRR") == "Incidence rate ratio" and null_value("IRR") == 1.0
    assert all(("log" in m.description) == m.log_scale for m in MEASURES.values())


@pytest.mark.parametrize("name", sorted(MEASURES))
def test_every_measure_has_a_label_columns_and_a_coherent_null(name):
    m = MEASURES[name]
    assert m.label and m.columns
    assert display_name(name) == m.label
    if m.null is not None:
        # no effect: a ratio of 1 is 0 on the log scale, a difference of 0 is 0
        assert (math.log(m.null) if m.log_scale else m.null) == 0
    assert null_value(name) == m.null
    assert is_log_scale(name) == m.log_scale


def test_unknown_measure_is_analysed_as_given():
    assert not is_log_scale("XYZ") and not is_log_scale(None)
    assert display_name("XYZ", "yi") == "yi" and null_value("XYZ") == 0.0
