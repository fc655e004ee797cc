"""One exception type for every user-facing failure, and the one place that turns it into a line
on stderr and an exit status (``goselfies``, ``goselfies-gui`` and ``benchmark-fps`` alike)."""
from __future__ import annotations

import sys
from typing import Callable


class GoSelfiesError(Exception):
    """A problem with the user's input or machine, reported without a traceback."""


class ModelLoadError(GoSelfiesError):
    """The chosen model cannot run (no weights, a bad file, a backend or device missing): a front end
    that can keep another model running (the window) tells it from a camera or file problem."""


class MissingWeights(ModelLoadError):
    """No weights file for ``model``: the command line names ``--weights``, the window its own entry."""

    def __init__(self, model: str, message: str):
        super().__init__(message)
        self.model = model


def exit_status(prog: str, run: Callable[[], int | None]) -> int:
    """``run()``'s status; a GoSelfiesError prints ``prog: error: ...`` (1), Ctrl-C ``prog: interrupted`` (130)."""
    try:
        return int(run() or 0)
    except GoSelfiesError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
