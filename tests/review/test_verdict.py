"""The verdict rule at every boundary, on constructed cases (no data files)."""

from __future__ import annotations

import math

import pytest

from sleepmeta.review.verdict import claimed_sign, verdict


@pytest.mark.parametrize("k, lo, hi, claimed, expected", [
    (2, 0.1, 2.0, 1, "supported"),            # CI strictly above 0, k = 2
    (2, 1e-12, 2.0, 1, "supported"),          # just above 0
    (2, 0.0, 2.0, 1, "uncertain"),            # touching 0 does not exclude it
    (1, 0.1, 2.0, 1, "limited evidence"),     # k = 1
    (5, -2.0, -0.1, -1, "supported"),         # claimed decrease
    (5, -2.0, 0.5, -1, "uncertain"),
    (5, 0.1, 2.0, -1, "not supported"),       # CI excludes the claimed side
    (5, 0.0, 2.0, -1, "not supported"),       # upper side at no effect: claimed side excluded
    (5, -1e-12, 2.0, -1, "uncertain"),
    (1, -3.0, -1.0, 1, "not supported"),      # also with k = 1
])
def test_ci_boundaries(k, lo, hi, claimed, expected):
    assert verdict(k=k, ci_low=lo, ci_high=hi, claimed=claimed)[0] == expected


def test_min_k_from_spec_threshold():
    assert verdict(k=2, ci_low=0.1, ci_high=1.0, claimed=1, min_k=3)[0] == "limited evidence"
    assert verdict(k=3, ci_low=0.1, ci_high=1.0, claimed=1, min_k=3)[0] == "supported"


def test_margin_boundaries_natural_scale():
    # margin 5 minutes: CI [-4, -1] lies within +-5 -> not supported, even though it excludes 0
    assert verdict(k=3, ci_low=-4.0, ci_high=-1.0, claimed=-1, margin=5)[0] == "not supported"
    assert verdict(k=3, ci_low=-5.0, ci_high=5.0, claimed=-1, margin=5)[0] == "not supported"
    assert verdict(k=3, ci_low=-5.0001, ci_high=-1.0, claimed=-1, margin=5)[0] == "supported"
    assert verdict(k=3, ci_low=-4.0, ci_high=-1.0, claimed=-1, margin=0)[0] == "supported"


def test_margin_on_ratio_scale():
    m = 1.1  # RR within 1/1.1 .. 1.1 -> not supported
    inside = (math.log(1 / 1.1), math.log(1.1))
    assert verdict(k=4, ci_low=inside[0], ci_high=inside[1], claimed=1, margin=m,
                   ratio=True)[0] == "not supported"
    assert verdict(k=4, ci_low=math.log(1.01), ci_high=math.log(1.2), claimed=1, margin=m,
                   ratio=True)[0] == "supported"


@pytest.mark.parametrize("dirs, expected", [
    ([], "no data in this review"),
    ([1], "uncertain"),                        # direction-only evidence never supports alone
    ([1, 1, 1], "uncertain"),
    ([1, -1], "uncertain"),
    ([1, 0], "uncertain"),
    ([1, None], "uncertain"),
    ([-1], "uncertain"),
])
def test_non_poolable_only(dirs, expected):
    assert verdict(k=0, directions=dirs, claimed=1)[0] == expected


def test_direction_rows_of_one_source_count_once():
    # three rows of study A and one of B: two sources, both the claimed way
    why = verdict(k=0, directions=[("A", 1), ("A", 1), ("A", 1), ("B", 1)], claimed=1)[1]
    assert "2 of 2 source(s)" in why
    # a source whose rows disagree has no direction of its own
    why = verdict(k=0, directions=[("A", 1), ("A", -1), ("B", 1)], claimed=1)[1]
    assert "1 of 2 source(s)" in why


@pytest.mark.parametrize("certainty, expected", [
    ("high", "supported"), ("moderate", "supported"),     # boundary: moderate still supports
    ("low", "limited evidence"), ("very low", "limited evidence"),
    (None, "supported"),                                  # no rating (e.g. a dose slope)
])
def test_certainty_caps_support(certainty, expected):
    assert verdict(k=3, ci_low=0.1, ci_high=1.0, claimed=1, certainty=certainty)[0] == expected


def test_certainty_does_not_rescue_a_ci_including_no_effect():
    assert verdict(k=3, ci_low=-0.1, ci_high=1.0, claimed=1, certainty="high")[0] == "uncertain"
    # nor a CI against the claim, nor one within the margin
    assert verdict(k=3, ci_low=-2, ci_high=-1, claimed=1, certainty="high")[0] == "not supported"
    assert verdict(k=3, ci_low=-1, ci_high=1, claimed=1, margin=2,
                   certainty="high")[0] == "not supported"


def test_pooled_result_ignores_directions():
    # with a pooled CI the non-poolable rows do not change the verdict
    assert verdict(k=2, ci_low=0.1, ci_high=1, claimed=1, directions=[-1, -1])[0] == "supported"


def test_claimed_sign():
    from types import SimpleNamespace as NS

    assert claimed_sign(NS(better="lower", table="efficacy"), "benefit") == -1
    assert claimed_sign(NS(better="higher", table="efficacy"), "benefit") == 1
    assert claimed_sign(NS(better="lower", table="harms"), "harm") == 1
    assert claimed_sign(NS(better="lower", table="harms"), "dose") == 1
    assert claimed_sign(NS(better="lower", table="efficacy"), "dose") == -1


def test_bad_claimed():
    with pytest.raises(ValueError):
        verdict(k=1, ci_low=0, ci_high=1, claimed=0)
