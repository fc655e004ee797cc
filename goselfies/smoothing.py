"""Temporal smoothing of the mask against edge flicker, and the flicker measure itself.

A per-frame network gives slightly different edges on identical frames (noise, compression), which
reads as shimmering hair and shoulders. An exponential moving average over masks removes that, but a
plain EMA also makes a moving arm leave a ghost. So the average is weighted per pixel: small changes
(flicker) are smoothed at full strength, large changes (real motion) pass straight through.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class MaskSmoother:
    strength: float = 0.0  # 0 = off; 0.9 = keep 90 % of the previous mask where the change is small
    motion: float = 0.3  # a per-pixel change this large or larger counts as motion and is not smoothed

    def __post_init__(self) -> None:
        self._prev: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the history (after a camera change or loss: the scene is not the same)."""
        self._prev = None

    def __call__(self, mask: np.ndarray) -> np.ndarray:
        s = float(min(max(self.strength, 0.0), 0.99))
        if s <= 0.0:
            self._prev = None
            return mask
        prev = self._prev
        if prev is None or prev.shape != mask.shape:
            self._prev = mask.astype(np.float32, copy=True)
            return mask
        diff = cv2.absdiff(mask, prev)
        if self.motion > 0:
            # weight of the past: s where the change is tiny, falling to 0 at `motion`
            w = s * np.clip(1.0 - diff * (1.0 / self.motion), 0.0, 1.0)
        else:
            w = np.full_like(mask, s)
        out = mask + w * (prev - mask)
        self._prev = out
        return out.copy()


def flicker(masks) -> float:
    """Mean absolute change of the mask between consecutive frames (0 = perfectly stable)."""
    total, n, prev = 0.0, 0, None
    for m in masks:
        m = np.asarray(m, np.float32)
        if prev is not None and prev.shape == m.shape:
            total += float(cv2.absdiff(m, prev).mean())
            n += 1
        prev = m
    return total / n if n else 0.0


def measure_flicker(frames, segment, strengths=(0.0, 0.3, 0.6, 0.8), motion: float = 0.3) -> dict[float, float]:
    """Flicker of ``segment``'s masks over ``frames`` for each smoothing strength (0 = off).

    The network runs once per frame; every strength smooths the same raw masks, so the numbers
    differ only by the smoothing."""
    raw = [segment(f) for f in frames]
    result = {}
    for s in strengths:
        smoother = MaskSmoother(s, motion)
        result[s] = flicker(smoother(m) for m in raw)
    return result
