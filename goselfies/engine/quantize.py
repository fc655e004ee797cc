"""int8 ONNX models for the CPU: static quantisation (QDQ, per-channel weights) with ONNX Runtime.

Why: CPUs with VNNI run int8 convolutions faster than fp32, plain ones (resunet34, ``lite``'s decoder) more than
depthwise ones (``lite``'s encoder); the measured speeds and IoUs are in BENCHMARKS.md and the model cards.

The activation ranges are calibrated on the shipped sample photos and their mirror images, prepared
exactly as the segmenter prepares frames, so nothing outside the package is needed. The result is
cached beside the fp32 export and keyed by the same weights hash; for its shipped weights the package ships the
files (``lite.int8.onnx``, ``quality.int8.onnx``), so the lean install runs int8 without the ``onnx`` package.
This module makes the file; ``runners/onnx_int8.py`` runs it (``--backend onnx-int8``); ``goselfies export
--format onnx --int8`` writes one.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..errors import GoSelfiesError
from ..extras import require
from ..paths import SAMPLES, atomic_path
from .onnx_file import (
    INPUT,
    cache_dir,
    cached_export,
    file_sha256,
    read_onnx_metadata,
    restore_fp32,
    shipped_export,
    write_metadata,
)
from .prep import Prep
from .weights import input_spec

QUANT_VERSION = 1


def calibration_batches(mean: Sequence[float], std: Sequence[float], size: int = 256,
                        folder: Path = SAMPLES, multiple: int = 32, square: bool = False
                        ) -> Iterator[dict[str, np.ndarray]]:
    """Each sample photo and its mirror image, prepared as the segmenter prepares frames."""
    from ..io.media import list_images, read_image

    images, _ = list_images([folder])
    if not images:
        raise GoSelfiesError(f"no calibration images in {folder}")
    prep = Prep(size, mean, std, multiple, square)
    for path in images:
        frame = read_image(path)
        for img in (frame, np.ascontiguousarray(frame[:, ::-1])):
            yield {INPUT: prep.prepare(img, False)[0].copy()}  # prepare() reuses its buffer


def drop_unused_opsets(path: Path) -> None:
    """Keep only the operator-set imports the graph's nodes use. ONNX Runtime's pre-processing declares every domain
    it knows (ai.onnx.ml 5 among them), and the oldest ONNX Runtime pyproject allows (1.17) refuses such a file."""
    import onnx

    proto = onnx.load(str(path))
    used = {n.domain for n in proto.graph.node} | {""}
    kept = [o for o in proto.opset_import if o.domain in used]
    del proto.opset_import[:]
    proto.opset_import.extend(kept)
    onnx.save(proto, str(path))


def quantize_file(fp32: str | Path, out: str | Path, calibration: Path = SAMPLES) -> Path:
    """Quantise an exported Go-selfies ONNX file (float32, or float16-stored weights) to int8 (QDQ), keeping
    its metadata."""
    require("onnx", "int8 quantisation")
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    meta = read_onnx_metadata(fp32)
    out = Path(out)
    spec = input_spec(meta)
    batches = calibration_batches(spec.mean, spec.std, spec.size, calibration, spec.multiple, spec.square)

    class Reader(CalibrationDataReader):
        def get_next(self):
            return next(batches, None)

    try:
        with atomic_path(out) as tmp:
            plain = tmp.with_name(tmp.stem + ".fp32.onnx")  # scratch files beside it
            pre = tmp.with_name(tmp.stem + ".pre.onnx")
            try:
                restore_fp32(fp32, plain)
                quant_pre_process(str(plain), str(pre), skip_symbolic_shape=True)
                quantize_static(str(pre), str(tmp), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
            finally:
                plain.unlink(missing_ok=True)
                pre.unlink(missing_ok=True)
            drop_unused_opsets(tmp)
            write_metadata(tmp, {**meta, "quantized": "int8 static QDQ, per-channel weights",
                                 "quant_version": QUANT_VERSION})
    except GoSelfiesError:
        raise
    except Exception as exc:  # noqa: BLE001 - one clear line instead of an ORT traceback
        raise GoSelfiesError(f"int8 quantisation failed: {type(exc).__name__}: {str(exc).strip()[:200]}") from None
    return out


def cached_int8(model_name: str, weights: str | Path, quiet: bool = False) -> Path:
    """The int8 file for these weights: the package's own for the shipped weights where it ships one (no
    ``onnx`` needed), else made once into the cache."""
    shipped = shipped_export(model_name, weights, int8=True)
    if shipped is not None:
        return shipped
    path = cache_dir() / f"{model_name}-{file_sha256(weights)[:20]}-int8-q{QUANT_VERSION}.onnx"
    if path.is_file():
        return path
    fp32 = cached_export(model_name, weights, quiet)
    if not quiet:
        print(f"note: quantising {model_name} to int8 once (cached in {path.parent})", file=sys.stderr)
    return quantize_file(fp32, path)
