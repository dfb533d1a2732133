"""GRADE rules, each at its boundaries, on constructed cases; overrides and their errors."""

from __future__ import annotations

import math

import pytest

from sleepmeta.errors import SpecError
from sleepmeta.review.grade import (
    DOMAINS, DomainRating, certainty, check_overrides, rate_imprecision, rate_inconsistency,
    rate_indirectness, rate_publication_bias, rate_risk_of_bias,
)


@pytest.mark.parametrize("weights, judg, expected", [
    ([50, 50], ["high", "low"], 2),              # exactly 50% at high risk
    ([49.9, 50.1], ["high", "low"], 0),          # 49.9% high and 49.9% not at low risk
    ([30, 20, 50], ["high", "some concerns", "low"], 1),   # 50% not at low risk
    ([30, 19.9, 50.1], ["high", "not assessed", "low"], 0),  # 49.9% not at low risk
    ([1, 1], ["not assessed", "not assessed"], 1),  # nothing assessed: serious, not very serious
    ([1], ["low"], 0),
])
def test_risk_of_bias_boundaries(weights, judg, expected):
    assert rate_risk_of_bias(weights, judg).downgrade == expected


@pytest.mark.parametrize("k, i2, pi, expected", [
    (1, 90.0, None, 0),
    (2, 49.99, None, 0), (2, 50.0, None, 1), (3, 74.99, (-1, 1), 1),
    (3, 75.0, (0.1, 1), 1),       # considerable, but the PI is on one side
    (3, 75.0, (-0.1, 1), 2),      # considerable and the PI on both sides
    (2, 80.0, (None, None), 1),   # k = 2: PI not estimable
])
def test_inconsistency_boundaries(k, i2, pi, expected):
    lo, hi = pi if pi else (None, None)
    assert rate_inconsistency(k, i2, lo, hi).downgrade == expected


def test_indirectness_boundaries():
    assert rate_indirectness([50, 50], ["healthy", "insomnia"], ["insomnia"]).downgrade == 1
    assert rate_indirectness([49, 51], ["healthy", "insomnia"], ["insomnia"]).downgrade == 0
    assert rate_indirectness([1], ["healthy"], ["insomnia", "healthy"]).downgrade == 0


def test_imprecision_ratio_and_information_size():
    lg = math.log
    # CI including 1 but not RR 0.8 / 1.25 on both sides: serious
    assert rate_imprecision(lg(0.85), lg(2.0), ratio=True, events=1000).downgrade == 1
    # CI beyond 1/1.25 and 1.25 on both sides: very serious
    assert rate_imprecision(lg(0.79), lg(1.26), ratio=True, events=1000).downgrade == 2
    # the spec's margin replaces 1.25: margin 1.1 -> 0.90 and 1.26 cross both
    assert rate_imprecision(lg(0.90), lg(1.26), ratio=True, margin=1.1, events=9).downgrade == 2
    # CI excluding 1: only the optimal information size (300 events) decides
    assert rate_imprecision(lg(1.2), lg(2), ratio=True, events=299).downgrade == 1
    assert rate_imprecision(lg(1.2), lg(2), ratio=True, events=300).downgrade == 0


def test_imprecision_continuous():
    assert rate_imprecision(-3, -1, ratio=False, participants=400).downgrade == 0
    assert rate_imprecision(-3, -1, ratio=False, participants=399).downgrade == 1
    assert rate_imprecision(-3, -1, ratio=False, participants=None).downgrade == 1
    # no margin: a CI including 0 is serious, never very serious
    assert rate_imprecision(-30, 30, ratio=False, participants=1000).downgrade == 1
    # with margin 5: beyond -5 and 5 -> very serious
    assert rate_imprecision(-6, 6, ratio=False, margin=5, participants=1000).downgrade == 2
    assert rate_imprecision(-5, 6, ratio=False, margin=5, participants=1000).downgrade == 1


def test_publication_bias_needs_k():
    assert not rate_publication_bias(9, 10, 0.01).assessable
    assert rate_publication_bias(10, 10, 0.0999).downgrade == 1
    assert rate_publication_bias(10, 10, 0.10).downgrade == 0


@pytest.mark.parametrize("total, label", [(0, "high"), (1, "moderate"), (2, "low"),
                                          (3, "very low"), (7, "very low")])
def test_certainty_levels(total, label):
    ratings = [DomainRating(d, 0, "") for d in DOMAINS]
    left = total
    for i, d in enumerate(DOMAINS):
        n = min(2, left)
        ratings[i] = DomainRating(d, n, "")
        left -= n
    assert certainty(ratings).label == label


@pytest.mark.parametrize("raw, match", [
    ({"XX": {"imprecision": {"downgrade": 1, "reason": "r"}}}, "grade.XX: unknown outcome"),
    ({"SOL": {"precision": {"downgrade": 1, "reason": "r"}}}, "unknown domain 'precision'"),
    ({"SOL": {"imprecision": {"downgrade": 3, "reason": "r"}}}, "downgrade: must be 0, 1 or 2"),
    ({"SOL": {"imprecision": {"downgrade": 1}}}, "needs a reason"),
    ({"SOL": {"imprecision": {"downgrade": 1, "reason": "  "}}}, "needs a reason"),
    ({"SOL": {"imprecision": {"downgrade": 1, "reason": "r", "x": 1}}}, "unknown key 'x'"),
])
def test_override_errors_name_the_key(raw, match):
    with pytest.raises(SpecError, match=match):
        check_overrides(raw, ["SOL"])
