"""What every runner module shares: the model file it is given, the protocol it follows, ONNX Runtime's settings.

The registry (``runners/__init__``) and each backend module import this; it imports no runner.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..prep import Prep


@dataclass(frozen=True)
class ModelFile:
    """Which network (registry name) from which file (.safetensors, or .onnx), with its metadata."""

    name: str
    path: Path
    meta: dict[str, Any] = field(default_factory=dict, compare=False)


class Runner(Protocol):
    name: str  # the backend, as --backend names it
    threads: int | None  # ONNX Runtime's intra-op threads; None where it does not apply
    timings: dict[str, float]  # the last frame's pre/infer/post seconds, where measured separately

    def __init__(self, model: ModelFile, prep: Prep, device: str, options: OrtOptions | None = None) -> None:
        """``options``: ONNX Runtime's settings (threads); the runners without ONNX Runtime take and ignore them."""

    def predict(self, frame: np.ndarray, rgb: bool) -> np.ndarray:
        """uint8 (H,W,3) frame -> float32 (H,W) probabilities; no post-processing."""


@dataclass
class OrtOptions:
    """ONNX Runtime session settings, tuned for small CPUs (the 2-core laptop case)."""

    threads: int = 0  # intra-op threads; 0: the usable cores, at most 8 ($GOSELFIES_ORT_THREADS overrides)
    spin: bool = False  # busy-wait between ops: lower latency alone, but it steals the cores that
    # decode, composite and encode need in the pipeline, so it is off by default

    def resolve_threads(self) -> int:
        env = os.environ.get("GOSELFIES_ORT_THREADS")
        if env and env.isdigit() and int(env) > 0:
            return int(env)
        if self.threads > 0:
            return self.threads
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            cores = os.cpu_count() or 1
        return max(1, min(cores, 8))
