"""Cheap CPU pre-processing for the segmenter: the profile of ``benchmark-fps pipeline`` showed
OpenCV's INTER_AREA at a non-integer factor costing more than the rest of pre/post-processing together,
and float normalisation via a transposed copy costing more than it needs to.

``shrink`` halves with INTER_AREA while the image is at least twice the target (OpenCV's fast
integer path, still anti-aliased), then finishes with a bilinear resize of at most 2x: within
about half a grey level of INTER_AREA, several times faster. ``normalize_into`` writes each channel straight
into the network's (1,3,H,W) buffer, choosing the channel order on the way (no cvtColor, no copy).

``Prep`` is the whole of what a runner knows about its input: the geometry (longer side ``size``, or a
little less where that spares padded rows: ``network_fit``; padded to the model's size multiple) and the
normalisation, all from ``weights.input_spec``. Runners get a ``Prep``, never the Segmenter.
"""
from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from .pyramid import Pyramid


def shrink(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize to (width, height): anti-aliased when shrinking, fast at any factor (``Pyramid.at``)."""
    return Pyramid(img).at(width, height)


def normalize_into(buf: np.ndarray, small: np.ndarray, rgb: bool, mean: np.ndarray, std: np.ndarray) -> None:
    """buf[0, c, :h, :w] = (small[..., c] / 255 - mean[c]) / std[c], channels in RGB order."""
    h, w = small.shape[:2]
    scale = (1.0 / (255.0 * std)).astype(np.float32)
    shift = (mean / std).astype(np.float32)
    for c in range(3):
        src = small[:, :, c if rgb else 2 - c]
        dst = buf[0, c, :h, :w]
        np.multiply(src, scale[c], out=dst, dtype=np.float32)
        dst -= shift[c]


def fit(h: int, w: int, side: int) -> tuple[int, int]:
    """(h, w) scaled so that the longer side is ``side``, keeping the aspect (at least 1 px each)."""
    scale = side / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def padded(n: int, multiple: int = 32) -> int:
    """n rounded up to the network's size multiple (``ModelInfo.size_multiple``)."""
    return int(math.ceil(n / multiple) * multiple)


SHRINK = 0.05  # the most ``network_fit`` shrinks a frame below its size to spare the network padded rows


def network_fit(h: int, w: int, side: int, multiple: int = 32) -> tuple[int, int]:
    """``fit(h, w, side)``, but where the shorter side lies less than SHRINK above a multiple of ``multiple``,
    scaled down onto it, keeping the aspect: a 16:9 frame at 288 px is 162 rows, padded to 192; at 160 rows it
    needs none, and the network gets a sixth fewer pixels."""
    nh, nw = fit(h, w, side)
    short = min(nh, nw)
    below = short // multiple * multiple
    if below and below != short and below >= short * (1 - SHRINK):
        nh, nw = fit(h, w, max(h, w) * below / min(h, w))
    return nh, nw


class Prep:
    """Frame -> network input and network output -> frame-sized mask, for one input size."""

    def __init__(self, size: int, mean: Sequence[float], std: Sequence[float], multiple: int = 32,
                 square: bool = False):
        self.size = size
        self.multiple = multiple
        self.square = square  # every frame squeezed onto size x size (``ModelInfo.square``)
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self._buffers: dict[tuple[int, int, int, int], np.ndarray] = {}  # (ph, pw, nh, nw)

    def geometry(self, h: int, w: int) -> tuple[int, int, int, int]:
        """(resized h, resized w, padded h, padded w) for a frame of h x w."""
        if self.square:
            side = padded(self.size, self.multiple)
            return side, side, side, side
        nh, nw = network_fit(h, w, self.size, self.multiple)
        return nh, nw, padded(nh, self.multiple), padded(nw, self.multiple)

    def prepare(self, frame: np.ndarray, rgb: bool) -> tuple[np.ndarray, int, int]:
        """Into a reused (1,3,ph,pw) float32 buffer; returns (buffer, nh, nw). The buffer is
        overwritten by the next call of the same shape: use (or copy) it first."""
        h, w = frame.shape[:2]
        nh, nw, ph, pw = self.geometry(h, w)
        small = shrink(frame, nw, nh)
        # keyed by the content size too: the zero padding must never hold another frame's pixels
        buf = self._buffers.get((ph, pw, nh, nw))
        if buf is None:
            buf = self._buffers[(ph, pw, nh, nw)] = np.zeros((1, 3, ph, pw), np.float32)
        normalize_into(buf, small, rgb, self.mean, self.std)
        return buf, nh, nw

    @staticmethod
    def restore(prob: np.ndarray, h: int, w: int) -> np.ndarray:
        """The network's (nh, nw) probabilities, padding already dropped, back at the frame's size: a new
        array (a runtime may reuse its output buffer). The frame path's input is already the network's size,
        so most calls copy (a small array) instead of resizing."""
        if prob.shape == (h, w):
            return prob.copy()
        return cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
