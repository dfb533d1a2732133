"""Tests for sleepmeta.review.payload: the report's numbers as one JSON-safe mapping."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sleepmeta.pooling import meta_analysis
from sleepmeta.pooling.registry import ESTIMATOR_INFO
from sleepmeta.review.analyse import analyse
from sleepmeta.review.payload import outcome_payload, pooled_payload, report_payload, to_json
from sleepmeta.review.spec import load_spec


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    from .conftest import make_review

    spec = load_spec(make_review(tmp_path_factory.mktemp("pay") / "rev"))
    return analyse(spec)


def test_to_json_is_deterministic_and_has_no_nan():
    text = to_json({"b": float("nan"), "a": [np.float64(1.5), np.int64(2), float("inf")]})
    assert text == to_json({"a": [1.5, 2, float("inf")], "b": float("nan")})
    assert json.loads(text) == {"a": [1.5, 2, None], "b": None}
    assert text.index('"a"') < text.index('"b"')   # keys sorted


def test_pooled_payload_gives_both_scales():
    res = meta_analysis([0.1, -0.2, 0.4], [0.04, 0.05, 0.03], method="DL", measure="RR")
    out = pooled_payload(res, True)
    assert out["natural"]["estimate"] == pytest.approx(math.exp(res.estimate))
    assert out["scale"] == "log risk ratio" and out["studies"] == 3
    lab0 = out["study_effects"][0]
    assert lab0["natural"]["ci_low"] == pytest.approx(math.exp(0.1 - 1.959963984540054 * 0.2))
    assert pooled_payload(None, True) is None


def test_outcome_payload_keeps_numbers_not_objects(analysed):
    for a in analysed.outcomes.values():
        out = outcome_payload(a)
        assert "trimfill_object" not in out["small_study"]
        json.dumps(to_json(out))


def test_report_payload_methods_read_the_registry(analysed):
    payload = report_payload(analysed)
    paragraphs = " ".join(payload["methods"]["paragraphs"])
    method = analysed.spec.method
    assert f"{ESTIMATOR_INFO[method].label} ({method})" in paragraphs
    assert set(payload["software"]) >= {"sleepmeta", "numpy", "scipy", "python"}
    assert payload["outcomes"]["WASO"]["pooled"]["k"] == 3
    json.loads(to_json(payload))
