"""Spec validation: errors name the key (and the study)."""

from __future__ import annotations

import pytest

from sleepmeta.errors import SpecError
from sleepmeta.review.analyse import load_tables
from sleepmeta.review.spec import load_spec, parse_spec

from .conftest import SPEC, make_review


def test_bundled_spec_has_ten_claims():
    from sleepmeta.data import data_path

    spec = load_spec(data_path("pregabalin_review.toml"))
    assert len(spec.claims) == 10 and spec.outcomes["WASO"].better == "lower"
    load_tables(spec)  # validates against the shipped data


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match="cannot be read"):
        load_spec(tmp_path / "nope.toml")


def test_invalid_toml(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[review\n")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(p)


def test_missing_data_file(review):
    (review.parent / "harm.csv").unlink()
    with pytest.raises(SpecError, match=r"data\.harms\[0\].*'harm.csv' not found"):
        load_tables(load_spec(review))


def test_missing_column(review):
    import pandas as pd

    df = pd.read_csv(review.parent / "eff.csv").drop(columns=["comparator"])
    df.to_csv(review.parent / "eff.csv", index=False)
    with pytest.raises(SpecError, match=r"data\.efficacy\[0\].*'comparator'"):
        load_tables(load_spec(review))


def test_unknown_select_column(tmp_path):
    text = SPEC.format(extra="").replace('select = { outcome = ["WASO"] }',
                                         'select = { outcomez = ["WASO"] }')
    spec = make_review(tmp_path, spec_text=text)
    with pytest.raises(SpecError, match=r"outcomes\.WASO\.select: unknown column 'outcomez'"):
        load_tables(load_spec(spec))


def test_outcome_with_no_rows(tmp_path):
    text = SPEC.format(extra="").replace('select = { outcome = ["WASO"] }',
                                         'select = { outcome = ["TST"] }')
    spec = make_review(tmp_path, spec_text=text)
    with pytest.raises(SpecError, match=r"outcomes\.WASO: selects no rows"):
        load_tables(load_spec(spec))


def test_unknown_measure(tmp_path):
    text = SPEC.format(extra="").replace('measure = "MD"', 'measure = "XYZ"')
    with pytest.raises(SpecError, match=r"outcomes\.WASO\.measure: unknown value 'XYZ'"):
        load_spec(make_review(tmp_path, spec_text=text))


def test_claim_with_unknown_outcome(tmp_path):
    text = SPEC.format(extra="").replace('outcomes = ["WASO"]', 'outcomes = ["SOL"]')
    with pytest.raises(SpecError, match=r"claims\[0\]\.outcomes \(claim 'waso'\): unknown outcome 'SOL'"):
        load_spec(make_review(tmp_path, spec_text=text))


def test_unknown_key_and_bad_threshold():
    base = {"review": {"title": "t", "drug": "d"}, "data": {"efficacy": ["e.csv"]},
            "outcomes": {"X": {"table": "efficacy", "select": {"outcome": ["X"]},
                               "measure": "MD", "better": "lower"}},
            "claims": [{"id": "c", "text": "t", "outcomes": ["X"], "expects": "benefit"}]}
    with pytest.raises(SpecError, match=r"analysis: unknown key 'methd'"):
        parse_spec({**base, "analysis": {"methd": "DL"}})
    with pytest.raises(SpecError, match=r"verdict\.min_studies_supported"):
        parse_spec({**base, "verdict": {"min_studies_supported": 0}})
    with pytest.raises(SpecError, match=r"analysis\.method: unknown value 'XX'"):
        parse_spec({**base, "analysis": {"method": "XX"}})
    with pytest.raises(SpecError, match=r"claims\[0\]\.expects"):
        parse_spec({**base, "claims": [{"id": "c", "text": "t", "outcomes": ["X"],
                                        "expects": "maybe"}]})


def test_labels_must_be_words(tmp_path):
    from sleepmeta.data import data_path
    from sleepmeta.errors import SpecError
    from sleepmeta.review.spec import load_spec

    text = data_path("pregabalin_review.toml").read_text(encoding="utf-8")
    assert load_spec(data_path("pregabalin_review.toml")).labels["DPN"] == \
        "diabetic peripheral neuropathy"
    bad = tmp_path / "r.toml"
    bad.write_text(text.replace('DPN = "diabetic peripheral neuropathy"', "DPN = 3"),
                   encoding="utf-8")
    with pytest.raises(SpecError, match=r"labels\.DPN: must be a str"):
        load_spec(bad)
