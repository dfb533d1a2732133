"""The simulation output folder: Parquet is an extra (refused clearly when absent); chunk
identity and checksums (issue 18).

The campaign replaced a chunk by a Parquet file of another schema, by a copy
of another chunk and by a folder, and the summary silently changed (n_sim
2000 -> 1750); a truncated chunk or a broken manifest gave a traceback. Each
case is checked against the summary of an untouched run of the same grid
(the same seeds give the same numbers, so they must be equal to the bit).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from sleepmeta.cli import app
from sleepmeta.errors import DependencyError, InputError
from sleepmeta.scale import simulate, store
from sleepmeta.scale.store import CHUNKS, MANIFEST

GRID = {
    "replicates": 40, "seed": 7, "chunk_size": 10, "estimators": ["DL"], "tests": ["z"],
    "conditions": {"measure": "MD", "k": 3, "effect": 0.2, "tau2": [0.0, 0.1], "n": 20},
}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    out = tmp_path_factory.mktemp("clean") / "res"
    return out, simulate(GRID, out=out, progress=False)


def _copy(clean, tmp_path):
    out = tmp_path / "res"
    shutil.copytree(clean[0], out)
    return out


def _chunk(out, c, j):
    return out / CHUNKS / f"part-c{c:05d}-j{j:06d}.parquet"


def test_manifest_records_every_chunk_checksum(clean):
    manifest = json.loads((clean[0] / MANIFEST).read_text())
    assert len(manifest["chunks"]) == 2 * 4
    assert all(len(v) == 64 for v in manifest["chunks"].values())


def test_chunk_replaced_by_other_schema_is_recomputed(clean, tmp_path):
    out = _copy(clean, tmp_path)
    pd.DataFrame({"x": [1, 2, 3]}).to_parquet(_chunk(out, 0, 1))
    res = simulate(GRID, out=out, progress=False)
    pd.testing.assert_frame_equal(res, clean[1])
    assert res.attrs["recomputed_chunks"] == 1


def test_chunk_replaced_by_a_copy_of_another_chunk_is_recomputed(clean, tmp_path):
    out = _copy(clean, tmp_path)
    shutil.copyfile(_chunk(out, 1, 3), _chunk(out, 0, 2))
    res = simulate(GRID, out=out, progress=False)
    pd.testing.assert_frame_equal(res, clean[1])
    assert (res.query("performance == 'coverage'")["n_sim"] == 40).all()


def test_chunk_of_another_grid_with_a_forged_manifest_entry_is_recomputed(clean, tmp_path):
    # the checksum matches (the manifest was edited to match) but the identity does not
    out = _copy(clean, tmp_path)
    shutil.copyfile(_chunk(out, 1, 3), _chunk(out, 0, 2))
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["chunks"]["c00000-j000002"] = manifest["chunks"]["c00001-j000003"]
    (out / MANIFEST).write_text(json.dumps(manifest))
    res = simulate(GRID, out=out, progress=False)
    pd.testing.assert_frame_equal(res, clean[1])


def test_truncated_chunk_is_recomputed(clean, tmp_path):
    out = _copy(clean, tmp_path)
    path = _chunk(out, 1, 0)
    path.write_bytes(path.read_bytes()[:100])
    res = simulate(GRID, out=out, progress=False)
    pd.testing.assert_frame_equal(res, clean[1])


def test_folder_in_place_of_a_chunk_is_refused(clean, tmp_path):
    out = _copy(clean, tmp_path)
    _chunk(out, 0, 0).unlink()
    _chunk(out, 0, 0).mkdir()
    with pytest.raises(InputError, match="chunk 'part-c00000-j000000.parquet' is not a regular"):
        simulate(GRID, out=out, progress=False)


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"grid_hash": 3}', "\x00\xff"])
def test_broken_manifest_is_a_typed_error(clean, tmp_path, content):
    out = _copy(clean, tmp_path)
    (out / MANIFEST).write_text(content, encoding="latin-1")
    with pytest.raises(InputError, match="_manifest.json is not a sleepmeta manifest"):
        simulate(GRID, out=out, progress=False)


def test_manifest_that_is_a_folder_is_a_typed_error(clean, tmp_path):
    out = _copy(clean, tmp_path)
    (out / MANIFEST).unlink()
    (out / MANIFEST).mkdir()
    with pytest.raises(InputError, match="_manifest.json is not a sleepmeta manifest"):
        simulate(GRID, out=out, progress=False)


def test_stale_temporaries_of_a_killed_run_are_removed(clean, tmp_path):
    out = _copy(clean, tmp_path)
    # a process that has exited: its pid names the temporaries it left
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    left = out / CHUNKS / f".part-c00000-j000001.parquet.tmp-{dead}-abc123"
    left.write_bytes(b"half")
    mine = out / CHUNKS / f".part-c00000-j000001.parquet.tmp-{os.getpid()}-abc123"
    mine.write_bytes(b"fresh, of a live process")
    foreign = out / CHUNKS / f".notes.tmp-{dead}-x"  # not a name sleepmeta makes here
    foreign.write_bytes(b"user file")
    simulate(GRID, out=out, progress=False)
    assert not left.exists()
    assert mine.exists() and foreign.exists()


@pytest.fixture()
def no_parquet(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(store.importlib.util, "find_spec",
                        lambda name, *a: None if name in ("pyarrow", "fastparquet")
                        else real(name, *a))


def test_without_pyarrow_out_is_a_dependency_error_naming_the_extra(no_parquet, tmp_path):
    with pytest.raises(DependencyError, match=r"pip install 'sleepmeta\[simulate\]'"):
        simulate(GRID, out=tmp_path / "r.parquet", progress=False)
    assert not (tmp_path / "r.parquet").exists()  # refused before anything is written
    assert len(simulate(GRID, progress=False)) > 0  # in memory it still runs


def test_cli_without_pyarrow_exits_2_with_one_line(no_parquet, tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text('replicates = 20\nseed = 1\nestimators = ["DL"]\ntests = ["z"]\n'
                    '[conditions]\nmeasure = "MD"\nk = 3\neffect = 0.0\ntau2 = 0.0\nn = 10\n')
    out = CliRunner().invoke(app, ["simulate", str(grid), "--out", str(tmp_path / "r.parquet"),
                                   "--no-progress"], terminal_width=200)
    assert out.exit_code == 2
    assert "sleepmeta[simulate]" in out.output and "Traceback" not in out.output
