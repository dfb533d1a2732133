"""Scale: simulation studies and sweeps of many analyses, as batches of the one engine.

* :func:`simulate` — a simulation study over a grid of conditions, with the
  performance measures of Morris, White & Crowther (2019) and their Monte
  Carlo SEs; in this process, on local processes or on a Dask cluster;
  resumable Parquet output.
* :func:`sweep` — one meta-analysis specification over every group of a
  long table (drug x endpoint x subgroup ...), fitted as one batch.
"""

from __future__ import annotations

from sleepmeta.scale.grid import Grid, load_grid
from sleepmeta.scale.runner import simulate
from sleepmeta.scale.schedulers import DASK_WORKER_CONFIG
from sleepmeta.scale.summary import summary_table
from sleepmeta.scale.sweeps import sweep

__all__ = ["DASK_WORKER_CONFIG", "Grid", "load_grid", "simulate", "summary_table", "sweep"]
