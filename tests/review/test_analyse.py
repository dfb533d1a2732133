"""Tests for sleepmeta.review.analyse: outcomes through effects -> pooling -> checks.

The small-study section is checked on an outcome with k >= 10: the BCG vaccine
trials (Colditz et al. 1994; metafor's ``dat.bcg``) written as an extraction
table of events per arm. Its Egger, rank-test and trim-and-fill numbers must
equal metafor 3.8's ``regtest``, ``ranktest`` and ``trimfill`` of
``rma(yi, vi)`` on ``escalc("RR", ...)`` of the same trials: the 4-decimal
values printed in metafor's documentation examples of those functions
(dat.bcg, REML), and the full-precision output through the ``metafor``
fixture (live R, or the pinned reference output without R).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from sleepmeta.data import bcg
from sleepmeta.review.analyse import analyse_outcome, load_tables
from sleepmeta.review.build import build_report
from sleepmeta.review.spec import load_spec

from .conftest import EFF_COLS, HARM_COLS, write_table

BCG_SPEC = """
[review]
title = "BCG vaccine trials (Colditz et al. 1994)"
drug = "BCG vaccine"

[data]
harms = ["harm.csv"]

[analysis]
method = "REML"
test = "z"

[outcomes.tb]
label = "Tuberculosis"
table = "harms"
select = { event = ["tuberculosis"] }
measure = "RR"
better = "lower"

[[claims]]
id = "tb"
text = "BCG vaccination prevents tuberculosis"
outcomes = ["tb"]
expects = "benefit"
"""

R_SMALL_STUDY = """
dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
res <- rma(yi, vi, data=dat)
eg <- regtest(res); rk <- ranktest(res); tf <- trimfill(res)
write.csv(data.frame(eg_z=eg$zval, eg_p=eg$pval, eg_limit=eg$est, eg_lb=eg$ci.lb, eg_ub=eg$ci.ub,
                     rk_tau=rk$tau, rk_p=rk$pval, tf_k0=tf$k0, tf_se_k0=tf$se.k0,
                     tf_side=tf$side, tf_est=tf$beta[1], tf_lb=tf$ci.lb, tf_ub=tf$ci.ub,
                     tf_p=tf$pval), stdout(), row.names=FALSE)
