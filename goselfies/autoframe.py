"""Auto-framing: a crop of the frame that keeps the person centred and sized, moved like a calm camera operator.

``AutoFramer.update(small, width, height)`` is fed each frame's newest matte at the network's resolution and
gives the crop (``Crop``, in the frame's pixels, with the frame's aspect); ``crop_to`` makes the output from
it: one bilinear warp at the output size, into a reused buffer. ``FramePath`` runs both after compositing,
so every front end (webcam, window, virtual camera, video files) and every background gets it.

Where the crop wants to be (``AutoFramer.target``): from the box of confident person pixels (alpha >= 0.5;
the outer EDGE of the person's columns and the top TOP of its rows left out, so a stray blob does not
count). Its top is the top of the head, which sits HEAD_ROOM of the crop's height below the crop's top; the
head's width is read from the person's rows below it (``head_width``), and the crop is centred on the head
(the HEAD_HEIGHT head widths below its top). Its size is a head-and-shoulders shot, SHOT head widths squared
of area; a person seen whole (the box ends above the frame's bottom) fits whole, the box at most FILL of the
crop's width. Never narrower than ``zoom`` of the frame (``--frame-zoom``), never wider than the frame. The
target is steadied: its position is the median over STEADY seconds, its width over STEADY_SIZE, and the
crop narrows only to the widest of those widths over ZOOM_IN seconds (zooming out is at once).

How it gets there: while the target stays within the dead zone of the goal the crop rests on (DEAD_ZONE of
the crop's width and height for the position, SIZE_DEAD_ZONE for the width), the goal does not move, so
small motion and the mask's own noise move nothing. Once the target leaves the dead zone the goal follows
it until the crop has caught up (within CAUGHT_UP of the dead zone), then rests again. The crop moves towards
the goal as a critically damped spring (FOLLOW seconds), clamped at the goal so that it never overshoots;
coming to rest, it never creeps slower than CREEP px a frame, so it arrives exactly and then stands still.
No person for MISSING seconds: it eases back to the full frame.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from statistics import median

import cv2
import numpy as np

from .errors import GoSelfiesError

ZOOM = 0.5  # the narrowest crop, as a fraction of the frame's width (--frame-zoom)
HEAD_ROOM = 0.12  # above the top of the head, as a fraction of the crop's height
FOOT_ROOM = 0.04  # below a person seen whole, likewise
SHOT = 10.0  # the crop's area in head widths squared: a head-and-shoulders shot (4.2 heads wide at 16:9)
HEAD_HEIGHT = 1.3  # a head's height in its widths: the rows the crop is centred on
FILL = 0.8  # a person seen whole: the box takes at most this fraction of the crop's width
EDGE = 0.02  # of the person's pixels left out on the left and on the right of the box
TOP = 0.01  # ... and at the top
BOTTOM = 0.005  # ... and at the bottom
MIN_AREA = 0.005  # a matte with fewer confident pixels than this fraction has no person
DEAD_ZONE = 0.08  # the target's position may move this much of the crop's size without moving the crop
SIZE_DEAD_ZONE = 0.12  # ... and its width this much of the crop's width
CAUGHT_UP = 0.25  # following ends once the crop is within this fraction of the dead zone of the target
FOLLOW = 0.5  # seconds: the smooth time of the critically damped follow (the lag behind a steady motion)
MISSING = 0.5  # seconds without a person before the crop eases back to the full frame
STEADY = 0.4  # seconds: the target's position is the median over this long (one frame's odd mask is outvoted)
STEADY_SIZE = 1.5  # ... and its width over this long
ZOOM_IN = 1.5  # seconds: the crop narrows only to the widest of those widths over this long (zooming out is at once)
CREEP = 0.25  # px a frame: the slowest a crop coming to rest moves, so that it arrives exactly, and soon
FPS = 30.0  # the frame rate assumed until told (FramePath users set ``fps``)


@dataclass(frozen=True)
class Crop:
    """A rectangle of the frame, in its pixels (floats: the crop moves by sub-pixel steps)."""

    x: float
    y: float
    w: float
    h: float

    @classmethod
    def full(cls, width: int, height: int) -> Crop:
        return cls(0.0, 0.0, float(width), float(height))

    def is_full(self, width: int, height: int) -> bool:
        return self.x == 0 and self.y == 0 and self.w >= width and self.h >= height

    @property
    def corners(self) -> np.ndarray:
        """(x0, y0, x1, y1)."""
        return np.array([self.x, self.y, self.x + self.w, self.y + self.h])


def parse_zoom(value) -> float:
    """``--frame-zoom``: a number in (0, 1]; anything else is one line of error."""
    try:
        zoom = float(value)
    except (TypeError, ValueError):
        zoom = float("nan")
    if not 0.0 < zoom <= 1.0:  # also refuses nan
        raise GoSelfiesError(f"--frame-zoom must be a number in (0, 1] (the narrowest crop as a fraction "
                             f"of the frame's width), got '{value}'")
    return zoom


def crop_to(image: np.ndarray, crop: Crop, out: np.ndarray | None = None) -> np.ndarray:
    """The crop of ``image`` scaled back to the image's size: one bilinear warp (sub-pixel exact, so a slow
    pan glides instead of stepping whole pixels), into ``out`` if given. Any channel count (1, 3, 4)."""
    h, w = image.shape[:2]
    sx, sy = crop.w / w, crop.h / h
    m = np.array([[sx, 0.0, crop.x + 0.5 * sx - 0.5], [0.0, sy, crop.y + 0.5 * sy - 0.5]])
    return cv2.warpAffine(image, m, (w, h), dst=out, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def _sums(binary: np.ndarray, axis: int) -> np.ndarray:
    """Person pixels per column (axis 0) or row (axis 1) of a 0/1 uint8 mask (cv2.reduce: a fraction of
    numpy's time)."""
    return cv2.reduce(binary, axis, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()


def head_width(rows: np.ndarray, top: int) -> float:
    """The head's width, from the person's pixels per row (``rows``) below the top of the head (``top``):
    the median row a little below the top, for a head of that width, found by fixed-point steps from the
    top rows down (a head is about HEAD_HEIGHT of its width tall)."""
    width = float(max(2, rows[top:top + 3].max(initial=0)))
    for _ in range(8):
        band = rows[top + int(0.3 * width):top + int(0.9 * width) + 1]
        if band.size == 0:
            break
        new = float(max(2, np.sort(band)[band.size // 2]))  # the (upper) median
        if abs(new - width) < 1:
            return new
        width = new
    return width


class AutoFramer:
    """``AutoFramer(zoom, fps)``; ``update(small, width, height) -> Crop`` once per output frame.

    State is (centre x, centre y, width) of the crop in frame pixels, its velocity and its goal; ``zoom``
    and ``fps`` may be changed between frames. A new frame size starts again from the full frame."""

    def __init__(self, zoom: float = ZOOM, fps: float = FPS):
        self.zoom = parse_zoom(zoom)
        self.fps = fps
        self.reset()

    def reset(self) -> None:
        """Back to the full frame at once, with no history."""
        self._size: tuple[int, int] | None = None
        self._pos = self._vel = self._goal = None
        self.following = False
        self._missing = 0
        keep = max(1, round(max(STEADY, STEADY_SIZE) * self.fps))
        self._recent: deque[tuple[float, float, float]] = deque(maxlen=keep)  # the targets, newest last
        self._widths: deque[float] = deque(maxlen=max(1, round(ZOOM_IN * self.fps)))
        self.crop: Crop | None = None

    def target(self, small: np.ndarray, width: int, height: int) -> np.ndarray | None:
        """What one matte asks for: (the head's centre x, the top of the head, the crop's width) in frame
        pixels, the width within the zoom limits; None: no person."""
        if small.dtype == np.uint8:
            person = cv2.threshold(small, 127, 1, cv2.THRESH_BINARY)[1]  # alpha >= 128: 1
        else:
            person = (small >= 0.5).view(np.uint8)
        sh, sw = person.shape
        rows = _sums(person, 1)
        area = int(rows.sum())
        if area < MIN_AREA * person.size:
            return None
        cols = _sums(person, 0)
        cum_c, cum_r = np.cumsum(cols), np.cumsum(rows)
        x0 = int(np.searchsorted(cum_c, EDGE * area, side="right"))
        x1 = int(np.searchsorted(cum_c, (1 - EDGE) * area)) + 1
        y0 = int(np.searchsorted(cum_r, TOP * area, side="right"))
        y1 = int(np.searchsorted(cum_r, (1 - BOTTOM) * area)) + 1
        head = head_width(rows, y0)
        band = _sums(person[y0:y0 + max(1, round(HEAD_HEIGHT * head))], 0)
        sx, sy = width / sw, height / sh
        cx = (float(band @ np.arange(sw)) / max(1, int(band.sum())) + 0.5) * sx  # the head's centre
        bx0, bx1, by0, by1 = x0 * sx, x1 * sx, y0 * sy, y1 * sy
        aspect = width / height
        cw = head * sx * np.sqrt(SHOT * aspect)  # a head-and-shoulders shot: SHOT head widths squared
        if sh - y1 > 0.02 * sh:  # seen whole (the box ends above the frame's bottom): the whole box fits
            cw = max(cw, (bx1 - bx0) / FILL, (by1 - by0) / (1 - HEAD_ROOM - FOOT_ROOM) * aspect)
        return np.array([cx, by0, min(max(cw, self.zoom * width), float(width))])

    @staticmethod
    def place(cx: float, top: float, cw: float, width: int, height: int) -> np.ndarray:
        """The crop (centre x, centre y, width) of width ``cw`` centred on ``cx`` with the head's ``top``
        HEAD_ROOM below its top, moved into the frame."""
        ch = cw * height / width
        cx = min(max(cx, cw / 2), width - cw / 2)
        cy = min(max(top - HEAD_ROOM * ch + ch / 2, ch / 2), height - ch / 2)
        return np.array([cx, cy, cw])

    def update(self, small: np.ndarray, width: int, height: int) -> Crop:
        """One frame: the crop for it, given its newest small matte (uint8 alpha or float probabilities)."""
        full = np.array([width / 2, height / 2, float(width)])
        if self._size != (width, height):
            self.reset()
            self._size = (width, height)
            self._pos, self._vel, self._goal = full.copy(), np.zeros(3), full.copy()
        target = self.target(small, width, height)
        if target is None:
            self._missing += 1
            if self._missing >= MISSING * self.fps:
                self._recent.clear()
                self._widths.clear()
                target = full
        else:
            self._missing = 0
            self._recent.append(tuple(target.tolist()))
            recent = list(self._recent)
            cx, top, _ = (median(v) for v in zip(*recent[-max(1, round(STEADY * self.fps)):]))
            self._widths.append(median(t[2] for t in recent[-max(1, round(STEADY_SIZE * self.fps)):]))
            target = self.place(cx, top, max(self._widths), width, height)
        if target is not None:
            cw = self._pos[2]
            dead = np.array([DEAD_ZONE * cw, DEAD_ZONE * cw * height / width, SIZE_DEAD_ZONE * cw])
            if self.following or np.any(np.abs(target - self._goal) > dead):
                self.following = True
                self._goal = target
                if np.all(np.abs(target - self._pos) <= CAUGHT_UP * dead):
                    self.following = False  # caught up: rest on this goal
        self._step()
        self.crop = self._rect(width, height)
        return self.crop

    def _step(self) -> None:
        """The critically damped spring towards the goal, one frame (exact for a still goal; never past it)."""
        pos, vel, goal = self._pos, self._vel, self._goal
        omega = 2.0 / FOLLOW
        dt = 1.0 / max(float(self.fps), 1.0)
        x = omega * dt
        decay = 1.0 / (1.0 + x + 0.48 * x * x + 0.235 * x * x * x)
        change = pos - goal
        temp = (vel + omega * change) * dt
        vel = (vel - omega * temp) * decay
        new = goal + (change + temp) * decay
        past = (goal - pos) * (new - goal) > 0  # it would overshoot: stop on the goal
        new[past], vel[past] = goal[past], 0.0
        if not self.following:  # coming to rest: the spring's endless tail ends in steps of CREEP px
            left = goal - pos
            slow = np.abs(new - pos) < CREEP
            new[slow] = np.where(np.abs(left[slow]) <= CREEP, goal[slow], pos[slow] + np.sign(left[slow]) * CREEP)
            vel[slow] = (new[slow] - pos[slow]) / dt
            vel[new == goal] = 0.0
        self._pos, self._vel = new, vel

    def _rect(self, width: int, height: int) -> Crop:
        cx, cy, cw = self._pos
        cw = min(max(cw, self.zoom * width), float(width))
        ch = cw * height / width
        x = min(max(cx - cw / 2, 0.0), width - cw)
        y = min(max(cy - ch / 2, 0.0), height - ch)
        if cw >= width - 1e-6 and abs(x) < 1e-6 and abs(y) < 1e-6:
            return Crop.full(width, height)
        return Crop(x, y, cw, ch)
