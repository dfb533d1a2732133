"""Benefit-risk by dose from a curve, checked by hand."""

import math

import pandas as pd
import pytest

from sleepmeta.dose import dose_response
from sleepmeta.dose.benefit import dose_number_needed
from sleepmeta.errors import InputError


def _one_study():
    # one study, placebo 10/100 and dose 1: 20/100 (FE linear, one contrast):
    # the curve is exactly the study's log RR: RR(1) = 2, se^2 = 1/20 - 1/100 + 1/10 - 1/100
    return pd.DataFrame({"id": ["A"] * 3, "dose": [0, 1, 2], "events": [10, 20, 40],
                         "n": [100, 100, 100]})


def test_extra_events_per_1000_by_hand():
    res = dose_response(_one_study(), study="id", dose="dose", events="events", n="n",
                        random=None)
    rr = math.exp(res.coef[0])
    se = res.se[0]
    t = dose_number_needed(res, [1.0], 0.10)
    # RD = p0 (RR - 1); its CI from the ratio CI at the same p0 (Cochrane 15.4.4)
    assert t["per_1000"][0] == pytest.approx(1000 * 0.10 * (rr - 1), rel=1e-12)
    assert t["per_1000_low"][0] == pytest.approx(1000 * 0.10 * (math.exp(res.coef[0] - 1.959963984540054 * se) - 1), rel=1e-9)
    assert t["kind"][0] == "NNH"
    assert t["number"][0] == pytest.approx(1 / (0.10 * (rr - 1)), rel=1e-12)


def test_not_for_differences():
    df = pd.DataFrame({"id": ["A"] * 2, "dose": [0, 1], "mean": [1.0, 2.0], "sd": [1.0, 1.0],
                       "n": [10, 10]})
    df = pd.concat([df, df.assign(id="B")])
    res = dose_response(df, study="id", dose="dose", measure="MD", mean="mean", sd="sd", n="n")
    with pytest.raises(InputError, match="risk or odds ratio"):
        dose_number_needed(res, [1.0], 0.1)
