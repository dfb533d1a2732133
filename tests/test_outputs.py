"""Output paths: what may be replaced, typed write errors, folder swaps and leftovers (issue 18)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time

import pytest

from sleepmeta import outputs
from sleepmeta.errors import OutputError
from sleepmeta.outputs import (check_output_file, check_report_folder, clean_stale, output_error,
                               recover_folder, swap_folder)


def test_regular_or_missing_files_may_be_written(tmp_path):
    assert check_output_file(tmp_path / "new.json") == tmp_path / "new.json"
    (tmp_path / "old.json").write_text("{}")
    check_output_file(tmp_path / "old.json")


def test_folder_symlink_fifo_device_and_path_under_a_file_are_refused(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "target.json").write_text("keep")
    (tmp_path / "link.json").symlink_to(tmp_path / "target.json")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "file").write_text("x")
    cases = {tmp_path / "d": "it is a folder", tmp_path / "link.json": "it is a symbolic link",
             tmp_path / "fifo": "it is a FIFO", tmp_path / "file" / "x.json": "is a file, not a folder"}
    if os.path.exists("/dev/full"):
        cases[__import__("pathlib").Path("/dev/full")] = "it is a device"
    for path, words in cases.items():
        with pytest.raises(OutputError, match=words):
            check_output_file(path)
    assert (tmp_path / "target.json").read_text() == "keep"


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "the disk is full"),
                                             (errno.EROFS, "the file system is read-only"),
                                             (errno.EACCES, "permission denied")])
def test_output_error_names_path_and_reason(code, words):
    err = output_error(OSError(code, os.strerror(code)), "out/x.csv", "--out")
    assert str(err).startswith("cannot write --out 'out/x.csv': " + words)
    assert "\n" not in str(err)


def test_report_folder_rules(tmp_path):
    own = ("report.html", "report.json")
    check_report_folder(tmp_path / "missing", own)
    (tmp_path / "empty").mkdir()
    check_report_folder(tmp_path / "empty", own)
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "report.json").write_text("{}")
    check_report_folder(tmp_path / "rep", own)
    (tmp_path / "afile").write_text("the user's file")
    with pytest.raises(OutputError, match="is a file, not a report folder"):
        check_report_folder(tmp_path / "afile", own)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputError, match="holds 'thesis.tex'"):
        check_report_folder(tmp_path / "home", own)


def _folder(path, text):
    path.mkdir()
    (path / "report.json").write_text(text)
    return path


@pytest.mark.parametrize("exchange", [True, False])
def test_swap_folder_replaces_the_old_folder(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    out = _folder(tmp_path / "out", "old")
    new = _folder(tmp_path / ".out.tmp-1-x", "new")
    swap_folder(new, out)
    assert (out / "report.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_swap_killed_between_its_renames_is_recovered(tmp_path):
    # the state a kill between the two renames leaves: no out, the old report aside
    _folder(tmp_path / ".out.old-4242", "previous")
    assert recover_folder(tmp_path / "out") == tmp_path / ".out.old-4242"
    assert (tmp_path / "out" / "report.json").read_text() == "previous"
    # killed after the second rename: out is complete and the old copy is deleted
    _folder(tmp_path / ".out.old-4343", "older")
    assert recover_folder(tmp_path / "out") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def _dead_pid() -> int:
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout)


def test_clean_stale_removes_only_our_leftovers(tmp_path):
    dead = _dead_pid()
    ours_dead = tmp_path / f".rep.tmp-{dead}-abcd"
    ours_dead.mkdir()
    part = tmp_path / f".x.csv.tmp-{dead}-zz"
    part.write_text("half")
    live = tmp_path / f".rep.tmp-{os.getpid()}-abcd"
    live.mkdir()
    old_style = tmp_path / ".x.csv.k2j3.tmp"  # no pid: stale by age only
    old_style.write_text("half")
    other = tmp_path / f".notmine.tmp-{dead}-x"
    other.write_text("user")
    removed = clean_stale(tmp_path, ["rep", "x.csv"])
    assert set(removed) == {ours_dead, part}
    assert live.exists() and old_style.exists() and other.exists()
    later = time.time() + outputs.STALE_AFTER + 1
    assert set(clean_stale(tmp_path, ["rep", "x.csv"], now=later)) == {live, old_style}
    assert other.exists()


def test_names_with_glob_characters(tmp_path):
    # found by the CLI fuzz: report --out '~ I(x**400)' raised ValueError from a glob pattern
    out = tmp_path / "~ I(x**400) [a]"
    _folder(tmp_path / ".~ I(x**400) [a].old-12", "previous")
    assert recover_folder(out) is not None
    assert (out / "report.json").read_text() == "previous"
