"""Training through the refinement: the loss also scores the network's mask after the same colour
guided filter the engine applies (``goselfies.postprocess``), at the resolution the filter lays the
edge at, so the network learns the mask that refines best rather than the best mask before refining.

Geometry as at inference, for a network input of ``s`` px: the guide crop is ``2 s`` px, the filter's
coefficients are solved on an ``s / 2`` grid, and the refined mask is compared at ``2 s``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .data import IGNORE

GUIDE_SCALE = 2  # guide and refined mask at twice the network input, as PostProcess lays the edge
GRID_DIVISOR = 2  # coefficients on a grid of half the network input (PostProcess.for_network)


def _box(x: torch.Tensor, r: int) -> torch.Tensor:
    return F.avg_pool2d(x, 2 * r + 1, stride=1, padding=r, count_include_pad=False)


def guided_filter(guide: torch.Tensor, p: torch.Tensor, radius: int, eps: float, grid_factor: int) -> torch.Tensor:
    """Differentiable fast colour guided filter: ``guide`` (N,3,H,W) in [0,1], ``p`` (N,1,h,w) with
    H = h * ``grid_factor`` / ... any size; coefficients are solved on ``guide`` pooled by ``grid_factor``."""
    g = F.avg_pool2d(guide, grid_factor)
    p = F.interpolate(p, size=g.shape[-2:], mode="area")
    mean_i, mean_p = _box(g, radius), _box(p, radius)
    cov = _box(g * p, radius) - mean_i * mean_p  # (N,3,h,w)
    gi = g.unsqueeze(2) * g.unsqueeze(1)  # (N,3,3,h,w)
    var = _box(gi.flatten(1, 2), radius).unflatten(1, (3, 3)) - mean_i.unsqueeze(2) * mean_i.unsqueeze(1)
    var = var + eps * torch.eye(3, device=g.device, dtype=g.dtype)[None, :, :, None, None]
    a = torch.linalg.solve(var.permute(0, 3, 4, 1, 2), cov.permute(0, 2, 3, 1).unsqueeze(-1)).squeeze(-1)
    a = a.permute(0, 3, 1, 2)  # (N,3,h,w)
    b = mean_p - (a * mean_i).sum(1, keepdim=True)
    size = guide.shape[-2:]
    a = F.interpolate(_box(a, radius), size=size, mode="bilinear", align_corners=False)
    b = F.interpolate(_box(b, radius), size=size, mode="bilinear", align_corners=False)
    return (a * guide).sum(1, keepdim=True) + b


def refined_loss(logits: torch.Tensor, guide: torch.Tensor, target: torch.Tensor, radius: int = 3, eps: float = 1e-3) -> torch.Tensor:
    """BCE + Dice of the refined probabilities against the full-size ``target`` (IGNORE adds nothing)."""
    q = guided_filter(guide, torch.sigmoid(logits), radius, eps, GUIDE_SCALE * GRID_DIVISOR).clamp(1e-4, 1 - 1e-4)
    valid = (target != IGNORE).float()
    t = target * valid
    bce = F.binary_cross_entropy(q, t, reduction="none")
    loss = (bce * valid).sum() / valid.sum().clamp(min=1)
    qf, tf = (q * valid).flatten(1), t.flatten(1)
    return loss + (1 - (2 * (qf * tf).sum(1) + 1) / (qf.sum(1) + tf.sum(1) + 1)).mean()
