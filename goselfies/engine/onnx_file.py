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

from .. import paths
from ..errors import GoSelfiesError
from ..extras import require
from .weights import file_key, read_metadata, shipped_weights

OPSET = 17
EXPORT_VERSION = 2  # bump when the exported graph changes, so stale cache entries are not reused
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
    """Replace an ONNX file's metadata with ``meta`` (values as JSON), in place (the callers, export and
    int8 quantisation, have checked that onnx is installed)."""
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for k, v in meta.items():
        proto.metadata_props.add(key=str(k), value=json.dumps(v))
    onnx.save(proto, str(path))


def export_module(model, out: str | Path, meta: dict[str, Any], opset: int = OPSET, fp16_weights: bool = False) -> Path:
    """Export an ``nn.Module`` (logits out) to ``out`` atomically, with dynamic batch/height/width.

    ``fp16_weights``: the weights stored as float16 (``store_fp16``), unfolded (BatchNorm not merged into
    the convolutions at export, so the file holds the float16 weights exactly; the runtimes merge at load)."""
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
                    dynamic_axes={INPUT: axes, OUTPUT: axes}, do_constant_folding=not fp16_weights,
                )
            tidy(tmp)
            if fp16_weights:
                store_fp16(tmp)
            write_metadata(tmp, {**meta, "goselfies_export_version": EXPORT_VERSION})
    except GoSelfiesError:
        raise
    except Exception as exc:
        raise GoSelfiesError(f"ONNX export failed: {type(exc).__name__}: {str(exc).strip()[:200]}") from None
    return out


def export_weights(model_name: str, weights: str | Path, out: str | Path, meta: dict[str, Any] | None = None,
                   opset: int = OPSET, fp16_weights: bool = False) -> Path:
    """Export a Go-selfies safetensors file to ONNX, carrying its metadata over."""
    from .networks import create_model

    require("onnx", "exporting weights to ONNX")
    info = {**read_metadata(weights), **(meta or {})}
    info.update(arch=model_name, source_sha256=file_sha256(weights))
    return export_module(create_model(model_name, weights=weights), out, info, opset, fp16_weights)


def tidy(path: str | Path) -> None:
    """Two rewrites of an exported graph, in place, that keep its numbers and let ONNX Runtime's CPU layout (NCHWc)
    run it without leaving its blocked format: a zero Pad of height and width before a Conv (TensorFlow's "same"
    padding, ``tiny``'s strided convolutions) becomes that Conv's own, uneven, padding; a mean over height and width
    a GlobalAveragePool (the squeeze-excites). Otherwise each sends the tensor out to the plain layout and back:
    ``tiny`` runs a sixth faster without them (BENCHMARKS.md run 27)."""
    import onnx
    from onnx import helper

    proto = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    graph = proto.graph
    rank = {v.name: len(v.type.tensor_type.shape.dim) for v in (*graph.value_info, *graph.input)}
    users: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)

    def attrs(node) -> dict[str, Any]:
        return {a.name: helper.get_attribute_value(a) for a in node.attribute}

    pads = [n for n in graph.node if n.op_type == "Pad" and attrs(n).get("mode", b"constant") == b"constant"
            and (len(n.input) < 3 or not n.input[2]) and [u.op_type for u in users.get(n.output[0], [])] == ["Conv"]]
    values = _evaluate(proto, [n.input[1] for n in pads]) if pads else []
    for pad, amounts in zip(pads, values):
        n0, c0, top, left, n1, c1, bottom, right = (int(v) for v in amounts)
        conv = users[pad.output[0]][0]
        if n0 or c0 or n1 or c1 or min(top, left, bottom, right) < 0 or attrs(conv).get("auto_pad", b"NOTSET") != b"NOTSET":
            continue
        t, l, b, r = attrs(conv).get("pads", [0, 0, 0, 0])
        for a in [a for a in conv.attribute if a.name == "pads"]:
            conv.attribute.remove(a)
        conv.attribute.append(helper.make_attribute("pads", [t + top, l + left, b + bottom, r + right]))
        conv.input[0] = pad.input[0]
    for node in graph.node:
        a = attrs(node)
        if (node.op_type == "ReduceMean" and sorted(a.get("axes", [])) in ([2, 3], [-2, -1])
                and a.get("keepdims", 1) == 1 and rank.get(node.input[0]) == 4):
            node.CopyFrom(helper.make_node("GlobalAveragePool", [node.input[0]], list(node.output), name=node.name))
    # what no longer reaches an output goes (the Pads and the nodes that computed their amounts)
    needed = {o.name for o in graph.output}
    keep = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(keep))
    used = {i for n in graph.node for i in n.input}
    inits = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    del graph.value_info[:]
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def _evaluate(proto, names: list[str]) -> list:
    """The values of tensors in ``proto`` that do not depend on its input (a Pad's amounts), by ONNX Runtime."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(proto)
    probe.graph.output.extend(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.INT64, None) for n in names)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(names, {INPUT: np.zeros((1, 3, 64, 64), np.float32)})


FP16_SUFFIX = "__fp16"  # the float16 copy of a weight that a Cast turns back into float32


def store_fp16(path: str | Path) -> None:
    """Keep an exported file's weights as float16, each read through a Cast to float32, in place: half the
    file; ONNX Runtime and OpenVINO fold the Casts at load, so the network still computes in float32."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    proto = onnx.load(str(path))
    graph = proto.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < 16:  # scalars and scales stay exact
            continue
        name = init.name
        init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), name + FP16_SUFFIX))
        casts.append(helper.make_node("Cast", [name + FP16_SUFFIX], [name], to=TensorProto.FLOAT))
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.save(proto, str(path))


