"""``sleepmeta nights`` and ``sleepmeta contrast`` end to end on files the test writes."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from sleepmeta.cli import app
from sleepmeta.sleep import Hypnogram, night_table, write_hypnogram
from sleepmeta.trials import contrast

runner = CliRunner()


def _write_trial(folder):
    """Four participants, two nights each (crossover), in three file formats."""
    rows, hyps = [], []
    for i in range(4):
        for period, arm in ((1, "drug" if i % 2 == 0 else "placebo"), (2, "placebo" if i % 2 == 0 else "drug")):
            latency = 2 + i if arm == "drug" else 6 + 2 * i  # W epochs before sleep
            stages = ["W"] * latency + ["N2"] * 30 + ["W"] * (i + period) + ["R"] * 10
            h = Hypnogram(stages, start="2024-01-01 23:00")
            suffix = [".csv", ".edf", ".xml"][(i + period) % 3]
            path = folder / f"s{i}_p{period}{suffix}"
            write_hypnogram(h, path)
            rows.append({"file": path.name, "subject": f"s{i}", "arm": arm, "period": period})
            hyps.append(h.rename(path.stem))
    pd.DataFrame(rows).to_csv(folder / "meta.csv", index=False)
    return rows, hyps


def test_nights_then_contrast(tmp_path):
    rows, hyps = _write_trial(tmp_path)
    files = [str(tmp_path / r["file"]) for r in rows]
    out = tmp_path / "nights.csv"
    res = runner.invoke(app, ["nights", *files, "--meta", str(tmp_path / "meta.csv"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out, index_col="night")
    expected = night_table(hyps)  # the API on the same nights, computed in this run
    pd.testing.assert_series_equal(table["WASO"], expected["WASO"], check_names=False)
    assert list(table["subject"]) == [r["subject"] for r in rows]

    res = runner.invoke(app, ["contrast", str(out), "--endpoint", "SOL", "--endpoint", "WASO",
                              "--design", "crossover", "--period", "period", "--out", str(tmp_path / "c.csv")])
    assert res.exit_code == 0, res.output
    written = pd.read_csv(tmp_path / "c.csv")
    api = contrast(table, ["SOL", "WASO"], design="crossover", period="period", treatment="drug")
    assert written["md"].tolist() == pytest.approx(api["md"].tolist())
    assert written["vi"].tolist() == pytest.approx(api["vi"].tolist())
    assert "senn" in res.output and "SOL" in res.output


def test_errors_are_reported_not_raised(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("stage\nW\nN9\n")
    res = runner.invoke(app, ["nights", str(bad), "--out", str(tmp_path / "n.csv")])
    assert res.exit_code == 2
    assert "line 3: unknown sleep stage 'N9'" in res.output
    assert not (tmp_path / "n.csv").exists()  # nothing half-written

    nights = pd.DataFrame({"subject": ["a", "a", "b"], "arm": ["drug", "placebo", "placebo"],
                           "WASO": [1.0, 2.0, 3.0]})
    nights.to_csv(tmp_path / "t.csv", index=False)
    res = runner.invoke(app, ["contrast", str(tmp_path / "t.csv"), "--endpoint", "WASO"])
    assert res.exit_code == 2
    assert "participant 'a' is in both arms" in res.output
