"""Distillation: a trained Go-selfies network's soft masks as an extra target for another one (the
issue's resunet34 from the quality tier). The teacher sees the student's crop in its own normalisation
at its own input size, so a 0.5/0.5 EfficientNet teacher can teach an ImageNet-normalised ResNet."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from goselfies.fastpre import fit, padded
from goselfies.models import ModelInfo, create_model
from goselfies.weights import input_spec, read_metadata


class Teacher:
    def __init__(self, weights: str | Path, student: ModelInfo, device: torch.device):
        meta = read_metadata(weights)
        spec = input_spec(meta)
        self.size, self.multiple = spec.size, spec.multiple
        self.net = create_model(meta.get("arch", ""), weights=weights).to(device).eval()
        for p in self.net.parameters():
            p.requires_grad_(False)

        def t(v) -> torch.Tensor:
            return torch.tensor(v, device=device).view(1, -1, 1, 1)

        # student-normalised x -> [0,1] -> teacher-normalised
        self.scale = t(student.std) / t(spec.std)
        self.shift = (t(student.mean) - t(spec.mean)) / t(spec.std)

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

