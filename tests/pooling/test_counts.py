"""Tests for sleepmeta.pooling.counts: Mantel-Haenszel and Peto.

Expected numbers: hand calculations of the published estimators written out
below (Mantel & Haenszel 1959 with the Robins-Breslow-Greenland 1986
variance; Greenland & Robins 1985; Sato, Greenland & Robins 1989; Yusuf et
al. 1985), and metafor 3.8's rma.mh / rma.peto through the ``metafor``
fixture on dat.bcg and on a constructed set with zero cells.
"""

from __future__ import annotations

import json
import math
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2, norm

from sleepmeta.errors import InputError, ModelError, UnknownOptionError
from sleepmeta.pooling.counts import (
    mantel_haenszel,
    mantel_haenszel_batch,
    peto,
    peto_batch,
)

# two tables: (a, b, c, d)
T1 = (4.0, 119.0, 11.0, 128.0)
T2 = (6.0, 300.0, 29.0, 274.0)
EV1, N1 = [T1[0], T2[0]], [T1[0] + T1[1], T2[0] + T2[1]]
EV2, N2 = [T1[2], T2[2]], [T1[2] + T1[3], T2[2] + T2[3]]

ZEROS = pd.DataFrame(
    {
        "events1": [0, 0, 3, 10, 5, 0, 7],
        "n1": [10, 12, 20, 10, 15, 8, 30],
        "events2": [0, 2, 0, 10, 5, 3, 12],
        "n2": [10, 15, 18, 10, 15, 9, 28],
    }
)


def bcg() -> pd.DataFrame:
    frame = pd.read_csv(files("sleepmeta").joinpath("data/bcg.csv"))
    frame["n1"] = frame["tpos"] + frame["tneg"]
    frame["n2"] = frame["cpos"] + frame["cneg"]
    return frame


def test_mh_or_by_hand():
    r = s = 0.0
    pr = ps_qr = qs = 0.0
    for a, b, c, d in (T1, T2):
        n = a + b + c + d
        ri, si, pi, qi = a * d / n, b * c / n, (a + d) / n, (b + c) / n
        r, s = r + ri, s + si
        pr, ps_qr, qs = pr + pi * ri, ps_qr + pi * si + qi * ri, qs + qi * si
    var = 0.5 * (pr / r**2 + ps_qr / (r * s) + qs / s**2)  # Robins, Breslow & Greenland 1986
    res = mantel_haenszel(EV1, N1, EV2, N2, measure="OR")
    assert res.estimate == pytest.approx(math.log(r / s), rel=1e-12)
    assert res.se == pytest.approx(math.sqrt(var), rel=1e-12)
    assert res.statistic == pytest.approx(math.log(r / s) / math.sqrt(var), rel=1e-12)
    assert res.pvalue == pytest.approx(2 * norm.sf(abs(res.statistic)), rel=1e-12)
    assert res.estimate_exp == pytest.approx(r / s, rel=1e-12)
    assert res.ci_low_exp == pytest.approx(math.exp(math.log(r / s) - 1.959963984540054 * math.sqrt(var)))
    # CMH with continuity correction: (|sum(a - n1 m1/N)| - 1/2)^2 / sum(n1 n2 m1 m2 / (N^2 (N-1)))
    num = den = 0.0
    for a, b, c, d in (T1, T2):
        n, n1, n2, m1, m2 = a + b + c + d, a + b, c + d, a + c, b + d
        num += a - n1 * m1 / n
        den += n1 * n2 * m1 * m2 / (n**2 * (n - 1))
    assert res.cmh == pytest.approx((abs(num) - 0.5) ** 2 / den, rel=1e-12)
    assert res.cmh_pvalue == pytest.approx(chi2.sf(res.cmh, 1), rel=1e-12)


