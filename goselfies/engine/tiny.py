"""The ``tiny`` network: MediaPipe's selfie segmenter's architecture (Apache-2.0), written in PyTorch so that we can
train it. A MobileNetV3-style encoder (hard-swish, squeeze-excite, 16x down) and a decoder that gates each skip
feature with a squeeze-excite of skip + upsampled, then a 1x1 and a residual depthwise 3x3; a 2x2 transposed
convolution gives logits at the input's size. About a quarter of ``lite``'s CPU time (BENCHMARKS.md run 24; tiny.md).

``training.from_tflite`` fills it with the weights of the ``selfie_segmentation.tflite`` the mediapipe wheel
ships; ``LAYERS`` is the order in which that file's convolutions appear. Inputs are RGB in [0, 1].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Conv(nn.Module):
    """A convolution with TensorFlow's "same" padding (a stride-2 kernel pads one more at the bottom and the right
    than at the top and the left) and an optional activation."""

    def __init__(self, cin: int, cout: int, k: int = 1, stride: int = 1, depthwise: bool = False, act=None):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, (k - 1) // 2 if stride == 1 else 0,
                              groups=cin if depthwise else 1)
        self.pad = (k - 2) // 2 if stride == 2 else None  # top / left; bottom / right get one more
        self.act = act

    def forward(self, x):
        if self.pad is not None:
            x = F.pad(x, (self.pad, self.pad + 1, self.pad, self.pad + 1))
        x = self.conv(x)
        return self.act(x) if self.act else x


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, squeezed: int):
        super().__init__()
        self.down, self.up = nn.Conv2d(channels, squeezed, 1), nn.Conv2d(squeezed, channels, 1)

    def gate(self, x):
        return torch.sigmoid(self.up(F.relu(self.down(x.mean((2, 3), keepdim=True)))))

    def forward(self, x):
        return x * self.gate(x)


class Block(nn.Module):
    """An inverted residual: expand 1x1, depthwise, squeeze-excite (optional), project 1x1; a residual where the
    shape allows."""

    def __init__(self, cin: int, hidden: int, cout: int, k: int, stride: int, act, se: int = 0):
        super().__init__()
        self.expand = Conv(cin, hidden, act=act)
        self.dw = Conv(hidden, hidden, k, stride, depthwise=True, act=act)
        self.se = SqueezeExcite(hidden, se) if se else nn.Identity()
        self.project = Conv(hidden, cout)
        self.residual = cin == cout and stride == 1

    def forward(self, x):
        y = self.project(self.se(self.dw(self.expand(x))))
        return x + y if self.residual else y


class Fuse(nn.Module):
    """One decoder step: ``skip`` gated by a squeeze-excite of skip + up, plus ``up``; a 1x1, and a residual
    depthwise 3x3."""

    def __init__(self, channels: int):
        super().__init__()
        self.se = SqueezeExcite(channels, channels)
        self.pw = Conv(channels, channels, act=F.relu)
        self.dw = Conv(channels, channels, 3, depthwise=True, act=F.relu)

    def forward(self, skip, up):
        y = self.pw(skip * self.se.gate(skip + up) + up)
        return y + self.dw(y)


def _up(x, conv):
    return conv(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))


class Encoder(nn.Module):
    """Features at 1/2, 1/4, 1/8 and 1/16 of the input's size."""

    def __init__(self):
        super().__init__()
        hs, relu = F.hardswish, F.relu
        self.stem = Conv(3, 16, 3, 2, act=hs)
        self.b1 = Block(16, 16, 16, 3, 2, relu, se=8)
        self.b2 = Block(16, 72, 24, 3, 2, relu)
        self.b3 = Block(24, 88, 24, 3, 1, relu)
        self.b4 = Block(24, 96, 32, 5, 2, hs, se=24)
        self.b5 = Block(32, 128, 32, 5, 1, hs, se=32)
        self.b6 = Block(32, 128, 32, 5, 1, hs, se=32)
        self.b7 = Block(32, 96, 32, 5, 1, hs, se=24)
        self.b8 = Block(32, 96, 32, 5, 1, hs, se=24)

    def forward(self, x):
        f2 = self.stem(x)
        f4 = self.b1(f2)
        f8 = self.b3(self.b2(f4))
        return f2, f4, f8, self.b8(self.b7(self.b6(self.b5(self.b4(f8)))))


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.head, self.head_gate = nn.Conv2d(32, 128, 1), nn.Conv2d(32, 128, 1)
        self.to8, self.fuse8 = nn.Conv2d(128, 24, 1), Fuse(24)
        self.to4, self.fuse4 = nn.Conv2d(24, 16, 1), Fuse(16)
        self.to2, self.fuse2 = nn.Conv2d(16, 16, 1), Fuse(16)
        self.out = nn.ConvTranspose2d(16, 1, 2, 2)

    def forward(self, x):
        f2, f4, f8, f16 = self.encoder(x)
        y = F.relu(self.head(f16)) * torch.sigmoid(self.head_gate(f16.mean((2, 3), keepdim=True)))
        y = self.fuse8(f8, _up(y, self.to8))
        y = self.fuse4(f4, _up(y, self.to4))
        y = self.fuse2(f2, _up(y, self.to2))
        return self.out(y)


def _layers() -> list[str]:
    """The network's convolutions in the order MediaPipe's file holds them (its ``conv2d_N`` and
    ``depthwise_conv2d_N`` each count up in this order)."""
    names = ["encoder.stem.conv"]
    for i, se in enumerate([1, 0, 0, 1, 1, 1, 1, 1], 1):
        b = f"encoder.b{i}"
        names += [f"{b}.expand.conv", f"{b}.dw.conv"] + [f"{b}.se.down", f"{b}.se.up"] * se + [f"{b}.project.conv"]
    names += ["head", "head_gate"]
    for s in ("8", "4", "2"):
        names += [f"to{s}", f"fuse{s}.se.down", f"fuse{s}.se.up", f"fuse{s}.pw.conv", f"fuse{s}.dw.conv"]
    return names


LAYERS = _layers()
