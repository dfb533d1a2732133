"""``sleepmeta simulate`` (sleepmeta.cli.scale_commands)."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from sleepmeta.cli import app

runner = CliRunner()

GRID = """
replicates = 60
seed = 5
chunk_size = 25
estimators = ["DL", "REML"]
tests = ["z", "knha"]

[conditions]
measure = "SMD"
k = [4, 8]
effect = 0.4
tau2 = 0.05
n = {dist = "uniform", low = 15, high = 60}
"""


def test_simulate_writes_parquet_and_prints_a_summary(tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    out = tmp_path / "results.parquet"
    res = CliRunner().invoke(app, ["simulate", str(grid), "--out", str(out), "--no-progress"],
                             env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "Simulation summary" in res.output and "coverage" in res.output
    tidy = pd.read_parquet(out)
    assert len(tidy) == 2 * 4 * 11  # conditions x methods x measures
    assert len(list((out / "_chunks").iterdir())) == 2 * 3  # ceil(60/25) chunks each
    # running again resumes (nothing to do) and prints the same table
    again = CliRunner().invoke(app, ["simulate", str(grid), "--out", str(out),
                                     "--no-progress"], env={"COLUMNS": "250"})
    assert again.exit_code == 0 and again.output == res.output


def test_bad_grid_is_a_one_line_error(tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID.replace("tau2 = 0.05", "tau2 = -0.05"))
    res = CliRunner().invoke(app, ["simulate", str(grid), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "conditions.tau2 must be a number in [0, 1e+50], got -0.05" in res.output


def test_unreachable_scheduler(tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    res = CliRunner().invoke(app, ["simulate", str(grid), "--out", str(tmp_path / "o"),
                                   "--scheduler", "tcp://127.0.0.1:1", "--timeout", "1"])
    assert res.exit_code == 2
    assert "tcp://127.0.0.1:1" in res.output


def test_summary_fits_80_columns_without_cutting_cells(tmp_path):
    # issue 11: at 80 columns (CI logs, pipes) every cell ended in "…"
    grid = tmp_path / "grid.toml"
    grid.write_text('replicates = 40\nseed = 3\nestimators = ["DL", "REML"]\n'
                    'tests = ["z", "knha"]\n[conditions]\nmeasure = "SMD"\nk = [3, 10]\n'
                    'effect = 0.2\ntau2 = [0.0, 0.1]\nn = 30\n')
    out = runner.invoke(app, ["simulate", str(grid), "--out", str(tmp_path / "r.parquet"),
                              "--no-progress"], terminal_width=80)
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in out.output
    assert not lines[0].strip() == ""  # no leading blank line when not on a terminal
    # the conditions shared by every row are said once; every measure is shown
    assert "measure SMD" in lines[0] and "effect 0.2" in lines[0]
    for m in ("bias", "empse", "coverage", "pi_coverage", "ci_width", "rejection",
              "failure_rate"):
        assert f" {m}" in out.output