def test_mh_rr_and_rd_by_hand():
    r = s = v = 0.0
    num_rd = w_rd = 0.0
    for a, b, c, d in (T1, T2):
        n1, n2 = a + b, c + d
        n = n1 + n2
        r, s = r + a * n2 / n, s + c * n1 / n
        v += n1 * n2 * (a + c) / n**2 - a * c / n  # Greenland & Robins 1985
        num_rd += (a * n2 - c * n1) / n
        w_rd += n1 * n2 / n
    rr = mantel_haenszel(EV1, N1, EV2, N2, measure="RR")
    assert rr.estimate == pytest.approx(math.log(r / s), rel=1e-12)
    assert rr.se == pytest.approx(math.sqrt(v / (r * s)), rel=1e-12)
    rd_hat = num_rd / w_rd
    p = q = 0.0  # Sato, Greenland & Robins 1989
    for a, b, c, d in (T1, T2):
        n1, n2 = a + b, c + d
        n = n1 + n2
        p += (n1 / n) ** 2 * c - (n2 / n) ** 2 * a + n1 * n2 * (n2 - n1) / (2 * n**2)
        q += (a * (n2 - c) + c * (n1 - a)) / (2 * n)
    rd = mantel_haenszel(EV1, N1, EV2, N2, measure="RD")
    assert rd.estimate == pytest.approx(rd_hat, rel=1e-12)
    assert rd.se == pytest.approx(math.sqrt((rd_hat * p + q) / w_rd**2), rel=1e-12)
    assert rd.estimate_exp == rd.estimate and rd.ci_low_exp == rd.ci_low  # documented
    assert rd.cmh is None


def test_heterogeneity_by_hand_for_mh_rr():
    # Q of the escalc log RRs (Katz variance) around the MH estimate, df = k - 1
    res = mantel_haenszel(EV1, N1, EV2, N2, measure="RR")
    q = 0.0
    for a, b, c, d in (T1, T2):
        yi = math.log(a / (a + b)) - math.log(c / (c + d))
        vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
        q += (yi - res.estimate) ** 2 / vi
    assert res.q == pytest.approx(q, rel=1e-12)
    assert res.q_df == 1
    assert res.q_pvalue == pytest.approx(chi2.sf(q, 1), rel=1e-12)
    assert res.i2 == pytest.approx(max(0.0, 100 * (q - 1) / q), rel=1e-12)
    assert res.h2 == pytest.approx(q, rel=1e-12)


def test_peto_by_hand():
    o_e = v = first = 0.0
    for a, b, c, d in (T1, T2):
        n1, n2 = a + b, c + d
        n = n1 + n2
        ei = (a + c) * n1 / n
        vi = (a + c) * (b + d) * n1 * n2 / (n**2 * (n - 1))
        o_e, v, first = o_e + a - ei, v + vi, first + (a - ei) ** 2 / vi
    res = peto(EV1, N1, EV2, N2)
    assert res.estimate == pytest.approx(o_e / v, rel=1e-12)
    assert res.se == pytest.approx(1 / math.sqrt(v), rel=1e-12)
    assert res.q == pytest.approx(first - o_e**2 / v, rel=1e-12)
    assert (res.measure, res.method, res.k) == ("OR", "PETO", 2)


def test_double_zero_study_kept_for_estimate_but_not_in_q():
    # adding a 0/10 vs 0/10 study changes neither the MH OR nor Q, but k
    base = mantel_haenszel(EV1, N1, EV2, N2)
    more = mantel_haenszel(EV1 + [0], N1 + [10], EV2 + [0], N2 + [10])
    assert more.estimate == pytest.approx(base.estimate, rel=1e-12)
    assert more.q == pytest.approx(base.q, rel=1e-12) and more.q_df == base.q_df
    assert more.k == 3


def test_not_estimable_raises_model_error():
    with pytest.raises(ModelError, match="not estimable"):
        mantel_haenszel([0, 0], [10, 10], [0, 0], [10, 10], measure="OR")
    with pytest.raises(ModelError):
        peto([0, 0], [10, 10], [0, 0], [10, 10])
    out = mantel_haenszel_batch([[0, 0]], [[10, 10]], [[0, 0]], [[10, 10]], measure="RR")
    assert np.isnan(out.estimate[0])


