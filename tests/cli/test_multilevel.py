"""``sleepmeta pool --random``: the multilevel branch of the CLI (cli/_multilevel.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from sleepmeta.cli import app

runner = CliRunner()
REF = json.loads((Path(__file__).resolve().parents[1] / "data" /
                  "metafor_mv_references.json").read_text())


def _konst(tmp_path):
    path = tmp_path / "konst.csv"
    pd.DataFrame(REF["data"]["konst"]).to_csv(path, index=False)
    return path


def test_random_three_level_matches_metafor(tmp_path):
    # pinned rma.mv(yi, vi, random = ~ 1 | district/school) from make_references_mv.R
    case = next(c for c in REF["cases"] if c["name"] == "konstantopoulos_reml")
    out = runner.invoke(app, ["pool", str(_konst(tmp_path)), "--yi", "yi", "--vi", "vi",
                              "--random", "~ 1 | district/school", "--json"])
    assert out.exit_code == 0, out.output
    res = json.loads(out.output)
    assert abs(res["coefficients"]["intrcpt"]["estimate"] - case["beta"]) < 1e-6
    assert abs(res["sigma2"][0] - case["sigma2"][0]) < 1e-6


def test_random_summary_and_rho(tmp_path):
    d = pd.DataFrame({"study": [1, 1, 2, 2, 3, 3, 4, 4], "outcome": ["A", "B"] * 4,
                      "yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.2, 0.0, 0.6], "vi": [0.01] * 8})
    path = tmp_path / "d.csv"
    d.to_csv(path, index=False)
    out = runner.invoke(app, ["pool", str(path), "--yi", "yi", "--vi", "vi", "--random",
                              "~ 1 | study", "--rho", "0.5"])
    assert out.exit_code == 0, out.output
    assert "Multivariate Meta-Analysis Model (k = 8; method: REML)" in out.output


def test_v_file(tmp_path):
    d = pd.DataFrame({"study": [1, 1, 2, 2, 3, 3], "label": list("abcdef"),
                      "yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.2], "vi": [0.01] * 6})
    path = tmp_path / "d.csv"
    d.to_csv(path, index=False)
    cov = tmp_path / "V.csv"
    pd.DataFrame({"row1": ["a", "c"], "row2": ["b", "d"], "cov": [0.005, 0.004]}).to_csv(
        cov, index=False)
    out = runner.invoke(app, ["pool", str(path), "--yi", "yi", "--vi", "vi", "--labels", "label",
                              "--random", "~ 1 | study", "--V", str(cov), "--json"])
    assert out.exit_code == 0, out.output
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"row1": ["a"], "row2": ["zz"], "cov": [0.1]}).to_csv(bad, index=False)
    out = runner.invoke(app, ["pool", str(path), "--yi", "yi", "--vi", "vi", "--labels", "label",
                              "--random", "~ 1 | study", "--V", str(bad)])
    assert out.exit_code == 2 and "zz" in out.output


def test_bad_random_is_a_typed_error(tmp_path):
    out = runner.invoke(app, ["pool", str(_konst(tmp_path)), "--yi", "yi", "--vi", "vi",
                              "--random", "~ 1 | __import__('os')"])
    assert out.exit_code == 2
    out = runner.invoke(app, ["pool", str(_konst(tmp_path)), "--yi", "yi", "--vi", "vi",
                              "--random", "~ 1 | nosuchcolumn"])
    assert out.exit_code == 2 and "nosuchcolumn" in out.output
