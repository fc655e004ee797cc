"""The package's shape: no import cycle among goselfies modules, counting the imports inside functions
too (a lazy import only hides a cycle), and the engine (everything but the CLI commands, the GUI,
training and benchmarks) imports no Qt, training or benchmark code at module level. Imports are read
from the source with ``ast``."""
from __future__ import annotations

import ast
from pathlib import Path

import goselfies

ROOT = Path(goselfies.__file__).parent
FRONT_ENDS = ("goselfies.cli", "goselfies.__main__", "goselfies.commands", "goselfies.gui",
              "goselfies.training", "goselfies.benchmarks")
FORBIDDEN_IN_ENGINE = ("PySide6", "goselfies.gui", "goselfies.training", "goselfies.benchmarks")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path, inside_functions: bool = False) -> set[str]:
    """Absolute names of what the module imports when it is imported (not inside functions, unless
    ``inside_functions``, nor under ``if TYPE_CHECKING:``); ``from . import x`` counts as the submodule
    ``x`` where there is one."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                found.add(mod)
                found.update(f"{mod}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If):
                test = node.test
                if not (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for h in node.handlers:
                    visit(h.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif inside_functions and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                                        ast.With, ast.For, ast.While)):
                visit(node.body)
                visit(getattr(node, "orelse", []))

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found


def import_graph(inside_functions: bool = False) -> dict[str, set[str]]:
    files = {module_name(p): p for p in ROOT.rglob("*.py") if "assets" not in p.parts}
    graph = {}
    for name, path in files.items():
        deps = set()
        for imported in top_level_imports(path, inside_functions):
            # importing a.b.c runs a/__init__, a/b/__init__ and a/b/c: each is a dependency
            parts = imported.split(".")
            deps.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        graph[name] = {d for d in deps if d in files and d != name and not name.startswith(d + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state and (cycle := walk(dep)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def test_the_graph_is_read_from_the_sources():
    graph = import_graph()
    assert "goselfies.segmenter" in graph and "goselfies.runners.onnx" in graph
    assert "goselfies.runners" in graph["goselfies.segmenter"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle_among_goselfies_modules():
    assert find_cycle(import_graph()) is None


def test_no_import_cycle_counting_imports_inside_functions():
    lazy = import_graph(inside_functions=True)
    assert "goselfies.networks" in lazy["goselfies.onnx_file"]  # export builds the network inside a function
    assert "goselfies.networks" not in import_graph()["goselfies.onnx_file"]
    assert find_cycle(lazy) is None


def test_engine_imports_no_qt_training_or_benchmarks_at_module_level():
    bad = {}
    for path in ROOT.rglob("*.py"):
        name = module_name(path)
        if "assets" in path.parts or name.startswith(FRONT_ENDS):
            continue
        hits = {i for i in top_level_imports(path) if i.startswith(FORBIDDEN_IN_ENGINE)}
        if hits:
            bad[name] = sorted(hits)
    assert not bad


def all_imports(path: Path) -> set[str]:
    """Every module name an import statement in the file names, inside functions too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    return names | {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}


def test_the_old_loop_stays_broken_even_lazily():
    """weights -> onnx -> models/weights -> segmenter -> runners -> Segmenter was the loop: now the weights
    know nothing of ONNX, the ONNX file format nothing of our runners, and runners nothing of the Segmenter."""
    def imports(rel: str) -> set[str]:
        return {n.rpartition(".")[2] for n in all_imports(ROOT / rel)}

    assert not imports("weights.py") & {"onnx_file", "runners", "segmenter", "onnx", "onnxruntime"}
    assert not imports("onnx_file.py") & {"runners", "segmenter"}
    for path in (ROOT / "runners").glob("*.py"):
        assert "segmenter" not in imports(f"runners/{path.name}"), path.name
