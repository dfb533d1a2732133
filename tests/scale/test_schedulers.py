"""Schedulers: a Dask cluster reached by its address, as a user starts one.

The cluster is a ``dask scheduler`` and a ``dask worker`` process started by
this test on 127.0.0.1 and stopped by it; no ``Client`` is open in the test
process, so the address alone must be enough (issue 11: it was not).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import sleepmeta
from sleepmeta.cli import app
from sleepmeta.scale import simulate

pytest.importorskip("distributed", reason="install the Dask extra to test clusters: "
                    "pip install 'sleepmeta[dask]'")

GRID = {"replicates": 120, "seed": 7, "chunk_size": 40, "estimators": ["DL"], "tests": ["z"],
        "conditions": {"measure": "MD", "k": 3, "effect": 0.1, "tau2": 0.05, "n": 20}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def cluster_address(tmp_path_factory):
    """``tcp://127.0.0.1:PORT`` of a scheduler and one worker, both separate processes."""
    folder = tmp_path_factory.mktemp("dask")
    src = str(Path(sleepmeta.__file__).resolve().parents[1])  # workers import this sleepmeta
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (src, os.environ.get("PYTHONPATH")) if p))
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    info = folder / "scheduler.json"
    log = open(folder / "dask.log", "wb")
    procs = [subprocess.Popen(
        [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--no-dashboard", "--scheduler-file", str(info)], env=env, stdout=log, stderr=log)]
    try:
        deadline = time.monotonic() + 60
        while not info.exists():
            if time.monotonic() > deadline or procs[0].poll() is not None:
                pytest.fail(f"dask scheduler did not start; log: {folder / 'dask.log'}")
            time.sleep(0.1)
        assert json.loads(info.read_text())["address"] == address
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "dask", "worker", address, "--nworkers", "1", "--nthreads",
             "1", "--no-dashboard", "--name", "sleepmeta-test-worker"],
            env=env, stdout=log, stderr=log))
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)
        log.close()


def _no_default_client():
    from distributed.client import _get_global_client

    return _get_global_client() is None


def test_simulate_by_address_with_no_client_open(cluster_address):
    assert _no_default_client()  # the address alone must do (no Client lying around)
    res = simulate(GRID, scheduler=cluster_address, progress=False)
    pd.testing.assert_frame_equal(res, simulate(GRID, progress=False), check_exact=True)
    assert _no_default_client()  # and none is left behind


def test_cli_scheduler_address(cluster_address, tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text(
        'replicates = 120\nseed = 7\nchunk_size = 40\nestimators = ["DL"]\ntests = ["z"]\n'
        '[conditions]\nmeasure = "MD"\nk = 3\neffect = 0.1\ntau2 = 0.05\nn = 20\n')
    out = tmp_path / "res.parquet"
    assert _no_default_client()
    result = CliRunner().invoke(app, ["simulate", str(grid), "--out", str(out), "--scheduler",
                                      cluster_address, "--no-progress"])
    assert result.exit_code == 0, result.output
    got = pd.read_parquet(out)
    want = simulate(GRID, progress=False)
    assert len(got) == len(want)
    pd.testing.assert_series_equal(got["estimate"].reset_index(drop=True),
                                   want["estimate"].reset_index(drop=True), check_exact=True)
