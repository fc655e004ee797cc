"""A second look at a person who is small in the frame: the network again, on the person's box.

The first pass sees the whole frame at the network's size, so a person standing back from the camera gets a
few dozen of its pixels. Where the person's box, with a margin, covers little of the frame, the network runs
again on that box with the first pass's pixel budget (the box's area made the first input's area, at most
``MAX_ZOOM`` times closer), and its answer replaces the first one inside the box. A portrait fills the frame:
no second pass, the same mask. For photos and video files (twice the network where it runs). Measured on the
whole-people sets: ``quality.md``, "Second pass".

Live sessions look closer on a smaller budget (``LIVE_SIDE``, ``LIVE_MIN_ZOOM``): one extra run on a square around
the person at a fixed input side, so a live runtime (OpenVINO compiles one model per input shape) keeps a known
cost, and only where the person is small; it runs only on the frames the network runs on. Measured: ``lite.md``.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from ..engine.prep import fit
from ..engine.pyramid import Pyramid

MARGIN = 0.15  # added to each side of the person's box, as a fraction of its width / height
MIN_ZOOM = 1.2  # a second pass that would look less than this much closer is not worth its time
MAX_ZOOM = 3.0
LIVE_SIDE = 160  # live: the extra run's input, a square of this side
LIVE_MIN_ZOOM = 1.5  # live: only where the person's box (with its margin) covers under 1 / 1.5**2 = 44 % of the frame


def person_box(prob: np.ndarray, margin: float = MARGIN) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the pixels at 0.5 or more, grown by ``margin`` and clipped; None: no person."""
    person = prob >= 0.5
    rows, cols = np.flatnonzero(person.any(1)), np.flatnonzero(person.any(0))
    if rows.size == 0:
        return None
    h, w = prob.shape
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    my, mx = margin * (y1 - y0), margin * (x1 - x0)
    return (max(0, math.floor(x0 - mx)), max(0, math.floor(y0 - my)),
            min(w, math.ceil(x1 + mx)), min(h, math.ceil(y1 + my)))


def square(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    """The square of the box's longer side around its centre, moved (not cut) to lie in width x height, and
    cut only where the frame itself is narrower."""
    x0, y0, x1, y1 = box
    s = min(max(x1 - x0, y1 - y0), width, height)
    left = min(max(round((x0 + x1 - s) / 2), 0), width - s)
    top = min(max(round((y0 + y1 - s) / 2), 0), height - s)
    return left, top, left + s, top + s


def look_closer(segment, pyramid: Pyramid, prob: np.ndarray, live_side: int | None = None) -> np.ndarray:
    """``prob`` (the first pass, on the whole frame at ``segment.size``) with the box around the person run
    again closer, where that is at least ``MIN_ZOOM`` times closer; ``prob`` itself otherwise. ``segment``
    is a ``Segmenter`` (its ``sized`` runs one call at another input size). ``live_side``: the live variant, a
    square around the person at this input side, where the person is ``LIVE_MIN_ZOOM`` times smaller or more."""
    box = person_box(prob)
    if box is None:
        return prob
    gh, gw = prob.shape
    x0, y0, x1, y1 = box
    zoom = min(MAX_ZOOM, math.sqrt(gh * gw / ((x1 - x0) * (y1 - y0))))
    if zoom < (LIVE_MIN_ZOOM if live_side else MIN_ZOOM):
        return prob
    if live_side:
        x0, y0, x1, y1 = square(box, gw, gh)
    fw, fh = pyramid.size
    sx, sy = fw / gw, fh / gh
    crop = pyramid.frame[round(y0 * sy):round(y1 * sy), round(x0 * sx):round(x1 * sx)]
    if crop.shape[0] < 2 or crop.shape[1] < 2:  # a speck in a frame smaller than the network's input
        return prob
    side = live_side or round(max(x1 - x0, y1 - y0) * zoom)
    nh, nw = (side, side) if live_side else fit(*crop.shape[:2], side)
    with segment.sized(side):
        closer = segment(cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA))
    out = prob.copy()
    out[y0:y1, x0:x1] = cv2.resize(closer, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    return out
