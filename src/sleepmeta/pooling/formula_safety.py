"""Moderator formulas parsed into a safe subset before formulaic evaluates them.

formulaic evaluates every term of a formula as Python, so a formula from a shared
review spec, a command-line flag or an API string could otherwise run any code
(``I(x.__class__.__init__.__globals__[...])``). Every formula is therefore parsed
here first -- the operators by a small tokenizer, each term by Python's :mod:`ast`
(never evaluated) -- and only a formula of allowed pieces reaches formulaic.

Allowed
-------
* column names (``dose_mg``, or any name in backticks: ```daily dose```);
* numeric literals (``0``, ``1``, ``2.5``);
* the formula operators ``~ + - * / : ** ^`` and parentheses;
* ``C(column)`` (a factor);
* ``I(...)`` of arithmetic on columns and numbers: ``+ - * / **``;
* ``np.log``, ``np.log2``, ``np.log10``, ``np.exp``, ``np.sqrt``, ``np.abs``
  and ``log``, ``log2``, ``log10``, ``exp`` of such arithmetic;
* ``scale(...)``, ``center(...)`` and splines ``bs``, ``cr``, ``cs``, ``cc``,
  ``poly`` of such arithmetic (integer ``df``/``degree``, boolean ``include_intercept``).

Everything else -- attribute access, subscripts, strings, other calls, lambdas,
comprehensions, dunder names, a left-hand side, formulaic's ``.``, ``|`` and
``%in%`` -- is refused with a :class:`~sleepmeta.errors.FormulaError` naming the term.
"""

from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass

import numpy as np

from sleepmeta.errors import ColumnError, FormulaError, InputError

MAX_LENGTH = 2000
MAX_TERMS = 10_000
_MAX_POWER = 5
_MAX_DEPTH = 50
_MATH = frozenset({"np.log", "np.log2", "np.log10", "np.exp", "np.sqrt", "np.abs",
                   "log", "log2", "log10", "exp"})
_ONE_ARG = frozenset({"I", "scale", "center"}) | _MATH
_SPLINES = {"bs": {"df", "degree", "include_intercept"}, "cr": {"df"}, "cs": {"df"},
            "cc": {"df"}, "poly": {"degree"}}