def test_input_errors():
    with pytest.raises(InputError, match=r"study 'B': events1 must be <= n1"):
        mantel_haenszel([1, 12], [10, 10], [1, 2], [10, 10], labels=["A", "B"])
    with pytest.raises(UnknownOptionError, match="unknown measure 'AS'"):
        mantel_haenszel(EV1, N1, EV2, N2, measure="AS")
    with pytest.raises(InputError, match="batch row 0, study 1"):
        peto_batch([[1, -1]], [[10, 10]], [[1, 1]], [[10, 10]])


def test_result_outputs():
    res = mantel_haenszel("tpos", "n1", "cpos", "n2", data=bcg(), labels="author")
    d = res.to_dict()
    json.dumps(d)
    assert d["measure"] == "OR" and d["method"] == "MH" and d["labels"][0] == "Aronson"
    frame = res.to_frame()
    assert frame.shape[0] == 1 and "estimate_exp" in frame.columns
    text = res.summary()
    assert "Mantel-Haenszel" in text and "CMH" in text and "Q(12)" in text


tables = st.integers(2, 6).flatmap(
    lambda k: st.lists(
        st.tuples(st.integers(1, 40), st.integers(1, 40)).flatmap(
            lambda ns: st.tuples(st.integers(0, ns[0]), st.just(ns[0]), st.integers(0, ns[1]), st.just(ns[1]))
        ),
        min_size=3 * k,
        max_size=3 * k,
    ).map(lambda rows: (k, rows))
)


@settings(max_examples=40, deadline=None)
@given(tables, st.data())
def test_batch_equals_one_by_one(kt, data):
    k, rows = kt
    arr = np.array(rows, dtype=float).reshape(3, k, 4)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=3 * k, max_size=3 * k))).reshape(3, k)
    mask[:, 0] = True
    e1, n1, e2, n2 = (arr[..., j] for j in range(4))
    for measure in ("OR", "RR", "RD", "PETO"):
        if measure == "PETO":
            batch = peto_batch(e1, n1, e2, n2, mask=mask)
        else:
            batch = mantel_haenszel_batch(e1, n1, e2, n2, mask=mask, measure=measure)
        for row in range(3):
            m = mask[row]
            args = (e1[row, m], n1[row, m], e2[row, m], n2[row, m])
            try:
                one = peto(*args) if measure == "PETO" else mantel_haenszel(*args, measure=measure)
            except ModelError:
                assert np.isnan(batch.estimate[row]) or not batch.se[row] > 0
                continue
            for name in ("estimate", "se", "pvalue", "ci_low", "ci_high", "q", "q_pvalue", "i2", "h2"):
                assert getattr(one, name) == pytest.approx(getattr(batch, name)[row], rel=1e-12, abs=1e-14), name
            assert one.k == batch.k[row] == m.sum()


@given(tables)
@settings(max_examples=30, deadline=None)
def test_swapping_groups_negates_estimate(kt):
    k, rows = kt
    arr = np.array(rows[:k], dtype=float)
    e1, n1, e2, n2 = arr.T
    for measure in ("OR", "RR", "RD"):
        fwd = mantel_haenszel_batch(e1, n1, e2, n2, measure=measure)
        rev = mantel_haenszel_batch(e2, n2, e1, n1, measure=measure)
        np.testing.assert_allclose(rev.estimate, -fwd.estimate, atol=1e-12)
        np.testing.assert_allclose(rev.se, fwd.se, rtol=1e-10)
    fwd, rev = peto_batch(e1, n1, e2, n2), peto_batch(e2, n2, e1, n1)
    np.testing.assert_allclose(rev.estimate, -fwd.estimate, atol=1e-12)


# ----------------------------------------------------------------------------- metafor oracle

