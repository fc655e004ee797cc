"""Weights as safetensors (never pickle) with metadata saying what they are and how good."""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GoSelfiesError
from ..paths import MODEL_FILES, atomic_path
from .models import MODELS, model_info


@dataclass(frozen=True)
class InputSpec:
    """What a network wants as input: its normalisation, default size (longer side) and the
    multiple its padded height and width must be."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    size: int
    multiple: int = 32
    square: bool = False  # the registry's ModelInfo.square
    gpu_size: int = 0  # the default on a GPU, where it was measured better; 0: ``size``
    context: bool = False  # above ``size``, a context pass at it (``segmenter.with_context``), where measured better


def input_spec(meta: dict[str, Any]) -> InputSpec:
    """The weights file's own values first (``mean``, ``std``, ``size`` -- the measured best
    default -- else ``train_size``; ``gpu_size``, ``context``), then the model registry's for its ``arch``."""
    info = model_info(meta.get("arch", ""))
    size = meta.get("size") or meta.get("train_size") or info.size
    return InputSpec(tuple(meta.get("mean", info.mean)), tuple(meta.get("std", info.std)), int(size),
                     int(meta.get("size_multiple", info.size_multiple)), info.square, int(meta.get("gpu_size", 0)),
                     bool(meta.get("context", False)))


def shipped_weights(name: str) -> Path | None:
    """Default weights inside the package, or None if that model does not ship any."""
    path = MODEL_FILES / f"{name}.safetensors"
    return path if path.is_file() else None


def shipped_models() -> list[str]:
    """The registry's models that ship weights in the package (``segmenter.runnable_models``: those of them
    that can run here)."""
    return [name for name in sorted(MODELS) if shipped_weights(name) is not None]


def save_weights(model, path: str | Path, arch: str, meta: dict[str, Any] | None = None, fp16: bool = True) -> Path:
    """Write the model's state dict (fp16 by default) atomically with JSON-able metadata."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu()
        if fp16 and v.is_floating_point():
            v = v.half()
        state[k] = v.contiguous()
    facts = model_info(arch)
    info = {"arch": arch, "mean": list(facts.mean), "std": list(facts.std), **(meta or {})}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={k: json.dumps(v) for k, v in info.items()})
    return path


def update_metadata(path: str | Path, **extra: Any) -> None:
    """Add metadata (e.g. measured test metrics) to an existing weights file, atomically."""
    from safetensors.torch import load_file, save_file

    meta = read_metadata(path)
    meta.update(extra)
    state = load_file(str(path))
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={k: json.dumps(v) for k, v in meta.items()})


def file_key(path: str | Path) -> tuple[str, int, int]:
    """(path, mtime, size): what caches of a file's contents are keyed by, so a rewrite is seen."""
    path = _check_exists(path)
    st = path.stat()
    return str(path.resolve()), st.st_mtime_ns, st.st_size


def read_metadata(path: str | Path) -> dict[str, Any]:
    """A safetensors file's metadata, read once per file version (a copy: callers may change it)."""
    return dict(_read_metadata(*file_key(path)))


@functools.lru_cache(maxsize=32)
def _read_metadata(path: str, _mtime_ns: int, _size: int) -> dict[str, Any]:
    from safetensors import safe_open

    try:
        with safe_open(path, framework="np") as f:  # numpy: reading metadata needs no torch
            raw = f.metadata() or {}
    except Exception as exc:
        raise GoSelfiesError(f"{path}: not a valid safetensors weights file ({_short(exc)})") from None
    return {k: _loads(v) for k, v in raw.items()}


def load_weights(path: str | Path, expect_arch: str | None = None):
    """Return (state_dict, metadata); one clear error for missing, truncated or foreign files."""
    from safetensors.torch import load_file

    meta = read_metadata(path)
    arch = meta.get("arch")
    if expect_arch and arch != expect_arch:
        raise GoSelfiesError(
            f"{path}: weights are for model '{arch or 'unknown'}', not '{expect_arch}'"
            + (f" (use --model {arch})" if arch else "")
        )
    try:
        state = load_file(str(path))
    except Exception as exc:
        raise GoSelfiesError(f"{path}: cannot read weights ({_short(exc)})") from None
    return state, meta


def load_encoder_weights(model, path: str | Path) -> None:
    """Load a local encoder state dict (safetensors) into ``model.encoder``."""
    from safetensors.torch import load_file

    _check_exists(path)
    try:
        state = load_file(str(path))
    except Exception as exc:
        raise GoSelfiesError(f"{path}: not a valid safetensors file ({_short(exc)})") from None
    state = {k.removeprefix("encoder."): v for k, v in state.items()}
    try:
        model.encoder.load_state_dict({k: v.float() for k, v in state.items()})
    except RuntimeError as exc:
        raise GoSelfiesError(f"{path}: encoder weights do not fit this model ({_short(exc)})") from None


def _check_exists(path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise GoSelfiesError(f"weights file not found: {path}")
    return path


def _loads(v: str):
    try:
        return json.loads(v)
    except ValueError:
        return v


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
