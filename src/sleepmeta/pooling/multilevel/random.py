"""Random-effects formulas as metafor writes them, parsed by a strict grammar.

Nothing is evaluated: a formula is tokenised and checked against

.. code-block:: text

    formula := "~" lhs "|" outer
    lhs     := "1" | terms ["-" "1"] | terms ["+" "0"]
    terms   := name ("+" name)*
    outer   := name ("/" name)*          (nesting; only with lhs "1")

where ``name`` is a column name (letters, digits, ``_`` and ``.``, not
starting with a digit). ``"~ 1 | district/school"`` gives the nested
intercept terms ``district`` and ``district/school`` (one ``sigma2``
each, as metafor's ``~ 1 | district/school``); ``"~ outcome | study"`` is an
``inner | outer`` term whose covariance structure is set by ``struct`` (a
list of formulas may hold two such terms, as metafor's ``random = list(...)``
with ``struct = c(..., ...)``); for
``struct="GEN"`` the inner part lists random-slope covariates
(``"~ dose + dose2 - 1 | study"``), with an intercept unless ``- 1`` or
``+ 0`` removes it, as in an R model formula.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sleepmeta.errors import InputError

_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_.][A-Za-z0-9_.]*)|(?P<num>[0-9]+)|(?P<op>[~|/+\-]))")

__all__ = ["RandomTerm", "parse_random", "parse_random_list"]


@dataclass(frozen=True)
class RandomTerm:
    """One parsed term.

    ``inner`` is ``()`` for an intercept term (``~ 1 | f``), else the inner
    variable(s); ``outer`` the grouping factor(s) whose interaction defines
    the clusters (``("district", "school")`` for ``district/school``);
    ``intercept`` says whether a GEN inner part keeps an intercept.

    >>> parse_random("~ 1 | a/b")[1].outer
    ('a', 'b')
    """

    inner: tuple[str, ...]
    outer: tuple[str, ...]
    intercept: bool = True
    text: str = ""

    @property
    def is_intercept(self) -> bool:
        return not self.inner

    @property
    def columns(self) -> tuple[str, ...]:
        return self.inner + self.outer

    @property
    def label(self) -> str:
        """metafor's factor label (``district/school``; ``outcome | study``)."""
        outer = "/".join(self.outer)
        return outer if self.is_intercept else f"{' + '.join(self.inner)} | {outer}"


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise InputError(f"random={text!r}: unexpected character {text[pos:].strip()[:1]!r} "
                             "(allowed: column names, 1, 0, ~, |, /, +, -)")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def parse_random(formula: str) -> list[RandomTerm]:
    """Parse one random-effects formula into terms.

    >>> [t.label for t in parse_random("~ 1 | district/school")]
    ['district', 'district/school']
    >>> parse_random("~ outcome | trial")[0].inner
    ('outcome',)
    >>> parse_random("~ dose - 1 | study")[0].intercept
    False
    """
    if not isinstance(formula, str):
        raise InputError(f"random must be a string like '~ 1 | study', got {type(formula).__name__}")
    toks = _tokens(formula)
    where = f"random={formula!r}"
    if not toks or toks[0] != ("op", "~"):
        raise InputError(f"{where}: must start with '~' (e.g. '~ 1 | study')")
    bars = [i for i, t in enumerate(toks) if t == ("op", "|")]
    if len(bars) != 1:
        raise InputError(f"{where}: needs exactly one '|' between the effects and the grouping "
                         "factor (e.g. '~ 1 | study' or '~ outcome | study')")
    lhs, rhs = toks[1:bars[0]], toks[bars[0] + 1:]
    outer = _outer(rhs, where)
    if lhs == [("num", "1")]:
        return [RandomTerm((), tuple(outer[: i + 1]), True, formula) for i in range(len(outer))]
    inner, intercept = _inner(lhs, where)
    if len(outer) > 1:
        raise InputError(f"{where}: nesting with '/' is only allowed for '~ 1 | a/b' terms "
                         "(as in metafor)")
    return [RandomTerm(tuple(inner), tuple(outer), intercept, formula)]


def _outer(rhs, where) -> list[str]:
    if not rhs or rhs[0][0] != "name":
        raise InputError(f"{where}: a column name must follow '|'")
    names = [rhs[0][1]]
    i = 1
    while i < len(rhs):
        if rhs[i] != ("op", "/") or i + 1 >= len(rhs) or rhs[i + 1][0] != "name":
            raise InputError(f"{where}: after '|' write column names separated by '/', "
                             f"got {' '.join(v for _, v in rhs)!r}")
        names.append(rhs[i + 1][1])
        i += 2
    if len(set(names)) != len(names):
        raise InputError(f"{where}: a grouping column is repeated")
    return names


def _inner(lhs, where) -> tuple[list[str], bool]:
    intercept = True
    if len(lhs) >= 2 and lhs[-2:] in ([("op", "-"), ("num", "1")], [("op", "+"), ("num", "0")]):
        intercept = False
        lhs = lhs[:-2]
    names, expect_name = [], True
    for kind, val in lhs:
        if expect_name and kind == "name":
            names.append(val)
        elif not expect_name and (kind, val) == ("op", "+"):
            pass
        else:
            raise InputError(f"{where}: before '|' write '1' or column names joined by '+' "
                             "(optionally ending in '- 1'); got an unexpected "
                             f"{val!r}")
        expect_name = not expect_name
    if not names or expect_name:
        raise InputError(f"{where}: nothing (or a dangling '+') before '|'")
    if len(set(names)) != len(names):
        raise InputError(f"{where}: an inner variable is repeated")
    return names, intercept


def parse_random_list(random) -> list[RandomTerm]:
    """Parse a formula or a list of formulas (metafor's ``random = list(...)``).

    >>> [t.label for t in parse_random_list(["~ 1 | study", "~ outcome | study"])]
    ['study', 'outcome | study']

    Nested intercepts and two ``inner | outer`` terms (metafor's ``tau2``/``rho``
    and ``gamma2``/``phi`` terms):

    >>> [t.label for t in parse_random_list(["~ 1 | study/arm", "~ outcome | study",
    ...                                      "~ outcome | arm"])]
    ['study', 'study/arm', 'outcome | study', 'outcome | arm']
    """
    if isinstance(random, str):
        random = [random]
    terms: list[RandomTerm] = []
    for f in random:
        terms.extend(parse_random(f))
    inner_outer = [t for t in terms if not t.is_intercept]
    if len(inner_outer) > 2:
        raise InputError("random: at most two '~ inner | outer' terms are supported, as in "
                         f"metafor (got {', '.join(t.text for t in inner_outer)})")
    return terms
