"""Trial contrasts: scipy's t-tests, metafor's escalc and hand formulas as oracles."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sleepmeta.errors import ColumnError, DesignError, InputError, UnknownOptionError
from sleepmeta.trials import COLUMNS, contrast

# --- small trials written out by hand ------------------------------------------------

# parallel: two nights per participant; participant means are the hand averages below
PARALLEL = pd.DataFrame(
    {
        "subject": ["a", "a", "b", "b", "c", "c", "d", "e", "e", "f", "g"],
        "arm": ["drug"] * 6 + ["placebo"] * 5,
        "WASO": [20.0, 30.0, 40.0, 30.0, 10.0, 12.0, 50.0, 45.0, 55.0, 38.0, 61.0],
    }
)
DRUG_MEANS = np.array([25.0, 35.0, 11.0])  # (20+30)/2, (40+30)/2, (10+12)/2
PLACEBO_MEANS = np.array([50.0, 50.0, 38.0, 61.0])  # d, (45+55)/2, f, g


def _two_sample(equal_var):
    return stats.ttest_ind(DRUG_MEANS, PLACEBO_MEANS, equal_var=equal_var)


def test_parallel_welch_matches_scipy():
    row = contrast(PARALLEL, "WASO", treatment="drug").iloc[0]
    assert (row["n1"], row["n2"]) == (3, 4)
    assert row["mean1"] == pytest.approx(DRUG_MEANS.mean())
    assert row["sd2"] == pytest.approx(PLACEBO_MEANS.std(ddof=1))
    ref = _two_sample(False)
    assert row["md"] / row["se"] == pytest.approx(ref.statistic)
    assert row["df"] == pytest.approx(ref.df)
    assert row["md"] == pytest.approx(DRUG_MEANS.mean() - PLACEBO_MEANS.mean())
    assert row["yi"] == row["md"] and row["vi"] == pytest.approx(row["se"] ** 2)
    ci = ref.confidence_interval(0.95)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert row["method"] == "welch" and row["design"] == "parallel"
    assert list(contrast(PARALLEL, "WASO").columns) == list(COLUMNS)


def test_parallel_pooled_matches_scipy():
    row = contrast(PARALLEL, "WASO", method="pooled").iloc[0]
    ref = _two_sample(True)
    assert row["md"] / row["se"] == pytest.approx(ref.statistic)
    assert row["df"] == 3 + 4 - 2


def test_hedges_g_hand_calculation():
    # Hedges' g with the exact correction J(m) = G(m/2) / (sqrt(m/2) G((m-1)/2)), m = n1+n2-2
    row = contrast(PARALLEL, "WASO").iloc[0]
    n1, n2 = 3, 4
    s1, s2 = DRUG_MEANS.std(ddof=1), PLACEBO_MEANS.std(ddof=1)
    sp = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    m = n1 + n2 - 2
    j = math.gamma(m / 2) / (math.sqrt(m / 2) * math.gamma((m - 1) / 2))
    g = j * (DRUG_MEANS.mean() - PLACEBO_MEANS.mean()) / sp
    assert row["smd"] == pytest.approx(g)
    assert row["smd_se"] ** 2 == pytest.approx(1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2)))


def test_md_and_smd_match_metafor_escalc(metafor):
    row = contrast(PARALLEL, "WASO").iloc[0]
    d = ", ".join(map(repr, DRUG_MEANS.tolist()))
    p = ", ".join(map(repr, PLACEBO_MEANS.tolist()))
    ref = metafor(
        f"""
        d <- c({d}); p <- c({p})
        md <- escalc("MD", m1i=mean(d), sd1i=sd(d), n1i=length(d),
                     m2i=mean(p), sd2i=sd(p), n2i=length(p))
        smd <- escalc("SMD", m1i=mean(d), sd1i=sd(d), n1i=length(d),
                      m2i=mean(p), sd2i=sd(p), n2i=length(p))
        write.csv(data.frame(md=md$yi, vmd=md$vi, g=smd$yi, vg=smd$vi), stdout(), row.names=FALSE)
        """
    ).iloc[0]
    assert row["yi"] == pytest.approx(ref["md"], rel=1e-10)
    assert row["vi"] == pytest.approx(ref["vmd"], rel=1e-10)
    assert row["smd"] == pytest.approx(ref["g"], rel=1e-10)
    assert row["smd_se"] ** 2 == pytest.approx(ref["vg"], rel=1e-10)


# crossover: participant x arm values, one night each, periods given
CROSS = pd.DataFrame(
    {
        "subject": ["p1", "p1", "p2", "p2", "p3", "p3", "p4", "p4", "p5", "p5"],
        "period": [1, 2] * 5,
        "arm": ["drug", "placebo", "placebo", "drug", "drug", "placebo", "placebo", "drug",
                "drug", "placebo"],
        "SOL": [12.0, 30.0, 25.0, 14.0, 20.0, 26.0, 40.0, 22.0, 8.0, 20.0],
    }
)
DRUG_SOL = np.array([12.0, 14.0, 20.0, 22.0, 8.0])
PLACEBO_SOL = np.array([30.0, 25.0, 26.0, 40.0, 20.0])


def test_crossover_paired_matches_scipy():
    row = contrast(CROSS, "SOL", design="crossover").iloc[0]
    ref = stats.ttest_rel(DRUG_SOL, PLACEBO_SOL)
    assert row["method"] == "paired"
    assert row["md"] == pytest.approx((DRUG_SOL - PLACEBO_SOL).mean())
    assert row["md"] / row["se"] == pytest.approx(ref.statistic)
    assert row["df"] == 4 and row["n1"] == row["n2"] == 5


def test_crossover_senn_hand_calculation():
    # period-1 minus period-2 differences: drug-first p1, p3, p5; placebo-first p2, p4
    p_tc = np.array([12 - 30, 20 - 26, 8 - 20], dtype=float)  # -18, -6, -12 -> mean -12
    p_ct = np.array([25 - 14, 40 - 22], dtype=float)  # 11, 18 -> mean 14.5
    md = (p_tc.mean() - p_ct.mean()) / 2  # (-12 - 14.5) / 2 = -13.25
    sp2 = (np.sum((p_tc - p_tc.mean()) ** 2) + np.sum((p_ct - p_ct.mean()) ** 2)) / (3 + 2 - 2)
    se = 0.5 * math.sqrt(sp2 * (1 / 3 + 1 / 2))
    row = contrast(CROSS, "SOL", design="crossover", period="period").iloc[0]
    assert row["method"] == "senn"
    assert md == -13.25
    assert row["md"] == pytest.approx(md)
    assert row["se"] == pytest.approx(se)
    assert row["df"] == 3
    # the same t as the two-sample t-test of period differences (Senn 2002, ch. 3)
    assert row["md"] / row["se"] == pytest.approx(stats.ttest_ind(p_tc, p_ct).statistic)


def test_crossover_smd_is_smcrp_hand():
    # metafor SMCRP: sdp = sqrt((sd1^2+sd2^2)/2), m = 2(n-1)/(1+r^2),
    # g = J(m) md/sdp, v = 2(1-r)/n + g^2 (1+r^2)/(4n)
    row = contrast(CROSS, "SOL", design="crossover").iloc[0]
    n, r = 5, np.corrcoef(DRUG_SOL, PLACEBO_SOL)[0, 1]
    sdp = math.sqrt((DRUG_SOL.var(ddof=1) + PLACEBO_SOL.var(ddof=1)) / 2)
    m = 2 * (n - 1) / (1 + r**2)
    j = math.gamma(m / 2) / (math.sqrt(m / 2) * math.gamma((m - 1) / 2))
    g = j * (DRUG_SOL - PLACEBO_SOL).mean() / sdp
    assert row["smd"] == pytest.approx(g)
    assert row["smd_se"] ** 2 == pytest.approx(2 * (1 - r) / n + g**2 * (1 + r**2) / (4 * n))


# baseline: one baseline and one on-treatment night per participant
BASE = pd.DataFrame(
    {
        "subject": np.repeat(["a", "b", "c", "d", "e", "f"], 2),
        "arm": np.repeat(["drug"] * 3 + ["placebo"] * 3, 2),
        "is_baseline": [True, False] * 6,
        "WASO": [60.0, 40.0, 50.0, 35.0, 80.0, 50.0, 55.0, 50.0, 70.0, 66.0, 45.0, 47.0],
    }
)
PRE_D, POST_D = np.array([60.0, 50.0, 80.0]), np.array([40.0, 35.0, 50.0])
PRE_P, POST_P = np.array([55.0, 70.0, 45.0]), np.array([50.0, 66.0, 47.0])


def test_ancova_closed_form():
    # ANCOVA with a common slope: b = Sxy_within / Sxx_within,
    # md = (ybar1 - ybar2) - b (xbar1 - xbar2),
    # var = s^2 (1/n1 + 1/n2 + (xbar1 - xbar2)^2 / Sxx_within), s^2 = RSS / (n - 3)
    sxx = np.sum((PRE_D - PRE_D.mean()) ** 2) + np.sum((PRE_P - PRE_P.mean()) ** 2)
    sxy = np.sum((PRE_D - PRE_D.mean()) * (POST_D - POST_D.mean())) + np.sum(
        (PRE_P - PRE_P.mean()) * (POST_P - POST_P.mean())
    )
    b = sxy / sxx
    md = (POST_D.mean() - POST_P.mean()) - b * (PRE_D.mean() - PRE_P.mean())
    rss = np.sum((POST_D - POST_D.mean() - b * (PRE_D - PRE_D.mean())) ** 2) + np.sum(
        (POST_P - POST_P.mean() - b * (PRE_P - PRE_P.mean())) ** 2
    )
    var = rss / (6 - 3) * (1 / 3 + 1 / 3 + (PRE_D.mean() - PRE_P.mean()) ** 2 / sxx)
    row = contrast(BASE, "WASO", baseline="is_baseline").iloc[0]
    assert row["method"] == "ancova" and row["df"] == 3
    assert row["md"] == pytest.approx(md)
    assert row["se"] == pytest.approx(math.sqrt(var))
    assert row["mean1"] == pytest.approx(POST_D.mean())  # summaries: on-treatment values


def test_change_from_baseline_matches_scipy():
    row = contrast(BASE, "WASO", baseline="is_baseline", method="change").iloc[0]
    ref = stats.ttest_ind(POST_D - PRE_D, POST_P - PRE_P, equal_var=False)
    assert row["md"] / row["se"] == pytest.approx(ref.statistic)
    assert row["mean1"] == pytest.approx((POST_D - PRE_D).mean())


# --- several trials, labels, missing values ---------------------------------------------


def test_one_row_per_study_and_endpoint():
    two = pd.concat([PARALLEL.assign(trial="A 2020"), PARALLEL.assign(trial="B 2021")])
    two["TST"] = 400.0 + np.arange(len(two)) % 5
    out = contrast(two, ["WASO", "TST"], study="trial")
    assert list(zip(out["study"], out["endpoint"])) == [
        ("A 2020", "WASO"), ("A 2020", "TST"), ("B 2021", "WASO"), ("B 2021", "TST")
    ]
    assert contrast(PARALLEL, "WASO", label="Roth 2012")["study"].iloc[0] == "Roth 2012"
    assert not contrast(PARALLEL, "WASO")["simulated"].iloc[0]


def test_simulated_nights_are_labelled():
    sim = PARALLEL.assign(simulated=True)
    out = contrast(sim, "WASO")
    assert out["simulated"].iloc[0] and out["study"].iloc[0] == "simulated trial"


def test_missing_endpoint_raises_or_is_counted():
    gap = PARALLEL.copy()
    gap.loc[1, "WASO"] = np.nan
    with pytest.raises(InputError, match=r"participant 'a', night 1: endpoint 'WASO' has no value"):
        contrast(gap, "WASO")
    row = contrast(gap, "WASO", missing="omit").iloc[0]
    assert row["nights_omitted"] == 1
    assert row["mean1"] == pytest.approx((20.0 + 35.0 + 11.0) / 3)  # a keeps its one night


def test_swapping_arms_negates_md():
    a = contrast(PARALLEL, "WASO", treatment="drug").iloc[0]
    b = contrast(PARALLEL, "WASO", treatment="placebo").iloc[0]
    assert b["md"] == pytest.approx(-a["md"]) and b["se"] == pytest.approx(a["se"])
    assert b["smd"] == pytest.approx(-a["smd"])


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(0, 500, allow_nan=False), min_size=8, max_size=8),
    shift=st.floats(-100, 100, allow_nan=False),
)
def test_property_md_is_difference_of_participant_means(values, shift):
    frame = pd.DataFrame(
        {"subject": list("aabbccdd"), "arm": ["t"] * 4 + ["placebo"] * 4, "y": values}
    )
    row = contrast(frame, "y").iloc[0]
    v = np.asarray(values)
    expected = (v[0:2].mean() + v[2:4].mean()) / 2 - (v[4:6].mean() + v[6:8].mean()) / 2
    assert row["md"] == pytest.approx(expected, abs=1e-9)
    shifted = contrast(frame.assign(y=frame["y"] + shift), "y").iloc[0]
    assert shifted["md"] == pytest.approx(row["md"], abs=1e-7)


# --- bad designs ------------------------------------------------------------------------------


def test_participant_in_both_arms_of_parallel_trial():
    bad = PARALLEL.copy()
    bad.loc[1, "arm"] = "placebo"
    with pytest.raises(DesignError, match=r"participant 'a' is in both arms"):
        contrast(bad, "WASO")


def test_crossover_participant_missing_a_period():
    bad = CROSS.drop(index=3)  # p2 loses its drug period
    with pytest.raises(DesignError, match=r"crossover participant 'p2' has no 'drug' nights"):
        contrast(bad, "SOL", design="crossover")
    with pytest.raises(DesignError, match=r"crossover participant 'p2' is missing period 2"):
        contrast(bad, "SOL", design="crossover", period="period")


def test_crossover_same_arm_twice_and_three_periods():
    bad = CROSS.copy()
    bad.loc[1, "arm"] = "drug"
    with pytest.raises(DesignError, match=r"participant 'p1' has arm 'drug' in both periods"):
        contrast(bad, "SOL", design="crossover", period="period")
    bad = CROSS.copy()
    bad.loc[9, "period"] = 3
    with pytest.raises(DesignError, match=r"period column 'period' must have exactly two values"):
        contrast(bad, "SOL", design="crossover", period="period")


def test_arm_column_needs_two_values_and_named_treatment():
    three = PARALLEL.copy()
    three.loc[0, "arm"] = "low dose"
    with pytest.raises(DesignError, match=r"exactly two values .* got 3"):
        contrast(three, "WASO")
    unnamed = PARALLEL.replace({"arm": {"placebo": "B", "drug": "A"}})
    with pytest.raises(DesignError, match=r"pass treatment="):
        contrast(unnamed, "WASO")
    assert contrast(unnamed, "WASO", treatment="A")["control"].iloc[0] == "B"
    with pytest.raises(DesignError, match=r"treatment 'X' is not a value"):
        contrast(PARALLEL, "WASO", treatment="X")


def test_too_few_participants_and_bad_arguments():
    with pytest.raises(DesignError, match=r"arm 'placebo' has 1 participant"):
        contrast(PARALLEL[PARALLEL["subject"].isin(["a", "b", "d"])], "WASO")
    with pytest.raises(ColumnError, match=r"endpoint column 'TST' is not in nights"):
        contrast(PARALLEL, "TST")
    with pytest.raises(UnknownOptionError, match="design"):
        contrast(PARALLEL, "WASO", design="factorial")
    with pytest.raises(UnknownOptionError, match="method"):
        contrast(PARALLEL, "WASO", method="paired")
    with pytest.raises(DesignError, match="baseline adjustment is supported for parallel"):
        contrast(CROSS, "SOL", design="crossover", baseline="period")
    with pytest.raises(InputError, match=r"baseline column 'arm' must be True/False"):
        contrast(PARALLEL, "WASO", baseline="arm")
    with pytest.raises(DesignError, match=r"participant 'a' has no on-treatment night"):
        contrast(BASE.drop(index=1), "WASO", baseline="is_baseline")
    with pytest.raises(InputError, match="must be a pandas DataFrame"):
        contrast([1, 2], "WASO")


def test_feeds_meta_analysis():
    from sleepmeta import meta_analysis

    two = pd.concat([PARALLEL.assign(trial="A"), PARALLEL.assign(trial="B")])
    frame = contrast(two, "WASO", study="trial")
    res = meta_analysis(data=frame)
    # two identical trials: the pooled estimate is their common MD
    assert res.estimate == pytest.approx(frame["yi"].iloc[0])


# --- fuzz (issue 11): participant tables from users

from hypothesis import HealthCheck  # noqa: E402

from sleepmeta.errors import SleepmetaError  # noqa: E402

_VALUE = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-1e3, 1e3),
                   st.floats(-1e-150, 1e-150))


@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["s1", "s2", "s3", "s4", "s5", "s6"]),
                          st.sampled_from(["drug", "placebo", "other"]), st.sampled_from([1, 2]),
                          _VALUE, _VALUE), max_size=14),
       st.sampled_from(["parallel", "crossover"]), st.booleans(), st.booleans(),
       st.sampled_from([None, "welch", "pooled", "ancova", "change", "paired"]))
def test_fuzz_contrast_is_finite_or_a_typed_error(rows, design, use_period, use_baseline,
                                                  method):
    df = pd.DataFrame(rows, columns=["subject", "arm", "period", "WASO", "base"])
    try:
        out = contrast(df, "WASO", design=design, period="period" if use_period else None,
                       baseline="base" if use_baseline and design == "parallel" else None,
                       method=method)
    except SleepmetaError:
        return
    for col in ("md", "se", "ci_low", "ci_high", "df"):
        assert np.isfinite(out[col].to_numpy(float)).all(), col


def test_overflowing_contrast_is_a_typed_error():
    # found by the fuzz test: a crossover whose paired differences are +-1.9e154 has a
    # variance of about 3.6e308, above float64's maximum (1.8e308), so its SE was inf
    rows = []
    for i, (t, c) in enumerate([(0.0, 1.9e154), (0.0, -1.9e154), (0.0, 0.0)]):
        rows += [dict(subject=f"s{i}", arm="drug", period=1, WASO=t),
                 dict(subject=f"s{i}", arm="placebo", period=2, WASO=c)]
    with np.errstate(over="ignore"), pytest.raises(InputError, match=r"study 'trial', endpoint "
                                                   r"'WASO': the values are too large"):
        contrast(pd.DataFrame(rows), "WASO", design="crossover", method="paired")
