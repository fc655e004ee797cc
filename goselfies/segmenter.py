"""The segmentation engine: any frame in, a soft person mask of the frame's size out.

One clear path (as in Robust Video Matting's inference script): resize keeping aspect so the
longer side is ``size``, pad to a multiple of 32, run the network, drop the padding, resize the
probabilities back, post-process. CUDA runs fp16 + channels_last with pre/post-processing on
the GPU; the CPU runs fp32 with reused input buffers.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .errors import GoSelfiesError
from .fastpre import normalize_into, shrink
from .postprocess import PostProcess
from .weights import input_spec, read_metadata, shipped_weights


@dataclass
class SegmenterConfig:
    model: str = "auto"  # a registry name; auto: resunet34 on a GPU, lite on a CPU
    weights: str | Path | None = None  # default: the weights shipped in the package
    device: str = "auto"  # auto | cpu | cuda
    size: int | None = None  # network input (longer side); default: the size the weights were trained at
    backend: str = "auto"  # auto: onnx on a CPU (when onnxruntime is installed), torch on CUDA
    realtime: bool = True  # model auto: False (photos, video files) takes the quality tier on a CPU too
    post: PostProcess = field(default_factory=PostProcess)


def resolve_device(name: str, quiet: bool = False) -> str:
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if not quiet:
            print("note: no CUDA GPU found, running on the CPU", file=sys.stderr)
        return "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise GoSelfiesError("--device cuda was requested but no CUDA GPU is available (use --device cpu or auto)")
        return name
    if name != "cpu":
        raise GoSelfiesError(f"unknown device '{name}'; use auto, cpu or cuda")
    return name


def resolve_weights(model: str, weights: str | Path | None, device: str, realtime: bool = True) -> tuple[str, Path, dict]:
    """Pick (model name, weights path, metadata); says exactly how to get weights if none exist."""
    from .models import model_info

    if weights:
        meta = read_metadata(weights)
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
        raise GoSelfiesError(
            f"no weights for model '{model}' are installed: pass --weights PATH (a .safetensors file), "
            f"or train some with: goselfies train --data DIR --model {model} --out RUN"
        )
    return model, path, read_metadata(path)


TIERS = ("quality", "lite")  # best mask first; ``auto`` takes the first that is shipped


def auto_model(device: str, realtime: bool = True) -> str:
    """A CPU in real time gets the fast ``lite`` tier; a GPU, or work that is not real time (photos),
    gets the ``quality`` tier. Falls back to whichever tier is installed."""
    shipped = [m for m in TIERS if shipped_weights(m) is not None]
    want = "quality" if device.startswith("cuda") or not realtime else "lite"
    if want in shipped or not shipped:
        return want
    return shipped[0]


MAX_SIZE = 2048  # network input side; beyond it memory grows with no gain in mask quality


def padded(n: int) -> int:
    return int(math.ceil(n / 32) * 32)


class Segmenter:
    """``Segmenter(config)(frame) -> float32 mask in [0,1]`` of the frame's height and width."""

    def __init__(self, config: SegmenterConfig | None = None, quiet: bool = False, **overrides):
        cfg = config or SegmenterConfig()
        for k, v in overrides.items():
            setattr(cfg, k, v)
        self.config = cfg
        self.device = resolve_device(cfg.device, quiet)
        self.model_name, self.weights_path, self.meta = resolve_weights(cfg.model, cfg.weights, self.device, cfg.realtime)
        # The default size is the weights' own (their measured best, else their training size): far from
        # the scale the network learned accuracy falls (an earlier resunet34 trained at 160 scored EG1800
        # IoU 0.858 at 160, 0.834 at 320), and it is the speed the model was benchmarked at.
        spec = input_spec(self.meta)
        self.size = cfg.size or spec.size
        if not 32 <= self.size <= MAX_SIZE:
            raise GoSelfiesError(f"--size must be between 32 and {MAX_SIZE}, got {self.size}")
        self.post = cfg.post
        self.mean = np.array(spec.mean, np.float32)
        self.std = np.array(spec.std, np.float32)
        self._runner = make_runner(cfg.backend, self)
        self._buffers: dict[tuple[int, int, int, int], np.ndarray] = {}  # (ph, pw, nh, nw)

    def describe(self) -> str:
        return f"{self.model_name} ({self._runner.name}, {self.device}) at {self.size} px"

    def geometry(self, h: int, w: int) -> tuple[int, int, int, int]:
        """(resized h, resized w, padded h, padded w) for a frame of h x w."""
        scale = self.size / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        return nh, nw, padded(nh), padded(nw)

    def __call__(self, frame: np.ndarray, rgb: bool = False) -> np.ndarray:
        if frame is None or frame.ndim != 3 or frame.shape[2] not in (3, 4) or frame.dtype != np.uint8:
            raise GoSelfiesError("frame must be a uint8 image of shape (H, W, 3)")
        if frame.shape[2] == 4:
            frame = frame[:, :, :3]
        mask = self._runner.predict(frame, rgb)
        return self.post(mask, frame if not rgb else frame[:, :, ::-1])

    def preprocess(self, frame: np.ndarray, rgb: bool) -> tuple[np.ndarray, int, int]:
        """CPU pre-processing into a reused (1,3,ph,pw) float32 buffer; returns (buffer, nh, nw)."""
        h, w = frame.shape[:2]
        nh, nw, ph, pw = self.geometry(h, w)
        small = shrink(frame, nw, nh)  # fast anti-aliased resize (see fastpre.py)
        # keyed by the content size too: the zero padding must never hold another frame's pixels
        buf = self._buffers.get((ph, pw, nh, nw))
        if buf is None:
            buf = self._buffers[(ph, pw, nh, nw)] = np.zeros((1, 3, ph, pw), np.float32)
        normalize_into(buf, small, rgb, self.mean, self.std)
        return buf, nh, nw


