"""ONNX export and the ONNX Runtime backend: same masks as PyTorch, dynamic sizes, cache, CLI."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from goselfies.cli import main  # noqa: E402
from goselfies.engine.segmenter import Segmenter, SegmenterConfig  # noqa: E402
from goselfies.errors import GoSelfiesError  # noqa: E402
from goselfies.io.media import read_image  # noqa: E402
from goselfies.paths import SAMPLES  # noqa: E402


@pytest.fixture(autouse=True)
def onnx_cache(tmp_path, monkeypatch) -> Path:
    """A cache folder of this test's own: other tests' exports (other weights) never show up in it."""
    folder = tmp_path / "onnx-cache"
    monkeypatch.setenv("GOSELFIES_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def exported(lite_weights, tmp_path_factory) -> Path:
    from goselfies.engine.onnx_file import export_weights

    return export_weights("lite", lite_weights, tmp_path_factory.mktemp("onnx") / "lite.onnx")


def sample_frame() -> np.ndarray:
    return read_image(sorted(SAMPLES.glob("*.jpg"))[0])


@pytest.mark.parametrize("shape", [(1, 3, 64, 96), (2, 3, 128, 64), (1, 3, 256, 192)])
def test_onnx_matches_torch_at_dynamic_sizes(lite_weights, exported, shape):
    import torch

    from goselfies.engine.networks import create_model
    from goselfies.engine.runners.onnx import make_session

    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    net = create_model("lite", weights=lite_weights).eval()
    with torch.inference_mode():
        ref = torch.sigmoid(net(torch.from_numpy(x))).numpy()
    got = make_session(exported).run(["mask"], {"image": x})[0]
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, atol=1e-4)


def test_exported_file_describes_itself(exported, lite_weights):
    from goselfies.engine.onnx_file import file_sha256, read_onnx_metadata

    meta = read_onnx_metadata(exported)
    assert meta["arch"] == "lite" and meta["train_size"] == 64
    assert meta["source_sha256"] == file_sha256(lite_weights)
    assert len(meta["mean"]) == 3 and len(meta["std"]) == 3


def test_segmenter_onnx_backend_matches_torch(lite_weights):
    frame = sample_frame()
    masks = {}
    for backend in ("torch", "onnx", "openvino"):
        seg = Segmenter(SegmenterConfig(weights=lite_weights, device="cpu", backend=backend), quiet=True)
        assert f"({backend}, cpu)" in seg.describe()
        masks[backend] = seg(frame)
    assert masks["onnx"].shape == frame.shape[:2] and masks["onnx"].dtype == np.float32
    assert np.abs(masks["onnx"] - masks["torch"]).max() < 1e-3
    # OpenVINO computes in bfloat16 where the CPU can (8 bits of mantissa), float32 elsewhere
    assert masks["openvino"].shape == frame.shape[:2] and np.abs(masks["openvino"] - masks["onnx"]).mean() < 0.01


def test_auto_picks_onnx_on_cpu_and_caches_the_export(lite_weights, onnx_cache):
    live = Segmenter(SegmenterConfig(weights=lite_weights, device="cpu", backend="auto"), quiet=True)
    assert "(openvino, cpu)" in live.describe()  # one shape a session: OpenVINO
    seg = Segmenter(SegmenterConfig(weights=lite_weights, device="cpu", backend="auto", realtime=False), quiet=True)
    assert "(onnx, cpu)" in seg.describe()  # photos and files: a shape per image, ONNX Runtime
    cached = list((onnx_cache / "onnx").glob("lite-*.onnx"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    seg2 = Segmenter(SegmenterConfig(weights=lite_weights, device="cpu", backend="onnx"), quiet=True)
    assert seg2.runner.path == cached[0] and cached[0].stat().st_mtime_ns == stamp
    frame = np.zeros((90, 160, 3), np.uint8)  # an odd aspect: padding and crop still line up
    assert seg2(frame).shape == (90, 160)
    assert set(seg2.runner.timings) == {"pre", "infer", "post"}


def test_explicit_onnx_file_runs_and_torch_refuses_it(exported):
    seg = Segmenter(SegmenterConfig(weights=exported, device="cpu", backend="auto"), quiet=True)
    assert seg.model_name == "lite" and seg.runner.path == exported
    assert seg(sample_frame()).shape == sample_frame().shape[:2]
    with pytest.raises(GoSelfiesError, match="--backend onnx"):
        Segmenter(SegmenterConfig(weights=exported, device="cpu", backend="torch"), quiet=True)


def test_foreign_onnx_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(GoSelfiesError, match="ONNX"):
        Segmenter(SegmenterConfig(weights=bad, device="cpu", backend="onnx"), quiet=True)


def test_export_command(lite_weights, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["export", "--format", "onnx", "-o", str(out), "--weights", str(lite_weights)]) == 0
    err = capsys.readouterr().err
    assert out.is_file() and "max |difference|" in err
    assert main(["export", "-o", str(tmp_path / "m.bin"), "--weights", str(lite_weights)]) == 1
    assert "must end in .onnx" in capsys.readouterr().err


def test_library_default_is_auto_and_falls_back_to_torch(lite_weights, tmp_path, monkeypatch, capsys):
    assert SegmenterConfig().backend == "auto"
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv("GOSELFIES_CACHE_DIR", str(blocked))
    seg = Segmenter(SegmenterConfig(weights=lite_weights, device="cpu"), quiet=True)
    assert "(torch, cpu)" in seg.describe()
    assert "onnx backend unavailable" in capsys.readouterr().err
    with pytest.raises(GoSelfiesError):  # asked for by name: the error is the user's to see
        Segmenter(SegmenterConfig(weights=lite_weights, device="cpu", backend="onnx"), quiet=True)


def test_int8_backend_is_close_to_fp32_and_cached(lite_weights, onnx_cache, tmp_path, capsys):
    """Random weights quantise badly (nothing to calibrate against), so only a loose check here;
    accuracy on real weights is in BENCHMARKS.md."""
    frame = sample_frame()
    fp32 = Segmenter(SegmenterConfig(weights=lite_weights, device="cpu", backend="onnx"), quiet=True)
    int8 = Segmenter(SegmenterConfig(weights=lite_weights, device="cpu", backend="onnx-int8"), quiet=True)
    assert "(onnx-int8, cpu)" in int8.describe()
    assert list((onnx_cache / "onnx").glob("lite-*-int8-*.onnx")) == [int8.runner.path]
    a, b = fp32(frame), int8(frame)
    assert a.shape == b.shape and np.abs(a - b).mean() < 0.1
    from goselfies.engine.onnx_file import read_onnx_metadata

    assert read_onnx_metadata(int8.runner.path)["quantized"].startswith("int8")
    out = tmp_path / "q.onnx"
    assert main(["export", "--int8", "-o", str(out), "--weights", str(lite_weights), "--no-check"]) == 0
    assert "int8" in capsys.readouterr().err and out.stat().st_size < int8.runner.path.stat().st_size * 1.1
    import onnx

    proto = onnx.load(str(out))  # no operator set its nodes do not use (older ONNX Runtimes refuse those)
    assert {o.domain for o in proto.opset_import} == {n.domain for n in proto.graph.node} | {""}
