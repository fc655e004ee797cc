"""A second look at a person who is small in the frame: the network again, on the person's box.

The first pass sees the whole frame at the network's size, so a person standing back from the camera gets a
few dozen of its pixels. Where the person's box, with a margin, covers little of the frame, the network runs
again on that box with the first pass's pixel budget (the box's area made the first input's area, at most
``MAX_ZOOM`` times closer), and its answer replaces the first one inside the box. A portrait fills the frame:
no second pass, the same mask. For photos and video files (twice the network where it runs). Measured on the
whole-people sets: ``quality.md``, "Second pass".

Live sessions look closer on a smaller budget (the model's ``closer_side``, ``LIVE_MIN_ZOOM``): one extra run on a
square around the person at a fixed input side, so a live runtime (OpenVINO compiles one model per input shape) keeps
a known cost, and only where the person is small; it runs only on the frames the network runs on. Measured:
``lite.md``, ``tiny.md``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..engine.prep import network_fit
from ..engine.pyramid import Pyramid

MARGIN = 0.15  # added to each side of the person's box, as a fraction of its width / height
MIN_ZOOM = 1.2  # a second pass that would look less than this much closer is not worth its time
MAX_ZOOM = 3.0
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


@dataclass(frozen=True)
class Closer:
    """Where a second look goes: ``box`` in the mask's pixels (x0, y0, x1, y1), ``crop`` the same in the frame's,
    ``size`` the network input (height, width) the crop is shrunk to, ``side`` its longer side."""

    box: tuple[int, int, int, int]
    crop: tuple[int, int, int, int]
    size: tuple[int, int]
    side: int


def plan_closer(person: np.ndarray, frame_size: tuple[int, int], multiple: int,
                live_side: int | None = None) -> Closer | None:
    """The second look at the person in ``person`` (the first pass's mask at 0.5, at the network's size) in a
    frame of ``frame_size`` (width, height), or None where it would not look at least ``MIN_ZOOM`` times closer
    (``LIVE_MIN_ZOOM`` live) or there is no person. ``multiple``: the network's size multiple (its input size is
    ``prep.network_fit``'s). ``live_side``: the live variant, a square of this input side."""
    box = person_box(person)
    if box is None:
        return None
    gh, gw = person.shape
    x0, y0, x1, y1 = box
    zoom = min(MAX_ZOOM, math.sqrt(gh * gw / ((x1 - x0) * (y1 - y0))))
    if zoom < (LIVE_MIN_ZOOM if live_side else MIN_ZOOM):
        return None
    if live_side:
        x0, y0, x1, y1 = square(box, gw, gh)
    fw, fh = frame_size
    sx, sy = fw / gw, fh / gh
    crop = (round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy))
    ch, cw = crop[3] - crop[1], crop[2] - crop[0]
    if ch < 2 or cw < 2:  # a speck in a frame smaller than the network's input
        return None
    side = live_side or round(max(x1 - x0, y1 - y0) * zoom)
    size = (side, side) if live_side else network_fit(ch, cw, side, multiple)
    return Closer((x0, y0, x1, y1), crop, size, side)


def look_closer(segment, pyramid: Pyramid, prob: np.ndarray, live_side: int | None = None) -> np.ndarray:
    """``prob`` (the first pass, on the whole frame at ``segment.size``) with the box around the person run
    again closer (``plan_closer``); ``prob`` itself where there is none. ``segment`` is a ``Segmenter`` (its
    ``sized`` runs one call at another input size)."""
    plan = plan_closer(prob >= 0.5, pyramid.size, segment.prep.multiple, live_side)
    if plan is None:
        return prob
    (x0, y0, x1, y1), (nh, nw) = plan.box, plan.size
    with segment.sized(plan.side):
        closer = segment(pyramid.region(plan.crop, nw, nh, halved=live_side is not None))
    out = prob.copy()
    out[y0:y1, x0:x1] = cv2.resize(closer, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    return out
