"""Claims and certainty together: indirect evidence, overrides printed, errors naming keys."""

from __future__ import annotations

import pytest

from sleepmeta.errors import SpecError
from sleepmeta.review.analyse import analyse
from sleepmeta.review.build import build_report
from sleepmeta.review.spec import load_spec

from .conftest import SPEC, make_review


def _spec(tmp_path, extra="", data_extra="", rob=None):
    text = SPEC.format(extra=extra)
    if data_extra:
        text = text.replace('harms = ["harm.csv"]', 'harms = ["harm.csv"]\n' + data_extra)
    spec = make_review(tmp_path / "rev", spec_text=text)
    if rob is not None:
        (spec.parent / "rob.csv").write_text(rob, encoding="utf-8")
    return spec


def test_other_population_is_indirect_evidence(tmp_path):
    # every row is fibromyalgia; a claim about insomnia uses them only as indirect evidence
    spec = _spec(tmp_path, extra="""
[[claims]]
id = "waso_insomnia"
text = "drugx reduces WASO in insomnia"
outcomes = ["WASO"]
population = ["insomnia"]
expects = "benefit"
""")
    ra = analyse(load_spec(spec))
    c = next(c for c in ra.claims if c["claim"].id == "waso_insomnia")
    assert c["indirect"] == [True]
    assert "indirect evidence" in c["reason"]
    ind = next(d for d in c["per_outcome"][0]["grade"]["domains"] if d["domain"] == "indirectness")
    assert ind["downgrade"] == 1
    direct = next(c for c in ra.claims if c["claim"].id == "waso")
    assert direct["indirect"] == [False]
    # one level lower than the same rows graded for a claim naming no population
    assert c["grades"][0].score == direct["grades"][0].score - 1


def test_override_reason_in_json_and_html(tmp_path):
    spec = _spec(tmp_path, extra="""
[grade.WASO]
risk_of_bias = { downgrade = 0, reason = "all three trials were read in full (constructed)" }
""")
    res = build_report(spec, tmp_path / "out")
    dom = next(d for d in res.payload["outcomes"]["WASO"]["grade"]["domains"]
               if d["domain"] == "risk_of_bias")
    assert dom["overridden"] and dom["downgrade"] == 0
    assert "read in full (constructed)" in dom["reason"]
    assert "read in full (constructed)" in (tmp_path / "out" / "report.html").read_text()


@pytest.mark.parametrize("extra, data_extra, rob, match", [
    ("", 'risk_of_bias = "rob.csv"', "study_id,overall,source\nNobody 1999,high,x\n",
     r"row 2 \(study 'Nobody 1999'\): unknown study"),
    ("", 'risk_of_bias = "rob.csv"', "study_id,overall,source\nA 2001,bad,x\n",
     "overall: unknown judgement 'bad'"),
    ("", 'risk_of_bias = "rob.csv"', "study_id,D6,source\nA 2001,low,x\n",
     "unknown column 'D6'"),
    ("", 'risk_of_bias = "../outside.csv"', "study_id,overall,source\nA 2001,high,x\n",
     "data.risk_of_bias: .* is outside the review.s folder"),
    ('[grade.WASO]\nimprecision = { downgrade = 1 }\n', "", None,
     "grade.WASO.imprecision.reason: an override needs a reason"),
])
def test_bad_input_names_row_or_key(tmp_path, extra, data_extra, rob, match):
    spec = _spec(tmp_path, extra=extra, data_extra=data_extra, rob=rob)
    with pytest.raises(SpecError, match=match):
        build_report(spec, tmp_path / "out", fmt="json")


@pytest.mark.parametrize("risks, match", [
    ("[0.0, 0.2]", r"outcomes.dizziness.control_risks: a control risk must be in \(0, 1\)"),
    ("[0.1, 1.0]", r"must be in \(0, 1\)"),
    ("[0.3, 0.2]", "low must be below high"),
    ("0.2", "must be \\[low, high\\]"),
])
def test_control_risks_checked_with_the_key(tmp_path, risks, match):
    text = SPEC.format(extra="").replace(
        'select = {{ event = ["dizziness"] }}'.replace("{{", "{").replace("}}", "}"),
        'select = { event = ["dizziness"] }\ncontrol_risks = ' + risks)
    spec = make_review(tmp_path / "rev", spec_text=text)
    with pytest.raises(SpecError, match=match):
        load_spec(spec)


def test_html_has_sof_first_and_rob_section(tmp_path):
    spec = _spec(tmp_path, data_extra='risk_of_bias = "rob.csv"',
                 rob="study_id,randomisation,overall,source\nA 2001,high,high,x\n")
    build_report(spec, tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.index('id="sof"') < html.index('id="summary"') < html.index('id="claims"')
    assert 'id="rob"' in html and "Could not be assessed from what was read" in html
    assert "B 2002" in html.split('id="rob"')[1].split("</p>")[1]  # B and C not assessed
