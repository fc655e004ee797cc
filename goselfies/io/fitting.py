"""Fit an image into a width x height keeping its aspect: ``cover_fit`` crops (backgrounds), ``letterbox``
adds black bars (fixed-size outputs)."""
from __future__ import annotations

import cv2
import numpy as np


def cover_fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to cover width x height keeping aspect, then centre-crop: never stretched."""
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    nw, nh = max(width, round(w * scale)), max(height, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (nw, nh), interpolation=interp)
    x, y = (nw - width) // 2, (nh - height) // 2
    return np.ascontiguousarray(resized[y:y + height, x:x + width])


def letterbox(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to fit inside width x height keeping aspect, black bars around: for fixed-size
    outputs (virtual camera, recording) fed frames of another shape, e.g. after a camera switch."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    scale = min(width / w, height / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out = np.zeros((height, width, *image.shape[2:]), dtype=image.dtype)
    x, y = (width - nw) // 2, (height - nh) // 2
    out[y:y + nh, x:x + nw] = cv2.resize(image, (nw, nh), interpolation=interp).reshape(nh, nw, *image.shape[2:])
    return out
