"""Covariances of contrasts against a shared reference, checked by hand."""

import math

import numpy as np
import pytest

from sleepmeta.dose.covariance import (crude_ratio_contrasts, greenland_longnecker, hamling,
                                       shared_control_md, shared_control_smd)
from sleepmeta.errors import InputError


def test_three_arm_greenland_longnecker_by_hand():
    # Placebo 10/100, 150 mg 20/100, 300 mg 30/100 (crude counts).
    # Hand calculation (Greenland & Longnecker 1992 with the observed cells):
    #   y1 = log(0.2/0.1) = log 2, y2 = log 3
    #   Var(y1) = 1/20 - 1/100 + 1/10 - 1/100 = 0.04 + 0.09 = 0.13
    #   Var(y2) = 1/30 - 1/100 + 0.09 = 0.0233333 + 0.09 = 0.1133333
    #   Cov(y1, y2) = 1/10 - 1/100 = 0.09
    y, S, corrected = crude_ratio_contrasts([10, 20, 30], [100, 100, 100], measure="RR")
    assert y == pytest.approx([math.log(2), math.log(3)], rel=1e-12)
    assert S == pytest.approx(np.array([[0.13, 0.09], [0.09, 0.09 + 1 / 30 - 0.01]]), rel=1e-12)
    assert not corrected
    # the iterative GL with crude log rate ratios finds the observed cells:
    # Cov = 1/a0 = 0.1 for person-time data
    yy = np.r_[0.0, y]
    v = np.r_[0.0, 1 / 20 + 0.1, 1 / 30 + 0.1]
    G = greenland_longnecker(yy, v, [10, 20, 30], [1000, 1000, 1000], type="ir")
    assert G == pytest.approx(np.array([[v[1], 0.1], [0.1, v[2]]]), rel=1e-10)


def test_greenland_longnecker_adjusted_ratios_by_hand():
    # Adjusted ratios equal to the odds ratios of the cells A* = (10, 24, 26),
    # n = 100 each (GL/glst fit cumulative-incidence cells by the odds equation),
    # with the same total of cases as the reported (15, 20, 25) = 60: the fitted
    # cells must be A*. Then c0 = 1/10 - 1/100 = 0.09, c1 = 1/24 - 1/100,
    # c2 = 1/26 - 1/100 (risk-ratio variance terms) and, with given variances
    # v1 = 0.2, v2 = 0.3:  Cov = c0 / sqrt((c0 + c1)(c0 + c2)) * sqrt(0.2 * 0.3)
    odds = np.array([10 / 90, 24 / 76, 26 / 74])
    y = np.log(odds / odds[0])
    v = np.array([0.0, 0.2, 0.3])
    S = greenland_longnecker(y, v, [15, 20, 25], [100, 100, 100], type="ci")
    c0, c1, c2 = 0.09, 1 / 24 - 0.01, 1 / 26 - 0.01
    cov = c0 / math.sqrt((c0 + c1) * (c0 + c2)) * math.sqrt(0.06)
    assert S == pytest.approx(np.array([[0.2, cov], [cov, 0.3]]), rel=1e-9)


def test_greenland_longnecker_case_control_by_hand():
    # Odds ratios of cells A* = (20, 30, 50) of n = (100, 100, 100), reported
    # cases (25, 35, 40) (same total 100): c = 1/A + 1/(n - A).
    A = np.array([20.0, 30, 50])
    odds = A / (100 - A)
    y = np.log(odds / odds[0])
    v = np.array([0.0, 0.15, 0.12])
    S = greenland_longnecker(y, v, [25, 35, 40], [100, 100, 100], type="cc")
    c = 1 / A + 1 / (100 - A)
    cov = c[0] / math.sqrt((c[0] + c[1]) * (c[0] + c[2])) * math.sqrt(0.15 * 0.12)
    assert S[0, 1] == pytest.approx(cov, rel=1e-9)


