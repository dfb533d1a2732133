"""What the report does to --out (issue 18: nothing lost): a file or a foreign folder is refused,
a kill never leaves --out without a complete report, a full or read-only disk is one typed error."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from sleepmeta.errors import OutputError
from sleepmeta.review.build import build_report

from tests._tmpfs import small_tmpfs
from .conftest import make_review


def test_out_that_is_a_file_is_refused_and_kept(tmp_path, review):
    # issue 18: exited 0 and moved the user's file to a hidden .afile.old-PID
    afile = tmp_path / "afile"
    afile.write_text("the user's data")
    with pytest.raises(OutputError, match="is a file, not a report folder"):
        build_report(review, afile, fmt="json")
    assert afile.read_text() == "the user's data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "rev"]


def test_out_that_is_a_foreign_folder_or_a_symlink_is_refused(tmp_path, review):
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputError, match="is a folder that is not a sleepmeta report"):
        build_report(review, home, fmt="json")
    (tmp_path / "link").symlink_to(home)
    with pytest.raises(OutputError, match="is a symbolic link"):
        build_report(review, tmp_path / "link", fmt="json")
    assert (home / "thesis.tex").read_text() == "years of work"


def test_out_under_a_file_is_refused(tmp_path, review):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        build_report(review, tmp_path / "afile" / "rep", fmt="json")


def test_leftover_old_report_is_put_back_and_stale_temporaries_removed(tmp_path, review):
    out = tmp_path / "rep"
    build_report(review, out, fmt="json")
    os.replace(out, tmp_path / ".rep.old-99999999")  # killed between the two renames
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (tmp_path / f".rep.tmp-{dead}-x").mkdir()  # a temporary of a killed run
    build_report(review, out, fmt="json")
    assert json.loads((out / "report.json").read_text())["title"] == "Test review"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep", "rev"]


_RUN = """
import sys
from sleepmeta.review.build import build_report
build_report(sys.argv[1], sys.argv[2], fmt="html")
"""


@pytest.mark.parametrize("delay", [0.5, 1.5, 3.0, 5.0])
def test_a_killed_report_leaves_a_complete_report(tmp_path, review, delay):
    out = tmp_path / "rep"
    build_report(review, out, fmt="json")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", _RUN, str(review), str(out)], env=env)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # whenever the kill came, --out holds a complete report (the previous or the new one) ...
    assert json.loads((out / "report.json").read_text())["title"] == "Test review"
    # ... and the next run cleans what the killed one left
    build_report(review, out, fmt="json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep", "rev"]


def test_full_disk_is_one_typed_error_and_leaves_nothing(tmp_path):
    spec = make_review(tmp_path / "rev")
    with small_tmpfs(tmp_path / "disk", size="16k") as disk:
        with pytest.raises(OutputError, match="the disk is full"):
            build_report(spec, disk / "rep", fmt="html")
        assert list(disk.iterdir()) == []


def test_read_only_folder_is_one_typed_error(tmp_path):
    spec = make_review(tmp_path / "rev")
    with small_tmpfs(tmp_path / "ro", read_only=True) as ro:
        with pytest.raises(OutputError, match="read-only"):
            build_report(spec, ro / "rep", fmt="json")
