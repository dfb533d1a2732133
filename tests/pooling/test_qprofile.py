"""Q-profile confidence intervals for tau² (Viechtbauer 2007)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sleepmeta.errors import ModelError
from sleepmeta.pooling import meta_analysis
from tests._bcg import bcg_yi_vi


def test_bcg_confint_matches_metafor_documentation():
    # metafor documentation, help(confint.rma): confint(rma(yi, vi, data=dat)) on BCG log RR:
    # tau^2 0.3132 [0.1197, 1.1115]; tau 0.5597 [0.3460, 1.0543];
    # I^2 92.22 [81.92, 97.68]; H^2 12.86 [5.53, 43.07]
    ci = meta_analysis(*bcg_yi_vi()).tau2_ci()
    assert list(ci.index) == ["tau2", "tau", "i2", "h2"]
    assert list(ci.columns) == ["estimate", "ci_low", "ci_high"]
    assert ci.loc["tau2"].to_numpy() == pytest.approx([0.3132, 0.1197, 1.1115], abs=5e-5)
    assert ci.loc["tau"].to_numpy() == pytest.approx([0.5597, 0.3460, 1.0543], abs=5e-5)
    assert ci.loc["i2"].to_numpy() == pytest.approx([92.22, 81.92, 97.68], abs=5e-3)
    assert ci.loc["h2"].to_numpy() == pytest.approx([12.86, 5.53, 43.07], abs=5e-3)


def test_limits_solve_the_q_profile_equations():
    # Definition: Q(tau²_low) = chi²_{k-1, 0.975}, Q(tau²_high) = chi²_{k-1, 0.025}
    yi, vi = bcg_yi_vi()
    ci = meta_analysis(yi, vi).tau2_ci()

    def q(t):
        w = 1 / (vi + t)
        mu = np.sum(w * yi) / w.sum()
        return np.sum(w * (yi - mu) ** 2)

    k = yi.size
    # uniroot's tolerance (eps^0.25 on tau²) bounds the precision
    assert q(ci.loc["tau2", "ci_low"]) == pytest.approx(stats.chi2.isf(0.025, k - 1), rel=1e-3)
    assert q(ci.loc["tau2", "ci_high"]) == pytest.approx(stats.chi2.ppf(0.025, k - 1), rel=1e-3)


def test_homogeneous_data_give_zero_lower_limit():
    yi = np.array([0.1, 0.12, 0.09, 0.11, 0.1])
    vi = np.full(5, 0.04)
    ci = meta_analysis(yi, vi).tau2_ci()
    assert ci.loc["tau2", "ci_low"] == 0
    assert ci.loc["tau2", "ci_high"] == 0  # Q(0) below the lower quantile: the null set {0}


def test_fe_model_has_no_tau2_ci():
    with pytest.raises(ModelError, match="FE"):
        meta_analysis(*bcg_yi_vi(), method="FE").tau2_ci()
