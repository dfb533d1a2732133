"""Performance measures and Monte Carlo SEs (sleepmeta.scale.metrics).

Expected values are hand calculations with the formulas of Morris, White &
Crowther (2019), Stat Med 38:2074-2102, Table 6, shown in each test.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from sleepmeta.scale.metrics import (
    QUANTITIES,
    chunk_statistics,
    combine,
    performance,
    replicate_quantities,
)

Z = 1.959963984540054  # qnorm(0.975)


def _fit(est, se, pvalue, tau2, converged):
    est, se = np.asarray(est, float), np.asarray(se, float)
    return SimpleNamespace(
        estimate=est, se=se, ci_low=est - Z * se, ci_high=est + Z * se,
        pi_low=est - Z * np.sqrt(se**2 + tau2), pi_high=est + Z * np.sqrt(se**2 + tau2),
        pvalue=np.asarray(pvalue, float), tau2=np.asarray(tau2, float),
        converged=np.asarray(converged, bool))


def _table(fit, mu, tau2):
    q, failed = replicate_quantities(fit, mu, tau2, 0.95)
    row = {"id": 0, **chunk_statistics(q, failed)}
    perf = performance(pd.DataFrame([row]), ["id"])
    return perf.set_index("performance")


def test_measures_by_hand():
    # 4 successful replicates and one that did not converge (excluded, counted)
    fit = _fit(est=[0.1, 0.3, 0.2, 0.6, 9.0], se=[0.1] * 5,
               pvalue=[0.3, 0.001, 0.04, 0.2, 0.0], tau2=[0.0] * 5,
               converged=[True, True, True, True, False])
    t = _table(fit, mu=0.25, tau2=0.0)
    assert (t["n_sim"] == 4).all() and (t["n_failed"] == 1).all()
    # e = est - mu = [-0.15, 0.05, -0.05, 0.35]; mean 0.05; sum of squared deviations
    # (-0.2)² + 0² + (-0.1)² + 0.3² = 0.14, S² = 0.14/3
    s2 = 0.14 / 3
    assert np.isclose(t.loc["bias", "estimate"], 0.05)
    assert np.isclose(t.loc["bias", "mcse"], np.sqrt(s2 / 4))
    assert np.isclose(t.loc["empse", "estimate"], np.sqrt(s2))
    assert np.isclose(t.loc["empse", "mcse"], np.sqrt(s2) / np.sqrt(2 * 3))
    # e² = [0.0225, 0.0025, 0.0025, 0.1225], MSE = 0.0375;
    # sum((e² - MSE)²) = 0.015² + 2 (0.035²) + 0.085² = 0.0099; MCSE = sqrt(0.0099 / (4 * 3))
    assert np.isclose(t.loc["mse", "estimate"], 0.0375)
    assert np.isclose(t.loc["mse", "mcse"], np.sqrt(0.0099 / 12))
    # CIs est ± 1.96 * 0.1 cover 0.25 for the first three only: 3/4
    assert np.isclose(t.loc["coverage", "estimate"], 0.75)
    assert np.isclose(t.loc["coverage", "mcse"], np.sqrt(0.75 * 0.25 / 4))
    # tau² = 0: the PI (= CI here) covers mu in 3 of 4; MCSE sqrt(S²/n), S² = 0.75/3
    assert np.isclose(t.loc["pi_coverage", "estimate"], 0.75)
    assert np.isclose(t.loc["pi_coverage", "mcse"], np.sqrt(0.25 / 4))
    # p < 0.05 in 2 of 4
    assert np.isclose(t.loc["rejection", "estimate"], 0.5)
    assert np.isclose(t.loc["rejection", "mcse"], np.sqrt(0.25 / 4))
    assert np.isclose(t.loc["ci_width", "estimate"], 2 * Z * 0.1)
    assert np.isclose(t.loc["ci_width", "mcse"], 0, atol=1e-15)
    assert np.isclose(t.loc["modse", "estimate"], 0.1)
    assert np.isclose(t.loc["tau2_bias", "estimate"], 0.0)
    # failures out of all 5 replicates
    assert np.isclose(t.loc["failure_rate", "estimate"], 0.2)
    assert np.isclose(t.loc["failure_rate", "mcse"], np.sqrt(0.2 * 0.8 / 5))


def test_pi_coverage_is_the_share_of_the_true_distribution():
    # Partlett & Riley (2017): PI [lo, hi] covers Phi((hi - mu)/tau) - Phi((lo - mu)/tau)
    fit = _fit(est=[0.0], se=[0.1], pvalue=[0.5], tau2=[0.04], converged=[True])
    lo, hi = fit.pi_low[0], fit.pi_high[0]
    q, _ = replicate_quantities(fit, mu=0.1, tau2=0.09, level=0.95)
    assert np.isclose(q["pi_cover"][0], ndtr((hi - 0.1) / 0.3) - ndtr((lo - 0.1) / 0.3))


def test_non_finite_and_zero_se_are_failures():
    fit = _fit(est=[0.1, np.nan, 0.2], se=[0.1, 0.1, 0.0], pvalue=[0.3, 0.3, 0.0],
               tau2=[0.0] * 3, converged=[True] * 3)
    _, failed = replicate_quantities(fit, 0.0, 0.0, 0.95)
    assert failed.tolist() == [False, True, True]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=60), st.data())
def test_combining_chunks_equals_one_pass(values, data):
    """Chan et al.'s update: chunk statistics combine to the mean and M2 of all values."""
    x = np.array(values)
    cuts = sorted(data.draw(st.lists(st.integers(1, x.size - 1), max_size=4)))
    rows = []
    for i, part in enumerate(np.split(x, cuts)):
        q = {name: part for name in QUANTITIES}
        rows.append({"id": 0, "chunk": i, **chunk_statistics(q, np.zeros(part.size, bool))})
    out = combine(pd.DataFrame(rows), ["id"]).iloc[0]
    scale = max(1.0, np.abs(x).max())
    assert out["n_total"] == x.size
    assert np.isclose(out["err_mean"], x.mean(), rtol=1e-9, atol=1e-12 * scale)
    m2 = np.sum((x - x.mean()) ** 2)
    assert np.isclose(out["err_m2"], m2, rtol=1e-8, atol=1e-9 * scale**2)


def test_empty_chunk_combines():
    q = {name: np.array([]) for name in QUANTITIES}
    empty = {"id": 0, **chunk_statistics(q, np.ones(3, bool))}
    full = {"id": 0, **chunk_statistics({n: np.array([1.0, 3.0]) for n in QUANTITIES},
                                        np.zeros(2, bool))}
    out = combine(pd.DataFrame([empty, full]), ["id"]).iloc[0]
    assert out["n_total"] == 5 and out["n_failed"] == 3
    assert out["err_mean"] == 2.0 and out["err_m2"] == 2.0
