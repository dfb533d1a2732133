"""The command line as a whole: ``--version`` and ``python -m sleepmeta``."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from typer.testing import CliRunner

import sleepmeta
from sleepmeta.cli import app


def test_version_matches_the_package_metadata():
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    version = tomllib.loads(pyproject.read_text())["project"]["version"]
    assert sleepmeta.__version__ == version
    out = CliRunner().invoke(app, ["--version"])
    assert out.exit_code == 0 and out.output == f"sleepmeta {version}\n"


def test_python_dash_m_runs_the_command_line():
    src = str(Path(sleepmeta.__file__).resolve().parents[1])
    run = subprocess.run([sys.executable, "-m", "sleepmeta", "--version"], capture_output=True,
                         text=True, timeout=120, env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"sleepmeta {sleepmeta.__version__}\n"
    run = subprocess.run([sys.executable, "-m", "sleepmeta", "--help"], capture_output=True,
                         text=True, timeout=120, env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin",
                                                      "COLUMNS": "80"})
    assert run.returncode == 0 and "Usage: sleepmeta" in run.stdout


def test_every_option_of_every_command_has_an_example():
    # README: "Every command's --help explains each option with an example"
    import click
    import typer.main

    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        for param in command.params:
            kind = getattr(param, "type", None)
            if param.name == "help" or isinstance(kind, click.types.BoolParamType) \
                    or getattr(param, "is_flag", False):
                continue
            assert "e.g." in (getattr(param, "help", None) or ""), (name, param.name)
