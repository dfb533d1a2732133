"""Where chunks run: in this process, on local processes, or on a Dask cluster.

Every scheduler runs the same top-level function on the same arguments and
yields ``(task index, result)`` pairs as chunks finish; only the place the
work happens differs, so results do not depend on the scheduler.

* ``None`` (default): one after the other in this process;
* ``"processes"``: on a :class:`concurrent.futures.ProcessPoolExecutor` of
  ``n_workers`` (default: the number of cores) processes, started from a
  fork server that has imported sleepmeta (spawned on Windows). The pool is
  started by the first such call and reused by the next ones (a worker
  imports sleepmeta and loads the compiled kernels once, about a second of
  CPU); :func:`shutdown_process_pools` stops it, as does the end of this
  process. Each worker runs the kernels on one thread;
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
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

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
#: or put the same keys in the workers' Dask YAML configuration.
#: The key ``distributed.worker.profile.enabled: False`` switches off distributed's
#: statistical profiler, which samples every worker thread's stack every 10 ms: a few per cent
#: of the CPU of a compute-bound chunk, for a profile nobody reads here.
DASK_WORKER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 33554432,
                      "distributed.worker.profile.enabled": False}


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
        pool = process_pool(n_workers)
        try:
            yield lambda fn, tasks: _pool_run(pool, fn, tasks)
        except BrokenProcessPool:  # a worker died: the next call starts a new pool
            _discard(pool)
            raise
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


_POOLS: dict[int, ProcessPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def process_pool(n_workers: int | None = None) -> ProcessPoolExecutor:
    """The pool of ``n_workers`` local processes that ``scheduler="processes"`` runs on.

    Started on first use and kept for later calls, so a simulation study run
    as several calls (or a sweep of grids) pays for starting the workers once.
    The workers exit with this process (or when it is killed: see
    :func:`exit_with_parent`), or at :func:`shutdown_process_pools`.

    Examples
    --------
    >>> process_pool(1) is process_pool(1)
    True
    >>> shutdown_process_pools()
    """
    workers = check_workers(n_workers) or os.cpu_count() or 1
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=_process_context(),
                                       initializer=exit_with_parent, initargs=(os.getpid(),))
            _POOLS[workers] = pool
        return pool


def shutdown_process_pools() -> None:
    """Stop the workers of ``scheduler="processes"`` (they start again when next needed)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


def _forget_pools() -> None:
    """In a forked child: the parent's pools are not this process's to use or stop."""
    global _POOLS_LOCK
    _POOLS.clear()
    _POOLS_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools)


def _discard(pool: ProcessPoolExecutor) -> None:
    with _POOLS_LOCK:
        for key, value in list(_POOLS.items()):
            if value is pool:
                del _POOLS[key]
    pool.shutdown(wait=False, cancel_futures=True)


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
