"""Fuzz the command line (issue 18 campaign), through typer's CliRunner.

Invariant: every command ends with exit 0, or exit 2 -- either a usage error
from the option parser or ``error: ...`` on one line from sleepmeta -- within
60 s; never a traceback (an exception escaping the command).
"""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from sleepmeta.cli import app
from tests.fuzz._limits import fuzz_settings, within

runner = CliRunner()
FUZZ = fuzz_settings(40)

PATHS = ["{csv}", "{dir}", "{bin}", "{missing}", "{csv}/under", "{latin}", "{empty}", "{grid}",
         "{markup}"]
VALUES = ["-3", "0", "nan", "inf", "1e300", "-1e300", "fifty", "[/bold]", "~ np.log(-x)",
          "~ x", "~ I(x**400)", "REML", "DL", "knha", "0.95", "1.5", "", "processes", "x" * 3000]


def _files(tmp):
    pd.DataFrame({"study": ["A", "[/bold]", "C", "D"], "yi": [0.1, 0.3, 1e300, 0.5],
                  "vi": [0.01, 5e-324, 0.03, 0.02], "x": [1, 2, 3, 0]}).to_csv(tmp / "e.csv",
                                                                                 index=False)
    (tmp / "d").mkdir(exist_ok=True)
    (tmp / "b.bin").write_bytes(bytes(range(256)))
    (tmp / "l.csv").write_bytes("study,yi,vi\nM\xfcller,0.1,0.01\n".encode("latin-1"))
    (tmp / "empty.csv").write_bytes(b"")
    (tmp / "g.toml").write_text('replicates = 4\nseed = 1\nestimators = ["DL"]\n[conditions]\n'
                                'measure = "MD"\nk = 3\neffect = 0.0\ntau2 = 0.0\nn = 10\n')
    (tmp / "m.csv").write_text("[/bold],yi,vi\n1,0.1,0.01\n2,0.2,0.02\n")
    return {"csv": tmp / "e.csv", "dir": tmp / "d", "bin": tmp / "b.bin",
            "missing": tmp / "nope.csv", "latin": tmp / "l.csv", "empty": tmp / "empty.csv",
            "grid": tmp / "g.toml", "markup": tmp / "m.csv"}


COMMANDS = {
    "pool": ["--yi", "--vi", "--labels", "--method", "--test", "--level", "--mods", "--out",
             "--missing", "--measure"],
    "simulate": ["--out", "--workers", "--scheduler", "--timeout"],
    "report": ["--out", "--format"],
    "contrast": ["--endpoint", "--design", "--out"],
}


@st.composite
def argv(draw):
    cmd = draw(st.sampled_from(sorted(COMMANDS)))
    args = [cmd]
    if cmd != "report" or draw(st.booleans()):
        args.append(draw(st.sampled_from(PATHS)))
    for _ in range(draw(st.integers(0, 4))):
        opt = draw(st.sampled_from(COMMANDS[cmd]))
        value = draw(st.sampled_from(PATHS + VALUES))
        if opt == "--out" and not value.startswith("{"):
            value = "{dir}/" + value  # a relative --out would land in the working folder
        args += [opt, value]
    if cmd in ("simulate", "report") and "--out" not in args:
        args += ["--out", "{dir}/out"]  # never the working folder
    return args


def _check(res):
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code in (0, 2), (res.exit_code, res.output)
    if res.exit_code == 2 and "error: " in res.output and "Usage:" not in res.output:
        lines = [ln for ln in res.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), res.output


@FUZZ
@given(args=argv())
def test_any_command_line_exits_0_or_2_with_one_line(tmp_path_factory, args):
    tmp = tmp_path_factory.mktemp("cli")
    files = _files(tmp)
    argv_ = [a.format(**files) for a in args]
    with within(60, " ".join(argv_)[:200]):
        res = runner.invoke(app, argv_, env={"COLUMNS": "80"})
    _check(res)
