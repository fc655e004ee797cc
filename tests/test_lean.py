"""The lean install: the CPU path runs on ONNX Runtime without the extras' modules, and a command that needs
a missing extra says which one in one line."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from goselfies import extras
from goselfies.cli import main
from goselfies.engine import segmenter
from goselfies.engine.onnx_file import file_sha256, read_onnx_metadata, shipped_export
from goselfies.engine.weights import shipped_weights

# what the gpu and train extras bring: none of it may load on the CPU path
EXTRA_MODULES = ("torch", "torchvision", "segmentation_models_pytorch", "timm", "onnx", "matplotlib")


def test_photo_video_and_webcam_import_none_of_the_extras(data_dir, tmp_path):
    clip = data_dir / "videos/webcam_headphones_640x480.mp4"
    image = data_dir / "eg1800/test/images/00002.jpg"
    code = f"""
import json, sys
from goselfies.cli import main
rc = [main(["photo", {str(image)!r}, "--model", "lite", "-o", {str(tmp_path / "photos")!r}]),
      main(["photo", {str(image)!r}, "-o", {str(tmp_path / "quality")!r}]),
      main(["webcam", "--source", {str(clip)!r}, "--no-window", "--frames", "8", "--backend", "onnx"]),
      main(["webcam", "--source", {str(clip)!r}, "--no-window", "--frames", "8", "--model", "lite", "--backend", "onnx-int8"]),
      main(["video", {str(clip)!r}, "-o", {str(tmp_path / "clip.mp4")!r}])]
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({EXTRA_MODULES!r}))
print(json.dumps({{"rc": rc, "loaded": loaded}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"rc": [0, 0, 0, 0, 0], "loaded": []}, done.stderr[-2000:]
    assert (tmp_path / "photos/00002.png").is_file() and (tmp_path / "quality/00002.png").is_file()
    assert (tmp_path / "clip.mp4").stat().st_size > 10_000


@pytest.mark.parametrize("name, int8", [("lite", False), ("quality", False), ("tiny", False), ("lite", True), ("quality", True)])
def test_the_shipped_onnx_files_are_exports_of_the_shipped_weights(name, int8):
    weights = shipped_weights(name)
    onnx_path = shipped_export(name, weights, int8=int8)
    assert onnx_path is not None and onnx_path.suffix == ".onnx"
    meta = read_onnx_metadata(onnx_path)
    assert meta["arch"] == name and meta["source_sha256"] == file_sha256(weights)  # re-export after retraining
    assert ("quantized" in meta) == int8
    # only the operator sets its nodes use: ONNX Runtime 1.17, the oldest pyproject allows, refuses a file that
    # declares newer ones (ai.onnx.ml 5, which ONNX Runtime's quantisation pre-processing adds)
    import onnx

    proto = onnx.load(str(onnx_path))
    assert {o.domain for o in proto.opset_import} == {n.domain for n in proto.graph.node} | {""}


def test_a_user_copy_of_the_weights_is_not_taken_for_the_shipped_file(tmp_path):
    copy = tmp_path / "lite.safetensors"
    copy.write_bytes(shipped_weights("lite").read_bytes())
    assert shipped_export("lite", copy) is None and shipped_export("resunet34", shipped_weights("resunet34")) is None
    assert shipped_export("lite", copy, int8=True) is None


@pytest.mark.parametrize("argv, extra", [
    (["train", "--data", "DIR", "--out", "RUN"], "train"),
    (["photo", "IMG", "--backend", "torch"], "gpu"),
    (["photo", "IMG", "--device", "cuda"], "gpu"),
])
def test_a_command_without_its_extra_names_the_pip_install(argv, extra, monkeypatch, capsys, data_dir, tmp_path):
    real = extras.available
    monkeypatch.setattr(extras, "available", lambda module: module != "torch" and real(module))
    argv = [str(data_dir / "eg1800/test/images/00002.jpg") if a == "IMG" else a for a in argv]
    assert main(argv + ["-o" if argv[0] == "photo" else "--seed", str(tmp_path) if argv[0] == "photo" else "0"]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(err) == 1 and f'pip install "goselfies[{extra}]"' in err[0] and "torch" in err[0], err


def test_without_torch_the_model_list_offers_only_what_ships_as_onnx(monkeypatch):
    # segmenter is imported at the top: bound to the real extras.available before another test patches that
    assert segmenter.runnable_models() == ["lite", "quality", "resunet34", "tiny"]  # torch here: all that ship weights
    real = segmenter.available
    monkeypatch.setattr(segmenter, "available", lambda module: module != "torch" and real(module))
    assert segmenter.runnable_models() == ["lite", "quality", "tiny"]  # resunet34 has no ONNX file: the gpu extra runs it
