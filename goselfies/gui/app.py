"""Entry points: ``goselfies gui`` / ``goselfies-gui`` (the full window) and the plain preview window
that ``goselfies webcam`` opens. Errors are one line on stderr, never a traceback."""
from __future__ import annotations

import argparse
import os
import signal
import sys

from goselfies.errors import GoSelfiesError, exit_status
from goselfies.io.sinks import ensure_display
from goselfies.options import OPTIONS


def debian_package(soname: str) -> str:
    """Debian's package for a shared library: libxcb-icccm.so.4 -> libxcb-icccm4 (libfoo2.so.0 -> libfoo2-0)."""
    name, _, version = soname.partition(".so.")
    version = version.split(".")[0]
    return f"{name}{'-' if name[-1:].isdigit() else ''}{version}"


def missing_xcb_libraries() -> list[str]:
    """Shared libraries Qt's xcb platform plugin needs but cannot find (Linux, X11 only).

    Qt aborts the whole process when they are missing; asking ldd first lets us say so in one line.
    libxcb-cursor is loaded by Qt at run time, so it is looked up separately."""
    import ctypes.util
    import shutil
    import subprocess
    from pathlib import Path

    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or (platform and not platform.startswith("xcb")):
        return []
    if not os.environ.get("DISPLAY"):
        return []  # Wayland (or no display at all: ensure_display says so)
    import PySide6

    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    missing = [] if ctypes.util.find_library("xcb-cursor") else ["libxcb-cursor.so.0"]
    if plugin.is_file() and shutil.which("ldd"):
        out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
        missing += [line.split()[0] for line in out.splitlines() if "not found" in line]
    return sorted(set(missing))


def check_qt_libraries() -> None:
    missing = missing_xcb_libraries()
    if missing:
        packages = " ".join(debian_package(m) for m in missing)
        raise GoSelfiesError(f"Qt cannot open a window: {', '.join(missing)} missing; "
                             f"on Debian/Ubuntu: sudo apt-get install {packages}")


def qt_application():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        check_qt_libraries()
        app = QApplication([sys.argv[0] if sys.argv else "goselfies"])
        app.setApplicationName("Go-selfies")
    return app


def _close_on_ctrl_c(window):
    """Qt's C++ loop does not run Python signal handlers by itself: wake it a few times a second."""
    from PySide6.QtCore import QTimer

    try:
        signal.signal(signal.SIGINT, lambda *_: window.close())
    except ValueError:  # not the main thread (tests): nothing to do
        return None
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(200)
    return timer


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--camera", metavar="N|PATH", help="webcam index or device path (saved for next time)")
    p.add_argument("--source", metavar="VIDEO", help="play a video file instead of the webcam (looping)")
    from goselfies.engine.models import MODELS

    p.add_argument("--model", help=f"model name ({', '.join(sorted(MODELS))}) or auto (saved for next time)")
    p.add_argument("--weights", metavar="PATH", help="a .safetensors weights file")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where to run the network")
    OPTIONS["size"].add(p)
    p.add_argument("--virtual-camera", action="store_true", help="turn the virtual camera on at start")
    p.add_argument("--settings", metavar="PATH", help="settings file (default: the user's config folder)")


def run(args) -> int:
    """The full window. Command-line options override the saved settings (and are saved)."""
    from goselfies.live.settings import SessionGuard

    ensure_display("the window needs a desktop session (headless: goselfies webcam --no-window)")
    from .window import MainWindow

    args.size = OPTIONS["size"].check(args.size)  # one line for a size out of range, before the window opens
    guard = SessionGuard(args.settings)
    settings = guard.start()
    try:
        if args.source:
            settings.source = args.source
        if args.camera is not None:
            settings.camera, settings.source = str(args.camera), ""
        for name in ("model", "weights", "device", "size"):
            if getattr(args, name, None):
                setattr(settings, name, getattr(args, name))
        if args.virtual_camera:
            settings.virtual_camera = True
        app = qt_application()
        win = MainWindow(settings, settings_file=guard.path)
        timer = _close_on_ctrl_c(win)  # noqa: F841 - kept alive with the window
        win.show()
        app.exec()
        win.stop()
        stats = win.final_stats or win.last_stats
        if stats is not None:  # the session in one line, as goselfies webcam starts its summary
            print(stats.summary_line())
    finally:
        # A Python error is a clean end too; only a process that dies (a fatal error, an abort)
        # never gets here and leaves the marker for the next start.
        guard.finish()
    return 0


def run_preview(session, title: str = "Go-selfies"):
    """``goselfies webcam``'s window: preview + overlay + hotkeys around an already built LiveSession.

    Returns the pipeline's final stats; a pipeline error becomes a GoSelfiesError."""
    from dataclasses import replace

    from .window import MainWindow

    app = qt_application()
    win = MainWindow(replace(session.settings), persist=False, controls=False, build=lambda s, say: session,
                     close_when_done=True)
    win.setWindowTitle(title)
    timer = _close_on_ctrl_c(win)  # noqa: F841
    win.show()
    app.exec()
    win.stop()
    if win.errors:
        raise GoSelfiesError(win.errors[0])
    return session.pipeline.stats()


def main(argv: list[str] | None = None) -> int:
    """``goselfies-gui``: the same as ``goselfies gui``."""
    parser = argparse.ArgumentParser(prog="goselfies-gui", description="Go-selfies live window")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return exit_status("goselfies-gui", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
