"""The paper's metrics from a per-image confusion matrix; shared by training and ``evaluate``."""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

KEYS = ("dice", "iou", "accuracy", "sensitivity", "specificity", "boundary_iou")
BOUNDARY_FRACTION = 0.01  # boundary band width: 1 % of the image diagonal (10 px on a 600x800 portrait)


def confusion(pred: np.ndarray, truth: np.ndarray) -> tuple[int, int, int, int]:
    """(tp, fp, fn, tn) of two boolean masks of the same shape."""
    pred = np.asarray(pred, bool)
    truth = np.asarray(truth, bool)
    tp = int(np.count_nonzero(pred & truth))
    fp = int(np.count_nonzero(pred)) - tp
    fn = int(np.count_nonzero(truth)) - tp
    tn = pred.size - tp - fp - fn
    return tp, fp, fn, tn


def scores(tp: int, fp: int, fn: int, tn: int) -> dict[str, float]:
    """Per-image scores; an empty prediction of an empty truth counts as perfect."""
    def ratio(a, b):
        return a / b if b else 1.0

    return {
        "dice": ratio(2 * tp, 2 * tp + fp + fn),
        "iou": ratio(tp, tp + fp + fn),
        "accuracy": ratio(tp + tn, tp + fp + fn + tn),
        "sensitivity": ratio(tp, tp + fn),
        "specificity": ratio(tn, tn + fp),
    }


def band_kernel(shape: tuple[int, ...], fraction: float = BOUNDARY_FRACTION) -> np.ndarray:
    """The disc of radius d = ``fraction`` of the image diagonal that makes the edge bands."""
    d = max(1, round(fraction * float(np.hypot(*shape[:2]))))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * d + 1, 2 * d + 1))


def inner_band(mask: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The mask's pixels within the kernel's reach of its edge, inside it. The border of the image is not an edge of
    the person: eroded as if the mask continued outside."""
    m = np.asarray(mask, np.uint8)
    return (m > 0) & (cv2.erode(m, kernel, borderType=cv2.BORDER_REPLICATE) == 0)


def boundary_iou(pred: np.ndarray, truth: np.ndarray, fraction: float = BOUNDARY_FRACTION) -> float:
    """Boundary IoU (Cheng et al., CVPR 2021): IoU of the two masks' inner bands of width d.

    Unlike IoU, which large bodies dominate, it only looks near the edges: hair, halos, fingers."""
    truth, pred = np.squeeze(truth), np.squeeze(pred)  # training passes (1, H, W)
    kernel = band_kernel(truth.shape, fraction)
    p, t = inner_band(pred, kernel), inner_band(truth, kernel)
    union = np.count_nonzero(p | t)
    return float(np.count_nonzero(p & t) / union) if union else 1.0  # a plain float: checkpoints load weights-only


@dataclass
class MeanScores:
    """Running mean over images (the paper averages per image, eq. 3)."""
    totals: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KEYS, 0.0))
    n: int = 0

    def add(self, pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
        s = {**scores(*confusion(pred, truth)), "boundary_iou": boundary_iou(pred, truth)}
        for k in KEYS:
            self.totals[k] += s[k]
        self.n += 1
        return s

    def result(self) -> dict[str, float]:
        out = {k: (v / self.n if self.n else float("nan")) for k, v in self.totals.items()}
        out["n"] = self.n
        return out


TEMPORAL_KEYS = ("flicker", "temporal_error", "truth_change")


class TemporalScores:
    """A clip's mattes against its truth from frame to frame, each the mean over pixels and frame pairs:

    - ``flicker``: the matte's change, ``|m_t - m_t-1|``;
    - ``truth_change``: the truth's own (the person's real motion);
    - ``temporal_error``: ``|(m_t - m_t-1) - (g_t - g_t-1)|``, 0 when the matte changes exactly as the person does:
      flicker where the person stands still and lag where they move both raise it (the dtSSD of video matting,
      Erofeev et al. 2015, in L1)."""

    def __init__(self) -> None:
        self.totals = dict.fromkeys(TEMPORAL_KEYS, 0.0)
        self.pairs = 0
        self._last: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, matte: np.ndarray, truth: np.ndarray) -> None:
        """The next frame's matte (float in [0, 1]) and truth (boolean), in the clip's order."""
        matte, truth = np.asarray(matte, np.float32), np.asarray(truth, np.float32)
        if self._last is not None and self._last[0].shape == matte.shape:
            change, real = matte - self._last[0], truth - self._last[1]
            self.totals["flicker"] += float(np.abs(change).mean())
            self.totals["truth_change"] += float(np.abs(real).mean())
            self.totals["temporal_error"] += float(np.abs(change - real).mean())
            self.pairs += 1
        self._last = matte, truth

    def gap(self) -> None:
        """A frame that could not be scored: the next one starts a new pair."""
        self._last = None

    def result(self) -> dict[str, float]:
        return {k: (v / self.pairs if self.pairs else float("nan")) for k, v in self.totals.items()}


EDGE_KEYS = ("halo", "lost_edge")


def edge_scores(matte: np.ndarray, truth: np.ndarray, fraction: float = BOUNDARY_FRACTION) -> dict[str, float]:
    """Where a composite goes wrong at the person's edge, from the soft matte (what is composited, in [0, 1]), in
    the bands of width d (as ``boundary_iou``) on either side of the true edge:

    - ``halo``: the mean matte just outside the person, the old background kept around them;
    - ``lost_edge``: the mean of 1 - matte just inside, the person's own edge (hair, fingers) lost.

    0 is perfect; a band that does not exist (no person, or no background) scores 0."""
    truth = np.asarray(truth, np.uint8)
    kernel = band_kernel(truth.shape, fraction)
    outside = (cv2.dilate(truth, kernel) > 0) & (truth == 0)
    inside = inner_band(truth, kernel)
    matte = np.asarray(matte, np.float32)
    return {"halo": float(matte[outside].mean()) if outside.any() else 0.0,
            "lost_edge": float(1.0 - matte[inside].mean()) if inside.any() else 0.0}
