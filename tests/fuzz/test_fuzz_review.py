"""Fuzz review specs and extraction tables (issue 18 campaign).

Invariant: ``build_report`` writes a report, or raises a sleepmeta error, within
60 s -- never another exception (could not convert string to float,
UnicodeDecodeError, RecursionError, OverflowError, LinAlgError, MarkupError).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from sleepmeta.errors import SleepmetaError
from sleepmeta.review.build import build_report
from tests.fuzz._limits import fuzz_settings, within

_spec = importlib.util.spec_from_file_location(
    "_review_fixtures", Path(__file__).resolve().parents[1] / "review" / "conftest.py")
_fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fx)

FUZZ = fuzz_settings(25)

NUMERIC_EFF = ["dose_min_mg", "dose_max_mg", "n_treat", "n_ctrl", "mean_treat", "sd_treat",
               "se_treat", "mean_ctrl", "sd_ctrl", "se_ctrl", "diff", "diff_ci_low",
               "diff_ci_high", "diff_se", "p_value"]
NUMERIC_HARM = ["dose_min_mg", "dose_max_mg", "events_treat", "n_treat", "events_ctrl", "n_ctrl",
                "pct_treat", "pct_ctrl"]
TEXT_COLS = ["study_id", "condition", "comparator", "notes", "url", "unit", "p_value_text"]
value = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.builds(lambda s, e: s * 10.0 ** e, st.sampled_from([-1, 1]), st.integers(-320, 308)),
    st.integers(-10**20, 10**20), st.booleans(),
    st.sampled_from(["fifty", "30%", "-10,5", "150mg", "<0.001", "", "[/bold]", "NaN", "1e400",
                     "0x10", " 12 ", "12.5.1", "\u00b2", "-0"]),
    st.text(max_size=8))
text = st.one_of(st.text(max_size=30), st.sampled_from(["[/bold]", "[red]x", "<script>", "$x$",
                                                         "placebo", "a" * 5000]))


@st.composite
def edits(draw, rows, numeric):
    rows = [dict(r) for r in rows]
    for _ in range(draw(st.integers(1, 5))):
        r = draw(st.integers(0, len(rows) - 1))
        if draw(st.booleans()):
            rows[r][draw(st.sampled_from(numeric))] = draw(value)
        else:
            rows[r][draw(st.sampled_from(TEXT_COLS))] = draw(text)
    return rows


def _build(tmp_path, eff, harm, extra="", spec_edit=None):
    folder = tmp_path / "rev"
    spec = _fx.make_review(folder, eff, harm, extra=extra)
    if spec_edit is not None:
        spec.write_text(spec_edit(spec.read_text()), encoding="utf-8")
    with within(60, "build_report"):
        try:
            build_report(spec, tmp_path / "out", fmt="json")
        except SleepmetaError:
            pass


@FUZZ
@given(eff=edits(_fx.EFF_ROWS, NUMERIC_EFF), harm=edits(_fx.HARM_ROWS, NUMERIC_HARM))
def test_any_cells_give_a_report_or_a_typed_error(tmp_path_factory, eff, harm):
    _build(tmp_path_factory.mktemp("rev"), eff, harm)


toml_value = st.one_of(st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1e308", "true", '"x"',
                                        "[]", "[1, 2]", "{}", '"[/bold]"', '"1e400"', "0.95"]),
                       st.integers(-3, 3).map(str))
spec_key = st.sampled_from(["margin", "level", "method", "test", "small_study_min_k",
                            "min_studies_supported", "subgroups", "better", "measure",
                            "[/bold]"])


@FUZZ
@given(key=spec_key, val=toml_value, depth=st.sampled_from([0, 50, 2000, 5000]))
def test_any_spec_values_give_a_report_or_a_typed_error(tmp_path_factory, key, val, depth):
    def edit(text):
        if key in ("level", "method", "test", "small_study_min_k"):
            text = text.replace('test = "z"', f'test = "z"\n{key} = {val}'
                                if key != "test" else f"test = {val}")
        elif key in ("min_studies_supported",):
            text += f"\n[verdict]\n{key} = {val}\n"
        elif key == "[/bold]":
            text = text.replace("[outcomes.WASO]", '[outcomes."[/bold]"]').replace(
                'outcomes = ["WASO"]', 'outcomes = ["[/bold]"]')
        else:
            text = text.replace('unit = "minutes"', f'unit = "minutes"\n{key} = {val}', 1)
        if depth:
            text += "\nnested = " + "[" * depth + "]" * depth + "\n"
        return text

    _build(tmp_path_factory.mktemp("rev"), None, None, spec_edit=edit)


@fuzz_settings(15)
@given(content=st.one_of(st.binary(max_size=300),
                         st.text(max_size=200).map(lambda t: t.encode("utf-8")),
                         st.text(max_size=100).map(lambda t: t.encode("latin-1", "replace"))))
def test_any_file_bytes_as_a_table_give_a_typed_error_or_a_report(tmp_path_factory, content):
    folder = tmp_path_factory.mktemp("rev")
    spec = _fx.make_review(folder / "rev")
    (folder / "rev" / "eff.csv").write_bytes(content)
    with within(60, "build_report"):
        try:
            build_report(spec, folder / "out", fmt="json")
        except SleepmetaError:
            pass