R_FIT = """
{setup}
res <- {call}
g <- function(x) if (is.null(x)) NA else as.numeric(x)
write.csv(data.frame(estimate=g(res$beta), se=g(res$se), zval=g(res$zval), pval=g(res$pval),
  ci_lb=g(res$ci.lb), ci_ub=g(res$ci.ub), QE=g(res$QE), QEp=g(res$QEp), I2=g(res$I2),
  H2=g(res$H2), k=g(res$k), kyi=g(res$k.yi), MH=g(res$MH), MHp=g(res$MHp), TA=g(res$TA),
  TAp=g(res$TAp)), stdout(), row.names=FALSE)
"""
BCG_SETUP = "dat <- dat.bcg; dat$n1 <- dat$tpos + dat$tneg; dat$n2 <- dat$cpos + dat$cneg"
ZERO_SETUP = (
    "dat <- data.frame(e1=c(0,0,3,10,5,0,7), n1=c(10,12,20,10,15,8,30), "
    "e2=c(0,2,0,10,5,3,12), n2=c(10,15,18,10,15,9,28))"
)


def _compare(res, ref):
    row = ref.iloc[0]
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("statistic", "zval"),
                         ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("q", "QE"),
                         ("i2", "I2"), ("h2", "H2")]:
        assert getattr(res, ours) == pytest.approx(row[theirs], rel=1e-6, abs=1e-12), ours
    assert res.pvalue == pytest.approx(row["pval"], abs=1e-6)
    assert res.q_pvalue == pytest.approx(row["QEp"], abs=1e-6)
    assert res.k == row["k"] and res.q_df == row["kyi"] - 1
    if res.cmh is not None:
        assert res.cmh == pytest.approx(row["MH"], rel=1e-6)
        assert res.cmh_pvalue == pytest.approx(row["MHp"], abs=1e-6)
        assert res.tarone == pytest.approx(row["TA"], rel=1e-6)
        assert res.tarone_pvalue == pytest.approx(row["TAp"], abs=1e-6)


@pytest.mark.r
@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_mh_matches_metafor_on_bcg(metafor, measure):
    ref = metafor(R_FIT.format(setup=BCG_SETUP,
                               call=f'rma.mh(ai=tpos, n1i=n1, ci=cpos, n2i=n2, data=dat, measure="{measure}")'))
    _compare(mantel_haenszel("tpos", "n1", "cpos", "n2", data=bcg(), measure=measure), ref)


@pytest.mark.r
@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_mh_matches_metafor_with_zero_cells(metafor, measure):
    ref = metafor(R_FIT.format(setup=ZERO_SETUP,
                               call=f'rma.mh(ai=e1, n1i=n1, ci=e2, n2i=n2, data=dat, measure="{measure}")'))
    res = mantel_haenszel("events1", "n1", "events2", "n2", data=ZEROS, measure=measure)
    _compare(res, ref)
    assert res.k == 7 and res.q_df == 4  # two double-zero/double-all studies leave Q


@pytest.mark.r
def test_peto_matches_metafor_on_bcg(metafor):
    ref = metafor(R_FIT.format(setup=BCG_SETUP, call="rma.peto(ai=tpos, n1i=n1, ci=cpos, n2i=n2, data=dat)"))
    _compare(peto("tpos", "n1", "cpos", "n2", data=bcg()), ref)


@pytest.mark.r
def test_peto_matches_metafor_with_zero_cells(metafor):
    ref = metafor(R_FIT.format(setup=ZERO_SETUP, call="rma.peto(ai=e1, n1i=n1, ci=e2, n2i=n2, data=dat)"))
    _compare(peto("events1", "n1", "events2", "n2", data=ZEROS), ref)


@pytest.mark.r
def test_level_matches_metafor(metafor):
    ref = metafor(R_FIT.format(setup=BCG_SETUP,
                               call='rma.mh(ai=tpos, n1i=n1, ci=cpos, n2i=n2, data=dat, measure="RR", level=90)'))
    _compare(mantel_haenszel("tpos", "n1", "cpos", "n2", data=bcg(), measure="RR", level=0.9), ref)


R_MH_TESTS = """
{setup}
res <- rma.mh(ai={ai}, n1i=n1, ci={ci}, n2i=n2, data=dat, measure="OR", correct={correct})
write.csv(data.frame(MH=res$MH, MHp=res$MHp, BD=res$BD, BDp=res$BDp, TA=res$TA, TAp=res$TAp),
          stdout(), row.names=FALSE)
"""


