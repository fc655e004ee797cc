"""The package's shape: no import cycle among goselfies modules at any depth, counting the imports inside
functions (a lazy import only hides a cycle) and a submodule's imports of its own package; the engine
(everything but the command line, the GUI, training and benchmarks) imports no Qt, training or benchmark
code; no front end imports another (only the dispatcher, ``cli``, knows them all). Imports are read from
the source with ``ast``."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import goselfies

ROOT = Path(goselfies.__file__).parent
FRONT_ENDS = ("goselfies.cli", "goselfies.__main__", "goselfies.commands", "goselfies.gui",
              "goselfies.training", "goselfies.benchmarks")
# the front ends that must not import one another (``cli`` dispatches to each of them by name)
SEPARATE_FRONT_ENDS = ("goselfies.commands", "goselfies.gui", "goselfies.training", "goselfies.benchmarks")
FORBIDDEN_IN_ENGINE = ("PySide6", "goselfies.gui", "goselfies.training", "goselfies.benchmarks")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path, inside_functions: bool = False, root: Path = ROOT) -> set[str]:
    """Absolute names of what the module imports when it is imported (not inside functions, unless
    ``inside_functions``, nor under ``if TYPE_CHECKING:``); ``from . import x`` counts as the submodule
    ``x`` where there is one."""
    name = module_name(path, root)
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


def import_graph(inside_functions: bool = False, root: Path = ROOT) -> dict[str, set[str]]:
    """module -> the modules its import statements run. A submodule's import of its own package counts: a
    package whose ``__init__`` imports one of its submodules, even inside a function, while that submodule
    imports the package back, is a circle (the runners' registry and ``runners.onnx`` were one)."""
    files = {module_name(p, root): p for p in root.rglob("*.py") if "assets" not in p.parts}
    graph = {}
    for name, path in files.items():
        deps = set()
        for imported in top_level_imports(path, inside_functions, root):
            # importing a.b.c runs a/__init__, a/b/__init__ and a/b/c: each is a dependency
            parts = imported.split(".")
            deps.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        # the packages above a module are run before it whatever it imports: not an edge of its own
        ancestors = {name.rsplit(".", i)[0] for i in range(1, name.count(".") + 1)}
        explicit = {d for d in top_level_imports(path, inside_functions, root) if d in files}
        graph[name] = {d for d in deps if d in files and d != name and (d not in ancestors or d in explicit)}
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
    assert "goselfies.engine.segmenter" in graph and "goselfies.engine.runners.onnx" in graph
    assert "goselfies.engine.runners" in graph["goselfies.engine.segmenter"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle_among_goselfies_modules():
    assert find_cycle(import_graph()) is None


def test_no_import_cycle_counting_imports_inside_functions():
    lazy = import_graph(inside_functions=True)
    assert "goselfies.engine.networks" in lazy["goselfies.engine.onnx_file"]  # export builds the network inside a function
    assert "goselfies.engine.networks" not in import_graph()["goselfies.engine.onnx_file"]
    assert find_cycle(lazy) is None


def write_package(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root / next(iter(files)).split("/")[0]


def test_a_circle_through_a_function_level_import_of_a_child_is_found(tmp_path):
    """The runners' old circle: the package's __init__ imports a child inside a function, and the child
    imports the package. And one three modules deep, through a grandchild."""
    pkg = write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/run/__init__.py": "def make():\n    from .onnx import Options\n",
        "pkg/run/onnx.py": "from . import Model\n",
        "pkg/deep/__init__.py": "",
        "pkg/deep/a.py": "from .b import x\n",
        "pkg/deep/b/__init__.py": "",
        "pkg/deep/b/c.py": "def f():\n    from ..a import y\n",
    })
    lazy = import_graph(inside_functions=True, root=pkg)
    assert find_cycle(lazy) == ["pkg.run", "pkg.run.onnx", "pkg.run"]
    assert find_cycle(import_graph(root=pkg)) is None  # at module level there is none
    assert "pkg.deep.a" in lazy["pkg.deep.b.c"] and "pkg.deep.b" in lazy["pkg.deep.a"]
    lazy["pkg.run"].clear()
    assert find_cycle(lazy) is None  # a.py -> b/__init__ only: b.c is not imported by a


def front_end(name: str) -> str | None:
    return next((f for f in SEPARATE_FRONT_ENDS if name == f or name.startswith(f + ".")), None)


def front_ends_importing_others(graph: dict[str, set[str]]) -> dict[str, list[str]]:
    bad = {}
    for name, deps in graph.items():
        mine = front_end(name)
        others = sorted(d for d in deps if front_end(d) not in (None, mine)) if mine else []
        if others:
            bad[name] = others
    return bad


def test_no_front_end_imports_another_even_inside_a_function(tmp_path):
    assert front_ends_importing_others(import_graph(inside_functions=True)) == {}
    pkg = write_package(tmp_path, {  # the check itself sees one: a lazy import of gui from a command
        "goselfies/__init__.py": "", "goselfies/commands/__init__.py": "", "goselfies/gui/__init__.py": "",
        "goselfies/gui/app.py": "", "goselfies/commands/webcam.py": "def run():\n    from ..gui.app import x\n",
    })
    assert front_ends_importing_others(import_graph(True, pkg)) == {"goselfies.commands.webcam": ["goselfies.gui",
                                                                                                 "goselfies.gui.app"]}


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

    assert not imports("engine/weights.py") & {"onnx_file", "runners", "segmenter", "onnx", "onnxruntime"}
    assert not imports("engine/onnx_file.py") & {"runners", "segmenter"}
    for path in (ROOT / "engine" / "runners").glob("*.py"):
        assert "segmenter" not in imports(f"engine/runners/{path.name}"), path.name


# The frame path's steps: a front end runs them through FramePath (``path(frame)``, ``push``/``flush``, ``looks``,
# ``mask``; a file job ``masks``/``finish``, push's two halves on two threads), never one by one, so the order of
# the steps is written once (issue: one frame loop).
STEPS = {"probabilities", "smooth", "finish_matte", "matte", "compose", "reframe", "needs_mask"}
# where a front end calls a step by name on purpose, and why
STEP_CALLS_ALLOWED = {
    ("goselfies.benchmarks.autoframe_bench", "reframe"): "replays the auto-frame step alone, to time it apart",
}


def step_calls(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.func.attr for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in STEPS}


def test_no_front_end_runs_a_step_of_the_frame_path_itself():
    found = {}
    for path in ROOT.rglob("*.py"):
        name = module_name(path)
        if front_end(name) or name.startswith(("goselfies.cli", "goselfies.__main__")):
            calls = {c for c in step_calls(path) if (name, c) not in STEP_CALLS_ALLOWED}
            if calls:
                found[name] = sorted(calls)
    assert found == {}
    # the engine's own live pipeline and file job drive the path through the same methods
    assert step_calls(ROOT / "frame" / "videofile.py") == set()


def names_in(path: Path, function: str) -> set[str]:
    """The names a module-level function of ``path`` uses (plain names and attributes)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    return {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(fn) if isinstance(n, ast.Attribute)}


def test_evaluate_live_runs_the_live_sessions_code_path():
    """``evaluate --live`` scores the live session's own network and frame path: ``live.session.live_path`` and
    ``live.session.build_session`` both load the network with ``load_segmenter`` (or a factory the window passes) and
    configure the frame path with ``path_config``; the command reaches them through ``live_path`` alone."""
    live = ROOT / "live" / "session.py"
    assert {"load_segmenter", "path_config", "FramePath"} <= names_in(live, "live_path")
    assert {"load_segmenter", "path_config", "Pipeline"} <= names_in(live, "build_session")
    assert "live_path" in names_in(ROOT / "commands" / "evaluate.py", "run")
    assert "goselfies.live.session" in top_level_imports(ROOT / "commands" / "evaluate.py", inside_functions=True)


# The layers, lowest first, as folders: a module imports from its own layer and the layers below, never above
# (function-level imports counted). The package root holds the base: errors, extras, paths, timing, options.
LAYERS = ("goselfies.io", "goselfies.engine", "goselfies.frame", "goselfies.live")
BASE = {"__init__", "_compat", "errors", "extras", "options", "paths", "timing"}


def layer(name: str) -> int:
    """0: the base; 1-4: LAYERS; 5: the front ends (and the dispatcher, ``cli``)."""
    if name.startswith(FRONT_ENDS):
        return len(LAYERS) + 1
    return next((i for i, p in enumerate(LAYERS, 1) if name == p or name.startswith(p + ".")), 0)


def upward_imports(graph: dict[str, set[str]]) -> dict[str, list[str]]:
    bad = {}
    for name, deps in graph.items():
        up = sorted(d for d in deps if layer(d) > layer(name))
        if up:
            bad[name] = up
    return bad


def test_a_layer_imports_only_its_own_and_lower_layers(tmp_path):
    assert upward_imports(import_graph(inside_functions=True)) == {}
    pkg = write_package(tmp_path, {  # the check itself sees one: io asking the frame layer, inside a function
        "goselfies/__init__.py": "", "goselfies/io/__init__.py": "", "goselfies/frame/__init__.py": "",
        "goselfies/frame/backgrounds.py": "", "goselfies/io/sinks.py": "def f():\n    from ..frame import backgrounds\n",
    })
    assert upward_imports(import_graph(True, pkg)) == {"goselfies.io.sinks": ["goselfies.frame",
                                                                              "goselfies.frame.backgrounds"]}


def test_the_tree_shows_the_layers():
    """Nothing but the base and the dispatcher at the package root; each layer a folder of its own."""
    root = {p.stem for p in ROOT.glob("*.py")}
    assert root == BASE | {"cli", "__main__"}
    for package in LAYERS + SEPARATE_FRONT_ENDS:
        assert (ROOT.parent / package.replace(".", "/") / "__init__.py").is_file(), package


def test_no_two_modules_or_classes_share_a_name():
    from collections import Counter

    files = [p for p in ROOT.rglob("*.py") if "assets" not in p.parts]
    modules = Counter(p.stem for p in files if p.stem not in ("__init__", "__main__"))
    classes = Counter(n.name for p in files for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
                      if isinstance(n, ast.ClassDef))
    assert sorted(m for m, c in modules.items() if c > 1) == []
    assert sorted(c for c, k in classes.items() if k > 1) == []


MEASURED = re.compile(r"IoU\s?\d\.\d+|\b\d+(\.\d+)?\s?(ms|us|µs)\b|\b0\.9\d{2,}\b|\d+(\.\d+)? FPS")


def test_no_measured_number_in_a_docstring():
    """Measured numbers go stale where they are not measured: they live in BENCHMARKS.md and the model cards."""
    found = []
    for path in ROOT.rglob("*.py"):
        if "assets" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=False) or ""
                found += [f"{module_name(path)}: {line.strip()}" for line in doc.splitlines() if MEASURED.search(line)]
    assert found == []
    assert MEASURED.search("costs 12 ms at 720p") and MEASURED.search("IoU 0.9607")  # what it looks for
