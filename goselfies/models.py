"""Model registry: ``create_model(name, ...)`` builds any segmentation network we ship or train.

Every model maps a normalised RGB batch (N,3,H,W) to one logit channel (N,1,H,W); H and W
must be multiples of 32. New architectures register themselves with ``@register``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import GoSelfiesError


@dataclass(frozen=True)
class ModelInfo:
    name: str
    description: str
    build: Callable[[str | None], "object"]  # encoder_weights ("imagenet" or None) -> nn.Module
    train_size: int  # the input size the shipped weights were trained at


MODELS: dict[str, ModelInfo] = {}


def register(name: str, description: str, train_size: int):
    def wrap(build):
        MODELS[name] = ModelInfo(name, description, build, train_size)
        return build
    return wrap


def _smp():
    from ._compat import patch_torchvision

    patch_torchvision()
    import segmentation_models_pytorch as smp

    return smp


@register("resunet34", "U-Net decoder on a ResNet34 encoder (the paper's ResU-Net)", 512)
def _resunet34(encoder_weights: str | None = None):
    return _smp().Unet("resnet34", encoder_weights=encoder_weights, classes=1)


@register("vgunet16", "U-Net decoder on a VGG16 encoder (the paper's VGU-Net16)", 512)
def _vgunet16(encoder_weights: str | None = None):
    return _smp().Unet("vgg16", encoder_weights=encoder_weights, classes=1)


@register("lite", "fast CPU tier: MobileNetV3-Large encoder, slim U-Net decoder", 256)
def _lite(encoder_weights: str | None = None):
    return _smp().Unet(
        "tu-mobilenetv3_large_100",
        encoder_weights=encoder_weights,
        classes=1,
        decoder_channels=(64, 32, 24, 16, 8),
    )


def model_info(name: str) -> ModelInfo:
    try:
        return MODELS[name]
    except KeyError:
        raise GoSelfiesError(
            f"unknown model '{name}'; valid models: {', '.join(sorted(MODELS))}"
        ) from None


def create_model(
    name: str,
    weights: str | Path | None = None,
    encoder_weights: str | Path | None = None,
):
    """Build model ``name``.

    weights: a Go-selfies safetensors file for the whole network.
    encoder_weights: "imagenet" (smp downloads it, where the network allows) or a local
    safetensors file with the encoder's state dict (keys as in ``model.encoder``).
    """
    info = model_info(name)
    download = encoder_weights if encoder_weights == "imagenet" else None
    try:
        model = info.build(download)
    except Exception as exc:  # smp's download fails offline
        if download:
            raise GoSelfiesError(
                f"cannot get ImageNet weights for '{name}' ({type(exc).__name__}); "
                "pass a local file with --encoder-weights PATH"
            ) from None
        raise
    if encoder_weights and not download:
        from .weights import load_encoder_weights

        load_encoder_weights(model, encoder_weights)
    if weights:
        from .weights import load_weights

        state, _ = load_weights(weights, expect_arch=name)
        model.load_state_dict({k: v.float() for k, v in state.items()})
    return model
