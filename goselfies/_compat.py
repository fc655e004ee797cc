"""Make torchvision importable beside a CPU-only torch, without touching a torchvision that works.

The PyPI torchvision wheel that pairs with the CPU torch on some machines is a CUDA build; its C
extension cannot load, and ``import torchvision`` (so timm and smp) then dies on ``operator
torchvision::nms does not exist``. We only need torchvision's Python parts (transforms v2,
tv_tensors). So we decide by trying: import torchvision; only if that fails on the missing
operator do we declare the two schemas its import registers fake kernels for, and import again.
A matched torch/torchvision pair imports on the first try and is left alone (declaring the
schemas there aborts the process: "registered multiple times").
"""
from __future__ import annotations

import sys

_keep: list = []  # a registration lives as long as its Library object


def patch_torchvision() -> None:
    """Import torchvision, declaring ``torchvision::nms``/``qnms`` only if its extension is unusable."""
    if "torchvision" in sys.modules:
        return
    try:
        import torchvision  # noqa: F401
        return
    except RuntimeError as exc:
        if "torchvision::" not in str(exc) or "does not exist" not in str(exc):
            raise
    except ImportError:
        return  # not installed: the caller's own import error will speak for itself
    import torch

    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]  # the failed import left half-initialised modules behind
    lib = torch.library.Library("torchvision", "FRAGMENT")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _keep.append(lib)
    import torchvision  # noqa: F401,F811
