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


# --- paths named by a spec stay inside its folder (issue 11: a shared spec cannot read
# --- the environment or a home directory into a published report)

def _with_data(review, efficacy='"eff.csv"', notes=None):
    text = review.read_text().replace('efficacy = ["eff.csv"]', f"efficacy = [{efficacy}]")
    if notes is not None:
        text = text.replace('harms = ["harm.csv"]', f'harms = ["harm.csv"]\nnotes = [{notes}]')
    review.write_text(text)
    return review


@pytest.mark.parametrize(("efficacy", "notes", "key"), [
    ('"eff.csv"', '"/proc/self/environ"', r"data\.notes\[0\]"),
    ('"../../etc/passwd"', None, r"data\.efficacy\[0\]"),
    ('"/etc/passwd"', None, r"data\.efficacy\[0\]"),
    ('"eff.csv"', '"sub/../../outside.md"', r"data\.notes\[0\]"),
    ('"~/.bashrc"', None, r"data\.efficacy\[0\]"),
])
def test_spec_paths_outside_the_folder_are_refused(review, efficacy, notes, key):
    (review.parent.parent / "outside.md").write_text("secret")
    _with_data(review, efficacy, notes)
    with pytest.raises(SpecError, match=key):
        load_spec(review)


def test_symlink_leaving_the_folder_is_refused(review, tmp_path):
    secret = tmp_path / "secret.csv"
    (review.parent / "eff.csv").rename(secret)
    (review.parent / "eff.csv").symlink_to(secret)
    with pytest.raises(SpecError, match=r"data\.efficacy\[0\]: 'eff.csv' is outside"):
        load_spec(review)
    # the user can allow the place explicitly, and then the same spec runs
    spec = load_spec(review, allow_outside=[tmp_path])
    assert len(load_tables(spec)["efficacy"]) == 4


def test_symlink_inside_the_folder_is_fine(review):
    (review.parent / "tables").mkdir()
    (review.parent / "eff.csv").rename(review.parent / "tables" / "eff.csv")
    (review.parent / "eff.csv").symlink_to(review.parent / "tables" / "eff.csv")
    assert len(load_tables(load_spec(review))["efficacy"]) == 4


def test_system_folders_stay_refused_even_when_allowed(review):
    _with_data(review, notes='"/proc/self/environ"')
    with pytest.raises(SpecError, match="system folder"):
        load_spec(review, allow_outside=["/"])


def test_spec_built_from_a_dict_is_confined_at_load_time(tmp_path):
    import tomllib

    raw = tomllib.loads(SPEC.format(extra="").replace('"eff.csv"', '"/etc/passwd"'))
    with pytest.raises(SpecError, match=r"data\.efficacy\[0\]"):
        load_tables(parse_spec(raw, tmp_path / "review.toml"))


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
