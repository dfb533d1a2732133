"""The issue's bad-input list: each case is a typed error naming the study and the rule.

Issue 14, "Bad input": no reference arm (dose 0 or the named reference) in a
study, a study with one arm, doses not increasing as given, zero cases in the
reference arm for Greenland-Longnecker, an Emax fit that does not converge or
whose ED50 is not identifiable from the doses. Every outcome type goes
through the same checks (counts, adjusted ratios, means).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sleepmeta.dose import dose_response
from sleepmeta.errors import ConvergenceError, InputError, ModelError

GOOD = {"id": ["A"] * 3 + ["B"] * 3, "dose": [0, 150, 300] * 2}
COUNTS = dict(events=[5, 10, 20, 4, 9, 15], n=[100] * 6)
ADJUSTED = dict(cases=[5, 10, 20, 4, 9, 15], n=[100] * 6,
                logrr=[0, 0.69, 1.38, 0, 0.8, 1.3], se=[0, 0.5, 0.45, 0, 0.55, 0.5])
MEANS = dict(mean=[10, 8, 6, 11, 9, 8], sd=[4] * 6, n=[50] * 6)
KINDS = {
    "counts": (COUNTS, dict(events="events", n="n")),
    "adjusted": (ADJUSTED, dict(events="cases", n="n", logrr="logrr", se="se")),
    "smd": (MEANS, dict(measure="SMD", mean="mean", sd="sd", n="n")),
    "md": (MEANS, dict(measure="MD", mean="mean", sd="sd", n="n")),
}


def _fit(kind, change=None, **extra):
    values, kw = KINDS[kind]
    df = pd.DataFrame({**GOOD, **values})
    if change is not None:
        df = change(df)
    return dose_response(df, study="id", dose="dose", **kw, **extra)


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_good_data_fit(kind):
    assert _fit(kind).k == 2


def _study_b(df, **cols):
    df = df.copy()
    rows = np.flatnonzero(df["id"] == "B")
    for col, vals in cols.items():
        df.loc[df.index[rows], col] = vals
    return df


CASES = {
    # no reference arm: study B starts at 75
    "no reference arm": (lambda df: _study_b(df, dose=[75, 150, 300]),
                         r"study 'B': no reference arm \(dose 0\); its lowest dose is 75"),
    # one arm: study B keeps only its placebo row
    "one arm": (lambda df: df.drop(df.index[[4, 5]]),
                r"study 'B': has one arm; a dose-response contrast needs the reference"),
    # doses not increasing as given
    "not increasing": (lambda df: _study_b(df, dose=[0, 300, 150]),
                       r"study 'B': doses must increase within a study as given"),
    "repeated dose": (lambda df: _study_b(df, dose=[0, 150, 150]),
                      r"study 'B': doses must increase"),
}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("case", list(CASES))
def test_structural_bad_input_names_study_and_rule(kind, case):
    change, match = CASES[case]
    with pytest.raises(InputError, match=match):
        _fit(kind, change)


def test_named_reference_dose_must_be_present():
    with pytest.raises(InputError, match=r"study 'A': no reference arm \(dose 150\); its lowest "
                                         r"dose is 0"):
        _fit("counts", reference=150.0)
    # with the reference each study's lowest dose, the same rows fit
    assert _fit("counts", lambda df: _study_b(df, dose=[75, 150, 300]), reference=None).k == 2


def test_zero_cases_in_the_reference_arm_greenland_longnecker():
    with pytest.raises(InputError, match=r"study 'B': the reference arm has 0 events"):
        _fit("counts", lambda df: _study_b(df, events=[0, 9, 15]))
    with pytest.raises(InputError, match=r"study 'B': cases in the reference level must be > 0 "
                                         r"for Greenland-Longnecker"):
        _fit("adjusted", lambda df: _study_b(df, cases=[0, 9, 15]))
    with pytest.raises(InputError, match=r"study 'B': Hamling needs cases > 0"):
        _fit("adjusted", lambda df: _study_b(df, cases=[0, 9, 15]), covariance="hamling")


def test_adjusted_ratios_need_their_se_or_limits():
    with pytest.raises(InputError, match=r"study 'B': logrr and se must be given"):
        _fit("adjusted", lambda df: _study_b(df, se=[0, np.nan, 0.5]))
    df = pd.DataFrame({**GOOD, **ADJUSTED}).assign(lb=[1, 0.7, 1.4, 1, 0.8, 1.2],
                                                   ub=[1, 5.0, 9.0, 1, 0.5, 9.0])
    with pytest.raises(InputError, match=r"study 'B' \(row 4\): confidence limits must be "
                                         r"finite with 0 < lb <= ub"):
        dose_response(df, study="id", dose="dose", events="cases", n="n", logrr="logrr",
                      lb="lb", ub="ub")
    with pytest.raises(InputError, match="either as se or as both lb and ub"):
        dose_response(df, study="id", dose="dose", events="cases", n="n", logrr="logrr",
                      se="se", lb="lb", ub="ub")


def test_lb_ub_give_the_se_of_the_log_ratio():
    # se = (log ub - log lb) / (2 * 1.959964): with lb, ub = exp(y -+ 1.959964 se) the fit
    # equals the fit with se given
    df = pd.DataFrame({**GOOD, **ADJUSTED})
    z = 1.959963984540054
    df["lb"], df["ub"] = np.exp(df.logrr - z * df.se), np.exp(df.logrr + z * df.se)
    a = dose_response(df, study="id", dose="dose", events="cases", n="n", logrr="logrr", se="se")
    b = dose_response(df, study="id", dose="dose", events="cases", n="n", logrr="logrr",
                      lb="lb", ub="ub")
    assert b.coef == pytest.approx(a.coef, rel=1e-12) and b.se == pytest.approx(a.se, rel=1e-12)


def _emax_means(fun, doses=((0, 50, 150, 600), (0, 100, 300), (0, 25, 200, 450))):
    rows = [(f"S{i}", d, 10.0 + fun(d), 5.0, 60) for i, ds in enumerate(doses) for d in ds]
    return pd.DataFrame(rows, columns=["id", "dose", "mean", "sd", "n"])


def test_emax_ed50_not_identifiable_either_side():
    kw = dict(study="id", dose="dose", measure="MD", mean="mean", sd="sd", n="n", model="emax")
    with pytest.raises(ModelError, match="ED50 goes to infinity"):
        dose_response(_emax_means(lambda d: -0.01 * d), **kw)
    # the whole effect already at the lowest dose: ED50 -> 0
    with pytest.raises(ModelError, match=r"ED50 goes to 0 \(a step at the lowest dose\)"):
        dose_response(_emax_means(lambda d: -5.0 * (d > 0)), **kw)


def test_emax_optimiser_failure_is_a_convergence_error(monkeypatch):
    from scipy import optimize

    class Failed:
        success, message, x = False, "stopped after maxiter", 0.0

    # emax imports scipy.optimize when it fits (not at start-up): patch the function there
    monkeypatch.setattr(optimize, "minimize_scalar", lambda *a, **k: Failed())
    with pytest.raises(ConvergenceError, match="profile likelihood was not maximised"):
        dose_response(_emax_means(lambda d: -8.0 * d / (120.0 + d)), study="id", dose="dose",
                      measure="MD", mean="mean", sd="sd", n="n", model="emax")
