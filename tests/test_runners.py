"""The runners: every registered backend declares the Runner protocol's members and is built from a
ModelFile, a Prep and a device; a weights file's metadata is read once however many layers ask."""
from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from goselfies.engine.prep import Prep
from goselfies.engine.runners import (
    BACKENDS,
    RUNNERS,
    ModelFile,
    Runner,
    choose_backend,
    runner_class,
)
from goselfies.errors import GoSelfiesError


@pytest.mark.parametrize("key", sorted(RUNNERS))
def test_every_registered_runner_follows_the_protocol(key):
    backend, cuda = key
    cls = runner_class(backend, "cuda" if cuda else "cpu")
    assert cls.name == backend and hasattr(cls, "threads") and callable(cls.predict)
    params = list(inspect.signature(cls.__init__).parameters)
    assert params[1:4] == ["model", "prep", "device"]  # never the Segmenter
    assert set(BACKENDS) == {b for b, _ in RUNNERS}


def test_choose_backend():
    w = ModelFile("lite", Path("w.safetensors"))
    assert choose_backend("auto", "cuda", w) == "torch"
    assert choose_backend("auto", "cpu", ModelFile("lite", Path("w.onnx"))) == "onnx"
    with pytest.raises(GoSelfiesError, match="--backend onnx"):
        choose_backend("torch", "cpu", ModelFile("lite", Path("w.onnx")))
    with pytest.raises(GoSelfiesError, match="unknown backend"):
        choose_backend("tensorrt", "cpu", w)


@pytest.mark.parametrize("name", ["lite", "quality"])  # the live model and the photos' and files' model
@pytest.mark.parametrize("vnni, extras, shipped, live, photo", [
    (True, {"onnxruntime"}, True, "onnx-int8", "onnx-int8"),  # the lean install on a VNNI CPU: the shipped int8 file
    (True, {"onnxruntime", "onnx"}, False, "onnx", "onnx"),  # a user's weights: fp32 (their int8 is not measured)
    (False, {"onnxruntime"}, True, "onnx", "onnx"),  # no VNNI: fp32
    (True, {"onnxruntime", "openvino"}, True, "openvino", "onnx-int8"),  # the openvino extra wins live
    (True, {"torch"}, True, "torch", "torch"),  # no ONNX Runtime
])
def test_auto_on_a_cpu_runs_the_shipped_int8_file_only_where_the_cpu_has_vnni(name, vnni, extras, shipped, live, photo,
                                                                               monkeypatch):
    import goselfies.engine.runners as runners
    from goselfies.engine.weights import shipped_weights

    monkeypatch.setattr(runners, "int8_pays", lambda: vnni)
    monkeypatch.setattr(runners, "available", lambda module: module in extras)
    w = ModelFile(name, shipped_weights(name) if shipped else Path("user.safetensors"))
    assert (choose_backend("auto", "cpu", w, realtime=True), choose_backend("auto", "cpu", w)) == (live, photo)


def test_cpu_runners_agree_and_report_timings(lite_weights, tmp_path, monkeypatch):
    from goselfies.engine.weights import read_metadata

    monkeypatch.setenv("GOSELFIES_CACHE_DIR", str(tmp_path))
    model = ModelFile("lite", lite_weights, read_metadata(lite_weights))
    prep = Prep(64, (0.5,) * 3, (0.5,) * 3)
    frame = np.random.default_rng(0).integers(0, 255, (90, 160, 3), dtype=np.uint8)
    torch_runner: Runner = runner_class("torch", "cpu")(model, prep, "cpu")
    onnx_runner: Runner = runner_class("onnx", "cpu")(model, prep, "cpu")
    a, b = torch_runner.predict(frame, False), onnx_runner.predict(frame, False)
    assert a.shape == b.shape == (90, 160) and np.abs(a - b).max() < 1e-3
    assert set(onnx_runner.timings) == {"pre", "infer", "post"} and onnx_runner.threads >= 1
    assert torch_runner.threads is None


def test_prep_pads_to_the_model_multiple():
    prep = Prep(100, (0.5,) * 3, (0.5,) * 3, multiple=64)
    assert prep.geometry(50, 100) == (50, 100, 64, 128)
    buf, nh, nw = prep.prepare(np.zeros((50, 100, 3), np.uint8), False)
    assert buf.shape == (1, 3, 64, 128) and (nh, nw) == (50, 100)


def test_metadata_is_read_once_per_weights_file(lite_weights, tmp_path, monkeypatch):
    """--weights PATH used to read the header three times (resolve, export, load)."""
    from goselfies.engine import weights
    from goselfies.engine.segmenter import Segmenter, SegmenterConfig

    monkeypatch.setenv("GOSELFIES_CACHE_DIR", str(tmp_path))
    weights._read_metadata.cache_clear()
    seg = Segmenter(SegmenterConfig(weights=lite_weights, device="cpu", backend="onnx"), quiet=True)
    assert seg(np.zeros((40, 60, 3), np.uint8)).shape == (40, 60)
    info = weights._read_metadata.cache_info()
    assert info.misses == 1 and info.hits >= 2  # resolve_weights, export, create_model: one read
    copy = weights.read_metadata(lite_weights)
    copy["arch"] = "changed"
    assert weights.read_metadata(lite_weights)["arch"] == "lite"  # callers get copies


def test_rewritten_weights_are_read_again(lite_weights, tmp_path):
    import shutil

    from goselfies.engine.weights import read_metadata, update_metadata

    path = shutil.copy(lite_weights, tmp_path / "w.safetensors")
    assert "iou" not in read_metadata(path)
    update_metadata(path, iou=0.5)
    assert read_metadata(path)["iou"] == 0.5
