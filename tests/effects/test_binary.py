"""Tests for sleepmeta.effects.binary: RR, OR, RD, AS, PETO (2x2 tables).

Sources of expected numbers: metafor's documented BCG example (Viechtbauer
2010, J Stat Softw 36(3), p. 4: trial 1 yi = -0.8893, vi = 0.3256; trial 2
yi = -1.5854, vi = 0.1946), hand calculations from the textbook formulas
written out below, and metafor 3.8 itself through the ``metafor`` fixture.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sleepmeta.effects import effect_size
from sleepmeta.errors import InputError

BINARY = ["RR", "OR", "RD", "AS", "PETO"]

# a constructed set with zero cells: a double-zero study (1), a study with
# only events in both groups (4), and single zero cells (2, 3, 6)
ZEROS = pd.DataFrame(
    {
        "events1": [0, 0, 3, 10, 5, 0],
        "n1": [10, 12, 20, 10, 15, 8],
        "events2": [0, 2, 0, 10, 5, 3],
        "n2": [10, 15, 18, 10, 15, 9],
    }
)


def bcg() -> pd.DataFrame:
    frame = pd.read_csv(files("sleepmeta").joinpath("data/bcg.csv"))
    frame["n1"] = frame["tpos"] + frame["tneg"]
    frame["n2"] = frame["cpos"] + frame["cneg"]
    return frame


def test_bcg_log_rr_matches_metafor_documentation():
    # Viechtbauer (2010), escalc output for dat.bcg: trials 1 and 2
    es = effect_size("RR", bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    np.testing.assert_allclose(es.yi[:2], [-0.8893, -1.5854], atol=5e-5)
    np.testing.assert_allclose(es.vi[:2], [0.3256, 0.1946], atol=5e-5)
    assert es.correction == ""


def test_each_measure_by_hand_bcg_trial_1():
    # Aronson 1948: a=4, b=119, c=11, d=128 (n1=123, n2=139)
    a, b, c, d = 4.0, 119.0, 11.0, 128.0
    n1, n2 = a + b, c + d
    p1, p2 = a / n1, c / n2
    n = n1 + n2
    e = (a + c) * n1 / n
    v = (a + c) * (b + d) * n1 * n2 / (n**2 * (n - 1))
    expected = {
        "RR": (np.log(p1 / p2), 1 / a - 1 / n1 + 1 / c - 1 / n2),
        "OR": (np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d),
        "RD": (p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2),
        "AS": (np.arcsin(np.sqrt(p1)) - np.arcsin(np.sqrt(p2)), 1 / (4 * n1) + 1 / (4 * n2)),
        "PETO": ((a - e) / v, 1 / v),
    }
    for measure, (yi, vi) in expected.items():
        es = effect_size(measure, events1=[a], n1=[n1], events2=[c], n2=[n2])
        assert es.yi[0] == pytest.approx(yi, rel=1e-12), measure
        assert es.vi[0] == pytest.approx(vi, rel=1e-12), measure


def test_zero_cell_gets_half_added_to_all_four_cells():
    # study 2 of ZEROS: a=0, b=12, c=2, d=13 -> 0.5, 12.5, 2.5, 13.5
    a, b, c, d = 0.5, 12.5, 2.5, 13.5
    es = effect_size("OR", events1=[0], n1=[12], events2=[2], n2=[15], labels=["Roth 2012"])
    assert es.yi[0] == pytest.approx(np.log(a * d / (b * c)), rel=1e-12)
    assert es.vi[0] == pytest.approx(1 / a + 1 / b + 1 / c + 1 / d, rel=1e-12)
    assert es.corrected.tolist() == [True]
    assert "0.5" in es.correction and "'Roth 2012'" in es.correction


def test_double_zero_study_is_kept_and_corrected():
    # escalc default drop00=FALSE: 0/10 vs 0/10 -> 0.5/11 vs 0.5/11, log RR 0
    es = effect_size("RR", events1=[0], n1=[10], events2=[0], n2=[10])
    assert es.yi[0] == 0.0
    assert es.vi[0] == pytest.approx(2 * (1 / 0.5 - 1 / 11))


def test_peto_is_corrected_by_default_as_in_escalc():
    # escalc sets add=0 only for AS (among these); PETO keeps add=1/2.
    # 0/10 vs 0/10 -> cells 0.5, 10.5, 0.5, 10.5: E = 1*11/22, V = 1*21*(1/2)^2/21
    es = effect_size("PETO", events1=[0], n1=[10], events2=[0], n2=[10])
    assert es.yi[0] == pytest.approx(0.0, abs=1e-15)
    assert es.vi[0] == pytest.approx(1 / (1 * 21 * 0.25 / 21))
    assert es.corrected.tolist() == [True]


def test_as_is_not_corrected():
    es = effect_size("AS", events1=[0], n1=[10], events2=[3], n2=[12])
    assert es.yi[0] == pytest.approx(0 - np.arcsin(np.sqrt(3 / 12)))
    assert es.vi[0] == pytest.approx(1 / 40 + 1 / 48)
    assert es.correction == "" and not es.corrected.any()


@pytest.mark.parametrize("field,value,rule", [("events1", -1, ">= 0"), ("n2", 0, ">= 1")])
def test_invalid_counts_name_study_field_and_rule(field, value, rule):
    cols = {"events1": [1, 2], "n1": [10, 10], "events2": [1, 2], "n2": [10, 10]}
    cols[field] = [cols[field][0], value]
    with pytest.raises(InputError, match=rf"study 'B': {field} must be {rule}, got {value}"):
        effect_size("RR", labels=["A", "B"], **cols)


def test_events_above_n_is_an_error():
    with pytest.raises(InputError, match=r"study '1': events2 must be <= n2"):
        effect_size("OR", events1=[1], n1=[10], events2=[11], n2=[10])


counts = st.integers(min_value=1, max_value=60).flatmap(
    lambda n: st.tuples(st.integers(0, n), st.just(n))
)


@given(counts, counts)
def test_swapping_groups_negates_log_ratios_and_differences(g1, g2):
    (e1, n1), (e2, n2) = g1, g2
    for measure in BINARY:
        fwd = effect_size(measure, events1=[e1], n1=[n1], events2=[e2], n2=[n2])
        rev = effect_size(measure, events1=[e2], n1=[n2], events2=[e1], n2=[n1])
        assert rev.yi[0] == pytest.approx(-fwd.yi[0], abs=1e-12)
        assert rev.vi[0] == pytest.approx(fwd.vi[0], rel=1e-12)


@given(counts, counts)
def test_or_flips_sign_when_events_and_non_events_swap(g1, g2):
    (e1, n1), (e2, n2) = g1, g2
    fwd = effect_size("OR", events1=[e1], n1=[n1], events2=[e2], n2=[n2])
    rev = effect_size("OR", events1=[n1 - e1], n1=[n1], events2=[n2 - e2], n2=[n2])
    assert rev.yi[0] == pytest.approx(-fwd.yi[0], abs=1e-12)


@given(counts, counts)
def test_variances_positive(g1, g2):
    (e1, n1), (e2, n2) = g1, g2
    for measure in BINARY:
        es = effect_size(measure, events1=[e1], n1=[n1], events2=[e2], n2=[n2])
        assert es.vi[0] > 0, measure


# ----------------------------------------------------------------------------- metafor oracle

R_BCG = """
dat <- dat.bcg
dat$n1 <- dat$tpos + dat$tneg
dat$n2 <- dat$cpos + dat$cneg
es <- escalc("{m}", ai=tpos, n1i=n1, ci=cpos, n2i=n2, data=dat)
write.csv(data.frame(events1=dat$tpos, n1=dat$n1, events2=dat$cpos, n2=dat$n2,
                     yi=as.numeric(es$yi), vi=es$vi), stdout(), row.names=FALSE)
