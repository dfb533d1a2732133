"""Bad cells and bad files in extraction tables (issue 18): a SpecError naming
the file, the line, the study, the column and the rule -- never a traceback,
never a silent NaN."""

from __future__ import annotations

import pytest

from sleepmeta.errors import SpecError
from sleepmeta.review.build import build_report

from .conftest import EFF_ROWS, HARM_ROWS, make_review


def _run(tmp_path, eff=None, harm=None, **kw):
    spec = make_review(tmp_path / "rev", eff, harm, **kw)
    return build_report(spec, tmp_path / "out", fmt="json")


@pytest.mark.parametrize("text", ["fifty", "30%", "-10,5", "150mg", "<0.001", "1e400", "inf",
                                  "True"])
def test_text_in_a_numeric_cell_names_line_study_and_column(tmp_path, text):
    eff = [dict(r) for r in EFF_ROWS]
    eff[1]["sd_treat"] = text
    with pytest.raises(SpecError, match=r"data\.efficacy\[0\]: file 'eff\.csv' line 3 "
                                        r"\(study 'B 2002'\): sd_treat must be"):
        _run(tmp_path, eff)


@pytest.mark.parametrize(("row", "column", "value", "rule"), [
    (1, "sd_treat", -3.1, "sd_treat must be >= 0, got -3.1"),  # issue 18: negative SD
    (0, "diff", -40.0, "diff must lie inside its own CI"),      # issue 18: diff outside its CI
    (0, "diff_ci_low", 5.0, "diff_ci_low must be <= diff_ci_high"),
    (2, "p_value", 1.5, "p_value must be in [0, 1]"),
    (2, "n_treat", 0, "n_treat must be >= 1"),
])
def test_impossible_efficacy_values_are_refused(tmp_path, row, column, value, rule):
    eff = [dict(r) for r in EFF_ROWS]
    eff[row][column] = value
    with pytest.raises(SpecError, match=rule.replace("[", r"\[").replace("]", r"\]")):
        _run(tmp_path, eff)


@pytest.mark.parametrize(("column", "value", "rule"), [
    ("events_treat", 120, "events_treat must be <= n_treat, got 120 > 100"),
    ("pct_treat", 130.0, "pct_treat must be in [0, 100]"),
    ("n_ctrl", 1e300, "n_ctrl must be a finite number with |x| <= 1e+12"),  # OverflowError before
])
def test_impossible_harm_values_are_refused(tmp_path, column, value, rule):
    harm = [dict(r) for r in HARM_ROWS]
    harm[0][column] = value
    with pytest.raises(SpecError) as err:
        _run(tmp_path, harm=harm)
    assert rule in str(err.value) and "data.harms[0]" in str(err.value)


@pytest.mark.parametrize(("content", "words"), [
    (b"\x00\x01\x02\xff\xfe binary", "is not UTF-8 text"),
    ("study_id,outcome\nM\xfcller 2001,WASO\n".encode("latin-1"), "is not UTF-8 text"),
    (b"", "is empty"),
    (b'study_id,outcome\n"A,WASO\n', "is not a readable CSV table"),
    (b"study_id,outcome\nA,WASO\nB,WASO,1,2,3\n", "is not a readable CSV table"),
])
def test_unreadable_csv_is_a_spec_error(tmp_path, content, words):
    spec = make_review(tmp_path / "rev")
    (tmp_path / "rev" / "eff.csv").write_bytes(content)
    with pytest.raises(SpecError, match=r"data\.efficacy\[0\]: file 'eff\.csv' " + words):
        build_report(spec, tmp_path / "out", fmt="json")


def test_margin_nan_is_refused(tmp_path):
    spec = make_review(tmp_path / "rev")
    text = spec.read_text().replace('unit = "minutes"', 'unit = "minutes"\nmargin = nan', 1)
    spec.write_text(text)
    with pytest.raises(SpecError, match=r"outcomes\.WASO\.margin: must be >= 0"):
        build_report(spec, tmp_path / "out", fmt="json")


def test_deeply_nested_spec_is_a_spec_error(tmp_path):
    spec = make_review(tmp_path / "rev")
    spec.write_text(spec.read_text() + "\ndeep = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(SpecError, match="nests tables or arrays too deeply"):
        build_report(spec, tmp_path / "out", fmt="json")


@pytest.mark.parametrize("study", ["", "   "])
def test_a_row_without_a_study_is_refused(tmp_path, study):
    # found by the review fuzz test: an empty study_id reached the report as a missing value
    eff = [dict(r) for r in EFF_ROWS]
    eff[1]["study_id"] = study
    with pytest.raises(SpecError, match=r"line 3: study_id is empty"):
        _run(tmp_path, eff=eff)
