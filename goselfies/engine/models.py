"""Model registry: the facts of every segmentation network we ship or train, and how to build it
(``networks.create_model`` builds one with PyTorch).

Every model maps a normalised RGB batch (N,3,H,W) to one logit channel (N,1,H,W); H and W
must be multiples of the entry's ``size_multiple`` (32 unless it says). Each entry carries its own
facts (normalisation, default input size, where its ImageNet encoder comes from), so nothing else
hard-codes them. New architectures register themselves with ``@register``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import GoSelfiesError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HALF = (0.5, 0.5, 0.5)  # EfficientNet-Lite's TF training normalisation


@dataclass(frozen=True)
class ModelInfo:
    name: str
    description: str
    build: Callable[[], "object"]  # -> nn.Module with random weights
    size: int  # default input size (longer side) when the weights file does not say
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    pretrained: str | None = None  # key in goselfies.engine.encoders.SOURCES (ImageNet encoder on PyPI)
    smp_encoder: str | None = None  # smp's encoder name, for its own ImageNet download
    size_multiple: int = 32  # input height and width must be multiples of this (5 downsamplings; tiny 4)
    square: bool = False  # every frame squeezed onto size x size (as MediaPipe's model learned), not fitted in aspect
    closer_side: int = 160  # the live look-closer's extra run: a square of this side (frame.secondpass; lite.md)


MODELS: dict[str, ModelInfo] = {}


def register(name: str, description: str, size: int, **facts):
    def wrap(build):
        MODELS[name] = ModelInfo(name, description, build, size, **facts)
        return build
    return wrap


def _smp():
    from .._compat import patch_torchvision

    patch_torchvision()
    import segmentation_models_pytorch as smp

    return smp


SLIM_DECODER = (64, 32, 24, 16, 8)


def _slim_unet(encoder: str, out_stride: int = 1, expand: float = 1.0, separable: bool = False):
    """U-Net with a slim decoder (64-32-24-16-8) on a timm EfficientNet-Lite.

    timm's efficientnet_lite* (symmetric padding) takes the TF checkpoints' tensors one to one and runs ~1.3x
    faster in ONNX Runtime than tf_efficientnet_lite*, whose "same" padding is dynamic.
    out_stride 2 or 4: the decoder stops that many times below the input's size and the head's logits are enlarged
    bilinearly (the last blocks, at the input's full and half size, are where a CPU spends most of the decoder's time).
    expand < 1: each inverted-residual block keeps about that fraction of its hidden channels (the nearest multiple of
    8; the block's input and output are unchanged; ``training.prune`` chooses which, starting from a wider network).
    separable: each decoder 3x3 convolution is a depthwise 3x3 followed by a pointwise 1x1."""
    smp = _smp()
    from torch import nn

    net = smp.Unet(f"tu-{encoder}", encoder_weights=None, classes=1, decoder_channels=SLIM_DECODER)
    drop = out_stride.bit_length() - 1
    if drop:
        from segmentation_models_pytorch.base import SegmentationHead

        net.decoder.blocks = net.decoder.blocks[:-drop]
        net.segmentation_head = SegmentationHead(SLIM_DECODER[-1 - drop], 1, kernel_size=3, upsampling=out_stride)
    if expand < 1:
        for block in net.encoder.model.blocks.modules():
            if hasattr(block, "conv_pwl"):  # an inverted residual: conv_pw -> bn1 -> conv_dw -> bn2 -> conv_pwl
                hidden = max(8, round(block.conv_pw.out_channels * expand / 8) * 8)
                block.conv_pw = nn.Conv2d(block.conv_pw.in_channels, hidden, 1, bias=False)
                block.bn1 = _narrow_bn(block.bn1, hidden)
                dw = block.conv_dw
                block.conv_dw = nn.Conv2d(hidden, hidden, dw.kernel_size, dw.stride, dw.padding, groups=hidden,
                                          bias=False)
                block.bn2 = _narrow_bn(block.bn2, hidden)
                block.conv_pwl = nn.Conv2d(hidden, block.conv_pwl.out_channels, 1, bias=False)
    if separable:
        for block in net.decoder.blocks:
            for conv in (block.conv1, block.conv2):
                c = conv[0]
                conv[0] = nn.Sequential(nn.Conv2d(c.in_channels, c.in_channels, 3, padding=1, groups=c.in_channels,
                                                  bias=False),
                                        nn.Conv2d(c.in_channels, c.out_channels, 1, bias=False))
    return net


def _narrow_bn(bn, channels: int):
    """A fresh BatchNorm of ``bn``'s kind (timm's BatchNormAct2d keeps its activation) with ``channels``."""
    import copy

    import torch

    new = copy.deepcopy(bn)
    new.num_features = channels
    new.weight, new.bias = torch.nn.Parameter(torch.ones(channels)), torch.nn.Parameter(torch.zeros(channels))
    new.running_mean, new.running_var = torch.zeros(channels), torch.ones(channels)
    return new


@register("lite", "fast CPU tier: U-Net on an ImageNet-pretrained EfficientNet-Lite0, slim decoder stopped at a "
          "quarter of the input", 288, mean=HALF, std=HALF, pretrained="efficientnet_lite0")
def _lite():
    # Without the decoder's two largest blocks the network runs a larger input in the same time, and the larger
    # input scored higher (lite.md, stage 7; the guided-filter refine lays the coarser mask onto the image's edges).
    return _slim_unet("efficientnet_lite0", out_stride=4)


@register("lite-slim", "lite's network with three quarters of its encoder's hidden channels and a depthwise-separable "
          "decoder: cheaper on a CPU, started from lite's weights by training.prune (lite.md; no shipped weights)", 288,
          mean=HALF, std=HALF)
def _lite_slim():
    return _slim_unet("efficientnet_lite0", out_stride=4, expand=0.75, separable=True)


@register("tiny", "live tier: MediaPipe's selfie-segmenter network (MobileNetV3-style encoder, gated decoder; "
          "Apache-2.0), started from the weights the mediapipe wheel ships (training.from_tflite) and trained on ours",
          256, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), size_multiple=16, square=True,
          closer_side=256)
def _tiny():
    from .tiny import TinyNet

    return TinyNet()


@register("quality", "quality tier (photos, video files, GPUs): U-Net on an ImageNet-pretrained EfficientNet-Lite2, "
         "slim decoder", 320, mean=HALF, std=HALF, pretrained="efficientnet_lite2")
def _quality():
    # Lite2 under the slim decoder costs about what Lite0 does per training step on a CPU and learned more per
    # epoch; a decoder twice as wide on Lite0 did worse per training hour (quality.md).
    return _slim_unet("efficientnet_lite2")


@register("resunet34", "U-Net decoder on a ResNet34 encoder (the paper's ResU-Net)", 512, smp_encoder="resnet34")
def _resunet34():
    return _smp().Unet("resnet34", encoder_weights=None, classes=1)


@register("vgunet16", "U-Net decoder on a VGG16 encoder (the paper's VGU-Net16)", 512, smp_encoder="vgg16")
def _vgunet16():
    return _smp().Unet("vgg16", encoder_weights=None, classes=1)


def model_info(name: str) -> ModelInfo:
    try:
        return MODELS[name]
    except KeyError:
        raise GoSelfiesError(
            f"unknown model '{name}'; valid models: {', '.join(sorted(MODELS))}"
        ) from None
