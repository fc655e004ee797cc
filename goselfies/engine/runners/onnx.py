"""ONNX Runtime: the fast CPU backend (fused conv+BN+activation, no Python per layer).

Runs an explicit ``.onnx`` file, or the cached export of the weights (``onnx_file.cached_export``).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ...errors import GoSelfiesError
from ..onnx_file import INPUT, OUTPUT, cached_export, is_onnx
from ..prep import Prep
from .base import ModelFile, OrtOptions


def make_session(path: str | Path, device: str = "cpu", options: OrtOptions | None = None):
    """An ``InferenceSession`` with full graph optimisation and our thread settings."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise GoSelfiesError("the onnx backend needs onnxruntime: pip install onnxruntime "
                             "(or use --backend torch)") from None
    opts = options or OrtOptions()
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = opts.resolve_threads()
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if opts.spin else "0")
    so.log_severity_level = 3
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise GoSelfiesError("this onnxruntime has no CUDA support: use --backend torch on a GPU "
                                 "(or install onnxruntime-gpu)")
        providers.insert(0, "CUDAExecutionProvider")
    try:
        return ort.InferenceSession(str(path), so, providers=providers)
    except Exception as exc:
        raise GoSelfiesError(f"{path}: ONNX Runtime cannot load it ({str(exc).strip()[:160]})") from None


class OnnxRunner:
    """The Prep's reused float32 buffer in, probabilities out; ``timings`` splits each frame into
    pre/infer/post for ``benchmark-fps``."""

    name = "onnx"
    threads: int | None = None  # the session's, once made

    def __init__(self, model: ModelFile, prep: Prep, device: str = "cpu", options: OrtOptions | None = None):
        self.prep = prep
        self.path = self.model_path(model)
        self.session = make_session(self.path, device, options)
        self.threads = self.session.get_session_options().intra_op_num_threads
        self.timings: dict[str, float] = {}

    def model_path(self, model: ModelFile) -> Path:
        """The .onnx file this runner runs."""
        return Path(model.path) if is_onnx(model.path) else cached_export(model.name, model.path)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """(N,3,H,W) float32 normalised -> (N,1,H,W) probabilities."""
        return self.session.run([OUTPUT], {INPUT: batch})[0]

    def predict(self, frame: np.ndarray, rgb: bool) -> np.ndarray:
        t0 = time.perf_counter()
        buf, nh, nw = self.prep.prepare(frame, rgb)
        t1 = time.perf_counter()
        prob = self.infer(buf)[0, 0, :nh, :nw]
        t2 = time.perf_counter()
        mask = self.prep.restore(prob, *frame.shape[:2])
        self.timings = {"pre": t1 - t0, "infer": t2 - t1, "post": time.perf_counter() - t2}
        return mask
