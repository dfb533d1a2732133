"""Errors and user text on the command line (issue 18): one plain line, exit 2, no rich markup,
linear time; bad output paths and full disks are typed errors."""

from __future__ import annotations

import os
import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from sleepmeta.cli import app
from sleepmeta.cli._output import error_line, plain
from tests._tmpfs import small_tmpfs

from .test_report_commands import make_review

runner = CliRunner()


def _effects(path, label="A"):
    pd.DataFrame({"study": [label, "B", "C", "D"], "yi": [0.1, 0.3, 0.2, 0.5],
                  "vi": [0.01, 0.02, 0.03, 0.02], "x": [1, 2, 3, 4]}).to_csv(path, index=False)
    return path


def _one_error_line(res) -> str:
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    return lines[0]


def test_markup_in_user_text_is_printed_as_it_is(tmp_path):
    # issue 18: "[/bold]" raised MarkupError; "[min, max]" vanished from messages
    csv = _effects(tmp_path / "e.csv")
    line = _one_error_line(runner.invoke(app, ["pool", str(csv), "--yi", "[/bold]"]))
    assert "'[/bold]'" in line
    spec = make_review(tmp_path / "rev", extra="""
        [[directions]]
        study = "D 2004"
        outcome = "WASO"
        dose = [300]
        direction = "decrease"
        quote = "reduced"
        """)
    line = _one_error_line(runner.invoke(app, ["report", str(spec), "--out",
                                               str(tmp_path / "o")]))
    assert "must be [min, max] in mg/day" in line


def test_study_labels_with_markup_are_shown(tmp_path):
    csv = _effects(tmp_path / "e.csv", label="[bold]Roth[/bold] [/red]")
    res = runner.invoke(app, ["pool", str(csv), "--labels", "study", "--mods", "~ x"],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output


def test_error_line_is_one_line():
    assert error_line(ValueError("a\nb\r\nc")) == "error: a b c"
    assert error_line(OSError(28, "No space left on device", "x")) == \
        "error: No space left on device: 'x'"


def test_a_two_million_character_text_prints_in_linear_time(capsys):
    # issue 18: a 60,000-character title took 90 s in rich, 2 million did not finish in 10 min
    text = "x" * 2_000_000
    start = time.perf_counter()
    plain(text)
    assert time.perf_counter() - start < 30  # a hang guard, not a benchmark
    assert capsys.readouterr().out == text + "\n"


def test_a_60000_character_title_is_printed_whole(tmp_path):
    title = "T" * 60_000
    spec = make_review(tmp_path / "rev")
    spec.write_text(spec.read_text().replace('title = "Test review"', f'title = "{title}"'))
    res = runner.invoke(app, ["report", str(spec), "--out", str(tmp_path / "o"),
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    assert title in res.output.splitlines()


@pytest.mark.parametrize("args", [
    ["pool", "{tmp}"],                                # a folder as the pool file
    ["pool", "{csv}", "--yi", "yi", "--vi", "vi", "--out", "{tmp}"],   # a folder as --out
    ["pool", "{csv}", "--yi", "yi", "--vi", "vi", "--out", "{csv}/x.json"],  # under a file
    ["pool", "{csv}", "--yi", "yi", "--vi", "vi", "--mods", "~ np.log(-x)"],
    ["simulate", "{tmp}", "--out", "{tmp}/o"],        # a folder as the grid
    ["simulate", "{bin}", "--out", "{tmp}/o"],        # a binary file as the grid
    ["simulate", "{grid}", "--out", "{tmp}/o", "--scheduler", "processes", "--workers", "-3"],
    ["simulate", "{grid}", "--out", "{csv}/o"],       # --out under a file
    ["report", "--out", "{csv}"],                     # --out an existing file
])
def test_bad_paths_and_options_are_one_line_exit_2(tmp_path, args):
    csv = _effects(tmp_path / "e.csv")
    (tmp_path / "bin").write_bytes(bytes(range(256)) * 4)
    grid = tmp_path / "grid.toml"
    grid.write_text('replicates = 4\nseed = 1\nestimators = ["DL"]\n[conditions]\n'
                    'measure = "MD"\nk = 3\neffect = 0.0\ntau2 = 0.0\nn = 10\n')
    before = csv.read_bytes()
    argv = [a.format(tmp=tmp_path, csv=csv, bin=tmp_path / "bin", grid=grid) for a in args]
    _one_error_line(runner.invoke(app, argv))
    assert csv.read_bytes() == before


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs the /dev/full device")
def test_out_to_a_device_is_refused_not_replaced(tmp_path):
    # issue 18: as root, pool --out /dev/full replaced the device node with a JSON file
    line = _one_error_line(runner.invoke(app, ["pool", "--out", "/dev/full"]))
    assert "it is a device" in line
    assert not os.path.isfile("/dev/full")


def test_out_to_a_symlink_or_fifo_is_refused(tmp_path):
    target = tmp_path / "target.json"
    target.write_text("keep")
    (tmp_path / "link.json").symlink_to(target)
    os.mkfifo(tmp_path / "fifo.json")
    for name, words in (("link.json", "symbolic link"), ("fifo.json", "FIFO")):
        line = _one_error_line(runner.invoke(app, ["pool", "--out", str(tmp_path / name)]))
        assert words in line
    assert target.read_text() == "keep"


def test_full_disk_is_one_line_exit_2(tmp_path):
    csv = _effects(tmp_path / "e.csv")
    with small_tmpfs(tmp_path / "disk", size="4k") as disk:
        (disk / "filler").write_bytes(b"x" * 4096)
        line = _one_error_line(runner.invoke(app, ["pool", str(csv), "--yi", "yi", "--vi", "vi",
                                                   "--out", str(disk / "r.json")]))
        assert "the disk is full" in line
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]


def test_nights_meta_with_a_night_column_fails_before_writing(tmp_path):
    hyp = tmp_path / "s01.csv"
    hyp.write_text("stage\n" + "W\n" * 4 + "N2\n" * 20 + "W\n")
    meta = tmp_path / "meta.csv"
    meta.write_text("file,night,subject\ns01.csv,1,a\n")
    out = tmp_path / "n.csv"
    line = _one_error_line(runner.invoke(app, ["nights", str(hyp), "--epoch-seconds", "30",
                                               "--meta", str(meta), "--out", str(out)]))
    assert "'night'" in line
    assert not out.exists()
