"""OpenVINO on the same ONNX file as ``onnx``: the same pre/post-processing, another CPU runtime.

OpenVINO infers in bfloat16 on CPUs that have it (AVX512-BF16, AMX: recent Xeon, EPYC and Ryzen) and in
float32 elsewhere, its own default. In float32 it measured level with ONNX Runtime; in bfloat16 it took
about half the CPU time a frame (BENCHMARKS.md). One compiled model per input shape (the network's input
is fixed for a given camera), compiled on first use.
"""
from __future__ import annotations

import numpy as np

from ...errors import GoSelfiesError
from ...extras import require
from ..prep import Prep
from .base import ModelFile, OrtOptions
from .onnx import OnnxRunner


class OpenVinoRunner(OnnxRunner):
    name = "openvino"

    def __init__(self, model: ModelFile, prep: Prep, device: str = "cpu", options: OrtOptions | None = None):
        if device.startswith("cuda"):
            raise GoSelfiesError("--backend openvino runs on the CPU: use --device cpu")
        require("openvino", "--backend openvino")
        import openvino as ov

        self.prep = prep
        self.path = self.model_path(model)
        self.threads = (options or OrtOptions()).resolve_threads()
        self._core = ov.Core()
        try:
            self._model = self._core.read_model(str(self.path))
        except Exception as exc:  # noqa: BLE001 - any reader failure is the file's
            raise GoSelfiesError(f"{self.path}: OpenVINO cannot read it ({str(exc).strip()[:160]})") from None
        self._requests: dict[tuple[int, ...], object] = {}
        self.timings: dict[str, float] = {}

    def _request(self, shape: tuple[int, ...]):
        req = self._requests.get(shape)
        if req is None:
            model = self._model.clone()
            model.reshape({model.inputs[0].get_any_name(): list(shape)})
            compiled = self._core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": self.threads,
                                                               "PERFORMANCE_HINT": "LATENCY"})
            req = self._requests[shape] = compiled.create_infer_request()
        return req

    def infer(self, batch: np.ndarray) -> np.ndarray:
        return self._request(batch.shape).infer({0: batch})[0]
