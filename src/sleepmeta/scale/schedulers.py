"""Where chunks run: in this process, on local processes, or on a Dask cluster.

Every scheduler runs the same top-level function on the same arguments and
yields ``(task index, result)`` pairs as chunks finish; only the place the
work happens differs, so results do not depend on the scheduler.

* ``None`` (default): one after the other in this process;
* ``"processes"``: on a :class:`concurrent.futures.ProcessPoolExecutor` of
  ``n_workers`` (default: the number of cores) processes, started from a
  fork server that has imported sleepmeta (spawned on Windows);
* ``"tcp://host:port"``: on the Dask cluster whose scheduler listens there
  (``dask.distributed.Client``; the connection is bounded by ``timeout``
  seconds, after which :class:`~sleepmeta.errors.SchedulerError` names the
  address);
* a ``dask.distributed.Client``: on that client's cluster (left open);
* a ``concurrent.futures.Executor``: on that pool (left open; e.g. a warm
  process pool reused across runs).

The workers of a cluster need sleepmeta installed (the same version);
they draw their chunk's data themselves, so only seeds go out and only
summary statistics come back.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed

from sleepmeta.errors import InputError, SchedulerError, unknown_option

SCHEDULERS = ("in-process", "processes", "tcp://host:port", "a dask.distributed.Client",
              "a concurrent.futures.Executor")
DEFAULT_TIMEOUT = 10.0

#: Dask configuration for the workers of a cluster that runs sleepmeta. distributed's
#: nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which switches off glibc's
#: adaptive mmap threshold: every array over 128 KiB is then a fresh ``mmap`` whose pages
#: fault in on first touch, and the engine's batches (many such arrays) run about 3x
#: slower. Setting ``MALLOC_MMAP_THRESHOLD_`` (32 MiB, glibc's maximum) serves them from
#: the heap again. Use it as ``with dask.config.set(DASK_WORKER_CONFIG): LocalCluster(...)``,
#: or put the same key in the workers' Dask YAML configuration.
DASK_WORKER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 33554432}


@contextlib.contextmanager
def executor(scheduler=None, *, n_workers: int | None = None, timeout: float = DEFAULT_TIMEOUT):
    """Open the scheduler and yield ``run(fn, tasks)``, an iterator of ``(i, fn(*tasks[i]))``.

    Raises
    ------
    SchedulerError
        A Dask address cannot be reached within ``timeout`` seconds (the
        message names it), or dask.distributed is not installed.
    UnknownOptionError
        ``scheduler`` is none of the accepted values.

    Examples
    --------
    >>> with executor(None) as run:
    ...     sorted(run(pow, [(2, 3), (3, 2)]))
    [(0, 8), (1, 9)]
    """
    if scheduler is None or scheduler in ("in-process", "sync"):
        yield _sequential
    elif scheduler == "processes":
        ctx = _process_context()
        workers = check_workers(n_workers) or os.cpu_count() or 1
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                 initializer=exit_with_parent, initargs=(os.getpid(),)) as pool:
            yield lambda fn, tasks: _pool_run(pool, fn, tasks)
    elif isinstance(scheduler, str) and "://" in scheduler:
        client = _connect(scheduler, timeout)
        try:
            yield lambda fn, tasks: _dask_run(client, fn, tasks)
        finally:
            client.close()
    elif isinstance(scheduler, Executor):
        yield lambda fn, tasks: _pool_run(scheduler, fn, tasks)
    elif _is_client(scheduler):
        yield lambda fn, tasks: _dask_run(scheduler, fn, tasks)
    else:
        raise unknown_option("scheduler", scheduler, SCHEDULERS)


def check_workers(n_workers) -> int | None:
    """``n_workers`` as a positive int (or None for the default), else an InputError.

    >>> check_workers(2), check_workers(None)
    (2, None)
    """
    if n_workers is None:
        return None
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise InputError(f"workers must be a whole number >= 1, got {n_workers!r}")
    return n_workers


def exit_with_parent(parent_pid: int, interval: float = 0.5) -> None:
    """Make this worker process exit when ``parent_pid`` (the process running simulate) is gone.

    The initializer of the ``"processes"`` pool. A parent killed by SIGKILL
    cannot stop its workers, so each worker watches it: on Linux the kernel
    sends SIGTERM when the worker's own parent (the fork server) dies, and a
    daemon thread checks every ``interval`` seconds that ``parent_pid`` still
    lives (and has not been replaced by init as the parent).
    """
    import signal
    import threading
    import time

    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    first_ppid = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass
            if os.getppid() != first_ppid:  # our own parent died: re-parented
                os._exit(1)

    threading.Thread(target=watch, name="sleepmeta-parent-watch", daemon=True).start()


def _process_context():
    """A fork server that has imported the runner (fast, thread-safe starts); spawn on Windows."""
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["sleepmeta.scale.runner"])
    return ctx


def _sequential(fn: Callable, tasks: Sequence[tuple]) -> Iterator[tuple[int, object]]:
    for i, args in enumerate(tasks):
        yield i, fn(*args)


def _pool_run(pool, fn, tasks):
    futures = {pool.submit(fn, *args): i for i, args in enumerate(tasks)}
    try:
        for fut in as_completed(futures):
            yield futures[fut], fut.result()
    finally:
        for fut in futures:
            fut.cancel()


def _dask_run(client, fn, tasks):
    from distributed import as_completed as dask_as_completed

    futures = [client.submit(fn, *args, pure=False) for args in tasks]
    index = {fut.key: i for i, fut in enumerate(futures)}
    try:
        # the client's own loop: it is not the default client (set_as_default=False), and
        # as_completed would otherwise look for one ("No clients found")
        for fut, result in dask_as_completed(futures, with_results=True, loop=client.loop):
            yield index[fut.key], result
    finally:
        client.cancel(futures)


def _is_client(obj) -> bool:
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask is an optional extra
        return False
    return isinstance(obj, Client)


def _connect(address: str, timeout: float):
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask is an optional extra
        raise SchedulerError(f"scheduler {address!r} needs dask.distributed: "
                             "pip install 'sleepmeta[dask]'") from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, or garbage from a non-Dask server
        raise SchedulerError(f"cannot reach the Dask scheduler at {address!r} within "
                             f"{timeout:g} s: {type(exc).__name__}: {exc}") from None
