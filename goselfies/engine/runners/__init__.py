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

from ...errors import GoSelfiesError
from ...extras import available, load
from ..onnx_file import is_onnx, shipped_export
from ..prep import Prep
from .base import ModelFile, OrtOptions, Runner

__all__ = ["BACKENDS", "RUNNERS", "ModelFile", "OrtOptions", "Runner", "choose_backend", "int8_pays", "make_runner", "runner_class"]


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


def int8_pays() -> bool:
    """Whether this CPU has 8-bit dot products for ONNX Runtime's int8 convolutions (x86 AVX-512 VNNI, as numpy
    detects it); elsewhere fp32 stays, as int8's gain is measured only on such CPUs (BENCHMARKS.md)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy 1.x
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            return False
    return bool(features.get("AVX512VNNI"))


def choose_backend(requested: str, device: str, model: ModelFile, realtime: bool = False) -> str:
    """Resolve ``auto`` to the fastest backend here: torch on CUDA; on a CPU, live (one input shape for
    the whole session) OpenVINO where the openvino extra is installed, half the CPU time of ONNX Runtime where
    the CPU computes in bfloat16 and level elsewhere; else (photos and files, a shape per image that OpenVINO would
    compile each time, and live without the extra) ONNX Runtime: on the package's int8 file for its shipped weights
    where the CPU has VNNI (``int8_pays``; the same masks, measured), else fp32."""
    if is_onnx(model.path):
        if requested not in ("auto", "onnx"):
            raise GoSelfiesError(f"{model.path} is an ONNX file: use --backend onnx (or auto)")
        return "onnx"
    if requested != "auto":
        if requested not in BACKENDS:
            raise GoSelfiesError(f"unknown backend '{requested}'; valid: auto, {', '.join(BACKENDS)}")
        return requested
    if device.startswith("cuda"):
        return "torch"
    if realtime and available("openvino"):
        return "openvino"
    if not available("onnxruntime"):
        return "torch"
    if int8_pays() and shipped_export(model.name, model.path, int8=True):
        return "onnx-int8"
    return "onnx"


def runner_class(backend: str, device: str) -> type[Runner]:
    return load(RUNNERS[(backend, device.startswith("cuda"))])


FALLBACK = {"openvino": "onnx", "onnx-int8": "onnx", "onnx": "torch"}  # what auto tries next when a backend cannot run here


def make_runner(backend: str, model: ModelFile, prep: Prep, device: str, threads: int = 0,
                realtime: bool = False) -> Runner:
    """The runner for ``backend`` (auto: see choose_backend); auto never fails on a backend it chose while
    another can run: it notes why and falls back (``FALLBACK``). ``threads``: ONNX Runtime's intra-op threads
    (0: the usable cores)."""
    import sys

    chosen = choose_backend(backend, device, model, realtime)
    while True:
        try:
            return runner_class(chosen, device)(model, prep, device, OrtOptions(threads=threads))
        except GoSelfiesError as exc:
            after = FALLBACK.get(chosen)
            if backend != "auto" or after is None or is_onnx(model.path) or (after == "torch" and not available("torch")):
                raise
            print(f"note: {chosen} backend unavailable ({exc}); using {after}", file=sys.stderr)
            chosen = after