def test_hamling_recovers_consistent_counts():
    # Effective counts A = (10, 20, 30), N = (100, 100, 100) give the crude log RRs
    # and variances. Reported counts (12, 18, 30) of (100, 100, 100) keep the
    # reference share N0/sum(N) = 1/3 and sum(N)/sum(A) = 5, so Hamling's
    # equations are solved by A0 = 10, N0 = 100 and the covariance is the crude
    # one: 1/10 - 1/100 = 0.09.
    y, S, _ = crude_ratio_contrasts([10, 20, 30], [100, 100, 100])
    H = hamling(np.r_[0, y], np.r_[0, np.diag(S)], [12, 18, 30], [100, 100, 100], type="ci")
    assert H == pytest.approx(S, rel=1e-7)


def test_log_or_contrasts_by_hand():
    # Odds: 10/90, 20/80; Var = 1/20 + 1/80 + 1/10 + 1/90; Cov = 1/10 + 1/90
    y, S, _ = crude_ratio_contrasts([10, 20, 25], [100, 100, 100], measure="OR")
    assert y[0] == pytest.approx(math.log((20 / 80) / (10 / 90)), rel=1e-12)
    assert S[0, 0] == pytest.approx(1 / 20 + 1 / 80 + 1 / 10 + 1 / 90, rel=1e-12)
    assert S[0, 1] == pytest.approx(1 / 10 + 1 / 90, rel=1e-12)


def test_zero_events_in_reference_is_an_error():
    with pytest.raises(InputError, match="study 'T1'.*reference arm has 0 events"):
        crude_ratio_contrasts([0, 3, 5], [50, 50, 50], study="T1")
    with pytest.raises(InputError, match="reference level must be > 0"):
        greenland_longnecker([0, 0.5], [0, 0.1], [0, 3], [50, 50], study="T1")


def test_zero_events_in_a_dose_arm_gets_half():
    # 1/2 added to every cell of the study: (5.5/101, 0.5/101) ...
    y, S, corrected = crude_ratio_contrasts([5, 0, 4], [100, 100, 100])
    assert corrected
    assert y[0] == pytest.approx(math.log(0.5 / 5.5), rel=1e-12)
    assert S[0, 1] == pytest.approx(1 / 5.5 - 1 / 101, rel=1e-12)


def test_shared_control_md_and_smd_by_hand():
    y, S = shared_control_md([10, 7, 5], [4, 4, 5], [16, 16, 25])
    # Var = 16/16 + 16/16 = 2, 25/25 + 1 = 2; Cov = 16/16 = 1
    assert y.tolist() == [-3.0, -5.0]
    assert S.tolist() == [[2.0, 1.0], [1.0, 2.0]]
    d, V = shared_control_smd([0, 2, 4], [2, 2, 2], [10, 10, 10])
    # pooled SD 2: d = (1, 2); N = 30; Var(d1) = 1/10 + 1/10 + 1/60;
    # Cov = 1/10 + 1*2/60 (Gleser & Olkin 2009)
    assert d.tolist() == [1.0, 2.0]
    assert V[0, 0] == pytest.approx(0.2 + 1 / 60, rel=1e-12)
    assert V[1, 1] == pytest.approx(0.2 + 4 / 60, rel=1e-12)
    assert V[0, 1] == pytest.approx(0.1 + 2 / 60, rel=1e-12)


def test_hamling_rate_ratios_recover_consistent_person_time_counts():
    # Effective cases A = (10, 20, 30) over person-time (1000, 1000, 1000): crude log rate
    # ratios y_j = log(A_j / A_0) with variances 1/A_j + 1/A_0 (0.15, 0.1333..). Reported
    # cases (12, 18, 30) over the same person-time keep the reference share (1/3) and
    # person-time per case (3000 / 60 = 50), so Hamling's equations are solved by A0 = 10,
    # N0 = 1000, and the covariance is the crude 1/A0 = 0.1. (dosresmeta 2.2.0's
    # est.ps.h uses the cumulative-incidence cell formula for type "ir" and vice versa;
    # this follows Hamling et al. 2008: for rates A_j = 1 / (v_j - 1/A0).)
    y = np.log([1.0, 2.0, 3.0])
    v = np.array([0.0, 1 / 20 + 0.1, 1 / 30 + 0.1])
    H = hamling(y, v, [12, 18, 30], [1000, 1000, 1000], type="ir")
    assert H == pytest.approx(np.array([[v[1], 0.1], [0.1, v[2]]]), rel=1e-7)
