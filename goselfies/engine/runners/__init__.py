"""Inference backends: one small module each, behind one protocol, chosen from one registry.

A runner turns a uint8 frame into probabilities of the frame's size. It is given the model file
(``ModelFile``), the input preparation (``prep.Prep``: geometry + normalisation) and the device,
never the Segmenter: post-processing, validation and model choice stay there.

    torch      torch_cpu.py  PyTorch eager, fp32 (the gpu extra)
    torch      cuda.py       on a CUDA device: fp16 + channels_last, GPU pre/post, CUDA graphs
    onnx       onnx.py       ONNX Runtime (the fast CPU path)
    onnx-int8  onnx_int8.py  ONNX Runtime on the statically quantised int8 model
    openvino   openvino.py   OpenVINO on the same ONNX file (bfloat16 where the CPU has it; the openvino extra)
"""
from __future__ import annotations

from pathlib import Path

from ...errors import GoSelfiesError
from ...extras import available, load
from ..onnx_file import is_onnx
from ..prep import Prep
from .base import ModelFile, OrtOptions, Runner

__all__ = ["BACKENDS", "RUNNERS", "ModelFile", "OrtOptions", "Runner", "choose_backend", "make_runner", "runner_class"]


# (backend, on CUDA) -> "module:Class", imported on first use (keeps onnxruntime and CUDA code off the import path)
RUNNERS: dict[tuple[str, bool], str] = {
    ("torch", False): "goselfies.engine.runners.torch_cpu:TorchRunner",
    ("torch", True): "goselfies.engine.runners.cuda:CudaRunner",
    ("onnx", False): "goselfies.engine.runners.onnx:OnnxRunner",
    ("onnx", True): "goselfies.engine.runners.onnx:OnnxRunner",
    ("onnx-int8", False): "goselfies.engine.runners.onnx_int8:OnnxInt8Runner",
    ("onnx-int8", True): "goselfies.engine.runners.onnx_int8:OnnxInt8Runner",
    ("openvino", False): "goselfies.engine.runners.openvino:OpenVinoRunner",
    ("openvino", True): "goselfies.engine.runners.openvino:OpenVinoRunner",
}
BACKENDS = tuple(dict.fromkeys(backend for backend, _ in RUNNERS))  # what --backend takes (besides auto)


def choose_backend(requested: str, device: str, weights: str | Path | None, realtime: bool = False) -> str:
    """Resolve ``auto`` to the fastest backend here: torch on CUDA; on a CPU, live (one input shape for
    the whole session) OpenVINO where the openvino extra is installed, half the CPU time of ONNX Runtime where
    the CPU computes in bfloat16 and level elsewhere; photos and files (a shape per image, compiled each time by
    OpenVINO), and live without the extra, ONNX Runtime."""
    if is_onnx(weights):
        if requested not in ("auto", "onnx"):
            raise GoSelfiesError(f"{weights} is an ONNX file: use --backend onnx (or auto)")
        return "onnx"
    if requested != "auto":
        if requested not in BACKENDS:
            raise GoSelfiesError(f"unknown backend '{requested}'; valid: auto, {', '.join(BACKENDS)}")
        return requested
    if device.startswith("cuda"):
        return "torch"
    if realtime and available("openvino"):
        return "openvino"
    return "onnx" if available("onnxruntime") else "torch"


def runner_class(backend: str, device: str) -> type[Runner]:
    return load(RUNNERS[(backend, device.startswith("cuda"))])


def make_runner(backend: str, model: ModelFile, prep: Prep, device: str, threads: int = 0,
                realtime: bool = False) -> Runner:
    """The runner for ``backend`` (auto: see choose_backend); auto never fails on ONNX Runtime:
    if it cannot run, it notes why and falls back to torch. ``threads``: ONNX Runtime's intra-op
    threads (0: the usable cores)."""
    import sys

    chosen = choose_backend(backend, device, model.path, realtime)
    try:
        return runner_class(chosen, device)(model, prep, device, OrtOptions(threads=threads))
    except GoSelfiesError as exc:
        if backend != "auto" or chosen == "torch" or is_onnx(model.path) or not available("torch"):
            raise
        print(f"note: onnx backend unavailable ({exc}); using torch", file=sys.stderr)
        return runner_class("torch", device)(model, prep, device)
