"""``goselfies`` command line: a registry of subcommands, each a small module with
``add_arguments(parser)`` and ``run(args) -> int``. Errors print one line, never a traceback."""
from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import exit_status

# name -> (module, one-line help). Modules keep heavy imports (torch, Qt) inside run(). The dispatcher is the
# one place that knows every front end (commands, gui, training, benchmarks); they never import each other.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("goselfies.commands.demo", "segment the shipped sample photos (no camera or GPU needed)"),
    "photo": ("goselfies.commands.photo", "remove or replace the background of photos"),
    "video": ("goselfies.commands.video", "remove or replace the background of a video file"),
    "evaluate": ("goselfies.commands.evaluate", "measure Dice/IoU/accuracy on images/ + masks/"),
    "webcam": ("goselfies.commands.webcam", "live: webcam (or --source VIDEO) to a window, virtual camera or file"),
    "gui": ("goselfies.gui.app", "the live window: preview, controls, virtual camera"),
    "train": ("goselfies.training.commands.train", "train or resume a model on images/ + masks/ folders"),
    "lr-find": ("goselfies.training.commands.lr_find", "learning-rate range test: plot loss against LR, suggest an LR"),
    "grid": ("goselfies.training.commands.grid", "the paper's 8-model comparison (Table I) as a markdown table"),
    "export-weights": ("goselfies.training.commands.export_weights", "export a run's best checkpoint to .safetensors"),
    "coco-import": ("goselfies.training.commands.coco_import", "person masks from COCO annotations (the paper's rules)"),
    "export": ("goselfies.commands.export", "export a model to ONNX (dynamic size) for ONNX Runtime"),
    "benchmark-fps": ("goselfies.benchmarks.main", "measure frames per second: model alone or the whole video pipeline"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="goselfies",
        description="Go-selfies: remove or replace the background behind people in photos, videos and live calls.",
    )
    parser.add_argument("--version", action="version", version=f"goselfies {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run, window=window)
    return parser


def window(session):
    """``goselfies webcam``'s preview: the gui front end's window around a built live session (its final stats)."""
    from .gui.app import run_preview

    return run_preview(session)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    return exit_status(f"goselfies {args.command}", lambda: args._run(args))


if __name__ == "__main__":
    sys.exit(main())
