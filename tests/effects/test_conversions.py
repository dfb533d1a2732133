"""Tests for sleepmeta.effects.conversions.

Expected numbers are hand calculations written out below from the formulas
of Wan et al. (2014, BMC Med Res Methodol 14:135) for the SD and Luo et al.
(2018, Stat Methods Med Res 27:1785) for the mean, of the Cochrane Handbook
(v6.4, 6.3.1 and 6.5.2.2) and of Altman & Bland (2011, BMJ 343:d2090).
metafor 3.8 has no ``conv.fivenum`` (added in a later release), so the R
cross-check skips there.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm, t

from sleepmeta.effects.conversions import mean_sd_from_median, sd_from_se, se_from_ci, se_from_p
from sleepmeta.errors import InputError


def test_scenario_1_min_median_max():
    a, m, b, n = 2.0, 10.0, 30.0, 40
    w = 4 / (4 + 40**0.75)  # Luo 2018, eq. 7
    xi = 2 * norm.ppf((40 - 0.375) / (40 + 0.25))  # Wan 2014, eq. 7
    mean, sd = mean_sd_from_median(m, n, minimum=a, maximum=b)
    assert mean == pytest.approx(w * (a + b) / 2 + (1 - w) * m, rel=1e-14)
    assert sd == pytest.approx((b - a) / xi, rel=1e-14)


def test_scenario_3_quartiles():
    q1, m, q3, n = 6.0, 10.0, 17.0, 25
    mean, sd = mean_sd_from_median(m, n, q1=q1, q3=q3)
    # Luo 2018, eq. 15: (0.7 + 0.39/n)(q1+q3)/2 + (0.3 - 0.39/n) m
    assert mean == pytest.approx((0.7 + 0.39 / 25) * 11.5 + (0.3 - 0.39 / 25) * 10, rel=1e-14)
    # Wan 2014, eq. 16: (q3 - q1) / (2 Phi^-1((0.75n - 0.125)/(n + 0.25)))
    assert sd == pytest.approx(11 / (2 * norm.ppf((18.75 - 0.125) / 25.25)), rel=1e-14)


def test_scenario_2_five_numbers():
    a, q1, m, q3, b, n = 1.0, 6.0, 10.0, 17.0, 40.0, 60
    w1 = 2.2 / (2.2 + 60**0.75)  # Luo 2018, eq. 11
    w2 = 0.7 - 0.72 / 60**0.55
    xi = 2 * norm.ppf((60 - 0.375) / 60.25)
    eta = 2 * norm.ppf((45 - 0.125) / 60.25)
    mean, sd = mean_sd_from_median(m, n, q1=q1, q3=q3, minimum=a, maximum=b)
    assert mean == pytest.approx(w1 * 20.5 + w2 * 11.5 + (1 - w1 - w2) * 10, rel=1e-14)
    assert sd == pytest.approx(0.5 * (39 / xi + 11 / eta), rel=1e-14)  # Wan 2014, eq. 12


def test_iqr_sd_tends_to_normal_quartile_rule():
    # as n grows, eta(n) -> 2 * 0.6744898 (the normal IQR in SD units)
    _, sd = mean_sd_from_median(0.0, 10**7, q1=-0.6744897501960817, q3=0.6744897501960817)
    assert sd == pytest.approx(1.0, rel=1e-6)


def test_vectorised():
    mean, sd = mean_sd_from_median([5.0, 6.0], [50, 80], q1=[4.0, 5.0], q3=[7.0, 8.0])
    assert mean.shape == sd.shape == (2,)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(minimum=1.0), "together"),
        (dict(q3=4.0), "together"),
        (dict(), "give minimum and maximum"),
        (dict(q1=12.0, q3=14.0), "q1 must be <= median"),
    ],
)
def test_bad_inputs(kwargs, message):
    with pytest.raises(InputError, match=message):
        mean_sd_from_median(10.0, 30, **kwargs)


@given(st.floats(-50, 50), st.floats(0.1, 20), st.integers(5, 1000))
def test_symmetric_quartiles_give_median_as_mean(m, half, n):
    mean, sd = mean_sd_from_median(m, n, q1=m - half, q3=m + half)
    assert mean == pytest.approx(m, abs=1e-9)
    assert sd > 0


def test_se_from_ci_normal_t_and_log():
    assert se_from_ci(1.0, 3.0) == pytest.approx(2 / (2 * 1.959963984540054), rel=1e-12)
    assert se_from_ci(1.0, 3.0, level=0.9) == pytest.approx(2 / (2 * norm.ppf(0.95)), rel=1e-12)
    assert se_from_ci(1.0, 3.0, df=10) == pytest.approx(2 / (2 * t.ppf(0.975, 10)), rel=1e-12)
    # OR 0.5 (0.25 to 1.0): SE of log OR = (log 1 - log 0.25) / 3.92
    assert se_from_ci(0.25, 1.0, log=True) == pytest.approx(math.log(4) / (2 * norm.ppf(0.975)))
    with pytest.raises(InputError, match="must be > 0"):
        se_from_ci(0.0, 1.0, log=True)
    with pytest.raises(InputError, match="low must be <= high"):
        se_from_ci(3.0, 1.0)


def test_se_from_p():
    # Altman & Bland 2011: z = -0.862 + sqrt(0.743 - 2.404 log p) approximates Phi^-1(1 - p/2)
    p = 0.04
    z = norm.ppf(1 - p / 2)
    assert abs(z - (-0.862 + math.sqrt(0.743 - 2.404 * math.log(p)))) < 0.01
    assert se_from_p(-1.2, p) == pytest.approx(1.2 / z, rel=1e-12)
    assert se_from_p(1.2, p, df=20) == pytest.approx(1.2 / t.ppf(1 - p / 2, 20), rel=1e-12)
    with pytest.raises(InputError, match=r"p must be in \(0, 1\)"):
        se_from_p(1.0, 0.0)


def test_sd_from_se():
    assert sd_from_se(0.5, 36) == pytest.approx(3.0)
    np.testing.assert_allclose(sd_from_se([1.0, 2.0], [4, 9]), [2.0, 6.0])
    with pytest.raises(InputError):
        sd_from_se(-1.0, 4)


@pytest.mark.r
def test_cross_check_conv_fivenum_if_available(metafor):
    has = metafor('write.csv(data.frame(has=exists("conv.fivenum")), stdout(), row.names=FALSE)')
    if not bool(has["has"].iloc[0]):
        pytest.skip("this metafor has no conv.fivenum (added in metafor 4.0); to run this "
                    "cross-check install metafor >= 4.0 in R: install.packages('metafor')")
    ref = metafor("""
res <- conv.fivenum(min=2, q1=6, median=10, q3=17, max=30, n=40, test=FALSE)
write.csv(data.frame(mean=res$mean), stdout(), row.names=FALSE)
""")
    mean, _ = mean_sd_from_median(10.0, 40, q1=6.0, q3=17.0, minimum=2.0, maximum=30.0)
    assert mean == pytest.approx(ref["mean"].iloc[0], rel=1e-6)
