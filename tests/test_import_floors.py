"""The code's floors, read from the import graph: no arrow up, no circle (docs/architecture.md).

Every ``import`` counts, at module level or inside a function, under ``if TYPE_CHECKING`` or not,
and so does ``importlib.import_module("a.literal.name")``. There is no list of exceptions.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pose_search", "training", "indexing", "ui", "cluster", "pose_search_app")

# low -> high: a module imports from its own floor and the floors below it, never above
FLOORS: tuple[tuple[str, ...], ...] = (
    ("pose_search", "pose_search.config", "pose_search.files", "pose_search.messages", "pose_search.resources",
     "pose_search.storage", "pose_search.checkpoint", "pose_search.losses", "pose_search.body",
     "pose_search.metrics", "pose_search.run_layout"),
    ("pose_search.data",),
    ("pose_search.models",),
    ("pose_search.runs", "pose_search.query", "pose_search.commands"),
    ("training", "indexing"),
    ("ui",),
    ("pose_search_app",),
)
LIBRARY_TOP = 3  # floors 0-3 are the library: they never import the application stack
APPLICATION_STACK = ("ray", "gradio", "faiss", "lancedb")
CLUSTER_MAY_IMPORT = {"pose_search", "pose_search.config"}  # cluster/ needs only the config (+ Ray)


def modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under the packages."""
    found = {}
    for pkg in packages:
        for f in sorted((root / pkg).rglob("*.py")):
            parts = list(f.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = f
    return found


def imported_names(name: str, path: Path) -> Iterator[str]:
    """Every dotted name ``path`` (module ``name``) imports, wherever the statement stands."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            # ``from pkg import x``: the submodule pkg.x when there is one, else pkg (the caller
            # walks a name back to the module that holds it)
            yield from (f"{base}.{a.name}" for a in node.names)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield node.args[0].value


@functools.cache
def import_graph(root: Path, packages: tuple[str, ...]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(first-party edges module -> modules, third-party top-level names per module)."""
    mods = modules(root, packages)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    external: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        for target in imported_names(m, path):
            if target.split(".")[0] not in packages:
                external[m].add(target.split(".")[0])
                continue
            while target and target not in mods:  # a name inside a module -> the module
                target = target.rpartition(".")[0]
            if target and target != m:
                edges[m].add(target)
    return edges, external


def floor_of(module: str, floors: tuple[tuple[str, ...], ...] = FLOORS) -> int | None:
    """The floor of the longest prefix of ``module`` that a floor names (None: unplaced)."""
    best = (-1, None)
    for level, names in enumerate(floors):
        for n in names:
            if (module == n or module.startswith(n + ".")) and len(n) > best[0]:
                best = (len(n), level)
    return best[1]


def upward(edges: dict[str, set[str]], floors: tuple[tuple[str, ...], ...] = FLOORS) -> list[str]:
    return [f"{a} (floor {floor_of(a, floors)}) imports {b} (floor {floor_of(b, floors)})"
            for a, targets in sorted(edges.items()) for b in sorted(targets)
            if floor_of(b, floors) > floor_of(a, floors)]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_every_module_has_a_floor_and_no_import_goes_up():
    edges, _ = import_graph(ROOT, PACKAGES)
    assert len(edges) > 150
    unplaced = sorted(m for m in edges if floor_of(m) is None and not m.startswith("cluster"))
    assert not unplaced, f"modules on no floor (add them to FLOORS): {unplaced}"
    assert not upward({a: t for a, t in edges.items() if not a.startswith("cluster")}), "\n".join(upward(edges))


def test_no_import_cycle():
    edges, _ = import_graph(ROOT, PACKAGES)
    assert not cycles(edges), cycles(edges)


def test_cluster_needs_only_the_config_and_the_library_no_application_stack():
    edges, external = import_graph(ROOT, PACKAGES)
    for m, targets in edges.items():
        if m.startswith("cluster"):
            assert {t for t in targets if not t.startswith("cluster")} <= CLUSTER_MAY_IMPORT, (m, targets)
        if floor_of(m) is not None and floor_of(m) <= LIBRARY_TOP:
            assert not external[m] & set(APPLICATION_STACK), (m, external[m] & set(APPLICATION_STACK))


def test_the_check_finds_an_arrow_up_and_a_circle(tmp_path):
    """The checker on a made-up tree: an import inside a function, a relative one, an
    ``import_module`` by name and a type-only one are all seen."""
    files = {
        "low/__init__.py": "",
        "low/a.py": "def f():\n    from high import b\n",
        "low/c.py": "from . import d\n",
        "low/d.py": "import importlib\nimportlib.import_module('low.c')\n",
        "high/__init__.py": "",
        "high/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import low.a\nimport gradio\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    edges, external = import_graph(tmp_path, ("low", "high"))
    floors = (("low",), ("high",))
    assert upward(edges, floors) == ["low.a (floor 0) imports high.b (floor 1)"]
    assert sorted(cycles(edges)) == [["high.b", "low.a"], ["low.c", "low.d"]]
    assert external["high.b"] == {"typing", "gradio"}
