"""Workers of the "processes" scheduler (issue 18): they exit when their parent is killed,
and a bad worker count is a typed error."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from sleepmeta.errors import InputError
from sleepmeta.scale import simulate
from sleepmeta.scale.schedulers import check_workers, executor


@pytest.mark.parametrize("n", [-3, 0, 1.5, True, "2"])
def test_workers_must_be_a_positive_whole_number(n):
    # issue 18: --workers -3 gave a ValueError traceback from ProcessPoolExecutor
    with pytest.raises(InputError, match="workers must be a whole number >= 1"):
        check_workers(n)
    with pytest.raises(InputError, match="workers must be a whole number >= 1"):
        with executor("processes", n_workers=n):
            pass


def test_simulate_with_negative_workers_is_a_typed_error():
    grid = {"replicates": 4, "seed": 1, "estimators": ["DL"],
            "conditions": {"measure": "MD", "k": 3, "effect": 0.0, "tau2": 0.0, "n": 10}}
    with pytest.raises(InputError, match="workers"):
        simulate(grid, scheduler="processes", n_workers=-3, progress=False)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc: Linux only")
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_workers_exit_when_their_parent_is_killed(sig):
    # issue 18: workers outlived a parent killed by SIGKILL for at least 30 s
    code = textwrap.dedent("""
        import os, sys, time
        from sleepmeta.scale.schedulers import executor
        with executor("processes", n_workers=2) as run:
            pids = {pid for _, pid in run(os.getpid, [()] * 8)}
            print(" ".join(map(str, sorted(pids))), flush=True)
            time.sleep(600)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env=env)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert pids and all(_alive(p) for p in pids)
        os.kill(proc.pid, getattr(__import__("signal"), sig))
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.2)
        assert not any(_alive(p) for p in pids), "workers outlived their parent by 15 s"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _worker_pids(n_tasks: int = 8) -> set[int]:
    with executor("processes", n_workers=2) as run:
        return {pid for _, pid in run(os.getpid, [()] * n_tasks)}


def test_processes_are_reused_across_calls_until_shut_down():
    # issue 12: starting workers (imports, compiled kernels) each call ate the speed-up.
    # New workers on every call would show at least 3 process ids over 3 calls.
    from sleepmeta.scale.schedulers import shutdown_process_pools

    shutdown_process_pools()
    try:
        seen = _worker_pids() | _worker_pids() | _worker_pids()
        assert os.getpid() not in seen and 1 <= len(seen) <= 2
        shutdown_process_pools()
        assert not (_worker_pids() & seen)  # new workers after a shutdown
    finally:
        shutdown_process_pools()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc: Linux only")
def test_a_dead_worker_breaks_only_that_call():
    import signal
    from concurrent.futures.process import BrokenProcessPool

    from sleepmeta.scale.schedulers import shutdown_process_pools

    shutdown_process_pools()
    try:
        victim = min(_worker_pids())
        with pytest.raises(BrokenProcessPool):
            with executor("processes", n_workers=2) as run:
                list(run(os.kill, [(victim, signal.SIGKILL)] + [(os.getpid(), 0)] * 4))
                list(run(time.sleep, [(0.2,)] * 4))
        assert victim not in _worker_pids()  # the next call started a new pool
    finally:
        shutdown_process_pools()