ALLOWED_CALLS = tuple(sorted(_ONE_ARG | set(_SPLINES) | {"C"}))
_OPS = {"+": 100, "-": 100, "*": 200, "/": 200, ":": 300, "**": 500, "^": 500}
_ARITH = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<op>\*\*|[~+\-*/:^()])
  | (?P<quoted>`[^`\n]*`)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
""", re.VERBOSE)


@dataclass(frozen=True)
class SafeFormula:
    """A formula that passed the safe-subset check.

    ``text`` is the formula rebuilt from its parsed pieces (this, not the
    user's string, is what formulaic sees); ``variables`` the column names it
    uses, in order of appearance.

    >>> parse_formula("~ dose + C(g)", ["dose", "g"]).variables
    ('dose', 'g')
    """

    text: str
    variables: tuple[str, ...]


def parse_formula(formula, columns=None, *, where: str = "mods") -> SafeFormula:
    """Check a one-sided moderator formula against the safe subset.

    Parameters
    ----------
    formula : str
        A formula such as ``"~ dose_mg + C(condition)"`` (the ``~`` is optional).
    columns : iterable of str, optional
        The columns of the data; when given, every name must be one of them.
    where : str
        What to call the formula in messages (``"mods"``, ``"--mods"``, a spec key).

    Returns
    -------
    SafeFormula

    Raises
    ------
    FormulaError
        A term outside the safe subset, named in the message.
    ColumnError
        A name that is not one of ``columns``.

    Examples
    --------
    >>> parse_formula("~ log(dose) + C(condition)").variables
    ('dose', 'condition')
    >>> parse_formula("~ I(x**2)").text
    '~ I(x ** 2)'
    >>> parse_formula("~ I(x.__class__)")
    Traceback (most recent call last):
    ...
    sleepmeta.errors.FormulaError: mods: term 'I(x.__class__)' is not allowed: attribute access 'x.__class__' (allowed: column names, numbers, + - * / : ** ^, C(), I(), np.log/log, np.exp/exp, np.sqrt, scale, center, bs/cr/cs/cc/poly splines)
    """
    if not isinstance(formula, str):
        raise InputError(f"{where}: a formula must be a string, got {type(formula).__name__}")
    if len(formula) > MAX_LENGTH:
        raise FormulaError(f"{where}: the formula has {len(formula)} characters; "
                           f"at most {MAX_LENGTH} are allowed")
    parser = _Parser(_tokenize(formula, where), where, None if columns is None
                     else {str(c) for c in columns})
    return parser.formula()


def _tokenize(formula: str, where: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(formula):
        m = _TOKEN.match(formula, pos)
        if m is None:
            raise _refuse(where, formula, f"the character {formula[pos]!r} (position {pos + 1})")
        kind, text = m.lastgroup, m.group()
        pos = m.end()
        if kind == "name" and pos < len(formula) and formula[pos:].lstrip().startswith("("):
            start = formula.index("(", pos)
            end = _matching_paren(formula, start, where, text)
            kind, text, pos = "call", text + formula[start:end + 1], end + 1
        if kind != "space":
            tokens.append((kind, text))
    return tokens


def _matching_paren(formula: str, start: int, where: str, head: str) -> int:
    depth, quote, i = 0, None, start
    while i < len(formula):
        c = formula[i]
        if quote:
            i += 2 if c == "\\" else 1  # skip the escaped character
            quote = None if c == quote else quote
            continue
        if c in "'\"":
            quote = c
        depth += (c == "(") - (c == ")")
        if depth == 0:
            return i
        i += 1
    raise FormulaError(f"{where}: term {formula[start - len(head):]!r} has an unclosed '('")


class _Parser:
    """Precedence climbing over formula tokens (operators as formulaic binds them)."""

    def __init__(self, tokens, where, columns):
        self.tokens, self.i, self.where, self.columns = tokens, 0, where, columns
        self.variables: list[str] = []

    def formula(self) -> SafeFormula:
        if self._peek() == ("op", "~"):
            self.i += 1
        elif any(t == ("op", "~") for t in self.tokens):
            lhs = " ".join(t for _, t in self.tokens[:self.tokens.index(("op", "~"))])
            raise FormulaError(f"{self.where}: a moderator formula is one-sided ('~ x'); "
                               f"remove the left-hand side {lhs!r}")
        if self.i >= len(self.tokens):
            raise FormulaError(f"{self.where}: the formula has no terms (e.g. '~ dose_mg')")
        text, _ = self._expr(0, 0)
        if self.i < len(self.tokens):
            raise FormulaError(f"{self.where}: unexpected {self.tokens[self.i][1]!r} after "
                               f"{text!r}")
        return SafeFormula("~ " + text, tuple(dict.fromkeys(self.variables)))

    def _peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def _expr(self, min_prec: int, depth: int) -> tuple[str, int]:
        """The text of the expression and an upper bound on the terms it expands to."""
        if depth > _MAX_DEPTH:
            raise FormulaError(f"{self.where}: the formula nests deeper than {_MAX_DEPTH} levels")
        left, n_left = self._prefix(depth)
        while True:
            kind, op = self._peek()
            if kind != "op" or op not in _OPS or _OPS[op] < min_prec:
                return left, n_left
            self.i += 1
            right_assoc = op in ("**", "^")
            right, n_right = self._expr(_OPS[op] + (0 if right_assoc else 1), depth + 1)
            if right_assoc:
                power = _small_int(right)
                if power is None:
                    raise FormulaError(f"{self.where}: the power in {left + ' ' + op + ' ' + right!r}"
                                       f" must be an integer from 1 to {_MAX_POWER}")
                n_left = (n_left + 1) ** power
            elif op == "*":
                n_left = n_left + n_right + n_left * n_right
            elif op == ":":
                n_left = n_left * n_right
            else:
                n_left = n_left + n_right
            left = f"{left} {op} {right}"
            if n_left > MAX_TERMS:
                raise FormulaError(f"{self.where}: {left!r} expands to more than {MAX_TERMS} "
                                   "terms")

    def _prefix(self, depth: int) -> tuple[str, int]:
        kind, text = self._peek()
        self.i += 1
        if kind is None:
            raise FormulaError(f"{self.where}: the formula ends after an operator")
        if kind == "op" and text == "(":
            inner, n = self._expr(0, depth + 1)
            if self._peek() != ("op", ")"):
                raise FormulaError(f"{self.where}: '(' before {inner!r} is not closed")
            self.i += 1
            return f"({inner})", n
        if kind == "op" and text in "+-":
            inner, n = self._expr(_OPS["+"] + 1, depth + 1)
            return f"{text}{inner}", n
        if kind == "op":
            raise FormulaError(f"{self.where}: operator {text!r} where a term was expected")
        if kind == "number":
            return text, 1
        if kind in ("name", "quoted"):
            name = text[1:-1] if kind == "quoted" else text
            self._column(name, text, quoted=kind == "quoted")
            return (text if kind == "name" else "`" + name + "`"), 1
        return self._call(text), 1

    def _column(self, name: str, term: str, quoted: bool = False) -> None:
        if kind_error := _bad_name(name, quoted):
            raise _refuse(self.where, term, kind_error)
        if self.columns is not None and name not in self.columns:
            inside = "" if name == term.strip("`") else f" (in term {term!r})"
            raise ColumnError(f"{self.where}: {name!r}{inside} is not a column of data; "
                              f"columns: {', '.join(sorted(self.columns))}")
        self.variables.append(name)

    def _call(self, term: str) -> str:
        try:
            node = ast.parse(term, mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            raise _refuse(self.where, term, "not a valid expression") from None
        checker = _TermChecker(self, term)
        checker.call(node, top=True)
        return ast.unparse(node)


class _TermChecker:
    """Walks one term's Python AST; anything not explicitly allowed is refused."""

    def __init__(self, parser: _Parser, term: str):
        self.parser, self.term, self.depth = parser, term, 0

    def refuse(self, what: str):
        return _refuse(self.parser.where, self.term, what)

    def call(self, node, top: bool = False) -> None:
        if not isinstance(node, ast.Call):
            raise self.refuse(_describe(node))
        name = _dotted(node.func)
        if isinstance(node.func, ast.Attribute) and name not in _MATH:
            raise self.refuse(f"attribute access {ast.unparse(node.func)!r}")
        if name is None:
            raise self.refuse(f"a call of {ast.unparse(node.func)!r}")
        if name not in ALLOWED_CALLS or (not top and name not in _MATH):
            raise self.refuse(f"a call of {name!r}")
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
                kw.arg is None for kw in node.keywords):
            raise self.refuse("* or ** arguments")
        if name == "C":
            if len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.Name):
                raise self.refuse("C() takes one column name")
            self.parser._column(node.args[0].id, self.term)
            return
        allowed_kw = _SPLINES.get(name, set())
        if len(node.args) != 1:
            raise self.refuse(f"{name}() takes one argument")
        for kw in node.keywords:
            if kw.arg not in allowed_kw:
                raise self.refuse(f"keyword {kw.arg!r} of {name}()")
            value = kw.value
            ok = isinstance(value, ast.Constant) and (
                isinstance(value.value, bool) if kw.arg == "include_intercept"
                else type(value.value) is int and 0 < value.value <= 50)
            if not ok:
                raise self.refuse(f"{name}({kw.arg}=...) must be "
                                  + ("True or False" if kw.arg == "include_intercept"
                                     else "an integer from 1 to 50"))
        self.arith(node.args[0])

    def arith(self, node) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.refuse(f"nesting deeper than {_MAX_DEPTH} levels")
        if isinstance(node, ast.Name):
            self.parser._column(node.id, self.term)
        elif isinstance(node, ast.Constant):
            if type(node.value) not in (int, float):
                raise self.refuse(_describe(node))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            self.arith(node.operand)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, _ARITH):
            if isinstance(node.op, ast.Pow) and _constant_only(node.left):
                raise self.refuse(f"a power of a number ({ast.unparse(node)!r}); "
                                  "write the number itself")
            self.arith(node.left)
            self.arith(node.right)
        elif isinstance(node, ast.Call):
            self.call(node)
        else:
            raise self.refuse(_describe(node))
        self.depth -= 1


