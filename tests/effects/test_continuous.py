"""Tests for sleepmeta.effects.continuous: MD, SMD, SMDH, ROM.

Expected numbers: hand calculations from the published formulas written out
with numpy below (Hedges 1981 for the exact SMD correction, computed here
with the gamma function itself; Bonett 2009 for SMDH; Hedges, Gurevitch &
Curtis 1999 for ROM), and metafor 3.8 on dat.normand1999 via the fixture.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sleepmeta.effects import effect_size
from sleepmeta.effects.continuous import hedges_c
from sleepmeta.errors import InputError

CONTINUOUS = ["MD", "SMD", "SMDH", "ROM"]

# Normand (1999), study 1 (Edinburgh): treatment 155, 55 (47); control 156, 75 (64)
EDINBURGH = dict(mean1=[55.0], sd1=[47.0], n1=[155], mean2=[75.0], sd2=[64.0], n2=[156])


def test_md_by_hand():
    es = effect_size("MD", **EDINBURGH)
    assert es.yi[0] == 55 - 75
    assert es.vi[0] == pytest.approx(47**2 / 155 + 64**2 / 156, rel=1e-14)


def test_smd_by_hand_hedges_1981():
    m = 155 + 156 - 2
    c = math.gamma(m / 2) / (math.sqrt(m / 2) * math.gamma((m - 1) / 2))  # Hedges 1981, eq. 6e
    s_pooled = math.sqrt((154 * 47**2 + 155 * 64**2) / m)
    g = c * (55 - 75) / s_pooled
    es = effect_size("SMD", **EDINBURGH)
    assert es.yi[0] == pytest.approx(g, rel=1e-12)
    assert es.vi[0] == pytest.approx(1 / 155 + 1 / 156 + g**2 / (2 * (155 + 156)), rel=1e-12)


def test_hedges_c_is_exact_not_the_approximation():
    # for small m the exact c(m) and 1 - 3/(4m - 1) differ: m = 4
    exact = math.gamma(2) / (math.sqrt(2) * math.gamma(1.5))
    assert hedges_c(np.array([4.0]))[0] == pytest.approx(exact, rel=1e-13)
    assert abs(exact - (1 - 3 / 15)) > 1e-3
    # and does not overflow where gamma() would (m = 400)
    assert np.isfinite(hedges_c(np.array([400.0]))[0])


def test_smdh_by_hand_bonett_2009():
    v1, v2, n1, n2 = 47.0**2, 64.0**2, 155, 156
    m = n1 + n2 - 2
    c = math.gamma(m / 2) / (math.sqrt(m / 2) * math.gamma((m - 1) / 2))
    d = c * (55 - 75) / math.sqrt((v1 + v2) / 2)
    var = d**2 * (v1**2 / (n1 - 1) + v2**2 / (n2 - 1)) / (2 * (v1 + v2) ** 2) + (
        v1 / (n1 - 1) + v2 / (n2 - 1)
    ) / ((v1 + v2) / 2)
    es = effect_size("SMDH", **EDINBURGH)
    assert es.yi[0] == pytest.approx(d, rel=1e-12)
    assert es.vi[0] == pytest.approx(c**2 * var, rel=1e-12)


def test_rom_by_hand():
    es = effect_size("ROM", **EDINBURGH)
    assert es.yi[0] == pytest.approx(math.log(55 / 75), rel=1e-14)
    assert es.vi[0] == pytest.approx(47**2 / (155 * 55**2) + 64**2 / (156 * 75**2), rel=1e-14)


def test_sd_must_be_positive_message():
    cols = dict(EDINBURGH, sd1=[-3.1])
    with pytest.raises(InputError, match=r"^study 'Roth 2012': sd1 must be > 0, got -3.1$"):
        effect_size("MD", labels=["Roth 2012"], **cols)


def test_smd_needs_more_than_three_participants():
    cols = dict(mean1=[1.0], sd1=[1.0], n1=[2], mean2=[0.0], sd2=[1.0], n2=[1])
    with pytest.raises(InputError, match=r"study '1': n1 \+ n2 must be > 3 for SMD"):
        effect_size("SMD", **cols)
    effect_size("MD", **cols)  # fine for the raw difference


def test_rom_needs_same_sign_means():
    with pytest.raises(InputError, match="same sign"):
        effect_size("ROM", **dict(EDINBURGH, mean2=[-1.0]))


group = st.tuples(
    st.floats(-100, 100), st.floats(0.1, 50), st.integers(2, 500)
)


@given(group, group)
def test_md_and_smd_antisymmetric_when_groups_swap(g1, g2):
    (m1, s1, n1), (m2, s2, n2) = g1, g2
    for measure in ("MD", "SMD", "SMDH"):
        fwd = effect_size(measure, mean1=[m1], sd1=[s1], n1=[n1], mean2=[m2], sd2=[s2], n2=[n2])
        rev = effect_size(measure, mean1=[m2], sd1=[s2], n1=[n2], mean2=[m1], sd2=[s1], n2=[n1])
        assert rev.yi[0] == pytest.approx(-fwd.yi[0], rel=1e-9, abs=1e-9)
        assert rev.vi[0] == pytest.approx(fwd.vi[0], rel=1e-9)
        assert fwd.vi[0] > 0


@given(group, group)
def test_rom_log_symmetric(g1, g2):
    (m1, s1, n1), (m2, s2, n2) = g1, g2
    m1, m2 = abs(m1) + 1, abs(m2) + 1
    fwd = effect_size("ROM", mean1=[m1], sd1=[s1], n1=[n1], mean2=[m2], sd2=[s2], n2=[n2])
    rev = effect_size("ROM", mean1=[m2], sd1=[s2], n1=[n2], mean2=[m1], sd2=[s1], n2=[n1])
    assert rev.yi[0] == pytest.approx(-fwd.yi[0], abs=1e-12)
    assert fwd.vi[0] > 0


R_NORMAND = """
dat <- dat.normand1999
es <- escalc("{m}", m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat)
write.csv(data.frame(source=dat$source, mean1=dat$m1i, sd1=dat$sd1i, n1=dat$n1i,
                     mean2=dat$m2i, sd2=dat$sd2i, n2=dat$n2i,
                     yi=as.numeric(es$yi), vi=es$vi), stdout(), row.names=FALSE)
