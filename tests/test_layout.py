"""The floor plan stays as drawn: no import circles between modules or between the
harness's rooms (subpackages), and methods/ and spaces/ never import the harness.
Imports are read with ast, so nothing is imported to check them."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nasbench_suite", "methods", "spaces")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project modules a file imports, at any depth (lazy imports in functions count:
    a circle through them is still a circle)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import sub` imports the submodule pkg.sub where one exists
            names = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in known] or [node.module]
        else:
            continue
        found |= {n for n in names if n in known}
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph as a list of nodes (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def module_graph() -> dict[str, set[str]]:
    modules = all_modules()
    known = set(modules)
    # importing a.b.c runs a/__init__ and a/b/__init__ too, but those are docstrings only here
    return {name: imports_of(path, known) - {name} for name, path in modules.items()}


def room(module: str) -> str:
    """nasbench_suite.search.loop -> nasbench_suite.search; top-level modules are their own room."""
    parts = module.split(".")
    return ".".join(parts[:2])


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"a"}}) == ["a", "a"]


def test_the_graph_sees_lazy_and_from_imports():
    graph = module_graph()
    assert "nasbench_suite.search.lifecycle" in graph["nasbench_suite.search.command"]  # imported inside main()
    assert "nasbench_suite.report.published" in graph["nasbench_suite.report.leaderboard"]  # from pkg import module


def test_no_module_import_circles():
    assert find_cycle(module_graph()) is None


def test_rooms_depend_one_way():
    graph: dict[str, set[str]] = {}
    for module, deps in module_graph().items():
        graph.setdefault(room(module), set()).update(room(d) for d in deps if room(d) != room(module))
    assert find_cycle(graph) is None


def test_methods_and_spaces_know_nothing_of_the_harness():
    for module, deps in module_graph().items():
        if module.split(".")[0] in ("methods", "spaces"):
            assert not {d for d in deps if d.startswith("nasbench_suite")}, module


def test_subpackage_inits_import_nothing():
    """`import nasbench_suite.nb201.lookup` must not pull torch in through a room's __init__."""
    for init in (ROOT / "nasbench_suite").rglob("__init__.py"):
        tree = ast.parse(init.read_text())
        assert not [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))], init
