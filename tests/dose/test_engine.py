"""The dose adapter to the multilevel engine: boundary cases checked against metafor."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sleepmeta.dose import dose_response

DATA = Path(__file__).parents[1] / "data"


def test_a_variance_held_at_zero_by_the_cholesky_form_is_refitted():
    # 50 trials (placebo + 150/300/600 mg/day) on which the Cholesky-parametrised GEN fit
    # stopped with the first slope variance at exactly 0, 0.41 log-likelihood units below
    # the maximum; metafor's rma.mv (pinned by tests/data/make_dose_held_variance.R) finds
    # tau2 = (3.8e-8, 3.2e-7), rho = 1.
    ref = json.loads((DATA / "dose_held_variance.json").read_text())
    ev, n = np.array(ref["events"]), np.array(ref["n"])
    m = len(ev)
    df = pd.DataFrame({"id": np.repeat(np.arange(m), 4), "dose": np.tile(ref["doses"], m),
                       "events": ev.ravel(), "n": n.ravel()})
    res = dose_response(df, study="id", dose="dose", events="events", n="n", model="spline",
                        knots=ref["knots"])
    mf = ref["metafor"]
    assert res.loglik == pytest.approx(mf["logLik"], rel=1e-8)
    assert res.coef == pytest.approx(mf["beta"], rel=1e-5)
    assert res.se == pytest.approx(mf["se"], rel=1e-5)
    assert np.diag(res.psi) == pytest.approx(mf["tau2"], rel=1e-3)
