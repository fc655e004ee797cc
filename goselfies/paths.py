"""Where Go-selfies keeps files it makes itself (ONNX exports, converted encoders), and how it
writes files so that a crash never leaves a half-written one."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def cache_dir(kind: str) -> Path:
    """``<user cache>/goselfies/<kind>``; ``$GOSELFIES_CACHE_DIR`` overrides (tests, read-only homes)."""
    env = os.environ.get("GOSELFIES_CACHE_DIR")
    if env:
        return Path(env) / kind
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("goselfies")) / kind


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
        if tmp.exists():
            tmp.unlink()
