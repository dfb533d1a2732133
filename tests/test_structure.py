"""The shape of the source tree: no import cycle, small modules, private stays private.

The import graph is built from the source with :mod:`ast` (every ``import``
and ``from ... import`` in a module, also those inside functions, since a
cycle through a lazy import is still a cycle), so the test needs nothing to
be importable.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "sleepmeta"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path):
    """``(target module, imported names)`` for every import of a sleepmeta module in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sleepmeta":
                    yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([base] if base else []))
            if base.split(".")[0] != "sleepmeta":
                continue
            plain = []
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in MODULES:
                    yield sub, ()
                else:
                    plain.append(alias.name)
            if plain:
                yield base, tuple(plain)


def import_graph() -> dict[str, set[str]]:
    """Module -> the sleepmeta modules it imports (anywhere in its source)."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        graph[name] = {t for t, _ in _imports(name, path) if t in MODULES and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_lazy_imports():
    # MetaResult's diagnostic methods import their modules when called
    assert "sleepmeta.pooling.bias" in import_graph()["sleepmeta.pooling.result"]


def test_no_import_cycle_in_sleepmeta():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_pooling_module_imports_the_public_entry_point():
    # engine -> results -> diagnostics -> public API: no module imports api (the package
    # names it in its table of lazy exports; others import ``sleepmeta.pooling``)
    graph = import_graph()
    assert sorted(m for m, targets in graph.items() if "sleepmeta.pooling.api" in targets) == []
    for low in ("engine", "estimators", "result", "bias", "trimfill", "members", "augment"):
        assert "sleepmeta.pooling" not in graph[f"sleepmeta.pooling.{low}"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_small(name):
    n = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{name} has {n} lines (at most {MAX_LINES})"


def test_private_names_are_not_imported_across_modules():
    bad = []
    for name, path in MODULES.items():
        for target, names in _imports(name, path):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private:
                bad.append(f"{name} imports {', '.join(private)} from {target}")
            last = target.rsplit(".", 1)[-1]
            if last.startswith("_") and not last.startswith("__"):
                owner = target.rsplit(".", 1)[0]
                if not (name == owner or name.startswith(owner + ".")):
                    bad.append(f"{name} imports the private module {target}")
    assert not bad, "\n".join(bad)


def test_every_public_pooling_function_and_class_has_a_doctest_example():
    import importlib
    import inspect

    missing = []
    for name in sorted(MODULES):
        if not name.startswith("sleepmeta.pooling.") or name.rsplit(".", 1)[1].startswith("__"):
            continue
        module = importlib.import_module(name)
        public = getattr(module, "__all__", None) or [
            n for n in vars(module) if not n.startswith("_")]
        for attr in public:
            obj = getattr(module, attr)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if obj.__module__ != name:
                continue
            if ">>>" not in (inspect.getdoc(obj) or ""):
                missing.append(f"{name}.{attr}")
    assert not missing, "no doctest example: " + ", ".join(missing)
