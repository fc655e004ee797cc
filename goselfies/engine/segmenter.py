"""The segmentation engine: any frame in, a soft person mask of the frame's size out.

One clear path (as in Robust Video Matting's inference script): resize keeping aspect so the
longer side is ``size``, pad to the model's size multiple (32), run the network, drop the padding, resize the
probabilities back (post-processing is the frame path's). Which network and file (``resolve_weights``), its input facts
(``weights.input_spec``: the file's own, else the registry's) and the device are decided here once;
the backend that runs the network is a runner (``goselfies.engine.runners``) given only what it needs.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import GoSelfiesError, MissingWeights
from ..extras import available, require
from ..options import OPTIONS
from .models import model_info
from .onnx_file import model_metadata, shipped_export
from .prep import Prep
from .runners import ModelFile, Runner, make_runner
from .weights import input_spec, shipped_models, shipped_weights


@dataclass
class SegmenterConfig:
    model: str = "auto"  # a registry name; auto: ``auto_model``
    weights: str | Path | None = None  # default: the weights shipped in the package
    device: str = "auto"  # auto | cpu | cuda
    size: int | None = None  # network input (longer side); default: the size the weights were trained at
    backend: str = "auto"  # auto: onnx on a CPU (when onnxruntime is installed), torch on CUDA
    realtime: bool = True  # False (photos, video files): model auto takes the quality tier on a CPU too,
    # backend auto ONNX Runtime instead of OpenVINO (a new input shape per image)
    # Average with the mask of the mirrored frame: twice the network time for a cleaner edge (measured in
    # quality.md); photos take it by default (the option's ``still`` default).
    flip: bool = OPTIONS["flip"].default
    threads: int = 0  # ONNX Runtime's intra-op threads; 0: the usable cores (the live session takes 1)


def nvidia_driver() -> bool:
    """An NVIDIA driver is loaded (Linux: its kernel module; Windows: its CUDA library)."""
    if sys.platform == "win32":
        return (Path(os.environ.get("SystemRoot", r"C:\Windows")) / "System32" / "nvcuda.dll").is_file()
    return Path("/proc/driver/nvidia").exists()


def cuda_available() -> bool:
    """A CUDA GPU that PyTorch can use. Without torch, or without an NVIDIA driver, the answer is no without
    importing torch (2-3 s): the CPU path never loads it."""
    if not available("torch") or not nvidia_driver():
        return False
    import torch

    return torch.cuda.is_available()


def resolve_device(name: str, quiet: bool = False) -> str:
    if name == "auto":
        if cuda_available():
            return "cuda"
        if not quiet:
            print("note: no CUDA GPU found, running on the CPU", file=sys.stderr)
        return "cpu"
    if name.startswith("cuda"):
        require("torch", "--device cuda")
        if not cuda_available():
            raise GoSelfiesError("--device cuda was requested but no CUDA GPU is available (use --device cpu or auto)")
        return name
    if name != "cpu":
        raise GoSelfiesError(f"unknown device '{name}'; use auto, cpu or cuda")
    return name


def resolve_weights(model: str, weights: str | Path | None, device: str, realtime: bool = True) -> tuple[str, Path, dict]:
    """Pick (model name, weights path, metadata); says exactly how to get weights if none exist."""
    if weights:
        meta = model_metadata(weights)
        arch = meta.get("arch", "")
        if model != "auto" and arch != model:
            raise GoSelfiesError(f"{weights}: weights are for model '{arch or 'unknown'}', not '{model}'")
        model_info(arch)
        return arch, Path(weights), meta
    if model == "auto":
        model = auto_model(device, realtime)
    model_info(model)
    path = shipped_weights(model)
    if path is None:
        raise MissingWeights(
            model, f"no weights for model '{model}' are installed: pass --weights PATH (a .safetensors file), "
            f"or train some with: goselfies train --data DIR --model {model} --out RUN"
        )
    return model, path, model_metadata(path)


def runnable_models() -> list[str]:
    """The models that run here without a weights file: shipped weights, and a shipped ONNX file (the lean
    install) or PyTorch (the gpu extra) to run them."""
    return [m for m in shipped_models() if shipped_export(m, shipped_weights(m)) or available("torch")]


TIERS = ("quality", "tiny", "lite")  # best mask first; ``auto`` takes the first that is shipped


def auto_model(device: str, realtime: bool = True) -> str:
    """A CPU in real time gets the ``tiny`` tier (lighter than MediaPipe in our pipeline and above it on every
    held-out set: tiny.md, BENCHMARKS.md run 24); a GPU, or work that is not real time (photos), gets the
    ``quality`` tier. Falls back to whichever tier is installed."""
    shipped = [m for m in TIERS if shipped_weights(m) is not None]
    want = "quality" if device.startswith("cuda") or not realtime else "tiny"
    if want in shipped or not shipped:
        return want
    return shipped[0]


# what a driver's failure says in PyTorch's RuntimeError (an out-of-memory has a class of its own)
DRIVER_ERRORS = ("CUDA error", "CUDNN_STATUS", "CUBLAS_STATUS", "cuDNN error", "NVIDIA driver")


def gpu_failure(exc: RuntimeError, device: str, size: int) -> GoSelfiesError | None:
    """One line, with what to try, for a GPU that ran out of memory or whose driver failed; None for any other
    error (it is not the GPU's)."""
    first = (str(exc).strip().splitlines() or [""])[0][:160]
    if type(exc).__name__ == "OutOfMemoryError" or (device.startswith("cuda") and "out of memory" in first.lower()):
        return GoSelfiesError(f"the GPU ran out of memory at {size} px ({first}); try a smaller --size, "
                              "or --device cpu")
    if device.startswith("cuda") and any(s in str(exc) for s in DRIVER_ERRORS):
        return GoSelfiesError(f"the GPU failed ({first}); try --device cpu, and check the NVIDIA driver (nvidia-smi)")
    return None


@contextmanager
def gpu_failures(device: str, size: int) -> Iterator[None]:
    """The block's GPU failure (``gpu_failure``) raised as its one line; any other error as it was."""
    try:
        yield
    except RuntimeError as exc:
        failure = gpu_failure(exc, device, size)
        if failure is None:
            raise
        raise failure from None


class Segmenter:
    """``Segmenter(config)(frame) -> float32 probabilities in [0,1]`` of the frame's height and width:
    the network alone; smoothing and post-processing are the frame path's (``framepath.FramePath``).

    ``runner`` is the backend running the network (see ``goselfies.engine.runners.Runner``)."""

    def __init__(self, config: SegmenterConfig | None = None, quiet: bool = False):
        cfg = config or SegmenterConfig()
        self.config = cfg
        self.device = resolve_device(cfg.device, quiet)
        self.model_name, self.weights_path, self.meta = resolve_weights(cfg.model, cfg.weights, self.device, cfg.realtime)
        # The default size is the weights' own (their measured best, else their training size): far from
        # the scale the network learned accuracy falls (an earlier resunet34 trained at 160 scored EG1800
        # IoU 0.858 at 160, 0.834 at 320), and it is the speed the model was benchmarked at.
        spec = input_spec(self.meta)
        self.context = spec.size if spec.context else 0  # above this size a call adds a pass at it (``with_context``)
        self.size = cfg.size or (spec.gpu_size if self.device.startswith("cuda") else 0) or spec.size
        self.size = OPTIONS["size"].check(self.size)
        self.prep = Prep(self.size, spec.mean, spec.std, spec.multiple, spec.square)
        self.closer_side = model_info(self.model_name).closer_side  # the live look-closer's input side
        model = ModelFile(self.model_name, self.weights_path, self.meta)
        with gpu_failures(self.device, self.size):  # loading onto a GPU that is full, or whose driver fails
            self.runner: Runner = make_runner(cfg.backend, model, self.prep, self.device, cfg.threads, cfg.realtime)

    def describe(self) -> str:
        extra = f" with a {self.context} px context pass" if self.context_side() else ""
        extra += ", flip-averaged" if self.config.flip else ""
        return f"{self.model_name} ({self.runner.name}, {self.device}) at {self.size} px{extra}"

    def context_side(self) -> int | None:
        """The input side of the context pass of a call at ``prep.size``, for weights that take one (``context``:
        their own size) where both the segmenter's size and the call's are above it: the own size, scaled as the
        call is (a second pass's call); else None."""
        own = self.context
        if not own or self.size <= own or self.prep.size <= own:
            return None
        return round(self.prep.size * own / self.size)

    @contextmanager
    def sized(self, size: int):
        """The network at another input size (longer side) for the calls inside (``secondpass``). One caller
        at a time, as for every call of a Segmenter."""
        old, self.prep.size = self.prep.size, int(min(max(size, OPTIONS["size"].low), OPTIONS["size"].high))
        try:
            yield self
        finally:
            self.prep.size = old

    def geometry(self, h: int, w: int) -> tuple[int, int, int, int]:
        """(resized h, resized w, padded h, padded w) for a frame of h x w."""
        return self.prep.geometry(h, w)

    def __call__(self, frame: np.ndarray, rgb: bool = False) -> np.ndarray:
        if frame is None or frame.ndim != 3 or frame.shape[2] not in (3, 4) or frame.dtype != np.uint8:
            raise GoSelfiesError("frame must be a uint8 image of shape (H, W, 3)")
        if frame.shape[2] == 4:
            frame = frame[:, :, :3]
        with gpu_failures(self.device, self.prep.size):
            mask = self._predict(frame, rgb)
            side = self.context_side()
            if side:
                with self.sized(side):
                    mask = with_context(mask, self._predict(frame, rgb))
        return mask

    def _predict(self, frame: np.ndarray, rgb: bool) -> np.ndarray:
        mask = self.runner.predict(frame, rgb)
        if self.config.flip:
            mask = (mask + self.runner.predict(np.ascontiguousarray(frame[:, ::-1]), rgb)[:, ::-1]) * 0.5
        return mask


def with_context(detail, context):
    """A network run above the size it learned draws finer edges, but on some pictures gets whole regions wrong
    (it sees less of the picture around each pixel). Where the run at its own size (the context) is sure, take
    the context's answer; where it is unsure (the edges), the detail's: weight |2 context - 1| (quality.md,
    "512 px with a context pass"). numpy arrays or torch tensors alike."""
    w = abs(context * 2 - 1)
    return context * w + detail * (1 - w)
