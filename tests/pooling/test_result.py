"""Tests for sleepmeta.pooling.result: MetaResult built from an engine fit, and its views."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sleepmeta.errors import ConvergenceError, ModelError
from sleepmeta.pooling import meta_analysis
from sleepmeta.pooling.design import Design
from sleepmeta.pooling.engine import fit_batch
from sleepmeta.pooling.registry import Control
from sleepmeta.pooling.result import MetaResult, fit_notes, raise_unconverged
from tests._bcg import bcg_yi_vi

Z975 = 1.959963984540054  # qnorm(0.975)


def _batch(yi, vi, **kw):
    yi, vi = np.atleast_2d(yi), np.atleast_2d(vi)
    return fit_batch(yi, vi, np.ones(yi.shape, bool), np.ones((1, yi.shape[1], 1)), **kw)


def test_from_fit_takes_member_b():
    yi = np.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.9]])
    vi = np.full((2, 3), 0.02)
    fit = _batch(yi, vi, method="FE")
    d = Design(np.ones((3, 1)), ("intrcpt",), True)
    res = MetaResult.from_fit(fit, 1, yi[1], vi[1], d, ["a", "b", "c"], "MD", ("given",))
    assert res.estimate == pytest.approx(0.5)        # equal weights: the mean of member 1
    assert res.k == 3 and res.labels == ("a", "b", "c") and res.notes == ("given",)
    assert res.weights.sum() == pytest.approx(100) and res.coefficients.index.tolist() == ["intrcpt"]


def test_study_frame_is_the_wald_interval():
    res = meta_analysis([0.1, 0.3], [0.01, 0.04], labels=["a", "b"], method="FE")
    sf = res.study_frame()
    assert sf.loc["b", "ci_low"] == pytest.approx(0.3 - Z975 * 0.2, rel=1e-12)
    assert sf.loc["a", "ci_high"] == pytest.approx(0.1 + Z975 * 0.1, rel=1e-12)


def test_to_dict_is_json_safe_and_back_transforms_ratios():
    res = meta_analysis([0.2, 0.2, 0.2], [0.1, 0.1, 0.1], test="knha", measure="RR")
    d = res.to_dict()
    json.dumps(d, allow_nan=False)                   # NaN and inf became None
    assert d["estimate_exp"] == pytest.approx(math.exp(0.2)) and res.is_ratio
    assert not meta_analysis([0.2, 0.3], [0.1, 0.1], measure="MD").is_ratio
    assert meta_analysis([0.2, 0.3], [0.1, 0.1], measure="IRR").is_ratio  # recognised by name


def test_fit_notes_say_what_the_fit_did():
    yi, vi = bcg_yi_vi()
    assert fit_notes(_batch(yi, vi, method="REML"), 0) == []
    equal = _batch([0.2, 0.2, 0.2], [0.1, 0.1, 0.1], method="DL", test="knha")
    assert "s² = 0" in fit_notes(equal, 0)[0]
    one = _batch([0.3], [0.04], method="FE", test="knha")
    assert fit_notes(one, 0)[0].startswith('k = 1: test "z"')


def test_raise_unconverged_names_the_analysis():
    yi, vi = bcg_yi_vi()
    fit = _batch(yi, vi, method="REML", control=Control(maxiter=0))
    with pytest.raises(ConvergenceError, match="analysis 'BCG': the REML estimator"):
        raise_unconverged(fit, "REML", labels=["BCG"])


def test_tau2_ci_and_its_limits():
    yi, vi = bcg_yi_vi()
    ci = meta_analysis(yi, vi).tau2_ci()
    # metafor 3.8: confint(rma(yi, vi)) on dat.bcg: tau² 0.1197 to 1.1115, I² 81.9177 to 97.6781
    assert ci.loc["tau2", ["ci_low", "ci_high"]].tolist() == pytest.approx([0.1197, 1.1115],
                                                                           abs=5e-5)
    assert ci.loc["i2", ["ci_low", "ci_high"]].tolist() == pytest.approx([81.9177, 97.6781],
                                                                         abs=5e-5)
    with pytest.raises(ModelError, match="no tau²"):
        meta_analysis(yi, vi, method="FE").tau2_ci()


def test_summary_reads_the_registry():
    yi, vi = bcg_yi_vi()
    text = meta_analysis(yi, vi, method="PM", test="knha").summary()
    assert "tau^2 estimator: PM, Paule-Mandel" in text
    assert "Knapp-Hartung adjustment" in text and "tval" in text
    assert meta_analysis(yi, vi, method="FE").summary().startswith("Common-effect model (k = 13)")
