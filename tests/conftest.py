"""Shared fixtures: R's metafor as an optional oracle."""

from __future__ import annotations

import functools
import io
import shutil
import subprocess

import pandas as pd
import pytest


@functools.cache
def _metafor_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    res = subprocess.run(
        ["Rscript", "--vanilla", "-e", "library(metafor); library(metadat)"],
        capture_output=True,
        timeout=120,
    )
    return res.returncode == 0


def run_metafor(code: str) -> pd.DataFrame:
    """Run R code with metafor loaded; the code must print one CSV table.

    End the code with ``write.csv(df, stdout(), row.names=FALSE)``.
    """
    full = (
        "suppressPackageStartupMessages({library(metafor); library(metadat)})\n"
        "options(digits=15)\n" + code
    )
    res = subprocess.run(
        ["Rscript", "--vanilla", "-e", full], capture_output=True, text=True, timeout=600
    )
    if res.returncode != 0:
        raise RuntimeError(f"R failed:\n{res.stderr}")
    return pd.read_csv(io.StringIO(res.stdout))


@pytest.fixture(scope="session")
def metafor():
    """Callable running R code with metafor; skips the test when R or metafor is absent."""
    if not _metafor_available():
        pytest.skip("R with metafor is not installed, so this live cross-check is skipped; to run "
                    "it: apt-get install r-base-core r-cran-metafor r-cran-metadat")
    return run_metafor
