"""One frame's image pyramid: every smaller copy the frame path needs comes from it.

The network input (288-320 px), the refine filter's guide (half that) and the image its edge is laid
on (up to twice the input), the blurred background (a quarter of the frame) and the change detector's
thumbnail are all small copies of the same frame. Each is taken from the smallest exact halving that is
still at least its size (INTER_AREA at 2x, OpenCV's fast integer path, anti-aliased), then finished with
one bilinear resize of less than 2x: within about half a grey level of INTER_AREA, several times faster,
and no level is computed twice. Levels are made on first use, so a frame nobody shrinks costs nothing.
"""
from __future__ import annotations

import cv2
import numpy as np


class Pyramid:
    """``Pyramid(frame).at(width, height)``: the frame at that size; ``level(k)``: halved k times."""

    def __init__(self, frame: np.ndarray):
        self.frame = frame
        self.levels: list[np.ndarray] = [frame]
        self._sized: dict[tuple[int, int], np.ndarray] = {}

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frame."""
        return self.frame.shape[1], self.frame.shape[0]

    def level(self, k: int) -> np.ndarray:
        while len(self.levels) <= k:
            img = self.levels[-1]
            h, w = img.shape[:2]
            if w % 2 or h % 2:  # drop one edge pixel so the exact 2x path applies
                img = img[: h - h % 2, : w - w % 2]
            self.levels.append(cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA))
        return self.levels[k]

    def at(self, width: int, height: int) -> np.ndarray:
        """The frame at (width, height): the smallest halving no smaller than the target, then one
        bilinear step (an enlargement is bilinear from the frame). Asking twice costs once."""
        got = self._sized.get((width, height))
        if got is not None:
            return got
        img = self.level(halvings(*self.size, width, height))
        if img.shape[1] != width or img.shape[0] != height:
            img = cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)
        self._sized[(width, height)] = img
        return img

    def region(self, box: tuple[int, int, int, int], width: int, height: int, halved: bool = True) -> np.ndarray:
        """The frame's ``box`` (x0, y0, x1, y1, in the frame's pixels) at (width, height), INTER_AREA, a new array.
        ``halved``: from the smallest halving in which the box is still at least that size, its corners rounded to
        that halving's pixels (2**(k-1) of the frame's pixels off at most): the live look-closer's, under half the
        cost at 720p (BENCHMARKS.md run 27). Else from the frame itself: a photo's second pass, where a pixel off
        scored lower on the held-out full bodies.
        """
        k, (x0, y0, x1, y1) = box_level(box, width, height, halved)
        return cv2.resize(self.level(k)[y0:y1, x0:x1], (width, height), interpolation=cv2.INTER_AREA)


def halvings(w: int, h: int, width: int, height: int) -> int:
    """How many exact halvings of a w x h picture leave it at least width x height (the level ``at`` starts from)."""
    k = 0
    while w >= 2 * width and h >= 2 * height:
        k, w, h = k + 1, w // 2, h // 2
    return k


def box_level(box: tuple[int, int, int, int], width: int, height: int, halved: bool = True):
    """(k, the box in the k-th halving's pixels): where ``region`` takes the frame's ``box`` from for (width, height)."""
    k = halvings(box[2] - box[0], box[3] - box[1], width, height) if halved else 0
    return k, tuple(round(v / (1 << k)) for v in box)
