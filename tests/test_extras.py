"""Each optional dependency that is missing gives one line naming the ``pip install`` that adds it, and exit
status 1: no traceback, nothing written. A module is made missing as Python itself sees a missing module
(``None`` in ``sys.modules``: ``import`` raises ModuleNotFoundError and ``find_spec`` finds nothing), so the
rest of the install, torch included, stays as it is."""
from __future__ import annotations

import sys

import pytest

from goselfies.cli import main
from goselfies.extras import EXTRA_MODULES, EXTRAS

PHOTO = "eg1800/test/images/00002.jpg"


def blocked(monkeypatch, *modules: str) -> None:
    for m in modules:
        monkeypatch.setitem(sys.modules, m, None)


def one_line(capsys, argv: list, command: str) -> tuple[int, str]:
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [l for l in err.splitlines() if l.startswith(f"goselfies {command}: error:")]
    assert len(lines) == 1, err
    return rc, lines[0]


def test_every_module_an_extra_brings_is_named_once():
    assert set(EXTRA_MODULES) == {"gpu", "train", "openvino", "mediapipe"}
    assert set(EXTRA_MODULES["gpu"]) < set(EXTRA_MODULES["train"])
    assert EXTRAS["segmentation_models_pytorch"] == "gpu" and EXTRAS["matplotlib"] == "train"


CASES = {  # what a user runs, what is missing -> the module and the extra the line names
    "torch, --backend torch": (["photo", PHOTO, "--backend", "torch"], ("torch",), "torch", "gpu"),
    "torch, resunet34 (no shipped ONNX file)": (["photo", PHOTO, "--model", "resunet34"], ("torch",), "torch", "gpu"),
    "smp beside torch (the issue's case)": (["photo", PHOTO, "--model", "resunet34", "--backend", "torch"],
                                            ("segmentation_models_pytorch",), "segmentation_models_pytorch", "gpu"),
    "torchvision beside torch": (["photo", PHOTO, "--model", "lite", "--backend", "torch"], ("torchvision",),
                                 "torchvision", "gpu"),
    "openvino": (["photo", PHOTO, "--backend", "openvino"], ("openvino",), "openvino", "openvino"),
    "onnx, export": (["export", "--model", "lite", "-o", "{tmp}/lite.onnx"], ("onnx",), "onnx", "train"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_missing_extra_is_one_line_naming_its_pip_install(case, data_dir, tmp_path, capsys, monkeypatch):
    argv, missing, module, extra = CASES[case]
    argv = [str(data_dir / a) if a == PHOTO else a.format(tmp=tmp_path) for a in argv]
    if argv[0] == "photo":
        argv += ["-o", tmp_path / "out"]
    blocked(monkeypatch, *missing)
    rc, line = one_line(capsys, argv, argv[0])
    assert rc == 1
    assert f"needs {module}" in line and f'pip install "goselfies[{extra}]"' in line, line
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize("module", EXTRA_MODULES["train"])
def test_training_names_the_train_extra_for_each_of_its_modules(module, data_dir, tmp_path, capsys, monkeypatch):
    blocked(monkeypatch, module)
    rc, line = one_line(capsys, ["train", "--data", data_dir / "eg1800/test", "--out", tmp_path / "run",
                                 "--model", "lite", "--size", 64], "train")
    assert rc == 1 and f"needs {module}" in line and 'pip install "goselfies[train]"' in line, line
    assert not (tmp_path / "run").exists()


def test_mediapipe_teacher_without_mediapipe_is_one_line(data_dir, tmp_path, capsys, monkeypatch):
    blocked(monkeypatch, "mediapipe")
    rc, line = one_line(capsys, ["train", "--data", data_dir / "eg1800/test", "--teacher", "mediapipe",
                                 "--out", tmp_path / "run", "--model", "lite", "--size", 64, "--epochs", 1,
                                 "--max-steps", 1], "train")
    assert rc == 1 and "needs mediapipe" in line and 'pip install "goselfies[mediapipe]"' in line, line
