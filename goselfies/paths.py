"""Where Go-selfies keeps files it makes itself (ONNX exports, converted encoders), and how it
writes files so that a crash never leaves a half-written one."""
from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import GoSelfiesError

ASSETS = Path(__file__).resolve().parent / "assets"  # shipped with the package
MODEL_FILES = ASSETS / "models"  # weights, ONNX files and model cards
SAMPLES = ASSETS / "samples"  # the demo's photos, also the int8 models' calibration set


def cache_dir(kind: str) -> Path:
    """``<user cache>/goselfies/<kind>``; ``$GOSELFIES_CACHE_DIR`` overrides (tests, read-only homes)."""
    env = os.environ.get("GOSELFIES_CACHE_DIR")
    if env:
        return Path(env) / kind
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("goselfies")) / kind


def why(exc: OSError) -> str:
    """What an OSError means for an output, in a few words."""
    if isinstance(exc, (NotADirectoryError, FileExistsError)) or exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a file stands where a folder is needed"
    return (exc.strerror or str(exc)).lower()


def cannot_write(path: str | Path, exc: OSError) -> GoSelfiesError:
    """One line naming the output and the reason it cannot be written."""
    return GoSelfiesError(f"{path}: cannot write ({why(exc)})")


def check_output_folder(folder: str | Path) -> Path:
    """One line naming ``folder`` and the reason, before any work is done, where no output can be made in it:
    a file in the way, a read-only file system, no permission. Nothing is made; a place that only the attempt
    refuses (/proc) is reported when the writer makes the folder (``output_folder``)."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise cannot_write(folder, NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)))
    if not os.access(existing, os.W_OK | os.X_OK):  # a read-only mount, or no permission
        code = errno.EROFS if hasattr(os, "statvfs") and os.statvfs(existing).f_flag & os.ST_RDONLY else errno.EACCES
        raise cannot_write(folder, OSError(code, os.strerror(code)))
    return folder


def output_folder(folder: str | Path) -> Path:
    """``folder`` made (with its parents) for output, or one line naming it and the reason."""
    folder = check_output_folder(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(folder, exc) from None
    return folder


def remove_quietly(path: Path) -> None:
    """Remove a half-written file; where even that fails (the file system went read-only) there is
    nothing more to do, and the error that stopped the writing is the one to report."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling path; rename it over ``path`` only if the block succeeds.

    The temporary name carries the process id, so two processes writing one cache file never
    write into each other's half-finished file; a crash leaves a hidden ``.partial`` file, never
    a truncated ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        remove_quietly(tmp)