"""


def _write_review(folder: Path, rows) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_table(folder / "harm.csv", rows, HARM_COLS)
    write_table(folder / "eff.csv", [], EFF_COLS)
    spec = folder / "review.toml"
    spec.write_text(BCG_SPEC, encoding="utf-8")
    return spec


def _bcg_rows():
    return [{"study_id": f"{r.author} {r.year}", "event": "tuberculosis",
             "events_treat": r.tpos, "n_treat": r.tpos + r.tneg, "events_ctrl": r.cpos,
             "n_ctrl": r.cpos + r.cneg, "condition": "tuberculosis prevention"}
            for r in bcg().itertuples()]


@pytest.fixture(scope="module")
def bcg_review(tmp_path_factory):
    return _write_review(tmp_path_factory.mktemp("bcg") / "rev", _bcg_rows())


@pytest.fixture(scope="module")
def bcg_outcome(bcg_review):
    spec = load_spec(bcg_review)
    return analyse_outcome(spec, spec.outcomes["tb"], load_tables(spec))


def test_bcg_outcome_pools_all_thirteen_trials(bcg_outcome):
    # rma(yi, vi) on dat.bcg (metafor documentation): estimate -0.7145, tau² 0.3132
    assert bcg_outcome.k == 13
    assert bcg_outcome.result.estimate == pytest.approx(-0.7145, abs=5e-5)
    assert bcg_outcome.result.tau2 == pytest.approx(0.3132, abs=5e-5)


def test_small_study_checks_equal_metafors_documented_bcg_values(bcg_outcome):
    ss = bcg_outcome.small_study
    assert ss["done"] and ss["notes"] == []
    # regtest(res): "z = -0.8033, p = 0.4218; Limit Estimate b = -0.5104 (CI: -1.1182, 0.0974)"
    assert ss["egger"]["statistic"] == pytest.approx(-0.8033, abs=5e-5)
    assert ss["egger"]["pvalue"] == pytest.approx(0.4218, abs=5e-5)
    assert ss["egger"]["limit_estimate"] == pytest.approx(-0.5104, abs=5e-5)
    # ranktest(res): "Kendall's tau = 0.0256, p = 0.9524"
    assert ss["rank"]["statistic"] == pytest.approx(0.0256, abs=5e-5)
    assert ss["rank"]["pvalue"] == pytest.approx(0.9524, abs=5e-5)
    # trimfill(res): "Estimated number of missing studies on the right side: 1 (SE = 2.4528)",
    # estimate -0.6571 [-1.0070, -0.3072], p 0.0002
    tf = ss["trimfill"]
    assert (tf["k0"], tf["side"]) == (1, "right")
    assert tf["se_k0"] == pytest.approx(2.4528, abs=5e-5)
    assert tf["estimate"] == pytest.approx(-0.6571, abs=5e-5)
    assert (tf["ci_low"], tf["ci_high"]) == pytest.approx((-1.0070, -0.3072), abs=5e-5)


def test_small_study_checks_equal_metafor_full_precision(bcg_outcome, metafor):
    r = metafor(R_SMALL_STUDY).iloc[0]
    ss = bcg_outcome.small_study
    pairs = [(ss["egger"]["statistic"], r.eg_z), (ss["egger"]["pvalue"], r.eg_p),
             (ss["egger"]["limit_estimate"], r.eg_limit), (ss["rank"]["statistic"], r.rk_tau),
             (ss["rank"]["pvalue"], r.rk_p), (ss["trimfill"]["se_k0"], r.tf_se_k0),
             (ss["trimfill"]["estimate"], r.tf_est), (ss["trimfill"]["ci_low"], r.tf_lb),
             (ss["trimfill"]["ci_high"], r.tf_ub), (ss["trimfill"]["pvalue"], r.tf_p)]
    for ours, theirs in pairs:
        assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-10)
    assert ss["trimfill"]["k0"] == r.tf_k0 and ss["trimfill"]["side"] == r.tf_side


def test_report_json_carries_the_trim_and_fill_estimate(bcg_review, bcg_outcome, tmp_path):
    # the silent bug: report.json's small_study.trimfill.estimate was always null
    build_report(bcg_review, tmp_path / "out", fmt="json")
    data = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    tf = data["outcomes"]["tb"]["small_study"]["trimfill"]
    assert tf["estimate"] is not None and tf["k0"] == 1
    assert math.isclose(tf["estimate"], bcg_outcome.small_study["trimfill"]["estimate"],
                        rel_tol=1e-15)


def test_checks_that_cannot_run_are_reported_not_raised(tmp_path):
    # ten identical trials: equal variances make Egger's design rank-deficient, Kendall's
    # tau undefined and trim-and-fill's side undecidable; each says why
    rows = [{"study_id": f"T{i}", "event": "tuberculosis", "events_treat": 5, "n_treat": 50,
             "events_ctrl": 10, "n_ctrl": 50} for i in range(10)]
    spec = load_spec(_write_review(tmp_path / "rev", rows))
    a = analyse_outcome(spec, spec.outcomes["tb"], load_tables(spec))
    ss = a.small_study
    assert a.k == 10 and ss["done"]
    assert ss["egger"] is None and ss["rank"] is None and ss["trimfill"] is None
    assert len(ss["notes"]) == 3
    assert ss["notes"][0].startswith("Egger's regression test not possible: the design is "
                                     "rank-deficient")
    assert ss["notes"][1].startswith("Begg's rank test not possible")
    assert ss["notes"][2].startswith("Trim-and-fill not possible")
    # and the report still builds, saying why
    build_report(spec.path, tmp_path / "out", fmt="html")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Begg&#39;s rank test not possible" in html or "Begg's rank test not possible" in html


def test_too_few_studies_for_small_study_checks(tmp_path):
    rows = _bcg_rows()[:4]
    spec = load_spec(_write_review(tmp_path / "rev", rows))
    a = analyse_outcome(spec, spec.outcomes["tb"], load_tables(spec))
    assert not a.small_study["done"] and "k = 4" in a.small_study["reason"]


def test_effects_are_the_pooled_ones(bcg_outcome):
    yi, vi, labels = bcg_outcome.effects
    np.testing.assert_array_equal(yi, bcg_outcome.result.yi)
    assert tuple(labels) == bcg_outcome.result.labels
