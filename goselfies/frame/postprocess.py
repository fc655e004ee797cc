"""Mask post-processing: an edge-aware guided-filter refinement, clean tails, threshold and edge feathering."""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..engine.prep import fit, shrink
from ..engine.pyramid import Pyramid
from ..errors import GoSelfiesError
from ..options import OPTIONS


@dataclass
class PostProcess:
    threshold: float | None = None  # None keeps the soft mask
    feather: float = OPTIONS["feather"].default  # Gaussian sigma in pixels applied to the mask edge
    # Colour guided filter with the frame as guide (He et al.'s fast variant): the network sees the
    # frame at 288-320 px, the filter lays its mask edge onto the frame's own edges at full size.
    # Settings chosen on the validation pairs; what it gains on EG1800 test is in the model cards.
    refine: bool = OPTIONS["refine"].default
    refine_radius: int = 3  # box radius, in pixels of the grid below (3 = 6 network input pixels)
    refine_eps: float = 1e-3
    # Longer side of the grid the filter's coefficients are computed on: half the network input
    # (``for_network``). The mask holds no finer detail, and on the validation pairs this grid scored
    # as the full input did, in a fifth of the time.
    refine_grid: int = 112
    # Clean matte: probabilities below tails[0] become exactly 0 and above tails[1] exactly 1, the ramp
    # between is stretched linearly. Without it a cutout has alpha 1-12 over much of the background (a
    # haze) and never reaches 255 on the body. The softest ramp tried whose halo and lost edge
    # (metrics.edge_scores) were both below MediaPipe's on the validation pairs, IoU unchanged there (README
    # "clean at the tails"); its half point, midway between the tails, keeps a little more of the person than 0.5.
    tails: tuple[float, float] = (0.2, 0.75)

    def __post_init__(self) -> None:
        if self.threshold == 0.0:  # the option's "soft"
            self.threshold = None
        self.threshold = OPTIONS["threshold"].check(self.threshold)
        self.feather = OPTIONS["feather"].check(self.feather)
        lo, hi = self.tails
        if not 0 <= lo < hi <= 1:
            raise GoSelfiesError(f"mask tails must satisfy 0 <= low < high <= 1, got {self.tails}")

    @classmethod
    def none(cls) -> "PostProcess":
        """Leaves the network's probabilities as they are (the pipeline post-processes after smoothing)."""
        return cls(refine=False, tails=(0.0, 1.0))

    def for_network(self, size: int) -> "PostProcess":
        """This post-processing for masks of a network that ran at ``size`` px (its longer side)."""
        return replace(self, refine_grid=max(16, size // 2))

    @property
    def changes_mask(self) -> bool:
        return self.refine or self.threshold is not None or self.feather > 0 or self.tails != (0.0, 1.0)

    def matte(self, prob: np.ndarray, pyramid: Pyramid) -> np.ndarray:
        """The network's probabilities (at its own small size) -> the float32 matte, still small: laid
        on the frame's edges at up to ``4 * refine_grid`` px (twice the network input) when refining,
        else at the network's size. The frame path enlarges it once, to the output.

        A new array (the caller may keep it): small, so it costs no page faults worth the name."""
        fw, fh = pyramid.size
        if self.refine:
            eh, ew = fit(fh, fw, min(4 * self.refine_grid, max(fw, fh)))
            mask = guided_filter(pyramid, prob, self.refine_radius, self.refine_eps, self.refine_grid, ew, eh)
        else:
            mask = np.array(prob, np.float32, copy=True)
        lo, hi = self.tails
        if (lo, hi) != (0.0, 1.0):
            mask -= lo
            mask *= 1.0 / (hi - lo)
        if self.threshold is not None:  # the frame path thresholds again once enlarged (hard edges)
            mask = (mask >= self.threshold).astype(np.float32)
        if self.feather > 0:  # sigma in the frame's pixels
            mask = cv2.GaussianBlur(mask, (0, 0), self.feather * mask.shape[1] / fw)
        return np.clip(mask, 0.0, 1.0, out=mask)


def guided_filter(pyramid: Pyramid, prob: np.ndarray, radius: int, eps: float, grid: int,
                  width: int, height: int) -> np.ndarray:
    """Colour guided filter (He, Sun, Tang, TPAMI 2013; the fast variant) of the small ``prob`` with the
    frame as guide: the linear coefficients are solved on a grid whose longer side is ``grid`` px, then
    enlarged and applied to the frame at (width, height). Every view of the frame comes from its
    pyramid. On the validation pairs a finer edge than twice the network input added nothing."""
    fw, fh = pyramid.size
    gh, gw = fit(fh, fw, grid)
    k = (2 * radius + 1,) * 2

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, k)

    guide = [c.astype(np.float32) * (1 / 255.0) for c in cv2.split(pyramid.at(gw, gh))]
    p = shrink(prob, gw, gh)
    mean = [box(c) for c in guide]
    mean_p = box(p)
    cov = [box(c * p) - m * mean_p for c, m in zip(guide, mean)]
    # the guide's 3x3 covariance (+ eps on the diagonal), inverted by cofactors
    s00, s01, s02, s11, s12, s22 = (box(guide[a] * guide[b]) - mean[a] * mean[b] + (eps if a == b else 0.0)
                                    for a, b in ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)))
    c00, c01, c02 = s11 * s22 - s12 * s12, s02 * s12 - s01 * s22, s01 * s12 - s02 * s11
    c11, c12, c22 = s00 * s22 - s02 * s02, s01 * s02 - s00 * s12, s00 * s11 - s01 * s01
    inv_det = 1.0 / (s00 * c00 + s01 * c01 + s02 * c02)
    a = [(c00 * cov[0] + c01 * cov[1] + c02 * cov[2]) * inv_det,
         (c01 * cov[0] + c11 * cov[1] + c12 * cov[2]) * inv_det,
         (c02 * cov[0] + c12 * cov[1] + c22 * cov[2]) * inv_det]
    b = mean_p - a[0] * mean[0] - a[1] * mean[1] - a[2] * mean[2]
    out = cv2.resize(box(b), (width, height), interpolation=cv2.INTER_LINEAR)
    term = np.empty_like(out)
    for ac, plane in zip(a, cv2.split(pyramid.at(width, height))):
        cv2.resize(box(ac) * (1 / 255.0), (width, height), dst=term, interpolation=cv2.INTER_LINEAR)
        term *= plane
        out += term
    return out
