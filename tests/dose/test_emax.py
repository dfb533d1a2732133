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


DOSES4 = ((0, 25, 75, 150, 600), (0, 50, 100, 300), (0, 25, 200, 450), (0, 75, 150, 300, 600))


def test_estimated_hill_recovers_an_exact_sigmoid_curve():
    # arm means exactly on E0 + Emax d^h / (ED50^h + d^h), Emax = -8, ED50 = 120, h = 2.5:
    # every contrast equals the curve, so the ML estimates are the true values.
    df = _means(lambda d: -8.0 * d ** 2.5 / (120.0 ** 2.5 + d ** 2.5), doses=DOSES4)
    res = dose_response(df, study="id", dose="dose", measure="MD", mean="mean", sd="sd", n="n",
                        model="emax", hill=None)
    assert res.names == ("emax", "log_ed50", "log_hill")
    assert res.coef[0] == pytest.approx(-8.0, rel=1e-4)
    assert np.exp(res.coef[1]) == pytest.approx(120.0, rel=1e-4)
    assert np.exp(res.coef[2]) == pytest.approx(2.5, rel=1e-4)
    assert res.to_dict()["hill_estimated"] is True
    assert res.basis.hill == pytest.approx(2.5, rel=1e-4)
    assert res.qe_df == res.n_contrasts - 3
    assert "estimated" in res.summary()
    assert res.vcov.shape == (3, 3) and np.all(np.diag(res.vcov) > 0)


def test_estimated_hill_gradient_is_the_derivative():
    # the prediction's gradient (used for its CI) against central differences
    from sleepmeta.dose.emax import EmaxCurve

    c = EmaxCurve(hill=1.7, estimated=True)
    coef = np.array([-5.0, np.log(90.0), np.log(1.7)])
    doses = np.array([0.0, 30.0, 90.0, 400.0])
    _, grad = c.predict(doses, 10.0, coef)
    for j in range(3):
        e = np.eye(3)[j] * 1e-6
        num = (c.predict(doses, 10.0, coef + e)[0] - c.predict(doses, 10.0, coef - e)[0]) / 2e-6
        assert grad[:, j] == pytest.approx(num, rel=1e-6, abs=1e-8)


def test_hill_needs_three_dose_levels_else_falls_back_to_one():
    df = _means(lambda d: -8.0 * d / (120.0 + d), doses=((0, 100, 300), (0, 100, 300)))
    res = dose_response(df, study="id", dose="dose", measure="MD", mean="mean", sd="sd", n="n",
                        model="emax", hill=None)
    assert res.names == ("emax", "log_ed50") and res.basis.hill == 1.0
    assert any("Hill coefficient is not identifiable from 2 distinct" in n for n in res.notes)


def test_hill_of_a_step_is_not_identifiable_and_falls_back():
    # a step between 75 and 100 mg: h -> infinity maximises the likelihood; with h = 1
    # the hyperbolic curve still has an interior ED50
    df = _means(lambda d: -6.0 * (d >= 100), doses=DOSES4)
    res = dose_response(df, study="id", dose="dose", measure="MD", mean="mean", sd="sd", n="n",
                        model="emax", hill=None)
    assert res.basis.hill == 1.0 and not res.basis.estimated
    assert any("h goes to infinity" in n for n in res.notes)


def test_bad_hill_is_an_input_error():
    from sleepmeta.errors import InputError

    with pytest.raises(InputError, match="hill must be a finite number > 0"):
        dose_response(_means(lambda d: d), study="id", dose="dose", measure="MD", mean="mean",
                      sd="sd", n="n", model="emax", hill=-1.0)


def test_fixed_effect_sigmoid_emax_is_the_gls_minimum():
    # Noisy arm means (made up) and a fixed-effect fit: the ML estimate of
    # (Emax, log ED50, log h) minimises the GLS criterion sum_i r_i' S_i^-1 r_i, found here
    # independently by scipy's least_squares on the Cholesky-whitened residuals.
    from scipy import optimize

    from sleepmeta.dose.arms import study_contrasts

    rng = np.random.default_rng(11)
    df = _means(lambda d: -8.0 * d ** 1.8 / (120.0 ** 1.8 + d ** 1.8), doses=DOSES4)
    df["mean"] += rng.normal(0, 0.6, len(df))
    kw = dict(study="id", dose="dose", measure="MD", mean="mean", sd="sd", n="n")
    res = dose_response(df, model="emax", hill=None, random=None, **kw)
    studies = study_contrasts(df, study="id", dose="dose", measure="MD",
                              columns={"mean": "mean", "sd": "sd", "n": "n"})
    whiten = [np.linalg.inv(np.linalg.cholesky(s.S)) for s in studies]

    def resid(th):
        e, ed50, h = th[0], np.exp(th[1]), np.exp(th[2])
        g = lambda d: d ** h / (ed50 ** h + d ** h)  # noqa: E731
        return np.concatenate([W @ (s.y - e * (g(s.doses) - g(s.reference_dose)))
                               for W, s in zip(whiten, studies)])

    ls = optimize.least_squares(resid, [-5.0, np.log(100.0), 0.0], xtol=1e-14, ftol=1e-14,
                                gtol=1e-14)
    assert res.coef == pytest.approx(ls.x, rel=1e-4, abs=1e-6)
    # its covariance is the inverse observed information: the Hessian of
    # 1/2 sum r'S^-1 r at the minimum, here from the analytic gradient J'r differenced
    # (Gauss-Newton J'J alone misses the residual term, ~8% on these data)
    def jac(th, h=1e-6):
        return np.column_stack([(resid(th + e) - resid(th - e)) / (2 * h)
                                for e in np.eye(3) * h])

    def grad(th):  # gradient of 1/2 sum r^2
        return jac(th).T @ resid(th)

    H = np.column_stack([(grad(ls.x + e) - grad(ls.x - e)) / 2e-5 for e in np.eye(3) * 1e-5])
    cov = np.linalg.inv((H + H.T) / 2)
    assert res.se == pytest.approx(np.sqrt(np.diag(cov)), rel=1e-3)
