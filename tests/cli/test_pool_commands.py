"""``sleepmeta pool``: the CLI over effect_size and meta_analysis."""

from __future__ import annotations

import json

import matplotlib.image as mpimg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sleepmeta.cli import app
from sleepmeta.data import bcg

runner = CliRunner()
BCG_COLS = ["--measure", "RR", "--events1", "tpos", "--n1", "n1", "--events2", "cpos",
            "--n2", "n2", "--labels", "study"]


@pytest.fixture()
def bcg_csv(tmp_path):
    path = tmp_path / "bcg.csv"
    bcg().to_csv(path, index=False)
    return path


def test_default_runs_the_shipped_bcg_example():
    # metafor documentation / Viechtbauer (2010): REML on BCG log RR gives
    # estimate -0.7145, tau^2 0.3132, I^2 92.22%.
    out = runner.invoke(app, ["pool"])
    assert out.exit_code == 0, out.output
    assert "-0.7145" in out.output and "0.3132" in out.output and "92.22%" in out.output


def test_json_output_has_the_result_field_names(bcg_csv):
    out = runner.invoke(app, ["pool", str(bcg_csv), *BCG_COLS, "--method", "DL", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    # metafor 3.8, rma(yi, vi, data=dat, method="DL") on BCG log RR: tau^2 = 0.3088, estimate -0.7141
    assert data["tau2"] == pytest.approx(0.3088, abs=5e-5)
    assert data["estimate"] == pytest.approx(-0.7141, abs=5e-5)
    assert {"estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "h2", "q",
            "q_pvalue", "k"} <= set(data)
    assert data["k"] == 13 and data["method"] == "DL"


def test_knha_and_out_file(bcg_csv, tmp_path):
    target = tmp_path / "res.json"
    out = runner.invoke(app, ["pool", str(bcg_csv), *BCG_COLS, "--test", "knha", "--out",
                              str(target)])
    assert out.exit_code == 0, out.output
    assert "tval" in out.output
    assert json.loads(target.read_text())["df"] == 12


def test_precomputed_yi_vi_and_moderators_with_plots(bcg_csv, tmp_path):
    import pandas as pd

    from sleepmeta import effect_size

    d = pd.read_csv(bcg_csv)
    es = effect_size("RR", d, events1="tpos", n1="n1", events2="cpos", n2="n2")
    d["yi"], d["vi"] = es.yi, es.vi
    path = tmp_path / "effects.csv"
    d.to_csv(path, index=False)
    pngs = [tmp_path / f"{n}.png" for n in ("forest", "funnel", "bubble")]
    out = runner.invoke(app, ["pool", str(path), "--yi", "yi", "--vi", "vi", "--labels", "study",
                              "--mods", "~ ablat", "--forest", str(pngs[0]), "--funnel",
                              str(pngs[1]), "--bubble", str(pngs[2]), "--json"])
    assert out.exit_code == 0, out.output
    coef = json.loads(out.output)["coefficients"]
    # Viechtbauer (2010), BCG with absolute latitude (REML): ablat -0.0291
    assert coef["ablat"]["estimate"] == pytest.approx(-0.0291, abs=5e-5)
    for png in pngs:
        img = mpimg.imread(png)
        assert img.std() > 0  # not blank


@pytest.mark.parametrize(
    "args, message",
    [
        (["--measure", "RR", "--events1", "nope", "--n1", "n1", "--events2", "cpos", "--n2", "n2"],
         "nope"),
        (["--measure", "XX"], "unknown measure 'XX'"),
        (["--method", "BOGUS", *BCG_COLS], "unknown method 'BOGUS'"),
        (["--yi", "tpos"], "vi"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(bcg_csv, args, message):
    out = runner.invoke(app, ["pool", str(bcg_csv), *args])
    assert out.exit_code == 2
    assert message in out.output


def test_missing_file_is_named(tmp_path):
    out = runner.invoke(app, ["pool", str(tmp_path / "none.csv")])
    assert out.exit_code == 2 and "none.csv" in out.output


def test_help_explains_every_option_with_an_example():
    out = runner.invoke(app, ["pool", "--help"])
    assert out.exit_code == 0
    for opt in ("--measure", "--method", "--test", "--mods", "--forest", "--funnel", "--json"):
        assert opt in out.output
    assert "Example" in out.output


def test_help_lists_the_registries():
    # --method and --test come from the pooling registry; --measure's hand-written list
    # (kept out of the registry so --help does not import the effects stage) must name
    # every measure of sleepmeta.effects.MEASURES
    import typing

    from sleepmeta.cli.pool_commands import pool
    from sleepmeta.effects import MEASURES
    from sleepmeta.pooling.registry import ESTIMATOR_INFO, TESTS

    hints = typing.get_type_hints(pool, include_extras=True)
    helps = {name: h.__metadata__[0].help for name, h in hints.items()
             if hasattr(h, "__metadata__")}
    assert helps["method"].split(": ")[1].split(",")[0].split() == list(ESTIMATOR_INFO)
    assert all(f"{t}:" in helps["test"] for t in TESTS)
    words = set(helps["measure"].replace(";", " ").replace(".", " ").split())
    assert set(MEASURES) <= words


def test_help_says_what_each_column_option_is_with_an_example():
    # issue 11: the 13 column options all read "Column name (see the measure's columns above)"
    from sleepmeta.cli.pool_commands import COLUMN_ARGS

    out = runner.invoke(app, ["pool", "--help"], env={"COLUMNS": "200"}, terminal_width=200)
    assert out.exit_code == 0
    text = " ".join(out.output.replace("│", " ").split())
    assert "see the measure's columns above" not in text
    for name in COLUMN_ARGS:
        assert f"e.g. --{name} " in text, name
    helps = [line for line in out.output.splitlines() if "Column with" in line]
    assert len(set(helps)) == len(COLUMN_ARGS) + 1  # + --labels, each different


def test_pool_summary_folds_long_term_names_at_80_columns(tmp_path):
    from sleepmeta import effect_size
    from sleepmeta.data import bcg

    d = bcg()
    es = effect_size("RR", d, events1="tpos", n1="n1", events2="cpos", n2="n2")
    d = d.assign(yi=es.yi, vi=es.vi, absolute_latitude_of_the_site=d["ablat"])
    d.to_csv(tmp_path / "e.csv", index=False)
    out = runner.invoke(app, ["pool", str(tmp_path / "e.csv"), "--mods",
                              "~ absolute_latitude_of_the_site"], terminal_width=80)
    assert out.exit_code == 0, out.output
    assert max(len(line) for line in out.output.splitlines()) <= 80 and "…" not in out.output


_FORMULA_CHARS = "~+-*/:^()`'\"[]{}._ ablatyIClognpsqrtex0123456789%|@"


@settings(max_examples=60, deadline=10000,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(mods=st.text(alphabet=_FORMULA_CHARS, min_size=1, max_size=30))
def test_fuzz_mods_exit_0_or_2_with_one_message(bcg_csv, mods):
    # issue 11: whatever --mods holds, the command answers or refuses in one line (exit 2),
    # never a traceback and never code run from the formula
    out = runner.invoke(app, ["pool", str(bcg_csv), *BCG_COLS, "--mods", mods, "--json"])
    assert out.exit_code in (0, 2), (mods, out.output, out.exception)
    if out.exit_code == 2:
        assert out.output.startswith("error:") and "Traceback" not in out.output
