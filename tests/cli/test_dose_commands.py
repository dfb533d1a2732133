"""``sleepmeta dose``: the CLI over dose_response."""

from __future__ import annotations

import json

import matplotlib.image as mpimg
import pandas as pd
import pytest
from typer.testing import CliRunner

from sleepmeta.cli import app
from sleepmeta.dose import dose_response

runner = CliRunner()


@pytest.fixture()
def arms_csv(tmp_path):
    # made-up arm counts: three trials with a shared placebo arm
    df = pd.DataFrame({"id": ["A"] * 3 + ["B"] * 3 + ["C"] * 4,
                       "dose": [0, 150, 300, 0, 150, 300, 0, 75, 300, 600],
                       "events": [5, 10, 20, 4, 9, 15, 6, 8, 19, 30], "n": [100] * 10})
    path = tmp_path / "arms.csv"
    df.to_csv(path, index=False)
    return path, df


def test_json_matches_the_api(arms_csv, tmp_path):
    path, df = arms_csv
    png = tmp_path / "curve.png"
    out = runner.invoke(app, ["dose", str(path), "--study", "id", "--dose", "dose", "--events",
                              "events", "--n", "n", "--model", "spline", "--knots", "75,300,600",
                              "--at", "150,300,600", "--plot", str(png), "--json",
                              "--control-risk", "0.05"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    res = dose_response(df, study="id", dose="dose", events="events", n="n", model="spline",
                        knots=[75, 300, 600])
    pred = res.predict([150, 300, 600])
    assert [p["estimate"] for p in data["predictions"]] == pytest.approx(pred["estimate"].tolist())
    assert data["knots"] == [75, 300, 600]
    assert len(data["numbers_needed"]) == 3
    assert mpimg.imread(png).shape[0] > 100


def test_summary_and_bad_input(arms_csv, tmp_path):
    path, df = arms_csv
    out = runner.invoke(app, ["dose", str(path), "--study", "id", "--dose", "dose", "--events",
                              "events", "--n", "n"])
    assert out.exit_code == 0, out.output
    assert "Test of any dose effect" in out.output
    bad = tmp_path / "bad.csv"
    df[df.dose != 0].to_csv(bad, index=False)
    out = runner.invoke(app, ["dose", str(bad), "--study", "id", "--dose", "dose", "--events",
                              "events", "--n", "n"])
    assert out.exit_code == 2
    assert "no reference arm" in out.output
    out = runner.invoke(app, ["dose", str(path), "--study", "id", "--dose", "dose", "--events",
                              "events", "--n", "n", "--knots", "a,b"])
    assert out.exit_code == 2 and "--knots must be numbers" in out.output


def test_hill_option(tmp_path):
    # arm means on an exact sigmoid Emax curve (Emax = -8, ED50 = 120, h = 2.5)
    rows = [(f"S{i}", d, 10 - 8 * d ** 2.5 / (120 ** 2.5 + d ** 2.5), 5.0, 60)
            for i, ds in enumerate(((0, 25, 75, 150, 600), (0, 50, 100, 300), (0, 25, 200, 450)))
            for d in ds]
    path = tmp_path / "means.csv"
    pd.DataFrame(rows, columns=["id", "dose", "mean", "sd", "n"]).to_csv(path, index=False)
    base = ["dose", str(path), "--study", "id", "--dose", "dose", "--measure", "MD", "--mean",
            "mean", "--sd", "sd", "--n", "n", "--model", "emax", "--json"]
    out = runner.invoke(app, base + ["--hill", "estimate"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["hill_estimated"] and data["hill"] == pytest.approx(2.5, rel=1e-4)
    out = runner.invoke(app, base + ["--hill", "steep"])
    assert out.exit_code == 2 and "--hill must be a number or 'estimate'" in out.output
