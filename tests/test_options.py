"""Each user-facing option is defined once (``goselfies.options.OPTIONS``): its default and bounds appear nowhere
else in the code, and ``--help``, the live settings and the README say what the table says. (The window's
controls are compared with the table in ``test_gui.py``.)"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import goselfies
from goselfies.cli import build_parser
from goselfies.errors import GoSelfiesError
from goselfies.live.settings import LiveSettings, load_settings
from goselfies.options import DEFAULT_COLOR, FPS, OPTIONS

ROOT = Path(goselfies.__file__).parent
README = ROOT.parent / "README.md"
# values too common to trace (0, 1, 2, 0.5, a size multiple of 32): their options are checked by --help and the README
COMMON = {0, 1, 2, 0.5, 32, None, True, False, ""}
USER_FRONT_ENDS = ("cli.py", "commands/", "gui/")  # where the table's flags are added to parsers
# the same number for another fact, on purpose
OTHER_FACTS = {
    ("frame/postprocess.py", 0.75): "the clean matte's upper tail (PostProcess.tails)",
    ("frame/smoothing.py", 0.6): "measure_flicker's grid of strengths",
    ("frame/autoframe.py", 0.6): "seconds between face searches (FACE_EVERY)",
    ("benchmarks/autoframe_bench.py", 0.95): "where the strip's pictures are taken (STRIP_AT)",
}


def facts() -> dict[tuple[type, object], str]:
    """Each distinctive default and bound, with its type (50 epochs are no 50.0 px feather) -> its option."""
    found = {(float, FPS): "fps", (str, DEFAULT_COLOR): "color"}
    for o in OPTIONS.values():
        for v in (o.default, o.low, o.high):
            if v not in COMMON and not isinstance(v, bool):
                found[(type(v), v)] = o.name
    return found


def _written(node) -> list:
    """Constants a node writes as a value: itself, or the items of a tuple or list."""
    if isinstance(node, ast.Constant):
        return [node]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [e for e in node.elts if isinstance(e, ast.Constant)]
    return []


def written_values(tree: ast.AST) -> list[ast.Constant]:
    """The constants written where a default or a bound would be: compared with, a keyword ``default=``, a
    function's default, a module or class attribute, an argument of min/max/clip."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            out += [c for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)]
        elif isinstance(node, ast.keyword) and node.arg == "default":
            out += _written(node.value)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                out += _written(d)
        elif isinstance(node, (ast.Module, ast.ClassDef)):
            for stmt in node.body:
                if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
                    out += _written(stmt.value)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in ("min", "max", "clip"):
            out += [a for a in node.args if isinstance(a, ast.Constant)]
    return out


def test_each_default_and_bound_is_written_once():
    known = facts()
    assert {0.6, 0.95, 50.0, 15.0, 200.0, 1280, 720, 30.0, 2048, "#438edb"} <= {v for _, v in known}  # its reach
    flags = {o.flag for o in OPTIONS.values()} | {"--no-" + o.flag[2:] for o in OPTIONS.values()}
    elsewhere = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "options.py" or "assets" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for c in written_values(tree):
            v = c.value
            if isinstance(v, bool) or (type(v), v) not in known or (rel, v) in OTHER_FACTS:
                continue
            elsewhere.append(f"{rel}:{c.lineno}: {v!r} ({known[(type(v), v)]})")
        for node in ast.walk(tree) if rel.startswith(USER_FRONT_ENDS) else ():  # a table option added by hand
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument" and node.args
                    and isinstance(node.args[0], ast.Constant) and node.args[0].value in flags):
                elsewhere.append(f"{rel}:{node.lineno}: add_argument({node.args[0].value!r}) by hand")
    assert elsewhere == []


def test_the_scan_finds_a_default_written_again():
    tree = ast.parse("SMOOTH = 0.6\ndef f(s=0.95):\n    return s < 50.0 or max(s, 2048)\n"
                     "class C:\n    fps: float = 30.0\n    size = (1280, 720)\n")
    assert sorted(c.value for c in written_values(tree)) == [0.6, 0.95, 30.0, 50.0, 720, 1280, 2048]


def commands() -> dict[str, object]:
    """Each subcommand's parser, by name."""
    return dict(build_parser()._subparsers._group_actions[0].choices)


STILL = {"photo", "demo"}  # photos: the options' ``still`` defaults
# the user's commands take the table's options; training and benchmark-fps (developer tools) have their own
# flags of the same names (--size: a training size; --frames: frames to time)
USER_COMMANDS = ("demo", "photo", "video", "evaluate", "webcam", "gui", "export")


def test_help_says_the_tables_default_and_range_in_every_command():
    seen = set()
    for name, parser in commands().items():
        if name not in USER_COMMANDS:
            continue
        for action in parser._actions:
            option = next((o for o in OPTIONS.values() if o.flag in action.option_strings), None)
            if option is None:
                continue
            seen.add(option.name)
            expected = option.default_for(name in STILL)
            assert action.default == expected, (name, option.flag)
            assert action.help.replace("%%", "%") == option.describe(expected), (name, option.flag)
    assert seen == set(OPTIONS) - {"blur_strength"}  # blur:STRENGTH is part of --background's spec


def test_the_live_settings_start_from_the_table_and_fall_back_to_it(tmp_path):
    s = LiveSettings()
    live = [name for name in OPTIONS if hasattr(s, name)]
    assert len(live) == len(OPTIONS) - 2  # all but a file's: --second-pass and --lookahead
    for name in live:
        if name in ("size", "frames"):  # a session's "none": 0
            assert getattr(s, name) == 0
        else:
            assert getattr(s, name) == OPTIONS[name].default, name
    assert s.color == DEFAULT_COLOR
    # a saved value out of its option's range comes back as the default, one by one
    bad = {"smoothing": 0.99, "feather": 51.0, "threshold": 1.0, "frame_zoom": 0.0, "blur_strength": 500.0,
           "fps": -1.0, "width": 0, "refine": False}
    (tmp_path / "gui.json").write_text(json.dumps(bad))
    loaded = load_settings(tmp_path / "gui.json")
    for name in bad:
        expected = False if name == "refine" else OPTIONS[name].default
        assert getattr(loaded, name) == expected, name


@pytest.mark.parametrize("name,value", [("smoothing", 0.96), ("feather", -0.5), ("frame_zoom", "x"), ("lookahead", 1.5)])
def test_a_value_out_of_range_is_one_line_naming_the_flag_and_range(name, value):
    option = OPTIONS[name]
    with pytest.raises(GoSelfiesError) as err:
        option.check(value)
    assert str(err.value).startswith(f"{option.flag} must be a ") and option.bounds() in str(err.value)
    assert option.check(option.default) == option.default


def test_the_readme_quotes_each_default_as_the_table_has_it():
    """Where the README names an option and its default in one sentence, the default is the table's."""
    text = README.read_text(encoding="utf-8")
    quoted = 0
    for option in OPTIONS.values():
        for m in re.finditer(re.escape(option.flag) + r"\b[^.\n]{0,80}?default (?P<value>[\w.]+)", text):
            value = m.group("value").rstrip(".")
            expected = f"{option.default:g}" if isinstance(option.default, (int, float)) and not isinstance(
                option.default, bool) else ("on" if option.default else "off")
            assert value == expected, f"README: {m.group(0)!r} ({option.name}: {expected})"
            quoted += 1
    assert quoted >= 4  # smoothing, lookahead, frame-zoom, ...: the test reads the README at all
