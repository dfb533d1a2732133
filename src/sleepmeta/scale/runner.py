"""Run a simulation study: chunks of replicates as batches of the one engine.

The replicates of each condition are cut into chunks of ``chunk_size``
(fixed by the grid, not by the number of workers). Chunk ``j`` of condition
``c`` draws its data from ``SeedSequence(seed).spawn(C)[c].spawn(J)[j]``, fits
every (estimator, test) to the same data with
:func:`sleepmeta.pooling.meta_analysis_batch` (``errors="flag"``: failures
are counted) and returns sufficient statistics (:mod:`.metrics`). The summary
combines the chunks in a fixed order, so it is the same, to the last bit, in
this process, on local processes or on a Dask cluster, and after a resumed
run.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd

from sleepmeta.pooling import meta_analysis_batch
from sleepmeta.pooling.inputs import out_of_range
from sleepmeta.scale import metrics
from sleepmeta.scale.generate import generate
from sleepmeta.scale.grid import Grid, load_grid
from sleepmeta.scale.multilevel import run_three_level_chunk
from sleepmeta.resources import SIMULATE_ARRAYS, require_batch_memory
from sleepmeta.scale.schedulers import DEFAULT_TIMEOUT, check_workers, executor
from sleepmeta.scale.store import ChunkStore

_KEYS = ["condition", "method"]


def simulate(grid, *, out=None, scheduler=None, n_workers: int | None = None,
             progress: bool | None = None, timeout: float = DEFAULT_TIMEOUT,
             **settings) -> pd.DataFrame:
    """Run a simulation study comparing meta-analysis methods.

    Parameters
    ----------
    grid : str, Path or dict
        A grid TOML file or a dict of the same layout (see
        :mod:`sleepmeta.scale.grid`): ``replicates``, ``seed``,
        ``estimators``, ``tests``, ``[conditions]`` (``measure``, ``k``,
        ``effect``, ``tau2``, ``n``, ``sd``, ``baseline_risk``).
    out : str or Path, optional
        Output folder (e.g. ``"results.parquet"``): one Parquet file per
        chunk, written atomically, and ``summary.parquet``. Chunks already
        there from the same grid are not recomputed (resume); the output of
        a different grid is refused.
    scheduler : None, "processes", "tcp://host:port", dask.distributed.Client or Executor
        Where chunks run (see :mod:`sleepmeta.scale.schedulers`).
    n_workers : int, optional
        Processes for ``scheduler="processes"`` (default: all cores).
    progress : bool, optional
        Show a rich progress bar (default: when stderr is a terminal).
    timeout : float
        Seconds to wait for a Dask scheduler before :class:`SchedulerError`.
    **settings
        Top-level grid keys given here instead of (or overriding) the grid:
        ``replicates``, ``seed``, ``estimators``, ``tests``, ``level``,
        ``chunk_size``.

    Returns
    -------
    DataFrame
        Tidy: one row per condition, method (``estimator``, ``test``) and
        ``performance`` measure (bias, empse, mse, modse, coverage,
        pi_coverage, ci_width, rejection, tau2_bias, failure_rate, fallback_rate), with
        ``estimate``, ``mcse`` (Monte Carlo SE, Morris et al. 2019),
        ``n_sim`` (successful replicates) and ``n_failed`` (failed fits,
        excluded from every measure but failure_rate).

    Examples
    --------
    >>> res = simulate({"conditions": {"measure": "MD", "k": 5, "effect": 0.3,
    ...                                "tau2": 0.05, "n": 40}},
    ...                replicates=200, seed=1, estimators=["DL", "REML"], progress=False)
    >>> res.query("performance == 'coverage'")[["estimator", "test", "n_sim"]].shape
    (2, 3)
    """
    grid = load_grid(grid, **settings)
    _require_memory(grid, scheduler, n_workers)
    store = None if out is None else ChunkStore(out, grid)
    seeds = [c.spawn(grid.chunks_per_condition)
             for c in np.random.SeedSequence(grid.seed).spawn(len(grid.conditions))]
    plan = [(c, j) for c in range(len(grid.conditions)) for j in range(grid.chunks_per_condition)]
    results: dict[tuple[int, int], pd.DataFrame] = {}
    todo = []
    for c, j in plan:
        frame = None if store is None else store.load(c, j)  # verified, or None: recompute
        if frame is not None:
            results[c, j] = frame
        else:
            todo.append((c, j))
    tasks = [(grid.conditions[c], grid.methods, grid.level, seeds[c][j], _chunk_size(grid, j))
             for c, j in todo]
    show = sys.stderr.isatty() if progress is None else progress
    try:
        with executor(scheduler, n_workers=n_workers, timeout=timeout) as run, \
                _progress(show, len(tasks), len(plan) - len(todo)) as advance:
            for i, rows in run(run_chunk, tasks):
                c, j = todo[i]
                frame = pd.DataFrame(rows).assign(condition=c, chunk=j)
                if store is not None:
                    store.write(c, j, frame)
                results[c, j] = frame
                advance()
    finally:
        if store is not None:
            store.flush(force=True)  # the chunks' checksums, also after an interruption
    summary = summarise(grid, [results[key] for key in plan])
    if store is not None:
        store.write_summary(summary)
        if store.recomputed:
            summary.attrs["recomputed_chunks"] = store.recomputed
    return summary


def _require_memory(grid: Grid, scheduler, n_workers) -> None:
    """Refuse a grid whose chunks would not fit in this machine's memory (before any work)."""
    if scheduler not in (None, "in-process", "sync", "processes"):
        return  # a cluster's workers have their own memory
    copies = (check_workers(n_workers) or os.cpu_count() or 1) if scheduler == "processes" else 1
    kmax = max(c["k"] for c in grid.conditions)
    size = min(grid.chunk_size, grid.replicates)
    require_batch_memory(
        size, kmax, SIMULATE_ARRAYS,
        f"simulate: {copies} chunk(s) of {size:,} analyses of k = {kmax:,} studies at once",
        "set chunk_size = {fits} (or less) in the grid" + (", or use fewer workers"
                                                           if copies > 1 else ""),
        copies=copies)


