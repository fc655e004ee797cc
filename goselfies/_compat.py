"""Make torchvision importable beside a CPU-only torch.

The PyPI torchvision wheel is a CUDA build; its C extension cannot load next to the CPU
torch wheel, and ``import torchvision`` (so timm and smp) then dies on
``operator torchvision::nms does not exist``. We only ever need torchvision's Python
parts (transforms v2, tv_tensors), so when -- and only when -- the extension fails to
load we declare the two operator schemas its import registers fake kernels for.
"""
from __future__ import annotations

import importlib.util
import os
import sys

_done = False


def _extension_loads(torch) -> bool:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.origin:
        return True  # not installed: nothing to patch, the import error will speak for itself
    folder = os.path.dirname(spec.origin)
    libs = [f for f in os.listdir(folder) if f.startswith("_C.") and f.endswith((".so", ".pyd"))]
    if not libs:
        return False
    try:
        torch.ops.load_library(os.path.join(folder, libs[0]))
        return True
    except (OSError, RuntimeError):
        return False


def patch_torchvision() -> None:
    """Register ``torchvision::nms``/``qnms`` schemas if the C extension cannot load."""
    global _done
    if _done or "torchvision" in sys.modules:
        _done = True
        return
    import torch

    if not _extension_loads(torch):
        lib = torch.library.Library("torchvision", "FRAGMENT")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define(
            "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"
        )
        _keep.append(lib)  # the registration lives as long as the Library object
    _done = True


_keep: list = []
