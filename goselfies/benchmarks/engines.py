"""Model-only engines: one callable per (model, input size, precision, backend, batch size).

Backends: ``torch`` (eager), ``compile`` (``torch.compile``; on CUDA its reduce-overhead mode uses
CUDA graphs), ``cudagraph`` (our hand-captured CUDA graph from ``goselfies.engine.runners.cuda``, batch 1)
``onnx`` (ONNX Runtime, the CPU backend of the app) and ``onnx-int8`` (its statically quantised
int8 model; listed under precision "int8"). A combination that cannot run here
(fp16 on a CPU, CUDA graphs without a GPU...) is skipped with the reason, never faked.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from goselfies.extras import available

MODEL_BACKENDS = ("torch", "compile", "cudagraph", "onnx", "onnx-int8")  # the model-only rows (not the runners')
PRECISIONS = ("fp32", "fp16", "bf16")


class Skip(Exception):
    """This combination cannot run on this machine; the message says why."""


@dataclass(frozen=True)
class EngineSpec:
    model: str
    size: int  # square input side, a multiple of 32
    precision: str
    backend: str
    batch: int
    device: str  # cpu | cuda


@dataclass
class Engine:
    spec: EngineSpec
    run: Callable[[], object]  # one forward pass of one batch
    sync: Callable[[], None]  # wait for the device
    setup_s: float  # build/export/compile time, not part of the timings
    note: str = ""
    precision: str = ""  # what actually runs, when it differs from the spec (int8)


def _sync_for(device: str) -> Callable[[], None]:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.synchronize
    return lambda: None


def build_engine(spec: EngineSpec, weights: Path) -> Engine:
    """Build the engine or raise ``Skip``; compile and CUDA-graph capture happen at warm-up."""
    cuda = spec.device.startswith("cuda")
    if spec.size % 32:
        raise Skip(f"size {spec.size} is not a multiple of 32")
    if spec.backend in ("onnx", "onnx-int8"):
        return _onnx_engine(spec, weights)
    if spec.backend not in MODEL_BACKENDS:
        raise Skip(f"unknown backend {spec.backend}")
    if not available("torch"):
        raise Skip('torch is not installed (pip install "goselfies[gpu]")')
    if not cuda and spec.precision == "fp16":
        raise Skip("fp16 is a GPU path (CPU kernels for fp16 are slow or missing)")
    if spec.backend == "cudagraph" and not cuda:
        raise Skip("CUDA graphs need a CUDA GPU")
    if spec.backend == "cudagraph" and spec.batch != 1:
        raise Skip("CUDA graphs are used at batch 1 only")
    return _torch_engine(spec, weights)


def _torch_engine(spec: EngineSpec, weights: Path) -> Engine:
    import torch

    from goselfies.engine.networks import create_model
    from goselfies.engine.runners.cuda import (
        CUDNN_BENCHMARK,
        GraphedForward,
        torch_dtype,
    )

    t0 = time.perf_counter()
    cuda = spec.device.startswith("cuda")
    dtype = torch_dtype(spec.precision)
    model = create_model(spec.model, weights=weights).eval().to(spec.device, dtype)
    if cuda:
        torch.backends.cudnn.benchmark = CUDNN_BENCHMARK  # as the app runs it
        model = model.to(memory_format=torch.channels_last)
    x = torch.randn(spec.batch, 3, spec.size, spec.size, device=spec.device).to(dtype)
    if cuda:
        x = x.contiguous(memory_format=torch.channels_last)
    note = ""
    fn: Callable = model
    if spec.backend == "compile":
        fn = torch.compile(model, mode="reduce-overhead" if cuda else "default", dynamic=False)
        note = "compile time is spent in warm-up"
    elif spec.backend == "cudagraph":
        with torch.inference_mode():
            fn = GraphedForward(model, x)

    def run():
        with torch.inference_mode():
            return fn(x)

    return Engine(spec, run, _sync_for(spec.device), time.perf_counter() - t0, note)


def _onnx_engine(spec: EngineSpec, weights: Path) -> Engine:
    from goselfies.engine.onnx_file import cached_export
    from goselfies.engine.runners.onnx import make_session
    from goselfies.extras import available

    if not available("onnxruntime"):
        raise Skip("onnxruntime is not installed")
    int8 = spec.backend == "onnx-int8"
    if spec.precision != "fp32":
        raise Skip("the ONNX export is fp32" + (" (int8 rows are listed under fp32 once)" if int8 else ""))
    t0 = time.perf_counter()
    try:
        if int8:
            from goselfies.engine.quantize import cached_int8

            path = cached_int8(spec.model, weights, quiet=True)
        else:
            path = cached_export(spec.model, weights, quiet=True)
        session = make_session(path, spec.device)
    except Exception as exc:  # noqa: BLE001 - e.g. no CUDA provider: a skip, not a crash
        raise Skip(str(exc)) from None
    x = np.random.default_rng(0).standard_normal((spec.batch, 3, spec.size, spec.size)).astype(np.float32)
    threads = session.get_session_options().intra_op_num_threads

    def run():
        return session.run(["mask"], {"image": x})

    return Engine(spec, run, lambda: None, time.perf_counter() - t0, f"ORT {threads} threads",
                  "int8" if int8 else "fp32")