def _chunk_size(grid: Grid, j: int) -> int:
    return min(grid.chunk_size, grid.replicates - j * grid.chunk_size)


def run_chunk(condition: dict, methods, level: float, seed: np.random.SeedSequence,
              size: int) -> list[dict]:
    """Draw one chunk of a condition and fit every method to it (the unit of work).

    Returns one row of sufficient statistics per method (see
    :func:`.metrics.chunk_statistics`), with ``method`` (its index),
    ``estimator`` and ``test``.
    """
    _one_thread_in_workers()
    if "clusters" in condition:  # a three-level condition (sleepmeta.scale.multilevel)
        return run_three_level_chunk(condition, methods, level, seed, size)
    yi, vi = generate(condition, size, np.random.default_rng(seed))
    rows = []
    for m, (estimator, test) in enumerate(methods):
        fit, skipped = _fit(yi, vi, estimator, test, level)
        q, failed = metrics.replicate_quantities(fit, condition["effect"], condition["tau2"],
                                                 level, skipped)
        rows.append({"method": m, "estimator": estimator, "test": test,
                     **metrics.chunk_statistics(q, failed, fit.fallback & ~failed)})
    return rows


def _one_thread_in_workers() -> None:
    """In a worker process, the engine's kernels use one thread: the processes are the
    parallelism, and two levels of it would oversubscribe the cores. In this process
    (``scheduler=None``) the kernels keep numba's threads."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        import numba

        numba.set_num_threads(1)


def _fit(yi, vi, estimator: str, test: str, level: float):
    """Fit a chunk; analyses the engine cannot fit are returned as ``skipped`` (failures).

    With ``test="knha"`` an analysis whose yi are all equal has ``s² = 0``
    and a zero standard error (metafor reports se = 0 and no QM); such
    analyses are left out of the batch, and any other analysis that makes
    the batch's linear algebra fail is isolated by bisection. So are
    analyses with values outside the engine's accepted range
    (:mod:`sleepmeta.pooling.inputs`; e.g. a variance that underflowed).
    All count as failures.
    """
    skipped = out_of_range(yi, vi).any(axis=1) | ~(np.isfinite(yi) & (vi > 0)).all(axis=1)
    if test == "knha":
        skipped |= np.ptp(yi, axis=1) == 0
    keep = np.flatnonzero(~skipped)
    fits, ok = _fit_bisect(yi, vi, keep, estimator, test, level)
    skipped[np.setdiff1d(keep, ok)] = True
    return _Subset(fits, np.flatnonzero(~skipped), yi.shape[0]), skipped


def _fit_bisect(yi, vi, idx, estimator, test, level):
    if idx.size == 0:
        return [], idx
    try:
        fit = meta_analysis_batch(yi[idx], vi[idx], method=estimator, test=test, level=level,
                                  errors="flag")
        return [fit], idx
    except np.linalg.LinAlgError:
        if idx.size == 1:
            return [], idx[:0]
        half = idx.size // 2
        f1, ok1 = _fit_bisect(yi, vi, idx[:half], estimator, test, level)
        f2, ok2 = _fit_bisect(yi, vi, idx[half:], estimator, test, level)
        return f1 + f2, np.concatenate([ok1, ok2])


class _Subset:
    """The per-analysis fields of several batch fits, laid out over all ``n`` analyses."""

    FIELDS = ("estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "pvalue", "tau2",
              "converged", "fallback")

    def __init__(self, fits, rows: np.ndarray, n: int):
        for name in self.FIELDS:
            full = np.zeros(n, bool) if name in ("converged", "fallback") else np.full(n, np.nan)
            if fits:
                full[rows] = np.concatenate([np.asarray(getattr(f, name)) for f in fits])
            setattr(self, name, full)


def summarise(grid: Grid, frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The tidy performance table from the chunks' statistics (in plan order)."""
    stats = pd.concat(frames, ignore_index=True).sort_values(
        ["condition", "method", "chunk"], kind="stable")
    combined = metrics.combine(stats, _KEYS)
    table = metrics.performance(combined, ["condition", "method", "estimator", "test"])
    table = grid.condition_frame().merge(table, on="condition", how="right")
    table = table.drop(columns="method").reset_index(drop=True)
    table.attrs["grid_hash"] = grid.hash()
    table.attrs["note"] = ("failed fits (not converged or non-finite) are counted in n_failed "
                           "and failure_rate and left out of every other measure; fallback_rate "
                           "is the share of fits that converged only with metafor's remedy for "
                           "oscillating Fisher scoring (stepadj=0.5), where rma() with its "
                           "defaults stops with an error")
    return table


class _progress:
    """A rich progress bar over chunks (a no-op when not shown)."""

    def __init__(self, show: bool, total: int, done: int):
        self.show, self.total, self.done = show, total, done
        self.bar = None

    def __enter__(self):
        if not self.show:
            return lambda: None
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TimeRemainingColumn(), transient=False)
        self.bar.start()
        note = f" ({self.done} chunks resumed)" if self.done else ""
        task = self.bar.add_task(f"simulating: chunks{note}", total=self.total)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False
