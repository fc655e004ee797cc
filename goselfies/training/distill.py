"""Distillation: a teacher's soft masks as an extra target for the network being trained.

Two kinds of teacher, by what ``--teacher`` (or ``--teacher-for DIR=NAME``, one folder's pairs) names (``make_teacher``):
- a Go-selfies weights file (the issue's resunet34 from the quality tier): the teacher sees the student's
  crop in its own normalisation at its own input size, so a 0.5/0.5 EfficientNet teacher can teach an
  ImageNet-normalised ResNet;
- ``mediapipe``: MediaPipe's selfie segmenter (``pip install ".[mediapipe]"``), a network trained on data
  we do not have; on the validation pairs its masks and the quality tier's, averaged, score above either.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from goselfies.engine.models import ModelInfo
from goselfies.engine.networks import create_model
from goselfies.engine.prep import fit, padded
from goselfies.engine.weights import input_spec, read_metadata

from .data import IGNORE

NO_TEACHER = "none"  # --teacher-for DIR=none: that folder's pairs get no distillation


def per_channel(v, device: torch.device | str = "cpu") -> torch.Tensor:
    """A mean or std as a (1,C,1,1) tensor, to broadcast over a batch."""
    return torch.tensor(v, device=device).view(1, -1, 1, 1)


class Teacher:
    def __init__(self, weights: str | Path, student: ModelInfo, device: torch.device):
        meta = read_metadata(weights)
        spec = input_spec(meta)
        self.size, self.multiple = spec.size, spec.multiple
        self.net = create_model(meta.get("arch", ""), weights=weights).to(device).eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        # student-normalised x -> [0,1] -> teacher-normalised
        std = per_channel(spec.std, device)
        self.scale = per_channel(student.std, device) / std
        self.shift = (per_channel(student.mean, device) - per_channel(spec.mean, device)) / std

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Soft masks (N,1,H,W) for the student's batch ``x``."""
        h, w = x.shape[-2:]
        xt = x * self.scale + self.shift
        size = tuple(padded(n, self.multiple) for n in fit(h, w, self.size))
        if size != (h, w):
            xt = F.interpolate(xt, size=size, mode="bilinear", antialias=True)
        p = torch.sigmoid(self.net(xt))
        return F.interpolate(p, size=(h, w), mode="bilinear") if size != (h, w) else p


class MediaPipeTeacher:
    """MediaPipe's selfie segmenter on each crop of the batch, as uint8 RGB (it resizes to 256 itself)."""

    def __init__(self, student: ModelInfo, device: torch.device):
        from goselfies.engine.mediapipe_selfie import MediaPipeSelfie

        self.seg = MediaPipeSelfie("general")
        self.mean, self.std = per_channel(student.mean), per_channel(student.std)
        self.device = device

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        rgb = ((x.detach().float().cpu() * self.std + self.mean).clamp(0, 1) * 255).round().to(torch.uint8)
        masks = [self.seg(np.ascontiguousarray(img.permute(1, 2, 0).numpy()), rgb=True) for img in rgb]
        return torch.from_numpy(np.stack(masks))[:, None].to(self.device)


def make_teacher(name: str, student: ModelInfo, device: torch.device):
    """``mediapipe``, else a Go-selfies weights file."""
    if name == "mediapipe":
        return MediaPipeTeacher(student, device)
    return Teacher(name, student, device)


class Teachers:
    """Each training pair's teacher, by index: ``names[i]`` is pair i's (None or ``NO_TEACHER``: no distillation
    for it). Each distinct teacher loads once and sees only its own pairs' crops."""

    def __init__(self, names: list[str | None], student: ModelInfo, device: torch.device):
        names = [None if n == NO_TEACHER else n for n in names]
        distinct = sorted({n for n in names if n})
        self.nets = [make_teacher(n, student, device) for n in distinct]
        self.of_pair = torch.tensor([distinct.index(n) if n else -1 for n in names])

    def __bool__(self) -> bool:
        return bool(self.nets)

    def __call__(self, x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Soft masks (N,1,H,W) for the batch ``x`` of pairs ``index``; IGNORE where a pair has no teacher."""
        which = self.of_pair[index.cpu()]
        soft = torch.full_like(x[:, :1], IGNORE)
        for t, net in enumerate(self.nets):
            rows = (which == t).nonzero().flatten().to(x.device)
            if len(rows):
                soft[rows] = net(x[rows]).to(soft.dtype)
        return soft
