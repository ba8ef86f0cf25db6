"""The layout rules, checked on the source: no import circle among our packages, modules and
functions of a readable size, and data flowing one way: ``store`` and ``prompts`` never reach up
into ``agent``, and inside ``agent`` no module imports a layer above its own (AGENT_LAYERS).

Imports are read with ``ast``, so every import counts: those inside functions (lazy imports for
a fast CLI) and under ``if TYPE_CHECKING:`` too; a circle hidden in either still couples the
modules. ``from x import y`` is an import of module ``x.y`` when that is one of ours.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("agent", "store", "cli", "prompts")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
MAX_AGENT_TOP_MODULES = 12
MAX_STORE_TOP_MODULES = 12
#: The error tree's root: it imports nothing, and every layer may import it (prompts too), so
#: what a lower layer raises is a paperbrief error with a hint and an exit code.
ERROR_ROOT = "store.errors"

#: agent/'s layers, lowest first, by folder or top-level module (``__init__`` is the package's
#: public names): a module may import its own layer and the ones below, never one above (cli ->
#: agent -> store/prompts is checked separately). A new folder or top-level module of agent/
#: must be placed here, so where it sits is a decision, not an accident.
AGENT_LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("_version", "errors")),
    ("records and settings", ("models", "dates", "config")),
    ("bridge to store/", ("storage", "lock")),
    ("clients", ("llm", "sources")),
    ("texts", ("summaries", "ingest", "fulltext")),
    ("library files", ("library",)),
    ("readers", ("profiles",)),
    ("capabilities", ("digest", "qa")),
    ("facade", ("services", "pipeline")),
    ("workflows over the facade", ("daily", "backfill", "onboarding", "serve", "webhooks")),
    ("public names", ("__init__",)),
)


def module_files(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the packages."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    """The absolute module an ImportFrom names, resolving ``from . import`` and friends."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()  # a plain module's level 1 is its package
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: str, path: Path, modules: set[str]) -> set[str]:
    """Every module ``module`` imports (ours and third-party), anywhere in its file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node, path.name == "__init__.py")
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in modules else target)
    out.discard(module)
    return out


def import_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports."""
    files = module_files(root, packages)
    names = set(files)
    return {name: imports_of(name, path, names) & names for name, path in files.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected component (Tarjan), as a path a -> ... -> a."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_path(graph, component) for component in components]


def _cycle_path(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest circle through the component's first module (breadth-first)."""
    start = min(component)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & component):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [*reversed(path), start]
                if nxt not in parents:
                    parents[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no circle through {start}")  # a component always has one


def _describe(cycles: list[list[str]]) -> str:
    return "\n".join(" -> ".join(cycle) for cycle in cycles)


# --- the rules ------------------------------------------------------------------------------------
def test_no_import_cycle():
    cycles = find_cycles(import_graph(REPO))
    assert not cycles, "import circles:\n" + _describe(cycles)


def test_no_module_over_the_line_limit():
    too_long = {
        name: n
        for name, path in module_files(REPO).items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines: {too_long}"


def test_no_function_over_the_line_limit():
    too_long = {}
    for name, path in module_files(REPO).items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long[f"{name}.{node.name} (line {node.lineno})"] = lines
    assert not too_long, f"functions over {MAX_FUNCTION_LINES} lines: {too_long}"


def test_agent_top_level_stays_small():
    top = sorted(p.name for p in (REPO / "agent").glob("*.py"))
    assert len(top) <= MAX_AGENT_TOP_MODULES, f"{len(top)} modules directly in agent/: {top}"


def test_the_error_root_imports_nothing_of_ours():
    files = module_files(REPO)
    assert not imports_of(ERROR_ROOT, files[ERROR_ROOT], set(files)) & set(files)


def test_store_top_level_stays_small():
    top = sorted(p.name for p in (REPO / "store").glob("*.py"))
    assert len(top) <= MAX_STORE_TOP_MODULES, f"{len(top)} modules directly in store/: {top}"


@pytest.mark.parametrize(
    ("package", "forbidden"), [("store", ("agent", "prompts")), ("prompts", ("agent", "store"))]
)
def test_lower_layers_do_not_import_upwards(package, forbidden):
    files = module_files(REPO, (package,))
    bad = {
        name: sorted(
            imp
            for imp in imports_of(name, path, set(files))
            if imp.split(".")[0] in forbidden and imp != ERROR_ROOT
        )
        for name, path in files.items()
    }
    bad = {name: imps for name, imps in bad.items() if imps}
    assert not bad, f"{package} must import none of {forbidden}: {bad}"


def agent_unit(module: str) -> str | None:
    """The layer unit of an agent/ module: its folder or top-level module (``digest`` for
    ``agent.digest.flow``), ``__init__`` for the package itself; None outside agent/."""
    parts = module.split(".")
    if parts[0] != "agent":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def layer_of(module: str) -> int | None:
    unit = agent_unit(module)
    return next((n for n, (_, units) in enumerate(AGENT_LAYERS) if unit in units), None)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Each import inside agent/ from a lower layer to a higher one, as ``a -> b`` lines."""
    found = []
    for module, imported in sorted(graph.items()):
        mine = layer_of(module)
        for target in sorted(imported):
            theirs = layer_of(target)
            if mine is not None and theirs is not None and theirs > mine:
                upper, lower = AGENT_LAYERS[theirs][0], AGENT_LAYERS[mine][0]
                found.append(f"{module} ({lower}) -> {target} ({upper})")
    return found


def test_every_part_of_agent_has_a_layer():
    modules = module_files(REPO, ("agent",))
    placed = [u for _, layer in AGENT_LAYERS for u in layer]
    assert len(placed) == len(set(placed)), "a unit is in two layers"
    missing = sorted({str(agent_unit(m)) for m in modules if layer_of(m) is None})
    assert not missing, f"place these in AGENT_LAYERS: {missing}"


def test_no_import_runs_up_the_layers_of_agent():
    upward = upward_imports(import_graph(REPO, ("agent",)))
    assert not upward, "imports up the layers of agent/:\n" + "\n".join(upward)


# --- the checker itself, on a made-up package --------------------------------------------------
def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_checker_sees_circles_hidden_in_functions_and_type_checking(tmp_path):
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "def f():\n    from . import c\n",
            "pkg/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n",
            "pkg/d.py": "from pkg.a import something\nimport json\n",
            "pkg/sub/__init__.py": "from .e import x\n",
            "pkg/sub/e.py": "from ..d import y\n",
        },
    )
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.d"] == {"pkg.a"}  # a name from a module is an import of that module
    assert graph["pkg.sub"] == {"pkg.sub.e"} and graph["pkg.sub.e"] == {"pkg.d"}
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]
    _write(tmp_path, {"pkg/c.py": "import json\n"})
    assert find_cycles(import_graph(tmp_path, ("pkg",))) == []


def test_checker_sees_an_import_up_the_layers():
    graph = {
        "agent.profiles.signal": {"agent.digest.ranking", "agent.errors"},
        "agent.digest.ranking": {"agent.profiles.signal"},
        "agent.pipeline": {"agent.digest.flow"},
    }
    assert upward_imports(graph) == [
        "agent.profiles.signal (readers) -> agent.digest.ranking (capabilities)"
    ]
