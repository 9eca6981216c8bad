"""The import graph of src/tether has no circle, counting every import: top level, under
``TYPE_CHECKING`` and inside functions (a package ``__init__`` re-exporting its modules aside,
as ``from tether import X`` names the package, not a module). And the engine reads agents
through ``tether._spec.AgentSpec``: only agent.py imports both the configuration and the Runner.
"""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import tether

SRC = Path(tether.__file__).parent.parent


def _modules() -> dict[str, tuple[Path, list[str]]]:
    mods: dict[str, tuple[Path, list[str]]] = {}
    for path in sorted(SRC.rglob("tether/**/*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        package = parts[:-1]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = (path, package)
    return mods


@functools.cache
def import_edges() -> frozenset[tuple[str, str]]:
    """(importer, imported) for every ``from ... import`` of a tether module, wherever it is."""
    mods = _modules()
    edges: set[tuple[str, str]] = set()
    for name, (path, package) in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges.update(
                    (name, a.name) for a in node.names if a.name in mods and a.name != name
                )
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found = full if full in mods else target if target in mods else None
                if found and found != name and found.startswith("tether"):
                    edges.add((name, found))
    return frozenset(edges)


def circles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (each a circle of imports)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for nxt in graph[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reached = {v: reach(v) for v in list(graph)}
    groups = {
        frozenset({v} | {w for w in reached[v] if v in reached.get(w, ())})
        for v in reached
        if v in reached[v]
    }
    return sorted((sorted(g) for g in groups), key=len, reverse=True)


def test_the_probe_sees_a_circle_when_there_is_one() -> None:
    assert circles({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == [["a", "b", "c"]]
    assert circles({("a", "b"), ("b", "c")}) == []


def test_no_import_circle_among_tether_modules() -> None:
    edges = import_edges()
    assert ("tether.agent", "tether.run.runner") in edges  # the probe sees in-function imports
    assert ("tether.engine.loop", "tether._spec") in edges  # and TYPE_CHECKING ones
    assert circles(edges) == []


def test_only_agent_py_knows_both_the_agent_and_the_runner() -> None:
    engine = (
        "tether.engine",
        "tether.run",
        "tether.policies",
        "tether.context",
        "tether.tools",
        "tether.handoffs",
    )
    edges = import_edges()
    into_agent = sorted(a for a, b in edges if b == "tether.agent" and a.startswith(engine))
    assert into_agent == []
    assert not any(a == "tether.agent" for a, b in edges if b.startswith("tether.engine.loop"))


def test_replay_reads_no_private_member_of_another_object() -> None:
    trees = [ast.parse(p.read_text()) for p in sorted((SRC / "tether" / "replay").glob("*.py"))]
    assert len(trees) > 1  # the package is where replay lives
    private = sorted(
        f"{ast.unparse(node.value)}.{node.attr}"
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and ast.unparse(node.value) != "self"
    )
    assert private == []


def test_production_code_does_not_import_the_test_models() -> None:
    importers = sorted(a for a, b in import_edges() if b == "tether.models.testing")
    # the package face re-exports them; the "test" model string resolves to TestModel; the
    # routekitai compatibility layer offers tether's FakeModel under routekitai's name
    assert importers == ["tether.compat.routekitai", "tether.models", "tether.models._strings"]


ENGINE_PACKAGES = ("tether.config", "tether.engine", "tether.replay", "tether.run")


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_the_engine_packages_import_each_other_one_way() -> None:
    """config at the bottom, then engine, then replay, then run (the Runner): no package of the
    four imports one above it (replay and run both read the run's record from config)."""
    edges = {
        (_package(a), _package(b))
        for a, b in import_edges()
        if _package(a) in ENGINE_PACKAGES and _package(b) in ENGINE_PACKAGES
    }
    edges = {(a, b) for a, b in edges if a != b}
    assert ("tether.run", "tether.replay") in edges  # the probe sees the Runner's replay
    assert circles(edges) == []
    upward = sorted((a, b) for a, b in edges if ENGINE_PACKAGES.index(a) < ENGINE_PACKAGES.index(b))
    assert upward == []
