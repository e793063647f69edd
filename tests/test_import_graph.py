"""Issue 12: the import graph across babelface's layers (its subpackages and top-level modules)
has no cycle. Every import statement counts, the ones inside functions too: a lazy import is
still a dependency (``models.sync_expert`` importing ``babelface.sync`` back was the one cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "babelface"


def layer_of(module: str) -> str:
    """``babelface.models.muex`` → ``models``; ``babelface.sync`` → ``sync``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer_graph(root: Path = SRC) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        module = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        src = layer_of(module.removesuffix(".__init__"))
        edges = graph.setdefault(src, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            edges.update(layer_of(n) for n in names if n.startswith("babelface."))
        edges.discard(src)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path (first node repeated at the end), or None."""
    state: dict[str, int] = {}                          # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


# The console-script bootstrap (issue 17) starts the CLI, whose signal handling it provides: the
# one edge allowed to point back up (babelface._entry.main imports babelface.cli inside main()).
BOOTSTRAP_EDGES = {("_entry", "cli")}


def test_the_layers_import_each_other_without_a_cycle():
    graph = layer_graph()
    for src, dst in BOOTSTRAP_EDGES:
        graph.get(src, set()).discard(dst)
    assert {"models", "train", "pipeline", "sync", "media", "metrics"} <= graph.keys()
    assert "models" in graph["train"] and "media" in graph["models"]          # it sees real edges
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle across layers: " + " → ".join(cycle)


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