class TorchRunner:
    """PyTorch eager: fp32 on CPU; fp16 + channels_last with GPU-side pre/post on CUDA."""

    name = "torch"

    def __init__(self, seg: Segmenter):
        from .models import create_model
        import torch

        self.torch = torch
        self.seg = seg
        self.dev = torch.device(seg.device)
        model = create_model(seg.model_name, weights=seg.weights_path).eval().to(self.dev)
        self.cuda = self.dev.type == "cuda"
        if self.cuda:  # fp16 + channels_last, pinned uint8 uploads, GPU pre/post, CUDA graphs
            from .cuda_engine import CudaEngine

            self.engine = CudaEngine(model, seg.mean, seg.std, seg.geometry, device=seg.device)
        self.model = model

    def predict(self, frame: np.ndarray, rgb: bool) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            if self.cuda:
                return self.engine.mask(frame, rgb)
            buf, nh, nw = self.seg.preprocess(frame, rgb)
            logits = self.model(torch.from_numpy(buf))
            prob = torch.sigmoid(logits[0, 0, :nh, :nw]).numpy()
        h, w = frame.shape[:2]
        return cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)


# name -> runner class, or "module:Class" imported on first use (keeps onnxruntime off the import path)
RUNNERS: dict[str, type | str] = {"torch": TorchRunner, "onnx": "goselfies.onnx_backend:OnnxRunner",
                                  "onnx-int8": "goselfies.quantize:OnnxInt8Runner"}


def make_runner(backend: str, seg: Segmenter):
    from .onnx_backend import choose_backend, is_onnx

    chosen = choose_backend(backend, seg.device, seg.weights_path)  # auto: onnx on CPU, torch on CUDA
    try:
        cls = RUNNERS[chosen]
    except KeyError:
        raise GoSelfiesError(f"unknown backend '{chosen}'; valid: auto, {', '.join(RUNNERS)}") from None
    if isinstance(cls, str):
        import importlib

        module, _, attr = cls.partition(":")
        cls = getattr(importlib.import_module(module), attr)
    try:
        return cls(seg)
    except GoSelfiesError as exc:
        if backend != "auto" or chosen == "torch" or is_onnx(seg.weights_path):
            raise
        print(f"note: onnx backend unavailable ({exc}); using torch", file=sys.stderr)  # auto never fails on it
        return TorchRunner(seg)
