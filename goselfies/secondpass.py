"""A second look at a person who is small in the frame: the network again, on the person's box.

The first pass sees the whole frame at the network's size, so a person standing back from the camera gets a
few dozen of its pixels. Where the person's box, with a margin, covers little of the frame, the network runs
again on that box with the first pass's pixel budget (the box's area made the first input's area, at most
``MAX_ZOOM`` times closer), and its answer replaces the first one inside the box. A portrait fills the frame:
no second pass, the same mask. For photos and video files (twice the network where it runs; off in live
sessions). Measured on the whole-people sets: ``quality.md``, "Second pass".
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .fastpre import fit
from .pyramid import Pyramid

MARGIN = 0.15  # added to each side of the person's box, as a fraction of its width / height
MIN_ZOOM = 1.2  # a second pass that would look less than this much closer is not worth its time
MAX_ZOOM = 3.0


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


def look_closer(segment, pyramid: Pyramid, prob: np.ndarray) -> np.ndarray:
    """``prob`` (the first pass, on the whole frame at ``segment.size``) with the box around the person run
    again closer, where that is at least ``MIN_ZOOM`` times closer; ``prob`` itself otherwise. ``segment``
    is a ``Segmenter`` (its ``sized`` runs one call at another input size)."""
    box = person_box(prob)
    if box is None:
        return prob
    x0, y0, x1, y1 = box
    gh, gw = prob.shape
    zoom = min(MAX_ZOOM, math.sqrt(gh * gw / ((x1 - x0) * (y1 - y0))))
    if zoom < MIN_ZOOM:
        return prob
    fw, fh = pyramid.size
    sx, sy = fw / gw, fh / gh
    crop = pyramid.frame[round(y0 * sy):round(y1 * sy), round(x0 * sx):round(x1 * sx)]
    if crop.shape[0] < 2 or crop.shape[1] < 2:  # a speck in a frame smaller than the network's input
        return prob
    side = round(max(x1 - x0, y1 - y0) * zoom)
    nh, nw = fit(*crop.shape[:2], side)
    with segment.sized(side):
        closer = segment(cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA))
    out = prob.copy()
    out[y0:y1, x0:x1] = cv2.resize(closer, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    return out
