"""dose_response against R's dosresmeta: pinned references everywhere, live where installed.

``tests/data/dosresmeta_references.json`` is written by
``tests/data/make_dosresmeta_references.R``: data sets made by that script
(case-control, cumulative-incidence and incidence-rate studies with adjusted
log ratios and the Greenland-Longnecker covariance; randomised arms with
crude log RRs; arm means for SMDs) and dosresmeta's fits of them (linear,
quadratic, restricted cubic spline; one- and two-stage; REML, ML, fixed),
with the R call, dosresmeta's version and the date. The tests fit the same
rows and compare at relative 1e-5. Where R has dosresmeta installed the
script is run again and the live output compared the same way.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sleepmeta.dose import dose_response

from tests.conftest import r_hidden

DATA = Path(__file__).parents[1] / "data"
PINNED = json.loads((DATA / "dosresmeta_references.json").read_text())
METHODS = {"reml": "REML", "ml": "ML", "fixed": "FE"}
MEASURES = {"cc": "OR", "ci": "RR", "ir": "RR", "crude": "RR"}


def fit_like(ref: dict, f: dict):
    """sleepmeta's fit of the data set and model of one pinned dosresmeta fit."""
    d = pd.DataFrame(ref["data"][f["data"]])
    common = dict(model=f["model"], knots=f["knots"] or None, proc=f["proc"],
                  method=METHODS[f["method"]])
    if f["data"] == "smd":
        return dose_response(d, study="id", dose="dose", measure="SMD", mean="y", sd="sd",
                             n="n", **common)
    # reference = None: each study's lowest dose (the ir studies' references are not 0)
    return dose_response(d, study="id", dose="dose", measure=MEASURES[f["data"]],
                         events="cases", n="n", logrr="logrr", se="se", type="type",
                         reference=None, **common)


def dosresmeta_loglik(res, f) -> float:
    """Our log-likelihood in dosresmeta's form: its one-stage REML omits + 1/2 log|X'X|."""
    if f["proc"] == "1stage" and f["method"] == "reml":
        X = res.basis.contrast(res.arms["dose"].to_numpy(), res.arms["reference"].to_numpy())
        return res.loglik - 0.5 * np.linalg.slogdet(X.T @ X)[1]
    return res.loglik


def check(ref: dict, f: dict, rel: float = 1e-5) -> None:
    res = fit_like(ref, f)
    p = len(f["coef"]) if isinstance(f["coef"], list) else 1
    vb = np.array(f["vcov"], dtype=float).reshape(p, p)
    psi = np.array(f["psi"], dtype=float).reshape(p, p)
    assert res.coef == pytest.approx(np.ravel(f["coef"]), rel=rel), f["name"]
    assert res.se == pytest.approx(np.ravel(f["se"]), rel=rel), f["name"]
    assert res.vcov == pytest.approx(vb, rel=rel, abs=rel * np.abs(vb).max()), f["name"]
    # Psi: relative to its largest element (a variance on the boundary is ~0 in both)
    scale = max(np.abs(psi).max(), np.abs(res.psi).max(), 1e-300)
    assert res.psi == pytest.approx(psi, rel=1e-4, abs=1e-4 * scale + 1e-12), f["name"]
    assert dosresmeta_loglik(res, f) == pytest.approx(f["logLik"], rel=1e-7, abs=1e-7), f["name"]
    if f["Q"] != []:  # dosresmeta prints Q for two-stage fits (mixmeta's qtest)
        assert res.qe == pytest.approx(f["Q"], rel=1e-6), f["name"]
        assert res.qe_df == f["Q_df"], f["name"]


def _ids(ref):
    return [f["name"] for f in ref["fits"]]


def test_pinned_file_covers_what_it_should():
    fits = PINNED["fits"]
    assert PINNED["dosresmeta_version"] >= "2.2.0"
    assert {f["data"] for f in fits} == {"cc", "ci", "ir", "crude", "smd"}
    assert {f["model"] for f in fits} == {"linear", "quadratic", "spline"}
    assert {f["proc"] for f in fits} == {"1stage", "2stage"}
    assert {f["method"] for f in fits} == {"reml", "ml", "fixed"}
    ir = pd.DataFrame(PINNED["data"]["ir"])
    assert (ir.groupby("id")["dose"].min() > 0).all()  # references other than dose 0


@pytest.mark.parametrize("f", PINNED["fits"], ids=_ids(PINNED))
def test_matches_pinned_dosresmeta(f):
    check(PINNED, f)


@pytest.mark.r
def test_matches_live_dosresmeta(tmp_path):
    if shutil.which("Rscript") is None or r_hidden():
        pytest.skip("R is not installed (or SLEEPMETA_NO_R is set)")
    probe = subprocess.run(["Rscript", "--vanilla", "-e",
                            "for (p in c('dosresmeta', 'rms', 'jsonlite')) "
                            "if (!requireNamespace(p, quietly=TRUE)) quit(status=3)"],
                           capture_output=True)
    if probe.returncode == 3:
        pytest.skip("R package dosresmeta (or rms, jsonlite) is not installed")
    out = tmp_path / "live.json"
    res = subprocess.run(["Rscript", "--vanilla", str(DATA / "make_dosresmeta_references.R"),
                          str(out)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-500:]
    live = json.loads(out.read_text())
    # the script's data are deterministic: the live run makes the pinned data again
    assert live["data"] == PINNED["data"]
    for f in live["fits"]:
        check(live, f)
