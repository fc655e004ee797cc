"""The CUDA engine: fp16 agrees with fp32, CUDA graphs agree with eager, the segmenter on CUDA agrees with the CPU,
and benchmark-fps runs its GPU backends and the device frame path. Skipped without a CUDA GPU (as in CI); the device
frame path against the numpy one is in test_devicepath.py."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none found)"),
]

from goselfies.paths import SAMPLES  # noqa: E402


def frames() -> list[np.ndarray]:
    from goselfies.io.media import read_image

    return [read_image(p) for p in sorted(SAMPLES.glob("*.jpg"))]


def trained_weights() -> tuple[str, Path]:
    """A fp16-vs-fp32 comparison only means something on a trained model (random logits sit at 0.5)."""
    from goselfies.engine.weights import shipped_weights

    for name in ("resunet34", "lite"):
        path = shipped_weights(name)
        if path:
            return name, path
    pytest.skip("no shipped (trained) weights in goselfies/assets/models")


def engine(name: str, weights: Path, precision: str, graphs: bool, size: int = 512):
    from goselfies.engine.models import IMAGENET_MEAN as MEAN
    from goselfies.engine.models import IMAGENET_STD as STD
    from goselfies.engine.networks import create_model
    from goselfies.engine.prep import padded
    from goselfies.engine.runners.cuda import CudaEngine

    def geometry(h: int, w: int):
        scale = size / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        return nh, nw, padded(nh), padded(nw)

    return CudaEngine(create_model(name, weights=weights), MEAN, STD, geometry, precision=precision, graphs=graphs)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a >= 0.5, b >= 0.5
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def test_fp16_masks_match_fp32():
    from goselfies.engine.weights import read_metadata

    name, weights = trained_weights()
    size = int(read_metadata(weights).get("train_size", 512))  # the app's size for these weights
    fp16 = engine(name, weights, "fp16", graphs=True, size=size)
    fp32 = engine(name, weights, "fp32", graphs=False, size=size)
    for frame in frames():
        assert iou(fp16.mask(frame), fp32.mask(frame)) >= 0.99


def test_cuda_graph_replay_matches_eager(lite_weights):
    graphed, eager = engine("lite", lite_weights, "fp16", True, 256), engine("lite", lite_weights, "fp16", False, 256)
    for frame in frames() + frames() + frames():  # captured on a shape's second frame, replayed on the third
        assert np.abs(graphed.mask(frame) - eager.mask(frame)).max() < 2e-3
    assert any(g is not None for g in graphed._graphs.values())


def test_segmenter_on_cuda_matches_cpu(lite_weights):
    from goselfies.engine.segmenter import Segmenter, SegmenterConfig

    gpu = Segmenter(SegmenterConfig(weights=lite_weights, device="cuda", backend="auto", size=256), quiet=True)
    cpu = Segmenter(SegmenterConfig(weights=lite_weights, device="cpu", backend="torch", size=256), quiet=True)
    assert "(torch, cuda)" in gpu.describe()  # auto picks torch on a GPU
    frame = frames()[0]
    assert np.abs(gpu(frame) - cpu(frame)).mean() < 0.02


def test_benchmark_gpu_backends(lite_weights, tmp_path):
    import json

    from goselfies.benchmarks.main import main

    rc = main(["model", "--device", "cuda", "--weights", f"lite={lite_weights}", "--sizes", "256",
               "--precisions", "fp16,bf16", "--backends", "torch,cudagraph,onnx", "--batch-sizes", "1,4",
               "--iters", "5", "--warmup", "2", "--mediapipe", "off", "-o", str(tmp_path)])
    assert rc == 0
    rows = json.loads((tmp_path / "results.json").read_text())["results"]
    timed = {(r["backend"], r["precision"], r["batch"]) for r in rows if not r["skipped"]}
    assert {("torch", "fp16", 1), ("cudagraph", "fp16", 1), ("torch", "bf16", 4)} <= timed


def test_benchmark_pipeline_device_engine_and_host_path(lite_weights, tmp_path):
    import json

    from goselfies.benchmarks.main import main

    rc = main(["pipeline", "--device", "cuda", "--weights", f"lite={lite_weights}", "--sizes", "256",
               "--backends", "torch", "--background", "green", "--frames", "6", "--warmup", "3",
               "--mediapipe", "off", "-o", str(tmp_path)])
    assert rc == 0
    rows = json.loads((tmp_path / "results.json").read_text())["results"]
    assert {r["backend"] for r in rows if not r["skipped"]} == {"torch", "torch+host-path"}