"""

R_ZEROS = """
es <- escalc("{m}", ai=c(0,0,3,10,5,0), n1i=c(10,12,20,10,15,8),
             ci=c(0,2,0,10,5,3), n2i=c(10,15,18,10,15,9))
write.csv(data.frame(yi=as.numeric(es$yi), vi=es$vi), stdout(), row.names=FALSE)
"""


@pytest.mark.r
@pytest.mark.parametrize("measure", BINARY)
def test_matches_metafor_on_bcg(metafor, measure):
    ref = metafor(R_BCG.format(m=measure))
    es = effect_size(measure, ref, events1="events1", n1="n1", events2="events2", n2="n2")
    np.testing.assert_allclose(es.yi, ref["yi"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(es.vi, ref["vi"], rtol=1e-6)


@pytest.mark.r
@pytest.mark.parametrize("measure", BINARY)
def test_matches_metafor_with_zero_cells(metafor, measure):
    ref = metafor(R_ZEROS.format(m=measure))
    es = effect_size(measure, ZEROS, events1="events1", n1="n1", events2="events2", n2="n2")
    np.testing.assert_allclose(es.yi, ref["yi"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(es.vi, ref["vi"], rtol=1e-6)
    expected_corrected = [True, True, True, True, False, True] if measure != "AS" else [False] * 6
    assert es.corrected.tolist() == expected_corrected