@pytest.mark.r
@pytest.mark.parametrize("correct", [True, False])
@pytest.mark.parametrize("which", ["bcg", "zeros"])
def test_cmh_correct_and_breslow_day_match_metafor(metafor, which, correct):
    # metafor 3.8 rma.mh(..., correct=): the CMH statistic with or without its 0.5 continuity
    # correction; BD is the Breslow-Day statistic, TA Tarone's corrected version of it
    if which == "bcg":
        setup, ai, ci = BCG_SETUP, "tpos", "cpos"
        res = mantel_haenszel("tpos", "n1", "cpos", "n2", data=bcg(), correct=correct)
    else:
        setup, ai, ci = ZERO_SETUP, "e1", "e2"
        res = mantel_haenszel("events1", "n1", "events2", "n2", data=ZEROS, correct=correct)
    row = metafor(R_MH_TESTS.format(setup=setup, ai=ai, ci=ci,
                                    correct="TRUE" if correct else "FALSE")).iloc[0]
    assert res.correct is correct
    assert res.cmh == pytest.approx(row["MH"], rel=1e-6)
    assert res.cmh_pvalue == pytest.approx(row["MHp"], abs=1e-6)
    assert res.breslow_day == pytest.approx(row["BD"], rel=1e-6)
    assert res.breslow_day_pvalue == pytest.approx(row["BDp"], abs=1e-6)
    assert res.tarone == pytest.approx(row["TA"], rel=1e-6)
    assert res.tarone_pvalue == pytest.approx(row["TAp"], abs=1e-6)


def test_cmh_without_correction_by_hand():
    # one 2x2 table a=4, b=6, c=1, d=9 (n1 = n2 = 10, N = 20): E(a) = 10 * 5 / 20 = 2.5,
    # Var(a) = n1 n2 m1 m2 / (N^2 (N - 1)) = 10*10*5*15 / (400*19) = 0.98684...;
    # CMH = (|4 - 2.5| - c)^2 / Var with c = 0.5 (corrected) or 0 (uncorrected)
    var = 10 * 10 * 5 * 15 / (400 * 19)
    res_c = mantel_haenszel([4], [10], [1], [10])
    res_u = mantel_haenszel([4], [10], [1], [10], correct=False)
    assert res_c.cmh == pytest.approx(1.0**2 / var, rel=1e-12)
    assert res_u.cmh == pytest.approx(1.5**2 / var, rel=1e-12)
    assert "Breslow-Day" not in res_u.summary()  # one table: no test (metafor: BDp = NA)
    with pytest.raises(InputError, match="correct must be True or False"):
        mantel_haenszel([4], [10], [1], [10], correct="yes")


def test_breslow_day_is_reported_beside_tarone():
    res = mantel_haenszel("tpos", "n1", "cpos", "n2", data=bcg())
    assert res.breslow_day >= res.tarone  # Tarone subtracts a non-negative term
    text = res.summary()
    assert "Breslow-Day test" in text and "Tarone's test" in text
    d = res.to_dict()
    assert d["breslow_day"] == res.breslow_day and d["correct"] is True


# --- fuzz (issue 11): 2x2 tables from user data

from sleepmeta.errors import SleepmetaError  # noqa: E402

_COUNT = st.integers(-3, 80)


@settings(max_examples=150, deadline=5000)
@given(st.lists(st.tuples(_COUNT, _COUNT, _COUNT, _COUNT), min_size=1, max_size=6),
       st.sampled_from(["OR", "RR", "RD", "PETO"]))
def test_fuzz_mh_and_peto_are_finite_or_typed_errors(rows, which):
    e1, n1, e2, n2 = map(list, zip(*rows))
    try:
        res = (peto(e1, n1, e2, n2) if which == "PETO"
               else mantel_haenszel(e1, n1, e2, n2, measure=which))
    except SleepmetaError:
        return
    for name in ("estimate", "se", "ci_low", "ci_high"):
        assert math.isfinite(getattr(res, name)), name
