"""NNT/NNH with Altman's CI, NNH from a ratio and a baseline risk, pooled baseline risk, LHH."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sleepmeta.benefit_risk import (baseline_risk, likelihood_helped_harmed, number_needed,
                                    number_needed_from_ratio)
from sleepmeta.errors import InputError


def test_ci_crossing_zero_altman_style():
    # hand example in Altman's (1998, BMJ 317:1309) presentation: a beneficial event,
    # RD 0.059 (CI -0.017 to 0.135) -> NNT 1/0.059 = 16.9, CI "NNTB 1/0.135 = 7.4 to
    # infinity to NNTH 1/0.017 = 58.8"
    nn = number_needed(0.059, -0.017, 0.135, events="beneficial")
    assert nn.kind == "NNT" and math.isclose(nn.value, 1 / 0.059)
    assert nn.crosses_zero
    assert math.isclose(nn.nntb_bound[0], 1 / 0.135) and math.isclose(nn.nnth_bound[0], 1 / 0.017)
    assert "to infinity to" in nn.text


def test_harm_ci_not_crossing():
    # hand: RD 0.2 (0.1 to 0.3) of an adverse event -> NNH 5 (NNTH 3.33 to 10)
    nn = number_needed(0.2, 0.1, 0.3)
    assert nn.kind == "NNH" and nn.value == 5.0 and not nn.crosses_zero
    assert nn.nnth_bound == (1 / 0.3, 1 / 0.1) and nn.nntb_bound == ()


def test_benefit_ci_not_crossing_for_harmful_event():
    # fewer adverse events with treatment: RD -0.1 (-0.2 to -0.05) -> NNT 10 (NNTB 5 to 20)
    nn = number_needed(-0.1, -0.2, -0.05)
    assert nn.kind == "NNT" and nn.nntb_bound == (5.0, 20.0)


def test_zero_rd_is_infinite():
    nn = number_needed(0.0, -0.1, 0.1)
    assert nn.kind == "none" and math.isinf(nn.value) and nn.to_dict()["value"] is None


def test_from_ratio_hand():
    # RR 3 (2 to 4.5) at p0 = 0.06: RD = 0.12 (0.06 to 0.21) -> NNH 8.33 (NNTH 4.76 to 16.7)
    nn = number_needed_from_ratio(3.0, 2.0, 4.5, 0.06)
    assert math.isclose(nn.rd, 0.12) and math.isclose(nn.rd_ci_low, 0.06)
    assert math.isclose(nn.rd_ci_high, 0.21)
    assert math.isclose(nn.value, 1 / 0.12)


def test_from_odds_ratio_hand():
    # OR 2 at p0 = 0.2: p1 = 2*0.2/(1 - 0.2 + 0.4) = 1/3; RD = 1/3 - 0.2 = 2/15
    nn = number_needed_from_ratio(2.0, 2.0, 2.0, 0.2, measure="OR")
    assert math.isclose(nn.rd, 2 / 15)


def test_bad_inputs():
    with pytest.raises(InputError):
        number_needed(0.1, 0.2, 0.3)  # rd outside its CI
    with pytest.raises(InputError):
        number_needed_from_ratio(2.0, 1.0, 3.0, 1.5)
    with pytest.raises(InputError):
        likelihood_helped_harmed(0, 3)


def test_lhh_hand():
    # Citrome & Ketter 2013: LHH = NNH / NNT; NNT 4, NNH 20 -> 5
    assert likelihood_helped_harmed(4, 20) == 5.0


def test_baseline_risk_single_study_hand():
    # one study, 15 of 248 (Ohta 2012 placebo dizziness): its own risk
    b = baseline_risk([15], [248])
    assert math.isclose(b.estimate, 15 / 248, rel_tol=1e-12) and b.k == 1 and b.method == "FE"


@pytest.mark.r
def test_baseline_risk_matches_metafor(metafor):
    df = metafor("res <- rma(measure='PLO', xi=c(45,2,7), ni=c(248,53,60)); "
                 "write.csv(data.frame(b=transf.ilogit(c(res$b)), lo=transf.ilogit(res$ci.lb), "
                 "hi=transf.ilogit(res$ci.ub)), stdout(), row.names=FALSE)")
    b = baseline_risk([45, 2, 7], [248, 53, 60])
    assert math.isclose(b.estimate, df.b[0], rel_tol=1e-5)
    assert math.isclose(b.ci_low, df.lo[0], rel_tol=1e-5)
    assert math.isclose(b.ci_high, df.hi[0], rel_tol=1e-5)


@given(st.floats(-0.9, 0.9), st.floats(0.001, 0.09), st.floats(0.001, 0.09))
def test_ci_bounds_bracket_value(rd, below, above):
    lo, hi = max(-1.0, rd - below), min(1.0, rd + above)
    nn = number_needed(rd, lo, hi)
    assert nn.crosses_zero == (lo <= 0 <= hi)
    if not nn.crosses_zero and rd != 0:
        bounds = nn.nnth_bound or nn.nntb_bound
        assert bounds[0] <= nn.value * (1 + 1e-12) and nn.value <= bounds[1] * (1 + 1e-12)


def test_nnh_ci_carries_the_baseline_uncertainty_by_hand():
    import math

    from sleepmeta.benefit_risk import number_needed_uncertain_baseline

    z = 1.959963984540054
    lg = lambda p: math.log(p / (1 - p))  # noqa: E731
    ex = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    # RR 3 with SE(log RR) 0.2; p0 = 0.08 with SE(logit p0) 0.3 (hand calculation):
    # RD = 0.08 x 2 = 0.16; var = (0.08 x 3)^2 0.04 + (2 x 0.08 x 0.92)^2 0.09
    #    = 0.002304 + 0.0019501 = 0.0042541; SE = 0.065224
    nn = number_needed_uncertain_baseline(
        3.0, math.exp(math.log(3) - 0.2 * z), math.exp(math.log(3) + 0.2 * z),
        0.08, ex(lg(0.08) - 0.3 * z), ex(lg(0.08) + 0.3 * z))
    se = math.sqrt(0.002304 + (2 * 0.08 * 0.92) ** 2 * 0.09)
    assert nn.rd == pytest.approx(0.16)
    assert nn.rd_ci_low == pytest.approx(0.16 - z * se, rel=1e-9)
    assert nn.kind == "NNH" and nn.value == pytest.approx(6.25)
    # wider than the CI that ignores the baseline's uncertainty
    fixed = number_needed_from_ratio(3.0, math.exp(math.log(3) - 0.2 * z),
                                     math.exp(math.log(3) + 0.2 * z), 0.08)
    assert nn.rd_ci_high - nn.rd_ci_low > fixed.rd_ci_high - fixed.rd_ci_low


def test_nnh_uncertain_baseline_bad_input():
    from sleepmeta.benefit_risk import number_needed_uncertain_baseline

    with pytest.raises(InputError, match="baseline_low"):
        number_needed_uncertain_baseline(2.0, 1.5, 3.0, 0.1, 0.2, 0.3)