"""


@pytest.mark.r
@pytest.mark.parametrize("measure", CONTINUOUS)
def test_matches_metafor_on_normand1999(metafor, measure):
    ref = metafor(R_NORMAND.format(m=measure))
    es = effect_size(measure, ref, labels="source", mean1="mean1", sd1="sd1", n1="n1",
                     mean2="mean2", sd2="sd2", n2="n2")
    np.testing.assert_allclose(es.yi, ref["yi"], rtol=1e-6)
    np.testing.assert_allclose(es.vi, ref["vi"], rtol=1e-6)
    assert es.labels[0] == "Edinburgh"


@pytest.mark.r
def test_smd_small_samples_match_metafor(metafor):
    # n1 + n2 = 4 and 5: where the exact correction differs most from the approximation
    ref = metafor("""
es <- escalc("SMD", m1i=c(3,1), sd1i=c(1,2), n1i=c(2,3), m2i=c(1,0), sd2i=c(1.5,1), n2i=c(2,2))
write.csv(data.frame(yi=as.numeric(es$yi), vi=es$vi), stdout(), row.names=FALSE)
""")
    es = effect_size("SMD", mean1=[3, 1], sd1=[1, 2], n1=[2, 3], mean2=[1, 0], sd2=[1.5, 1], n2=[2, 2])
    np.testing.assert_allclose(es.yi, ref["yi"], rtol=1e-6)
    np.testing.assert_allclose(es.vi, ref["vi"], rtol=1e-6)
