"""Tests for sleepmeta.effects.correlation: COR and ZCOR.

Expected numbers: hand calculations (Fisher 1921: z = atanh r, v = 1/(n-3);
COR large-sample variance (1 - r^2)^2/(n - 1)) and metafor 3.8 on
dat.molloy2014 via the fixture.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sleepmeta.effects import effect_size
from sleepmeta.errors import InputError


def test_cor_by_hand():
    es = effect_size("COR", r=[0.3], n=[50])
    assert es.yi[0] == 0.3
    assert es.vi[0] == pytest.approx((1 - 0.09) ** 2 / 49, rel=1e-14)


def test_zcor_by_hand():
    es = effect_size("ZCOR", r=[0.3], n=[50])
    assert es.yi[0] == pytest.approx(0.5 * math.log(1.3 / 0.7), rel=1e-14)
    assert es.vi[0] == pytest.approx(1 / 47, rel=1e-14)


def test_r_outside_minus_one_one():
    with pytest.raises(InputError, match=r"study 'B': r must be in \[-1, 1\], got 1.2"):
        effect_size("COR", r=[0.1, 1.2], n=[10, 10], labels=["A", "B"])


def test_zcor_rejects_perfect_correlation():
    with pytest.raises(InputError, match=r"r must be in \(-1, 1\) for ZCOR"):
        effect_size("ZCOR", r=[1.0], n=[10])


def test_n_must_exceed_three():
    with pytest.raises(InputError, match=r"study '1': n must be >= 4"):
        effect_size("COR", r=[0.1], n=[3])


@given(st.floats(-0.99, 0.99), st.integers(4, 10_000))
def test_sign_symmetry_and_positive_variance(r, n):
    for measure in ("COR", "ZCOR"):
        pos = effect_size(measure, r=[r], n=[n])
        neg = effect_size(measure, r=[-r], n=[n])
        assert neg.yi[0] == pytest.approx(-pos.yi[0], abs=1e-15)
        assert pos.vi[0] > 0


R_MOLLOY = """
dat <- dat.molloy2014
es <- escalc("{m}", ri=ri, ni=ni, data=dat)
write.csv(data.frame(r=dat$ri, n=dat$ni, yi=as.numeric(es$yi), vi=es$vi),
          stdout(), row.names=FALSE)
"""


@pytest.mark.r
@pytest.mark.parametrize("measure", ["COR", "ZCOR"])
def test_matches_metafor_on_molloy2014(metafor, measure):
    ref = metafor(R_MOLLOY.format(m=measure))
    es = effect_size(measure, ref, r="r", n="n")
    np.testing.assert_allclose(es.yi, ref["yi"], rtol=1e-6, atol=1e-15)
    np.testing.assert_allclose(es.vi, ref["vi"], rtol=1e-6)
