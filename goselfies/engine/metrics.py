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


def boundary_iou(pred: np.ndarray, truth: np.ndarray, fraction: float = BOUNDARY_FRACTION) -> float:
    """Boundary IoU (Cheng et al., CVPR 2021): IoU of the two masks' inner bands of width d.

    Unlike IoU, which large bodies dominate, it only looks near the edges: hair, halos, fingers."""
    truth, pred = np.squeeze(truth), np.squeeze(pred)  # training passes (1, H, W)
    h, w = truth.shape
    d = max(1, round(fraction * float(np.hypot(h, w))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * d + 1, 2 * d + 1))

    def band(m: np.ndarray) -> np.ndarray:
        m = np.asarray(m, np.uint8)
        # the border of the image is not an edge of the person: erode as if the mask continued outside
        inner = cv2.erode(m, kernel, borderType=cv2.BORDER_REPLICATE)
        return (m > 0) & (inner == 0)

    p, t = band(pred), band(truth)
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
