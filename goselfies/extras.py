"""The optional parts of the install: which extra brings which module, and one line when one is missing.

``pip install goselfies`` runs everything a CPU user does on ONNX Runtime. PyTorch (the CUDA engine, the
torch backend, export, training) and the rest come with extras, named here once.
"""
from __future__ import annotations

import importlib.util

from .errors import GoSelfiesError

# extra -> the modules it brings that the code imports (pyproject's optional-dependencies say the packages)
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "gpu": ("torch", "torchvision", "segmentation_models_pytorch"),
    "openvino": ("openvino",),
    "mediapipe": ("mediapipe",),
}
EXTRA_MODULES["train"] = (*EXTRA_MODULES["gpu"], "onnx", "matplotlib", "tflite")
# module -> the smallest extra that installs it
EXTRAS: dict[str, str] = {m: extra for extra in ("train", "mediapipe", "openvino", "gpu") for m in EXTRA_MODULES[extra]}


def load(spec: str):
    """A registry entry, ``"package.module:Name"``: imported on first use, so an optional library (torch,
    onnxruntime) loads only where it is used."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:  # in sys.modules without a spec: a module blocked on purpose (None there) or half-made
        return False


def require(module: str, what: str, extra: str | None = None) -> None:
    """Raise one line naming the extra to install (``extra``, else the module's own) when ``module`` is missing."""
    if not available(module):
        extra = extra or EXTRAS[module]
        raise GoSelfiesError(f"{what} needs {module}, which this install lacks: pip install \"goselfies[{extra}]\"")


def require_extra(extra: str, what: str) -> None:
    """``require`` for every module of ``extra``: the first one missing is named, with the extra."""
    for module in EXTRA_MODULES[extra]:
        require(module, what, extra)
