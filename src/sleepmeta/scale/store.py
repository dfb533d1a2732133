"""The Parquet output of a simulation: one file per chunk, written atomically.

Layout of an output directory ``results.parquet/``::

    _manifest.json                  the grid and its SHA-256 hash
    _chunks/part-c00003-j000012.parquet   statistics of condition 3, chunk 12
    summary.parquet                 the tidy performance table

Names starting with ``_`` are skipped by Parquet readers, so
``pandas.read_parquet("results.parquet")`` reads the summary. Every file is
written to a temporary name in its own folder and then renamed with
:func:`os.replace`, so an interrupted run leaves only whole files; a new run
with the same grid skips the chunks already there, and a different grid is
refused rather than mixed in.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd

from sleepmeta import __version__
from sleepmeta.atomic import atomic_path
from sleepmeta.errors import DependencyError, InputError
from sleepmeta.scale.grid import Grid

MANIFEST = "_manifest.json"
CHUNKS = "_chunks"
SUMMARY = "summary.parquet"


def require_parquet() -> None:
    """Raise :class:`DependencyError` unless pandas can write Parquet (pyarrow or fastparquet).

    Parquet output is an extra, ``pip install 'sleepmeta[simulate]'``; without it
    ``simulate`` still runs and returns its table when no ``out`` is given.
    """
    if not any(importlib.util.find_spec(m) for m in ("pyarrow", "fastparquet")):
        raise DependencyError(
            "writing simulation results (out=/--out) needs Parquet support, which is not "
            "installed: pip install 'sleepmeta[simulate]' (pyarrow); or run simulate() "
            "without out= to get the summary table in memory")


class ChunkStore:
    """Chunk files of one grid under ``out`` (created or checked on construction).

    Raises
    ------
    InputError
        ``out`` is a file, a folder that is not a sleepmeta simulation
        output, or the output of a different grid.
    DependencyError
        No Parquet engine (pyarrow) is installed.
    """

    def __init__(self, out, grid: Grid):
        require_parquet()
        self.root = Path(out)
        self.grid_hash = grid.hash()
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"output {str(self.root)!r} exists and is a file; a simulation "
                             "writes a folder of Parquet files: choose another --out")
        manifest = self.root / MANIFEST
        if manifest.exists():
            found = json.loads(manifest.read_text()).get("grid_hash")
            if found != self.grid_hash:
                raise InputError(
                    f"output {str(self.root)!r} holds results of a different grid (hash "
                    f"{str(found)[:12]}..., this grid {self.grid_hash[:12]}...); refusing to "
                    "mix them: choose another output or delete it")
        elif self.root.exists() and any(self.root.iterdir()):
            raise InputError(f"output {str(self.root)!r} exists and is not a sleepmeta "
                             "simulation output (no _manifest.json); choose another output")
        else:
            (self.root / CHUNKS).mkdir(parents=True, exist_ok=True)
            _atomic_write(manifest, lambda p: Path(p).write_text(json.dumps(
                {"sleepmeta": __version__, "grid_hash": self.grid_hash,
                 "grid": grid.to_dict()}, indent=2)))
        (self.root / CHUNKS).mkdir(exist_ok=True)

    def path(self, condition: int, chunk: int) -> Path:
        """File of one chunk."""
        return self.root / CHUNKS / f"part-c{condition:05d}-j{chunk:06d}.parquet"

    def has(self, condition: int, chunk: int) -> bool:
        """Whether the chunk was written by an earlier run of this grid."""
        return self.path(condition, chunk).exists()

    def write(self, condition: int, chunk: int, frame: pd.DataFrame) -> None:
        """Write a chunk's statistics atomically."""
        _atomic_write(self.path(condition, chunk), lambda p: frame.to_parquet(p, index=False))

    def read(self, condition: int, chunk: int) -> pd.DataFrame:
        """Read a chunk's statistics back."""
        return pd.read_parquet(self.path(condition, chunk))

    def write_summary(self, frame: pd.DataFrame) -> Path:
        """Write the tidy summary atomically; returns its path."""
        path = self.root / SUMMARY
        _atomic_write(path, lambda p: frame.to_parquet(p, index=False))
        return path


def _atomic_write(path: Path, write) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)

