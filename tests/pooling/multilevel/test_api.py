"""meta_analysis_mv: results object, views and typed errors for bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sleepmeta.errors import ColumnError, InputError, ModelError, UnknownOptionError
from sleepmeta.pooling.multilevel import meta_analysis_mv


@pytest.fixture
def d():
    rng = np.random.default_rng(3)
    n = 12
    return pd.DataFrame({"yi": rng.normal(0.3, 0.3, n), "vi": rng.uniform(0.01, 0.05, n),
                         "study": np.repeat(["s1", "s2", "s3", "s4"], 3),
                         "arm": np.tile([1, 2, 3], 4), "dose": np.tile([75.0, 150.0, 300.0], 4),
                         "label": [f"row{i}" for i in range(n)]})


def test_views(d):
    r = meta_analysis_mv("yi", "vi", random="~ 1 | study/arm", data=d)
    text = r.summary()
    assert "Multivariate Meta-Analysis Model (k = 12; method: REML)" in text
    assert "sigma^2.1" in text and "study/arm" in text
    json.dumps(r.to_dict())  # JSON-safe
    assert list(r.to_frame().columns[:6]) == ["estimate", "se", "statistic", "pvalue", "ci_low",
                                              "ci_high"]
    assert r._repr_html_().startswith("<pre>")
    vc = r.variance_components()
    assert list(vc["name"]) == ["sigma^2.1", "sigma^2.2"]


def test_unknown_column(d):
    with pytest.raises(ColumnError, match="'center'"):
        meta_analysis_mv("yi", "vi", random="~ 1 | center", data=d)


def test_unknown_struct(d):
    with pytest.raises(UnknownOptionError, match="struct"):
        meta_analysis_mv("yi", "vi", random="~ arm | study", struct="XX", data=d)


@pytest.mark.parametrize("formula", ["~ 1 | ", "1 | study", "~ 1 | study; import os",
                                     "~ __import__('os') | study", "~ 1 | a/b/", "~ x + | s"])
def test_random_grammar_is_strict(d, formula):
    with pytest.raises(InputError):
        meta_analysis_mv("yi", "vi", random=formula, data=d)


def test_v_not_symmetric_names_study(d):
    V = np.diag(d["vi"].to_numpy())
    V[0, 1] = 0.001
    with pytest.raises(InputError, match="not symmetric.*row0"):
        meta_analysis_mv("yi", V, random="~ 1 | study", data=d, labels="label")


def test_v_not_positive_definite_names_study(d):
    V = np.diag(d["vi"].to_numpy())
    V[3, 4] = V[4, 3] = 0.5  # a correlation far above 1
    with pytest.raises(InputError, match="study 'row3'.*not positive definite"):
        meta_analysis_mv("yi", V, random="~ 1 | study", data=d, labels="label")


def test_bad_variance_names_study(d):
    d.loc[5, "vi"] = -0.1
    with pytest.raises(InputError, match="study 'row5'"):
        meta_analysis_mv("yi", "vi", random="~ 1 | study", data=d, labels="label")


def test_missing_random_value_names_study(d):
    d["arm"] = d["arm"].astype(object)
    d.loc[2, "arm"] = None
    with pytest.raises(InputError, match="study 'row2'.*'arm'"):
        meta_analysis_mv("yi", "vi", random="~ 1 | study/arm", data=d, labels="label")


def test_struct_not_identifiable(d):
    small = d.iloc[:4]
    with pytest.raises(ModelError, match="cannot be identified"):
        meta_analysis_mv("yi", "vi", random="~ arm | study", struct="UN", data=small)


def test_single_level_factor_fixed_at_zero(d):
    d["all"] = "x"
    r = meta_analysis_mv("yi", "vi", random=["~ 1 | all", "~ 1 | study"], data=d)
    assert r.sigma2[0] == 0
    assert any("single level" in n for n in r.notes)


def test_cr2_single_row_cluster_is_noted(d):
    d.loc[0, "study"] = "alone"  # a study (and cluster) of one row
    r = meta_analysis_mv("yi", "vi", random="~ 1 | study/arm", data=d)
    rob = r.robust("study")
    assert rob.notes and "single row" in rob.notes[0]


def test_robust_needs_nested_clusters(d):
    r = meta_analysis_mv("yi", "vi", random="~ 1 | study/arm", data=d)
    with pytest.raises(ModelError, match="nested"):
        r.robust(np.tile([1, 2, 3, 4], 3))


def test_gen_random_slopes_no_intercept(d):
    # random slopes on dose, no random intercept: rma.mv(..., random = ~ dose - 1 | study,
    # struct = "GEN"); G is 1 x 1 here
    d = d.assign(dose=d["dose"] / 100)
    r = meta_analysis_mv("yi", "vi", mods="~ dose - 1", random="~ dose - 1 | study",
                         struct="GEN", data=d)
    assert len(r.tau2) == 1 and r.tau2[0] >= 0


def test_effect_sizes_object_brings_vi_and_labels():
    from sleepmeta import effect_size
    from sleepmeta.data import bcg

    d = bcg()
    es = effect_size("RR", d, events1="tpos", n1="n1", events2="cpos", n2="n2", labels="study")
    d["trial"] = range(len(d))
    r = meta_analysis_mv(es, random="~ 1 | trial", data=d)
    by_hand = meta_analysis_mv(es.yi, es.vi, random="~ 1 | trial", data=d)
    assert r.model.labels == tuple(map(str, es.labels))
    assert r.estimate == pytest.approx(by_hand.estimate, rel=1e-12)


def test_estimates_outside_the_accepted_range_are_refused():
    # the same range rule as meta_analysis (pooling/inputs.py): |yi| <= 1e50
    import pandas as pd

    from sleepmeta.errors import InputError
    from sleepmeta.pooling.multilevel import meta_analysis_mv

    d = pd.DataFrame({"study": [0, 0], "arm": [0, 1], "yi": [0.0, 1e300], "vi": [1.0, 1.0]})
    with pytest.raises(InputError, match=r"study '2': yi = 1e\+300 is outside"):
        meta_analysis_mv("yi", "vi", random="~ 1 | study/arm", data=d)


def test_two_inner_outer_terms_struct_rules():
    d = pd.DataFrame({"yi": [0.1, 0.3, 0.35, 0.6, 0.2, 0.5, 0.4, 0.1],
                      "vi": [0.01] * 8, "study": [1, 1, 2, 2, 3, 3, 4, 4],
                      "outcome": ["a", "b"] * 4, "row": range(8)})
    random = ["~ outcome | study", "~ outcome | row"]
    with pytest.raises(InputError, match="list of two"):
        meta_analysis_mv("yi", "vi", random=random, struct=["CS", "ID", "UN"], data=d)
    with pytest.raises(UnknownOptionError):
        meta_analysis_mv("yi", "vi", random=random, struct=["CS", "XX"], data=d)
    res = meta_analysis_mv("yi", "vi", random=random, struct=["CS", "ID"], data=d)
    # the second term reports gamma2 (one, ID) and no phi line; the summary prints both terms
    assert res.struct == "CS" and res.struct2 == "ID" and len(res.gamma2) == 1
    text = res.summary()
    assert "tau^2" in text and "gamma^2" in text and "phi" not in text
    assert set(res.variance_components()["component"]) == {"tau2", "rho", "gamma2"}
