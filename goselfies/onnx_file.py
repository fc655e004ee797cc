"""The ONNX file format of Go-selfies: export, the export cache and the metadata a file carries.

The exported graph takes a normalised RGB batch ``image`` (N,3,H,W), H and W multiples of 32 but
otherwise free (dynamic axes), and returns ``mask`` = sigmoid(logits), so any ONNX consumer gets
probabilities directly. What the file is (arch, mean, std, train size, source weights hash) travels
in the ONNX metadata, so an exported file is self-describing. Running a file is ``runners/onnx.py``.

Automatic exports live in a cache (platformdirs ``user_cache_dir``, or ``$GOSELFIES_CACHE_DIR``)
keyed by the SHA-256 of the weights.
"""
from __future__ import annotations

import functools
import hashlib
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from . import paths
from .errors import GoSelfiesError
from .weights import file_key, read_metadata

OPSET = 17
EXPORT_VERSION = 1  # bump when the exported graph changes, so stale cache entries are not reused
INPUT, OUTPUT = "image", "mask"


def is_onnx(path: str | Path | None) -> bool:
    return path is not None and Path(path).suffix.lower() == ".onnx"


def cache_dir() -> Path:
    """Where automatic exports live."""
    return paths.cache_dir("onnx")


def file_sha256(path: str | Path) -> str:
    """The file's SHA-256, hashed once per file version (the cache key and the export's provenance)."""
    return _sha256(*file_key(path))


@functools.lru_cache(maxsize=32)
def _sha256(path: str, _mtime_ns: int, _size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata of either kind of model file: an ONNX export or safetensors weights."""
    return read_onnx_metadata(path) if is_onnx(path) else read_metadata(path)


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


def write_metadata(path: str | Path, meta: dict[str, Any]) -> None:
    """Replace an ONNX file's metadata with ``meta`` (values as JSON), in place."""
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for k, v in meta.items():
        proto.metadata_props.add(key=str(k), value=json.dumps(v))
    onnx.save(proto, str(path))


def export_module(model, out: str | Path, meta: dict[str, Any], opset: int = OPSET) -> Path:
    """Export an ``nn.Module`` (logits out) to ``out`` atomically, with dynamic batch/height/width."""
    import torch

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)  # an OSError here is the cache's (see cached_export)
    wrapped = _probabilities(model.float().eval())
    dummy = torch.zeros(1, 3, 256, 192)  # not square, so no axis gets specialised to another's size
    axes = {0: "batch", 2: "height", 3: "width"}
    try:
        with paths.atomic_path(out) as tmp:
            with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    wrapped, (dummy,), str(tmp), dynamo=False, opset_version=opset,
                    input_names=[INPUT], output_names=[OUTPUT],
                    dynamic_axes={INPUT: axes, OUTPUT: axes}, do_constant_folding=True,
                )
            write_metadata(tmp, {**meta, "goselfies_export_version": EXPORT_VERSION})
    except GoSelfiesError:
        raise
    except Exception as exc:
        raise GoSelfiesError(f"ONNX export failed: {type(exc).__name__}: {str(exc).strip()[:200]}") from None
    return out


def export_weights(model_name: str, weights: str | Path, out: str | Path, meta: dict[str, Any] | None = None,
                   opset: int = OPSET) -> Path:
    """Export a Go-selfies safetensors file to ONNX, carrying its metadata over."""
    from .models import create_model

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
