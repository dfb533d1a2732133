"""The Emax model: exact recovery, and ED50 that the doses cannot identify."""

import numpy as np
import pandas as pd
import pytest

from sleepmeta.dose import dose_response
from sleepmeta.errors import ModelError


def _means(fun, doses=((0, 50, 150, 600), (0, 100, 300), (0, 25, 200, 450))):
    rows = []
    for i, ds in enumerate(doses):
        for d in ds:
            rows.append((f"S{i}", d, 10.0 + fun(d), 5.0, 60))
    return pd.DataFrame(rows, columns=["id", "dose", "mean", "sd", "n"])


def test_exact_emax_curve_is_recovered():
    # arm means exactly on E0 + Emax d / (ED50 + d) with Emax = -8, ED50 = 120:
    # every contrast equals the curve, so the fit must return the true values.
    df = _means(lambda d: -8.0 * d / (120.0 + d))
    res = dose_response(df, study="id", dose="dose", measure="MD", mean="mean", sd="sd", n="n",
                        model="emax")
    assert res.coef[0] == pytest.approx(-8.0, rel=1e-6)
    assert np.exp(res.coef[1]) == pytest.approx(120.0, rel=1e-6)
    p = res.predict([120.0])
    assert p["estimate"][0] == pytest.approx(-4.0, rel=1e-6)  # half of Emax at ED50
    assert (p["ci_low"] < p["estimate"]).all()


def test_hill_coefficient_is_used():
    df = _means(lambda d: 6.0 * d ** 2 / (150.0 ** 2 + d ** 2))
    res = dose_response(df, study="id", dose="dose", measure="MD", mean="mean", sd="sd", n="n",
                        model="emax", hill=2.0)
    assert np.exp(res.coef[1]) == pytest.approx(150.0, rel=1e-6)
    assert res.to_dict()["hill"] == 2.0


def test_linear_data_do_not_identify_ed50():
    df = _means(lambda d: -0.01 * d)
    with pytest.raises(ModelError, match="ED50 is not identifiable.*infinity"):
        dose_response(df, study="id", dose="dose", measure="MD", mean="mean", sd="sd", n="n",
                      model="emax")


def test_one_dose_level_does_not_identify_ed50():
    df = _means(lambda d: -0.01 * d, doses=((0, 300), (0, 300)))
    with pytest.raises(ModelError, match="two distinct non-zero doses"):
        dose_response(df, study="id", dose="dose", measure="MD", mean="mean", sd="sd", n="n",
                      model="emax")