def _small_int(text: str) -> int | None:
    return int(text) if text.isdigit() and 1 <= int(text) <= _MAX_POWER else None


def _constant_only(node) -> bool:
    return all(not isinstance(n, (ast.Name, ast.Call)) for n in ast.walk(node))


def _dotted(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def _bad_name(name: str, quoted: bool = False) -> str | None:
    if "__" in name:
        return f"the dunder name {name!r}"
    if not name or not name.isprintable():
        return "an empty or non-printable column name"
    if not quoted and keyword.iskeyword(name):
        return f"the Python keyword {name!r}"
    if not quoted and "." in name:
        return f"attribute access {name!r} (a column name with a dot goes in backticks)"
    return None


_KINDS = {ast.Attribute: "attribute access", ast.Subscript: "a subscript",
          ast.Lambda: "a lambda", ast.Constant: "a literal", ast.Compare: "a comparison",
          ast.BoolOp: "a boolean operator", ast.NamedExpr: "an assignment",
          ast.IfExp: "a conditional", ast.JoinedStr: "a string", ast.List: "a list",
          ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set"}


def _describe(node) -> str:
    if isinstance(node, (ast.BinOp, ast.UnaryOp)):
        return f"the operator {type(node.op).__name__} {ast.unparse(node)!r}"
    kind = _KINDS.get(type(node), f"a {type(node).__name__} expression")
    return f"{kind} {ast.unparse(node)!r}"


def _refuse(where: str, term: str, what: str) -> FormulaError:
    return FormulaError(
        f"{where}: term {term!r} is not allowed: {what} (allowed: column names, numbers, "
        "+ - * / : ** ^, C(), I(), np.log/log, np.exp/exp, np.sqrt, scale, center, "
        "bs/cr/cs/cc/poly splines)")


def formula_model_matrix(formula, data, *, where: str = "mods"):
    """formulaic's model matrix (its ``model_spec`` builds the same columns for new data).

    The one place sleepmeta hands a user's formula to formulaic: the formula is
    checked against ``data``'s columns (:func:`parse_formula`), rebuilt from its
    parsed pieces and evaluated with no caller context.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"dose": [1.0, 2.0, 4.0], "g": ["a", "b", "a"]})
    >>> list(formula_model_matrix("~ np.log(dose) + C(g)", d).columns)
    ['Intercept', 'np.log(dose)', 'C(g)[T.b]']
    """
    import formulaic
    from formulaic.errors import FormulaicError

    safe = parse_formula(formula, data.columns, where=where)
    try:
        with np.errstate(all="ignore"):  # a non-finite value is the caller's to report
            return formulaic.model_matrix(safe.text, data, na_action="raise", context={})
    except (FormulaicError, ValueError, TypeError, ArithmeticError, LookupError,
            AttributeError, RecursionError) as exc:  # formulaic's own failures, typed here
        raise InputError(f"{where}: cannot build the model from {formula!r}: {exc}") from None
