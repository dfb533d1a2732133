"""``sleepmeta simulate`` (sleepmeta.cli.scale_commands)."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from sleepmeta.cli import app

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