def restore_fp32(path: str | Path, out: str | Path) -> Path:
    """``store_fp16`` undone into ``out``: plain float32 weights (what the int8 quantiser reads)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(path))
    graph = proto.graph
    half = {i.name: i for i in graph.initializer if i.name.endswith(FP16_SUFFIX)}
    nodes = []
    for node in graph.node:
        if node.op_type == "Cast" and len(node.input) == 1 and node.input[0] in half:
            init = half[node.input[0]]
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float32), node.output[0]))
        else:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.save(proto, str(out))
    return Path(out)


def shipped_export(model_name: str, weights: str | Path, int8: bool = False) -> Path | None:
    """The package's own ONNX file for its shipped weights (``goselfies export --fp16-weights`` made it; ``int8``:
    ``NAME.int8.onnx``, made by ``goselfies export --int8`` where the package ships one), or None."""
    shipped = shipped_weights(model_name)
    path = paths.MODEL_FILES / f"{model_name}{'.int8' if int8 else ''}.onnx"
    if shipped is None or not path.is_file() or Path(weights).resolve() != shipped.resolve():
        return None
    return path


def cached_export(model_name: str, weights: str | Path, quiet: bool = False) -> Path:
    """The ONNX file for these weights: the package's own for the shipped weights (no torch needed), else
    exported once into the cache."""
    shipped = shipped_export(model_name, weights)
    if shipped is not None:
        return shipped
    digest = file_sha256(weights)[:20]
    path = cache_dir() / f"{model_name}-{digest}-op{OPSET}-v{EXPORT_VERSION}.onnx"
    if path.is_file():
        return path
    require("onnx", f"running {model_name} from these weights on ONNX Runtime (an export)", extra="train")
    if not quiet:
        print(f"note: exporting {model_name} to ONNX once (cached in {path.parent})", file=sys.stderr)
    try:
        return export_weights(model_name, weights, path)
    except OSError as exc:
        raise GoSelfiesError(f"cannot write the ONNX cache at {path.parent} ({exc.strerror or exc}); "
                             "set GOSELFIES_CACHE_DIR to a writable folder") from None


def read_onnx_metadata(path: str | Path) -> dict[str, Any]:
    """The Go-selfies metadata of an exported file (arch, mean, std, train_size...), read once per file
    version with ONNX Runtime (a base dependency; the ``onnx`` package is the train extra's)."""
    return dict(_read_onnx_metadata(*file_key(path)))


@functools.lru_cache(maxsize=32)
def _read_onnx_metadata(path: str, _mtime_ns: int, _size: int) -> dict[str, Any]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    try:
        raw = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"]).get_modelmeta()
    except Exception as exc:  # noqa: BLE001 - any loader failure is the file's
        raise GoSelfiesError(f"{path}: not a valid ONNX file ({type(exc).__name__})") from None
    meta: dict[str, Any] = {}
    for key, value in raw.custom_metadata_map.items():
        try:
            meta[key] = json.loads(value)
        except ValueError:
            meta[key] = value
    if "arch" not in meta:
        raise GoSelfiesError(f"{path}: not a Go-selfies ONNX export (no 'arch' metadata); "
                             "make one with: goselfies export --format onnx -o PATH")
    return meta
