"""Where Go-selfies keeps files it makes itself (ONNX exports, converted encoders)."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir(kind: str) -> Path:
    """``<user cache>/goselfies/<kind>``; ``$GOSELFIES_CACHE_DIR`` overrides (tests, read-only homes)."""
    env = os.environ.get("GOSELFIES_CACHE_DIR")
    if env:
        return Path(env) / kind
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("goselfies")) / kind
