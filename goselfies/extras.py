"""The optional parts of the install: which extra brings which module, and one line when one is missing.

``pip install goselfies`` runs everything a CPU user does on ONNX Runtime. PyTorch (the CUDA engine, the
torch backend, export, training) and the rest come with extras, named here once.
"""
from __future__ import annotations

import importlib.util

from .errors import GoSelfiesError

# module -> the extra that installs it
EXTRAS = {
    "torch": "gpu",
    "torchvision": "gpu",
    "segmentation_models_pytorch": "gpu",
    "onnx": "train",
    "matplotlib": "train",
    "openvino": "openvino",
    "mediapipe": "mediapipe",
}


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def require(module: str, what: str, extra: str | None = None) -> None:
    """Raise one line naming the extra to install (``extra``, else the module's own) when ``module`` is missing."""
    if not available(module):
        extra = extra or EXTRAS[module]
        raise GoSelfiesError(f"{what} needs {module}, which this install lacks: pip install \"goselfies[{extra}]\"")
