"""Tests for sleepmeta.effects.proportion: PR, PLN, PLO, PAS, PFT.

Expected numbers: hand calculations from the definitions (Freeman & Tukey
1950 for PFT) and metafor 3.8 on dat.pritz1997 (which has studies with
only events, 10/10 and 12/12) and on a constructed set with no events.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sleepmeta.effects import effect_size
from sleepmeta.errors import InputError

PROPORTIONS = ["PR", "PLN", "PLO", "PAS", "PFT"]


def test_each_measure_by_hand():
    x, n = 16.0, 17.0  # Pritz (1997), study 1 (Giannotta et al.)
    p = x / n
    expected = {
        "PR": (p, p * (1 - p) / n),
        "PLN": (math.log(p), 1 / x - 1 / n),
        "PLO": (math.log(x / (n - x)), 1 / x + 1 / (n - x)),
        "PAS": (math.asin(math.sqrt(p)), 1 / (4 * n)),
        "PFT": (
            0.5 * (math.asin(math.sqrt(x / (n + 1))) + math.asin(math.sqrt((x + 1) / (n + 1)))),
            1 / (4 * n + 2),
        ),
    }
    for measure, (yi, vi) in expected.items():
        es = effect_size(measure, events=[x], n=[n])
        assert es.yi[0] == pytest.approx(yi, rel=1e-13), measure
        assert es.vi[0] == pytest.approx(vi, rel=1e-13), measure


def test_only_events_corrected_for_pr_pln_plo():
    # 10/10 -> 10.5 events of 11 (1/2 added to events and non-events)
    for measure in ("PR", "PLN", "PLO"):
        es = effect_size(measure, events=[10], n=[10])
        assert es.corrected.tolist() == [True]
    es = effect_size("PLO", events=[10], n=[10])
    assert es.yi[0] == pytest.approx(math.log(10.5 / 0.5))
    assert es.vi[0] == pytest.approx(1 / 10.5 + 1 / 0.5)


def test_pas_pft_not_corrected():
    for measure in ("PAS", "PFT"):
        es = effect_size(measure, events=[0], n=[10])
        assert es.correction == ""
    assert effect_size("PAS", events=[0], n=[10]).yi[0] == 0.0


def test_events_above_n():
    with pytest.raises(InputError, match=r"study '2': events must be <= n"):
        effect_size("PR", events=[1, 5], n=[4, 4])


@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_complement_symmetry_and_positive_variance(xn):
    x, n = xn
    for measure in ("PLO", "PR"):
        es = effect_size(measure, events=[x], n=[n])
        comp = effect_size(measure, events=[n - x], n=[n])
        if measure == "PLO":
            assert comp.yi[0] == pytest.approx(-es.yi[0], abs=1e-12)
        else:
            assert comp.yi[0] == pytest.approx(1 - es.yi[0], abs=1e-12)
    for measure in PROPORTIONS:
        assert effect_size(measure, events=[x], n=[n]).vi[0] > 0


R_PRITZ = """
dat <- dat.pritz1997
es <- escalc("{m}", xi=xi, ni=ni, data=dat)
write.csv(data.frame(events=dat$xi, n=dat$ni, yi=as.numeric(es$yi), vi=es$vi),
          stdout(), row.names=FALSE)
"""


@pytest.mark.r
@pytest.mark.parametrize("measure", PROPORTIONS)
def test_matches_metafor_on_pritz1997(metafor, measure):
    ref = metafor(R_PRITZ.format(m=measure))
    es = effect_size(measure, ref, events="events", n="n")
    np.testing.assert_allclose(es.yi, ref["yi"], rtol=1e-6)
    np.testing.assert_allclose(es.vi, ref["vi"], rtol=1e-6)


@pytest.mark.r
@pytest.mark.parametrize("measure", PROPORTIONS)
def test_matches_metafor_with_no_events(metafor, measure):
    ref = metafor(f"""
es <- escalc("{measure}", xi=c(0, 3, 7, 1), ni=c(12, 9, 7, 30))
write.csv(data.frame(yi=as.numeric(es$yi), vi=es$vi), stdout(), row.names=FALSE)
""")
    es = effect_size(measure, events=[0, 3, 7, 1], n=[12, 9, 7, 30])
    np.testing.assert_allclose(es.yi, ref["yi"], rtol=1e-6, atol=1e-15)
    np.testing.assert_allclose(es.vi, ref["vi"], rtol=1e-6)
