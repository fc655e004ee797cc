"""Shared fixtures: the real data folder (tests skip with a reason without it) and a weights
file made by the test session (any weights file works for plumbing tests)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One intra-op thread: tests stay fast even when the cores are busy (spinning OpenMP threads
# on an oversubscribed machine made a 2 s test take minutes).
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Automatic ONNX exports go to a throw-away folder, never the user's cache; it goes when the session ends.
if "GOSELFIES_CACHE_DIR" not in os.environ:
    _CACHE = tempfile.TemporaryDirectory(prefix="goselfies-test-cache-")
    os.environ["GOSELFIES_CACHE_DIR"] = _CACHE.name

REPO = Path(__file__).resolve().parents[1]
# the shared data beside the clone; GOSELFIES_TEST_DATA: elsewhere (a lent GPU gets a copy of part of it)
DATA = Path(os.environ.get("GOSELFIES_TEST_DATA") or REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA / "README.md").is_file():
        pytest.skip(f"real data not found at {DATA} (clone the repo beside shared/)")
    return DATA


@pytest.fixture(scope="session")
def three_people(data_dir, tmp_path_factory) -> Path:
    """A folder of images/ + masks/ for evaluate: an EG1800 portrait and two people standing back (ccp_fullbody)."""
    import shutil

    data = tmp_path_factory.mktemp("three_people")
    for sub in ("images", "masks"):
        (data / sub).mkdir()
    for folder, s in (("eg1800/test", "00002"), ("ccp_fullbody", "ccp_0001"), ("ccp_fullbody", "ccp_0003")):
        shutil.copy(data_dir / f"{folder}/images/{s}.jpg", data / "images")
        shutil.copy(data_dir / f"{folder}/masks/{s}.png", data / "masks")
    return data


@pytest.fixture(scope="session")
def photo(data_dir):
    """A real EG1800 portrait and its hand-made mask as a float mask."""
    import cv2
    import numpy as np

    from goselfies.io.media import read_image

    img = read_image(data_dir / "eg1800/test/images/00002.jpg")
    mask = cv2.imread(str(data_dir / "eg1800/test/masks/00002.png"), cv2.IMREAD_GRAYSCALE)
    return img, (mask > 127).astype(np.float32)


@pytest.fixture(scope="session")
def lite_weights(tmp_path_factory) -> Path:
    """A real safetensors file of the lite model (random init, trained size 64: fast)."""
    import torch

    from goselfies.engine.networks import create_model
    from goselfies.engine.weights import save_weights

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "lite.safetensors"
    return save_weights(create_model("lite"), path, "lite", {"train_size": 64})
