"""ONNX export and the ONNX Runtime runner: the fast CPU backend.

On a plain CPU, ONNX Runtime runs our networks faster than PyTorch eager (fused conv+BN+activation,
no Python per layer). The exported graph takes a normalised RGB batch ``image`` (N,3,H,W), H and W
multiples of 32 but otherwise free (dynamic axes), and returns ``mask`` = sigmoid(logits), so any
ONNX consumer gets probabilities directly. What the file is (arch, mean, std, train size, source
weights hash) travels in the ONNX metadata, so an exported file is self-describing.

The runner exports on first use into a cache (platformdirs ``user_cache_dir``, or
``$GOSELFIES_CACHE_DIR``) keyed by the SHA-256 of the weights, or runs an explicit ``.onnx`` file.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from . import paths
from .errors import GoSelfiesError

if TYPE_CHECKING:  # pragma: no cover
    from .segmenter import Segmenter

OPSET = 17
EXPORT_VERSION = 1  # bump when the exported graph changes, so stale cache entries are not reused
INPUT, OUTPUT = "image", "mask"


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def is_onnx(path: str | Path | None) -> bool:
    return path is not None and Path(path).suffix.lower() == ".onnx"


def cache_dir() -> Path:
    """Where automatic exports live."""
    return paths.cache_dir("onnx")


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------- export


def _probabilities(model):
    """Wrap a logits network so the graph ends in a sigmoid (consumers get a mask directly)."""
    import torch

    class Probabilities(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, image):
            return torch.sigmoid(self.net(image))

    # eval() on the wrapper: the exporter restores the wrapper's mode afterwards, and a fresh
    # module is in training mode, which would flip the network's BatchNorm to batch statistics.
    return Probabilities(model).eval()


def export_module(model, out: str | Path, meta: dict[str, Any], opset: int = OPSET) -> Path:
    """Export an ``nn.Module`` (logits out) to ``out`` atomically, with dynamic batch/height/width."""
    import onnx
    import torch

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.partial.onnx")
    wrapped = _probabilities(model.float().eval())
    dummy = torch.zeros(1, 3, 256, 192)  # not square, so no axis gets specialised to another's size
    axes = {0: "batch", 2: "height", 3: "width"}
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapped, (dummy,), str(tmp), dynamo=False, opset_version=opset,
                input_names=[INPUT], output_names=[OUTPUT],
                dynamic_axes={INPUT: axes, OUTPUT: axes}, do_constant_folding=True,
            )
        proto = onnx.load(str(tmp))
        del proto.metadata_props[:]
        for k, v in {**meta, "goselfies_export_version": EXPORT_VERSION}.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = str(k), json.dumps(v)
        onnx.save(proto, str(tmp))
        os.replace(tmp, out)
    except GoSelfiesError:
        raise
    except Exception as exc:
        raise GoSelfiesError(f"ONNX export failed: {type(exc).__name__}: {str(exc).strip()[:200]}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def export_weights(model_name: str, weights: str | Path, out: str | Path, meta: dict[str, Any] | None = None,
                   opset: int = OPSET) -> Path:
    """Export a Go-selfies safetensors file to ONNX, carrying its metadata over."""
    from .models import create_model
    from .weights import read_metadata

    info = {**read_metadata(weights), **(meta or {})}
    info.update(arch=model_name, source_sha256=file_sha256(weights))
    return export_module(create_model(model_name, weights=weights), out, info, opset)


def cached_export(model_name: str, weights: str | Path, quiet: bool = False) -> Path:
    """The ONNX file for these weights, exporting it once into the cache."""
    digest = file_sha256(weights)[:20]
    path = cache_dir() / f"{model_name}-{digest}-op{OPSET}-v{EXPORT_VERSION}.onnx"
    if path.is_file():
        return path
    if not quiet:
        print(f"note: exporting {model_name} to ONNX once (cached in {path.parent})", file=sys.stderr)
    try:
        return export_weights(model_name, weights, path)
    except OSError as exc:
        raise GoSelfiesError(f"cannot write the ONNX cache at {path.parent} ({exc.strerror or exc}); "
                             "set GOSELFIES_CACHE_DIR to a writable folder") from None


def read_onnx_metadata(path: str | Path) -> dict[str, Any]:
    """The Go-selfies metadata of an exported file (arch, mean, std, train_size...)."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise GoSelfiesError(f"ONNX file not found: {path}")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise GoSelfiesError(f"{path}: not a valid ONNX file ({type(exc).__name__})") from None
    meta: dict[str, Any] = {}
    for entry in proto.metadata_props:
        try:
            meta[entry.key] = json.loads(entry.value)
        except ValueError:
            meta[entry.key] = entry.value
    if "arch" not in meta:
        raise GoSelfiesError(f"{path}: not a Go-selfies ONNX export (no 'arch' metadata); "
                             "make one with: goselfies export --format onnx -o PATH")
    return meta


# ---------------------------------------------------------------------------------------- runtime


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
    """ONNX Runtime on the CPU: the Segmenter's reused float32 buffer in, probabilities out.

    ``timings`` holds the last frame's pre/infer/post seconds for ``benchmark-fps``.
    """

    name = "onnx"

    def __init__(self, seg: "Segmenter", options: OrtOptions | None = None):
        self.seg = seg
        if is_onnx(seg.weights_path):
            self.path = Path(seg.weights_path)
        else:
            self.path = cached_export(seg.model_name, seg.weights_path)
        self.session = make_session(self.path, seg.device, options)
        self.threads = self.session.get_session_options().intra_op_num_threads
        self.timings: dict[str, float] = {}

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """(N,3,H,W) float32 normalised -> (N,1,H,W) probabilities."""
        return self.session.run([OUTPUT], {INPUT: batch})[0]

    def predict(self, frame: np.ndarray, rgb: bool) -> np.ndarray:
        t0 = time.perf_counter()
        buf, nh, nw = self.seg.preprocess(frame, rgb)
        t1 = time.perf_counter()
        prob = self.infer(buf)[0, 0, :nh, :nw]
        t2 = time.perf_counter()
        h, w = frame.shape[:2]
        mask = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
        self.timings = {"pre": t1 - t0, "infer": t2 - t1, "post": time.perf_counter() - t2}
        return mask


def choose_backend(requested: str, device: str, weights: str | Path | None) -> str:
    """Resolve ``auto`` to the fastest backend here: torch on CUDA, ONNX Runtime on a CPU."""
    if is_onnx(weights):
        if requested not in ("auto", "onnx"):
            raise GoSelfiesError(f"{weights} is an ONNX file: use --backend onnx (or auto)")
        return "onnx"
    if requested != "auto":
        return requested
    if device.startswith("cuda") or not onnxruntime_available():
        return "torch"
    return "onnx"
