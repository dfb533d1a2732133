"""``sleepmeta report`` on the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from sleepmeta.cli import app


def _review_helpers():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "review" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_review_fixtures", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


make_review = _review_helpers().make_review

runner = CliRunner()


def test_report_json(tmp_path):
    spec = make_review(tmp_path / "rev")
    out = tmp_path / "out"
    res = runner.invoke(app, ["report", str(spec), "--out", str(out), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "report written to" in res.output and "report.json" in res.output
    data = json.loads((out / "report.json").read_text())
    assert [c["id"] for c in data["claims"]] == ["waso", "dizzy"]
    assert not (out / "report.html").exists()


def test_report_html(tmp_path):
    spec = make_review(tmp_path / "rev")
    out = tmp_path / "out"
    res = runner.invoke(app, ["report", str(spec), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "report.html").is_file() and (out / "report.json").is_file()


def test_report_bad_spec_exits_2_and_names_key(tmp_path):
    spec = make_review(tmp_path / "rev")
    spec.write_text(spec.read_text().replace('outcomes = ["WASO"]', 'outcomes = ["NOPE"]'))
    res = runner.invoke(app, ["report", str(spec), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "claims[0].outcomes" in res.output and "NOPE" in res.output


def test_report_unknown_format(tmp_path):
    spec = make_review(tmp_path / "rev")
    res = runner.invoke(app, ["report", str(spec), "--format", "pdf", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "format" in res.output


def test_report_refuses_notes_outside_the_review_unless_allowed(tmp_path):
    # issue 11: a shared spec naming /proc/self/environ or a file beside the review folder
    make_review = _review_helpers().make_review
    outside = tmp_path / "shared"
    outside.mkdir()
    (outside / "deps.md").write_text("# Dependence\n\nnothing\n")
    spec = make_review(tmp_path / "rev")
    spec.write_text(spec.read_text().replace('harms = ["harm.csv"]',
                                             'harms = ["harm.csv"]\nnotes = ["../shared/deps.md"]'))
    out = runner.invoke(app, ["report", str(spec), "--out", str(tmp_path / "o"),
                              "--format", "json"])
    assert out.exit_code == 2
    assert "data.notes[0]" in out.output and "--allow-outside" in " ".join(out.output.split())
    out = runner.invoke(app, ["report", str(spec), "--out", str(tmp_path / "o"), "--format",
                              "json", "--allow-outside", str(outside)])
    assert out.exit_code == 0, out.output
