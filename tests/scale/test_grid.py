"""Grid parsing and validation (sleepmeta.scale.grid)."""

from __future__ import annotations

import pytest

from sleepmeta.errors import InputError, SpecError, UnknownOptionError
from sleepmeta.scale.grid import load_grid, parse_grid


def _raw(**conditions):
    base = {"measure": "MD", "k": [3, 5], "effect": 0.2, "tau2": [0.0, 0.1], "n": 30}
    base.update(conditions)
    return {"replicates": 100, "seed": 1, "estimators": ["DL", "REML"], "tests": ["z", "knha"],
            "conditions": base}


def test_conditions_are_the_product_of_the_lists():
    g = parse_grid(_raw())
    assert len(g.conditions) == 2 * 2
    assert [(c["k"], c["tau2"]) for c in g.conditions] == [(3, 0.0), (3, 0.1), (5, 0.0), (5, 0.1)]
    assert g.methods == (("DL", "z"), ("DL", "knha"), ("REML", "z"), ("REML", "knha"))
    assert g.chunk_size == 50_000 and g.level == 0.95  # the documented defaults


def test_unused_parameters_do_not_multiply_conditions():
    # sd does not apply to OR, baseline_risk not to MD: 2 measures x 2 values each -> 4, not 8
    g = parse_grid(_raw(measure=["MD", "OR"], k=5, tau2=0.0, sd=[1.0, 2.0],
                        baseline_risk=[0.1, 0.3]))
    assert len(g.conditions) == 4
    frame = g.condition_frame()
    assert frame["sd"].isna().sum() == 2 and frame["baseline_risk"].isna().sum() == 2


def test_distribution_of_n_gets_a_label():
    g = parse_grid(_raw(n=[30, {"dist": "uniform", "low": 20, "high": 200}], k=5, tau2=0.0))
    assert g.condition_frame()["n"].tolist() == ["30", "uniform(20, 200)"]


def test_hash_is_stable_and_changes_with_the_grid():
    assert parse_grid(_raw()).hash() == parse_grid(_raw()).hash()
    assert parse_grid(_raw()).hash() != parse_grid(_raw(effect=0.3)).hash()
    other = _raw()
    other["replicates"] = 101
    assert parse_grid(_raw()).hash() != parse_grid(other).hash()


def test_overrides_fill_top_level_keys():
    raw = _raw()
    del raw["replicates"]
    assert load_grid(raw, replicates=50, seed=None).replicates == 50


def test_toml_file(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text('replicates = 10\nseed = 3\nestimators = ["PM"]\n[conditions]\n'
                    'measure = "OR"\nk = 4\neffect = -0.5\ntau2 = 0.2\n'
                    'n = {dist = "uniform", low = 10, high = 50}\n'
                    'baseline_risk = {dist = "uniform", low = 0.1, high = 0.3}\n')
    g = load_grid(path)
    assert g.conditions[0]["n"] == {"dist": "uniform", "low": 10, "high": 50}
    assert g.tests == ("z",)


@pytest.mark.parametrize(("change", "error", "words"), [
    ({"measure": "XX"}, UnknownOptionError, "unknown measure 'XX'"),
    ({"tau2": [0.1, -0.01]}, InputError, "conditions.tau2 must be a number in"),
    # issue 18: tau2 = 1e300 was accepted and hung the engine; the engine's range is 1e50
    ({"tau2": 1e300}, InputError, "conditions.tau2 must be a number in"),
    ({"effect": -1e51}, InputError, "conditions.effect must be a number in"),
    ({"k": 1}, InputError, "conditions.k must be an integer >= 2"),
    ({"k": 2.5}, InputError, "conditions.k"),
    ({"n": 1}, InputError, "conditions.n"),
    ({"n": {"dist": "normal", "low": 2, "high": 3}}, InputError, "uniform"),
    ({"n": {"dist": "uniform", "low": 30, "high": 20}}, InputError, "low <= high"),
    ({"sd": 0}, InputError, "conditions.sd must be a finite number > 0"),
    ({"baseline_risk": 1.2}, InputError, "conditions.baseline_risk"),
    ({"effect": float("nan")}, InputError, "conditions.effect"),
    ({"effects": 0.1}, SpecError, "unknown key conditions.'effects'"),
])
def test_bad_conditions(change, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(".", r"\.")):
        parse_grid(_raw(**change))


@pytest.mark.parametrize(("key", "value", "error", "words"), [
    ("estimators", ["REML", "XYZ"], UnknownOptionError, "unknown estimator 'XYZ'"),
    ("tests", ["tt"], UnknownOptionError, "unknown test 'tt'"),
    ("replicates", 1, InputError, "replicates must be an integer >= 2"),
    ("seed", -1, InputError, "seed must be an integer >= 0"),
    ("level", 95, InputError, "level must be a number between 0 and 1"),
    ("chunk_size", 0, InputError, "chunk_size"),
    ("replicate", 10, SpecError, "unknown key 'replicate'"),
])
def test_bad_settings(key, value, error, words):
    raw = _raw()
    raw[key] = value
    with pytest.raises(error, match=words):
        parse_grid(raw)


def test_missing_keys_and_files(tmp_path):
    raw = _raw()
    del raw["seed"]
    with pytest.raises(SpecError, match="missing key 'seed'"):
        parse_grid(raw)
    raw = _raw()
    del raw["conditions"]["tau2"]
    with pytest.raises(SpecError, match="conditions.'tau2'"):
        parse_grid(raw)
    with pytest.raises(SpecError, match="does not exist"):
        load_grid(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("replicates = = 3")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_grid(bad)
