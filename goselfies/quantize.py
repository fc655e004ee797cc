"""int8 ONNX models for the CPU: static quantisation (QDQ, per-channel weights) with ONNX Runtime.

Why: CPUs with VNNI run int8 convolutions several times faster than fp32. On the 2-core benchmark
machine resunet34 at 256x192 went from 124 to 35 ms per frame. Its accuracy on EG1800 test stayed
nearly the same (shipped weights: IoU 0.9195 against 0.9197). The MobileNet-based
`lite` gains less (about 15-25 %; IoU 0.9305 against 0.9314), because depthwise convolutions gain little from int8.

The activation ranges are calibrated on the shipped sample photos and their mirror images, prepared
exactly as the segmenter prepares frames, so nothing outside the package is needed. The result is
cached beside the fp32 export and keyed by the same weights hash. Use it with
``--backend onnx-int8`` or ``goselfies export --format onnx --int8``.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from .errors import GoSelfiesError
from .onnx_backend import INPUT, OnnxRunner, OrtOptions, cache_dir, cached_export, file_sha256, make_session

if TYPE_CHECKING:  # pragma: no cover
    from .segmenter import Segmenter

SAMPLES = Path(__file__).parent / "assets" / "samples"
QUANT_VERSION = 1


def calibration_batches(mean, std, size: int = 256, folder: Path = SAMPLES) -> Iterator[dict[str, np.ndarray]]:
    """Each sample photo and its mirror image, prepared as the segmenter prepares frames."""
    from .fastpre import normalize_into, shrink
    from .media import list_images, read_image
    from .segmenter import padded

    images, _ = list_images([folder])
    if not images:
        raise GoSelfiesError(f"no calibration images in {folder}")
    mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
    for path in images:
        frame = read_image(path)
        for img in (frame, np.ascontiguousarray(frame[:, ::-1])):
            h, w = img.shape[:2]
            scale = size / max(h, w)
            nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
            buf = np.zeros((1, 3, padded(nh), padded(nw)), np.float32)
            normalize_into(buf, shrink(img, nw, nh), False, mean, std)
            yield {INPUT: buf}


def quantize_file(fp32: str | Path, out: str | Path, calibration: Path = SAMPLES) -> Path:
    """Quantise an exported fp32 Go-selfies ONNX file to int8 (QDQ), keeping its metadata."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from .onnx_backend import read_onnx_metadata
    from .weights import input_spec

    meta = read_onnx_metadata(fp32)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    pre = out.with_name(f".{out.stem}.{os.getpid()}.pre.onnx")
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.partial.onnx")
    spec = input_spec(meta)
    batches = calibration_batches(spec.mean, spec.std, spec.size, calibration)

    class Reader(CalibrationDataReader):
        def get_next(self):
            return next(batches, None)

    try:
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(tmp), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        proto = onnx.load(str(tmp))
        del proto.metadata_props[:]
        for k, v in {**meta, "quantized": "int8 static QDQ, per-channel weights",
                     "quant_version": QUANT_VERSION}.items():
            proto.metadata_props.add(key=str(k), value=json.dumps(v))
        onnx.save(proto, str(tmp))
        os.replace(tmp, out)
    except GoSelfiesError:
        raise
    except Exception as exc:  # noqa: BLE001 - one clear line instead of an ORT traceback
        raise GoSelfiesError(f"int8 quantisation failed: {type(exc).__name__}: {str(exc).strip()[:200]}") from None
    finally:
        for p in (pre, tmp):
            p.unlink(missing_ok=True)
    return out


def cached_int8(model_name: str, weights: str | Path, quiet: bool = False) -> Path:
    """The int8 file for these weights, made once into the cache."""
    path = cache_dir() / f"{model_name}-{file_sha256(weights)[:20]}-int8-q{QUANT_VERSION}.onnx"
    if path.is_file():
        return path
    fp32 = cached_export(model_name, weights, quiet)
    if not quiet:
        print(f"note: quantising {model_name} to int8 once (cached in {path.parent})", file=sys.stderr)
    return quantize_file(fp32, path)


class OnnxInt8Runner(OnnxRunner):
    """ONNX Runtime on an int8 model: the same pre/post-processing, a quantised network."""

    name = "onnx-int8"

    def __init__(self, seg: "Segmenter", options: OrtOptions | None = None):
        from .onnx_backend import is_onnx

        if is_onnx(seg.weights_path):
            raise GoSelfiesError("--backend onnx-int8 takes .safetensors weights; to run a quantised "
                                 "file, pass it with --backend onnx")
        self.seg = seg
        self.path = cached_int8(seg.model_name, seg.weights_path)
        self.session = make_session(self.path, seg.device, options)
        self.threads = self.session.get_session_options().intra_op_num_threads
        self.timings = {}
