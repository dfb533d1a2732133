"""Formulas are parsed into a safe subset before formulaic evaluates anything."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sleepmeta import meta_analysis
from sleepmeta.cli import app
from sleepmeta.errors import ColumnError, FormulaError, SleepmetaError
from sleepmeta.pooling.formula_safety import formula_model_matrix, parse_formula


def _attacks(marker):
    """Formulas that run code (or would) if formulaic saw them; each touches ``marker``."""
    m = str(marker)
    return [
        # issue 11's reproducer: the builtins reached through a column's class
        f"~ I(x.__class__.__init__.__globals__['__builtins__']['__import__']('os').system('touch {m}'))",
        f"~ __import__('os').system('touch {m}')",
        f"~ I(open('{m}', 'w'))",
        f"~ {{open('{m}', 'w')}}",                     # formulaic's python quoting
        f"~ x + I((lambda: open('{m}', 'w'))())",
        f"~ I([open('{m}', 'w') for _ in x])",
        f"~ np.lib.npyio.savetxt('{m}', x)",
        f"~ np.savetxt(`{m}`, x)",
        f"~ I(x[0])",
        f"~ I(getattr(x, 'sum'))",
        f"~ I(x.sum())",
        f"~ C(x, levels=open('{m}', 'w'))",
        f"~ bs(x, knots=open('{m}', 'w'))",
        f"~ I(exec('open(\"{m}\", \"w\")'))",
        f"~ I(eval('1'))",
        f"~ I(x := 1)",
        "~ I(__builtins__)",
        "~ __class__",
        "~ I(x if x else x)",
        "~ x %in% x",
        "~ x | x",
        "~ .",
    ]


@pytest.fixture()
def frame():
    return pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.6], "vi": [0.01] * 6,
                         "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "g": list("ababab"),
                         "dose mg": [10.0, 20.0, 40.0, 10.0, 20.0, 40.0]})


def test_attack_formulas_are_refused_through_the_api_without_running(frame, tmp_path):
    marker = tmp_path / "touched"
    for formula in _attacks(marker):
        with pytest.raises((FormulaError, ColumnError)):
            meta_analysis("yi", "vi", data=frame, mods=formula)
        assert not marker.exists(), formula


def test_attack_formula_is_refused_through_the_cli_without_running(frame, tmp_path):
    marker = tmp_path / "touched"
    csv = tmp_path / "effects.csv"
    frame.to_csv(csv, index=False)
    out = CliRunner().invoke(app, ["pool", str(csv), "--yi", "yi", "--vi", "vi", "--mods",
                                   _attacks(marker)[0]])
    assert out.exit_code == 2, out.output
    text = " ".join(out.output.split())  # the terminal wraps long lines
    assert "not allowed" in text and "attribute access" in text
    assert not marker.exists()


@pytest.mark.parametrize(("formula", "named"), [
    ("~ I(x.__class__)", "attribute access 'x.__class__'"),
    ("~ I(x[0])", "a subscript 'x[0]'"),
    ("~ eval(x)", "a call of 'eval'"),
    ("~ I(lambda: 1)", "a lambda"),
    ("~ __class__", "the dunder name '__class__'"),
    ("~ I(np.exp(x.real))", "attribute access 'x.real'"),
    ("~ I(x > 1)", "a comparison"),
    ("~ os.system(x)", "attribute access 'os.system'"),
    ("~ I(True)", "a literal 'True'"),
])
def test_refusal_names_the_term_and_the_rule(formula, named):
    with pytest.raises(FormulaError) as err:
        parse_formula(formula)
    assert named in str(err.value)
    assert "term" in str(err.value)


def test_a_left_hand_side_is_refused():
    with pytest.raises(FormulaError, match="one-sided"):
        parse_formula("yi ~ x")


def test_power_of_numbers_and_huge_expansions_are_refused_before_formulaic():
    # Python would compute 9 ** 387420489 (minutes, gigabytes) if this were evaluated
    with pytest.raises(FormulaError, match="power of a number"):
        parse_formula("~ I(x + 9 ** 9 ** 9)")
    with pytest.raises(FormulaError, match="integer from 1 to 5"):
        parse_formula("~ x ** 9 ** 9")
    # 15 factors crossed by * expand to 2**15 - 1 = 32767 terms
    with pytest.raises(FormulaError, match="more than 10000 terms"):
        parse_formula("~ " + " * ".join(f"x{i}" for i in range(15)))
    with pytest.raises(FormulaError, match="characters"):
        parse_formula("~ " + " + ".join(["x"] * 1000))


def test_unknown_column_is_a_column_error_naming_the_term(frame):
    with pytest.raises(ColumnError, match="'dose' \\(in term 'np.log\\(dose\\)'\\) is not a column"):
        meta_analysis("yi", "vi", data=frame, mods="~ np.log(dose)")


def test_the_allowed_subset_builds_the_same_columns_formulaic_would(frame):
    formula = "~ x + C(g) + I(x**2) + np.log(x) + log(x) + np.sqrt(x) + scale(x) + `dose mg`"
    mm = formula_model_matrix(formula, frame)
    # hand calculation: each column is the documented transform of x
    x = frame["x"].to_numpy()
    assert list(mm.columns) == ["Intercept", "x", "C(g)[T.b]", "I(x ** 2)", "np.log(x)", "log(x)",
                                "np.sqrt(x)", "scale(x)", "dose mg"]
    np.testing.assert_allclose(mm["I(x ** 2)"], x**2)
    np.testing.assert_allclose(mm["np.log(x)"], np.log(x))
    np.testing.assert_allclose(mm["scale(x)"], (x - x.mean()) / x.std(ddof=1))
    np.testing.assert_allclose(mm["C(g)[T.b]"], [0, 1, 0, 1, 0, 1])


@pytest.mark.parametrize("formula", ["~ x", "x", "~ 0 + x", "~ x - 1", "~ x * C(g)",
                                     "~ (x + C(g)) ** 2", "~ x:C(g)", "~ C(g) / x",
                                     "~ bs(x, df=3)", "~ cr(x, df=3)", "~ center(x)",
                                     "~ I(np.log(x) * 2 - x / 3)", "~ poly(x, degree=2)"])
def test_documented_formulas_pass(formula, frame):
    safe = parse_formula(formula, frame.columns)
    assert "x" in safe.variables or "g" in safe.variables
    formula_model_matrix(formula, frame)


def test_meta_regression_through_the_safe_path_matches_a_matrix(frame):
    # the same design given as a formula and as an array gives the same fit
    a = meta_analysis("yi", "vi", data=frame, mods="~ I(x**2)", method="FE")
    b = meta_analysis(frame["yi"], frame["vi"], mods=frame[["x"]].to_numpy() ** 2, method="FE")
    np.testing.assert_allclose(a.coefficients["estimate"], b.coefficients["estimate"])


def test_non_finite_model_term_is_a_typed_error_naming_the_study(frame):
    with pytest.raises(SleepmetaError, match="np.log"):
        meta_analysis("yi", "vi", data=frame, mods="~ np.log(-x)")


_ALPHABET = "~+-*/:^()`'\"[]{}.,=_ xgdIClonpsqrtexbl0123456789%|@!\\\n"


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_fuzzed_formulas_are_checked_or_refused_with_a_typed_error(text):
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "g": ["a", "b", "a", "b"]})
    try:
        safe = parse_formula(text, df.columns)
    except SleepmetaError:
        return
    assert set(safe.variables) <= {"x", "g"}
    try:
        formula_model_matrix(text, df)
    except SleepmetaError:
        pass


@pytest.mark.parametrize("formula", ["~ 0", "0", "~ -1", "~ x - x - 1"])
def test_a_formula_without_coefficients_is_a_model_error(frame, formula):
    # found by the CLI fuzz test: '~ 0' reached the engine with no column (IndexError)
    from sleepmeta.errors import ModelError

    with pytest.raises(ModelError, match="no coefficients"):
        meta_analysis("yi", "vi", data=frame, mods=formula)
