"""Shared fixtures: R's metafor as the oracle, live or from pinned reference output.

Every cross-check against metafor goes through the ``metafor`` fixture: a
callable that runs a piece of R code (which prints one CSV table) and returns
the table.

* With R and metafor installed, the code runs live (``Rscript``).
* Without them (or with ``SLEEPMETA_NO_R=1``), the table comes from
  ``tests/data/metafor_references.json``: the output of the same code,
  pinned with the call, metafor's version and the date by
  ``tests/data/make_references.R``. A call that is not pinned skips with a
  message saying how to pin it.

To refresh the pinned references (after adding or changing a cross-check):
``SLEEPMETA_RECORD_R_CALLS=1 pytest`` (with R) writes the calls to
``tests/data/metafor_calls.json``; then ``Rscript tests/data/make_references.R``
runs them and writes the references.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

# Scripts that make the pinned references import the reference tools (R is called, YASA is
# imported): they are run by hand, never collected (the suite must not need YASA).
collect_ignore_glob = ["data/make_*.py"]

# Property and fuzz tests draw fresh examples on a developer's machine (to keep finding
# faults) but the same examples in CI (CI=true), so a landing run is reproducible; a
# loaded machine must not turn a slow example into a failure there.
settings.register_profile("ci", derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
if os.environ.get("CI"):
    settings.load_profile("ci")

DATA = Path(__file__).parent / "data"
REFERENCES = DATA / "metafor_references.json"
CALLS = DATA / "metafor_calls.json"
PRELUDE = ("suppressPackageStartupMessages({library(metafor); library(metadat)})\n"
           "options(digits=15)\n")
_RECORDED: dict[str, str] = {}


def call_key(code: str) -> str:
    """The key of an R call in the pinned references (hash of its normalised text)."""
    text = "\n".join(line.rstrip() for line in textwrap.dedent(code).strip().splitlines())
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def r_hidden() -> bool:
    """True when the tests are told to act as if R were absent (``SLEEPMETA_NO_R=1``)."""
    return os.environ.get("SLEEPMETA_NO_R", "") not in ("", "0")


@functools.cache
def _metafor_available() -> bool:
    if r_hidden() or shutil.which("Rscript") is None:
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
    res = subprocess.run(
        ["Rscript", "--vanilla", "-e", PRELUDE + code], capture_output=True, text=True,
        timeout=600
    )
    if res.returncode != 0:
        raise RuntimeError(f"R failed:\n{res.stderr}")
    return pd.read_csv(io.StringIO(res.stdout))


@functools.cache
def pinned_references() -> dict:
    """The pinned metafor outputs by call key (empty when the file is absent)."""
    if not REFERENCES.is_file():
        return {}
    return json.loads(REFERENCES.read_text(encoding="utf-8"))["entries"]


def pinned_metafor(code: str) -> pd.DataFrame:
    """The pinned output of ``code``; skips the test when it was never pinned."""
    entry = pinned_references().get(call_key(code))
    if entry is None:
        pytest.skip("R with metafor is not installed and this call has no pinned reference "
                    "(pin it: SLEEPMETA_RECORD_R_CALLS=1 pytest, then "
                    "Rscript tests/data/make_references.R)")
    return pd.read_csv(io.StringIO(entry["output"]))


def _live(code: str) -> pd.DataFrame:
    if os.environ.get("SLEEPMETA_RECORD_R_CALLS"):
        _RECORDED[call_key(code)] = textwrap.dedent(code).strip()
    return run_metafor(code)


@pytest.fixture(scope="session")
def metafor():
    """Callable running R code with metafor, live when R is installed, else from pinned output."""
    return _live if _metafor_available() else pinned_metafor


@pytest.fixture(scope="session")
def metafor_live():
    """Like ``metafor`` but always live; skips when R or metafor is absent."""
    if not _metafor_available():
        pytest.skip("R with metafor is not installed, so this live cross-check is skipped; to run "
                    "it: apt-get install r-base-core r-cran-metafor r-cran-metadat")
    return _live


def pytest_sessionfinish(session, exitstatus):
    """With ``SLEEPMETA_RECORD_R_CALLS=1``: add this run's R calls to the list to pin."""
    if not (os.environ.get("SLEEPMETA_RECORD_R_CALLS") and _RECORDED):
        return
    calls = json.loads(CALLS.read_text(encoding="utf-8")) if CALLS.is_file() else {}
    calls.update(_RECORDED)
    tmp = CALLS.with_suffix(".tmp")
    tmp.write_text(json.dumps(dict(sorted(calls.items())), indent=1) + "\n", encoding="utf-8")
    tmp.replace(CALLS)
