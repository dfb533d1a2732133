"""The simulation output folder: Parquet is an extra, refused clearly when absent."""

from __future__ import annotations

import importlib.util

import pytest
from typer.testing import CliRunner

from sleepmeta.cli import app
from sleepmeta.errors import DependencyError
from sleepmeta.scale import simulate
from sleepmeta.scale import store

GRID = {"replicates": 20, "seed": 1, "estimators": ["DL"], "tests": ["z"],
        "conditions": {"measure": "MD", "k": 3, "effect": 0.0, "tau2": 0.0, "n": 10}}


@pytest.fixture()
def no_parquet(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(store.importlib.util, "find_spec",
                        lambda name, *a: None if name in ("pyarrow", "fastparquet")
                        else real(name, *a))


def test_without_pyarrow_out_is_a_dependency_error_naming_the_extra(no_parquet, tmp_path):
    with pytest.raises(DependencyError, match=r"pip install 'sleepmeta\[simulate\]'"):
        simulate(GRID, out=tmp_path / "r.parquet", progress=False)
    assert not (tmp_path / "r.parquet").exists()  # refused before anything is written
    assert len(simulate(GRID, progress=False)) > 0  # in memory it still runs


def test_cli_without_pyarrow_exits_2_with_one_line(no_parquet, tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text('replicates = 20\nseed = 1\nestimators = ["DL"]\ntests = ["z"]\n'
                    '[conditions]\nmeasure = "MD"\nk = 3\neffect = 0.0\ntau2 = 0.0\nn = 10\n')
    out = CliRunner().invoke(app, ["simulate", str(grid), "--out", str(tmp_path / "r.parquet"),
                                   "--no-progress"], terminal_width=200)
    assert out.exit_code == 2
    assert "sleepmeta[simulate]" in out.output and "Traceback" not in out.output
