"""Paths a spec names: inside the spec's folder, or a SpecError naming the key."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sleepmeta.errors import SpecError
from sleepmeta.review.paths import allowed_roots, review_path


def test_relative_paths_inside_are_resolved(tmp_path):
    (tmp_path / "t").mkdir()
    assert review_path(tmp_path, "t/../e.csv", "data.efficacy[0]") == tmp_path.resolve() / "e.csv"


def test_the_message_names_the_key_and_how_to_allow(tmp_path):
    with pytest.raises(SpecError) as err:
        review_path(tmp_path, "../x.csv", "data.harms[2]")
    assert str(err.value).startswith("data.harms[2]: '../x.csv' is outside")
    assert "--allow-outside" in str(err.value)


def test_allow_outside_accepts_one_path_or_several(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    base = tmp_path / "rev"
    base.mkdir()
    assert review_path(base, "../other/x.csv", "k", allow_outside=other) == \
        other.resolve() / "x.csv"
    assert allowed_roots([str(other), other]) == (other.resolve(), other.resolve())


@pytest.mark.parametrize("name", ["", "   ", "a\x00b", None, 3])
def test_not_a_file_name_is_refused(tmp_path, name):
    with pytest.raises(SpecError, match="data.notes"):
        review_path(tmp_path, name, "data.notes[0]")


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["..", ".", "a", "b", "~", "/", "proc", "self", "environ",
                                 "link", "", "etc"]), max_size=6))
def test_fuzz_resolved_paths_stay_inside_or_are_refused(tmp_path, parts):
    base = tmp_path / "rev"
    (base / "a").mkdir(parents=True, exist_ok=True)
    if not (base / "link").exists():
        os.symlink(tmp_path, base / "link")  # a link leading out of the folder
    name = "/".join(parts)
    try:
        got = review_path(base, name, "data.notes[0]")
    except SpecError as exc:
        assert str(exc).startswith("data.notes[0]: ")
        return
    assert got == base.resolve() or got.is_relative_to(base.resolve())
