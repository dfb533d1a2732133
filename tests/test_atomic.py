"""Files are written atomically and get the user's usual mode (umask), not 0600."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest
from typer.testing import CliRunner

from sleepmeta.atomic import atomic_path, default_file_mode
from sleepmeta.cli import app
from sleepmeta.sleep import simulate_nights, write_hypnogram


@pytest.fixture(params=[0o022, 0o027])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_path_gives_the_umask_mode_and_cleans_up_on_error(umask, tmp_path):
    with atomic_path(tmp_path / "a.txt") as tmp:
        tmp.write_text("x")
    assert _mode(tmp_path / "a.txt") == 0o666 & ~umask == default_file_mode()
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "b.txt") as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_nights_contrast_and_simulate_outputs_get_the_umask_mode(umask, tmp_path):
    # issue 11: these came out 0600 (mkstemp's mode leaked through the rename)
    runner = CliRunner()
    files, rows = [], []
    for i, night in enumerate(simulate_nights(4, hours=1, seed=2)):
        path = tmp_path / f"n{i}.csv"
        write_hypnogram(night, path)
        files.append(str(path))
        rows.append({"file": path.name, "subject": f"s{i // 2}", "arm": ["drug", "placebo"][i % 2],
                     "period": i % 2 + 1})
    pd.DataFrame(rows).to_csv(tmp_path / "meta.csv", index=False)
    want = 0o666 & ~umask
    assert _mode(files[0]) == want  # write_hypnogram
    out = runner.invoke(app, ["nights", *files, "--meta", str(tmp_path / "meta.csv"), "--out",
                              str(tmp_path / "nights.csv")])
    assert out.exit_code == 0, out.output
    assert _mode(tmp_path / "nights.csv") == want
    out = runner.invoke(app, ["contrast", str(tmp_path / "nights.csv"), "--endpoint", "TST",
                              "--design", "crossover", "--out", str(tmp_path / "c.csv")])
    assert out.exit_code == 0, out.output
    assert _mode(tmp_path / "c.csv") == want
    grid = tmp_path / "grid.toml"
    grid.write_text('replicates = 20\nseed = 1\nestimators = ["DL"]\ntests = ["z"]\n'
                    '[conditions]\nmeasure = "MD"\nk = 3\neffect = 0.0\ntau2 = 0.0\nn = 10\n')
    out = runner.invoke(app, ["simulate", str(grid), "--out", str(tmp_path / "sim.parquet"),
                              "--no-progress"])
    assert out.exit_code == 0, out.output
    written = [p for p in (tmp_path / "sim.parquet").rglob("*") if p.is_file()]
    assert len(written) >= 3 and {_mode(p) for p in written} == {want}


def test_report_folder_and_files_get_the_umask_mode(umask, tmp_path):
    from sleepmeta.review.build import build_report

    out = tmp_path / "rep"
    build_report(None, out, fmt="json")
    assert _mode(out) == 0o777 & ~umask  # mkdtemp's 0700 would hide it from the group
    assert _mode(out / "report.json") == 0o666 & ~umask
