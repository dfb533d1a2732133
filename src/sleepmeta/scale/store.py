"""The Parquet output of a simulation: one file per chunk, written atomically.

Layout of an output directory ``results.parquet/``::

    _manifest.json                  the grid, its SHA-256 hash and each chunk's SHA-256
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

import hashlib
import importlib.util
import json
import os
import stat
import time
from pathlib import Path

import pandas as pd

from sleepmeta import __version__
from sleepmeta.atomic import atomic_path
from sleepmeta.errors import DependencyError, InputError
from sleepmeta.outputs import clean_stale, output_error, temp_prefix
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

    Each chunk file carries its identity (grid hash, condition, chunk index)
    in its Parquet metadata, and the manifest records its SHA-256. A chunk
    is used again only if both match; a chunk that was replaced, copied from
    another chunk or another grid, truncated or left half-read is recomputed
    (:attr:`recomputed` counts them). A non-file where a chunk belongs, or a
    manifest that cannot be read, is refused.

    Raises
    ------
    InputError
        ``out`` is a file, a folder that is not a sleepmeta simulation
        output, the output of a different grid, or holds a broken manifest
        or a folder/link in place of a chunk file.
    DependencyError
        No Parquet engine (pyarrow) is installed.
    """

    def __init__(self, out, grid: Grid):
        require_parquet()
        try:
            self._open(out, grid)
        except OSError as exc:
            raise output_error(exc, out, "output") from None

    def _open(self, out, grid: Grid) -> None:
        self.root = Path(out)
        self.grid_hash = grid.hash()
        self.grid = grid
        self.recomputed = 0
        self._dirty = False
        self._last_flush = 0.0
        if os.path.lexists(self.root) and (self.root.is_symlink() or not self.root.is_dir()):
            kind = "a link" if self.root.is_symlink() else "a file"
            raise InputError(f"output {str(self.root)!r} exists and is {kind}, not a folder; "
                             "a simulation writes a folder of Parquet files: choose another "
                             "--out")
        manifest = self.root / MANIFEST
        if os.path.lexists(manifest):
            found = _read_manifest(manifest, self.root)
            if found["grid_hash"] != self.grid_hash:
                raise InputError(
                    f"output {str(self.root)!r} holds results of a different grid (hash "
                    f"{str(found['grid_hash'])[:12]}..., this grid {self.grid_hash[:12]}...); "
                    "refusing to mix them: choose another output or delete it")
            self.checksums = dict(found.get("chunks", {}))
        elif self.root.exists() and any(self.root.iterdir()):
            raise InputError(f"output {str(self.root)!r} exists and is not a sleepmeta "
                             "simulation output (no _manifest.json); choose another output")
        else:
            self.checksums = {}
            (self.root / CHUNKS).mkdir(parents=True, exist_ok=True)
            self.flush(force=True)
        chunks = self.root / CHUNKS
        if os.path.lexists(chunks) and (chunks.is_symlink() or not chunks.is_dir()):
            raise InputError(f"output {str(self.root)!r}: {CHUNKS} is not a folder; delete the "
                             "output or choose another")
        chunks.mkdir(exist_ok=True)
        clean_stale(chunks, [self.path(c, j).name for c in range(len(grid.conditions))
                             for j in range(grid.chunks_per_condition)])
        clean_stale(self.root, [MANIFEST, SUMMARY])

    @staticmethod
    def key(condition: int, chunk: int) -> str:
        """The manifest's key of a chunk."""
        return f"c{condition:05d}-j{chunk:06d}"

    def path(self, condition: int, chunk: int) -> Path:
        """File of one chunk."""
        return self.root / CHUNKS / f"part-{self.key(condition, chunk)}.parquet"

    def identity(self, condition: int, chunk: int) -> dict:
        """What a chunk file must say it is."""
        return {"grid_hash": self.grid_hash, "condition": condition, "chunk": chunk}

    def load(self, condition: int, chunk: int) -> pd.DataFrame | None:
        """The statistics of a chunk written earlier for this grid, or None to recompute it.

        A regular file whose checksum or identity does not match, or that
        cannot be read, is removed (and counted in :attr:`recomputed`).
        """
        path = self.path(condition, chunk)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"output {str(self.root)!r}: chunk {path.name!r} is not a regular "
                             "file (a folder or link); remove it and run again")
        frame = None
        want = self.checksums.get(self.key(condition, chunk))
        if want is not None and want == _sha256(path):
            frame = _read_chunk(path, self.identity(condition, chunk))
        if frame is None:
            path.unlink()
            self.checksums.pop(self.key(condition, chunk), None)
            self.recomputed += 1
            self._dirty = True
        return frame

    def has(self, condition: int, chunk: int) -> bool:
        """Whether a verified chunk is there (see :meth:`load`)."""
        return self.load(condition, chunk) is not None

    def read(self, condition: int, chunk: int) -> pd.DataFrame:
        """Read a verified chunk's statistics back (InputError if it does not verify)."""
        frame = self.load(condition, chunk)
        if frame is None:
            raise InputError(f"output {str(self.root)!r}: chunk {self.key(condition, chunk)} "
                             "is missing or does not match its checksum")
        return frame

    def write(self, condition: int, chunk: int, frame: pd.DataFrame) -> None:
        """Write a chunk's statistics atomically, with its identity; record its checksum."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[_IDENT_KEY] = json.dumps(self.identity(condition, chunk)).encode()
        table = table.replace_schema_metadata(meta)
        digest = {}

        def write(tmp):
            pq.write_table(table, tmp)
            digest["sha256"] = _sha256(Path(tmp))

        _atomic_write(self.path(condition, chunk), write)
        self.checksums[self.key(condition, chunk)] = digest["sha256"]
        self._dirty = True
        self.flush()

    def flush(self, force: bool = False) -> None:
        """Write the manifest (grid, hash, chunk checksums) if changed (at most twice a second)."""
        now = time.monotonic()
        if not force and (not self._dirty or now - self._last_flush < 0.5):
            return
        text = json.dumps({"sleepmeta": __version__, "grid_hash": self.grid_hash,
                           "grid": self.grid.to_dict(), "chunks": dict(sorted(
                               self.checksums.items()))}, indent=1)
        _atomic_write(self.root / MANIFEST, lambda p: Path(p).write_text(text))
        self._dirty, self._last_flush = False, now

    def write_summary(self, frame: pd.DataFrame) -> Path:
        """Write the tidy summary atomically; returns its path."""
        path = self.root / SUMMARY
        _atomic_write(path, lambda p: frame.to_parquet(p, index=False))
        return path


_IDENT_KEY = b"sleepmeta.chunk"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_chunk(path: Path, identity: dict) -> pd.DataFrame | None:
    """The chunk's frame if it reads and says it is ``identity``; None otherwise."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        found = json.loads((table.schema.metadata or {}).get(_IDENT_KEY, b"null"))
    except (OSError, ValueError) as exc:  # pyarrow's errors are OSError/ValueError subclasses
        del exc
        return None
    if found != identity:
        return None
    return table.to_pandas()


def _read_manifest(path: Path, root: Path) -> dict:
    """The manifest as a dict with a ``grid_hash``, or an InputError saying what is wrong."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            raise ValueError("it is not a regular file")
        found = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(found, dict) or not isinstance(found.get("grid_hash"), str) \
                or not isinstance(found.get("chunks", {}), dict):
            raise ValueError("it has no grid_hash")
    except (OSError, ValueError, RecursionError) as exc:
        raise InputError(f"output {str(root)!r}: {MANIFEST} is not a sleepmeta manifest "
                         f"({type(exc).__name__}: {exc}); delete the folder or choose another "
                         "output") from None
    return found


def _atomic_write(path: Path, write) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``."""
    with atomic_path(path, prefix=temp_prefix(path.name, "tmp")) as tmp:
        write(tmp)
