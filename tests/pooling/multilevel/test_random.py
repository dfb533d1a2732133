"""The random-effects formula grammar (parsed, never evaluated)."""

from __future__ import annotations

import pytest

from sleepmeta.errors import InputError
from sleepmeta.pooling.multilevel.random import parse_random, parse_random_list


def test_nested_intercepts_any_depth():
    terms = parse_random("~ 1 | a/b/c")
    assert [t.label for t in terms] == ["a", "a/b", "a/b/c"]
    assert all(t.is_intercept for t in terms)


def test_inner_outer_and_slopes():
    t = parse_random("~ outcome | study")[0]
    assert t.inner == ("outcome",) and t.outer == ("study",) and t.intercept
    t = parse_random("~ dose + dose2 - 1 | study")[0]
    assert t.inner == ("dose", "dose2") and not t.intercept
    assert not parse_random("~ x + 0 | s")[0].intercept


@pytest.mark.parametrize("bad", ["", "~", "~ 1", "~ 1 | ", "1 | s", "~ 1 || s", "~ 1 | s | t",
                                 "~ x | a/b", "~ 1 | s/s", "~ f(x) | s", "~ x.y() | s",
                                 "~ 1 | s; 2", "~ 1 | `s`", "~ x + x | s", "~ + | s"])
def test_refused(bad):
    with pytest.raises(InputError):
        parse_random(bad)


def test_at_most_two_inner_outer_terms():
    # metafor's rma.mv takes two 'inner | outer' terms (tau2/rho and gamma2/phi), not three
    with pytest.raises(InputError, match="at most two"):
        parse_random_list(["~ a | s", "~ b | s", "~ c | t"])
    assert len(parse_random_list(["~ a | s", "~ b | s"])) == 2
    assert len(parse_random_list(["~ 1 | s", "~ a | s"])) == 2
