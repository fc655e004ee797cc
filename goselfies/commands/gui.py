"""goselfies gui: the live window (preview, controls, virtual camera); the same as goselfies-gui."""
from __future__ import annotations


def add_arguments(p) -> None:
    from goselfies.gui.app import add_arguments as gui_arguments  # no Qt import at this point

    gui_arguments(p)


def run(args) -> int:
    from goselfies.gui.app import run as run_gui

    return run_gui(args)
