"""Mask post-processing: threshold, edge feathering and an edge-aware guided-filter refinement."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .errors import GoSelfiesError


MAX_FEATHER = 50.0


@dataclass
class PostProcess:
    threshold: float | None = None  # None keeps the soft mask
    feather: float = 0.0  # Gaussian sigma in pixels applied to the mask edge
    refine: bool = False  # guided filter with the frame as guide: snaps edges to image edges
    refine_radius: int = 8
    refine_eps: float = 1e-3
    # Clean matte: probabilities below tails[0] become exactly 0 and above tails[1] exactly 1, the ramp
    # between is stretched linearly. Without it a cutout has alpha 1-12 over much of the background (a
    # haze) and never reaches 255 on the body. Symmetric tails keep 0.5 at 0.5, so IoU is unchanged.
    tails: tuple[float, float] = (0.05, 0.95)

    def __post_init__(self) -> None:
        if self.threshold is not None and not 0 < self.threshold < 1:
            raise GoSelfiesError(f"--threshold must be between 0 and 1 (exclusive), got {self.threshold:g}")
        if not 0 <= self.feather <= MAX_FEATHER:
            raise GoSelfiesError(f"--feather must be between 0 and {MAX_FEATHER:g} pixels, got {self.feather:g}")
        lo, hi = self.tails
        if not 0 <= lo < hi <= 1:
            raise GoSelfiesError(f"mask tails must satisfy 0 <= low < high <= 1, got {self.tails}")

    @classmethod
    def none(cls) -> "PostProcess":
        """Leaves the network's probabilities as they are (the pipeline post-processes after smoothing)."""
        return cls(tails=(0.0, 1.0))

    @property
    def changes_mask(self) -> bool:
        return self.refine or self.threshold is not None or self.feather > 0 or self.tails != (0.0, 1.0)

    def __call__(self, mask: np.ndarray, frame: np.ndarray) -> np.ndarray:
        if self.refine:
            mask = guided_filter(frame, mask, self.refine_radius, self.refine_eps)
        lo, hi = self.tails
        if (lo, hi) != (0.0, 1.0):
            mask = (mask - lo) * (1.0 / (hi - lo))
        if self.threshold is not None:
            mask = (mask >= self.threshold).astype(np.float32)
        if self.feather > 0:
            mask = cv2.GaussianBlur(mask, (0, 0), self.feather)
        return np.clip(mask, 0.0, 1.0, out=mask)


def guided_filter(frame: np.ndarray, mask: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Fast guided filter (He et al.), gray guide, computed at 1/2 resolution for speed."""
    h, w = mask.shape
    s = 2 if min(h, w) >= 256 else 1
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    g = cv2.resize(gray, (w // s, h // s), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    p = cv2.resize(mask, (w // s, h // s), interpolation=cv2.INTER_AREA)
    k = (2 * max(1, radius // s) + 1,) * 2
    box = lambda x: cv2.boxFilter(x, -1, k)  # noqa: E731
    mean_g, mean_p = box(g), box(p)
    var_g = box(g * g) - mean_g * mean_g
    cov = box(g * p) - mean_g * mean_p
    a = cov / (var_g + eps)
    b = mean_p - a * mean_g
    a = cv2.resize(box(a), (w, h), interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(box(b), (w, h), interpolation=cv2.INTER_LINEAR)
    full = cv2.resize(g, (w, h), interpolation=cv2.INTER_LINEAR) if s > 1 else g
    return a * full + b
