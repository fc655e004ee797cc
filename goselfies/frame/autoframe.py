"""Auto-framing: a crop of the frame that keeps the person centred and sized, moved like a calm camera operator.

``AutoFramer.update(small, width, height, frame)`` is fed each frame's newest matte at the network's resolution
(and the frame, or its ``Pyramid``, for the face search) and gives the crop (``Crop``, in the frame's pixels,
with the frame's aspect); ``crop_to`` makes the output from it: one bilinear warp at the output size, into a
reused buffer. ``FramePath`` runs both after compositing, so every front end (webcam, window, virtual camera,
video files) and every background gets it.

Where the head is. From the mask (``look``): the box of confident person pixels (alpha >= 0.5; the outer EDGE
of the person's columns and the top TOP of its rows left out, so a stray blob does not count); its top is the
top of the head, the head's width is read from the person's rows below it (``head_width``), its centre from
the HEAD_HEIGHT head widths below its top. A hand held up above the head is then taken for it, so where a face
is found the head is the face's (``FaceFinder``): OpenCV's frontal Haar cascade (it ships in OpenCV's wheel),
run a few times a second (FACE_EVERY) on a small grey copy of the head's region only (the pyramid's), scaled so
that the face expected there is FACE_PX wide; around a face it holds, a smaller region at its own size
(FACE_TRACK). A face counts only where it overlaps the person's matte (FACE_OVERLAP). When it is found, the
head's top and width are read against it from the matte (the hair above it, ``hair``; FACE_HEAD), so the face's
framing and the mask's agree. Between finds it is held: carried along with the mask's head's smooth motion
(CARRY: the person moves, or turns from the camera), not with its jumps (a hand raised, a moment when the
network loses the person), let go once the matte has not overlapped it for FACE_APART seconds. No face (a
person turned away from the start, too small, a face the cascade misses): the mask's head.

Where the crop wants to be (``AutoFramer.shot``): the top of the head sits HEAD_ROOM of the crop's height below
the crop's top, and the crop is centred on the head. Its size is a head-and-shoulders shot, SHOT head widths
squared of area; a person seen whole (the box ends above the frame's bottom) fits whole, the box at most FILL of
the crop's width. Never narrower than ``zoom`` of the frame (``--frame-zoom``), never wider than the frame. The
target is steadied: its position is the median over STEADY seconds, its width over STEADY_SIZE, and the crop
narrows only to the widest of those widths over ZOOM_IN seconds (zooming out is at once).

How it gets there. While the target stays within the dead zone of the goal the crop rests on (DEAD_ZONE of the
crop's width and height for the position, SIZE_DEAD_ZONE for the width), the goal does not move, so small motion
and the mask's own noise move nothing. A move starts only while the person moves (the head moved more than MOVE
of the crop within MOVING seconds), or to frame a person anew, or once the target is FAR dead zones off (a slow
drift): a still person is never reframed, not even by a zoom-in whose wait ends while they sit still. Once
moving, the goal follows the target until the crop has caught up (within CAUGHT_UP of the dead zone), then rests
again. The crop moves towards the goal as a critically damped spring (FOLLOW seconds) until braking evenly from
its speed onto the goal would move it further, then brakes so: it arrives in finite time (about 2.4 FOLLOW after
a jump of the goal), never past the goal, and then stands still. No person for MISSING seconds: it eases back to
the full frame.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from statistics import median

import cv2
import numpy as np

from ..engine.pyramid import Pyramid
from ..options import FPS, OPTIONS

ZOOM = OPTIONS["frame_zoom"].default  # the narrowest crop, as a fraction of the frame's width (--frame-zoom)
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
MOVING = 0.5  # seconds: the person is moving when the head moved within this long ...
MOVE = 0.03  # ... more than this of the crop's width; a move starts only while the person moves ...
FAR = 2.0  # ... or once the target is this many dead zones away (a slow drift), or to frame a person anew
FOLLOW = 0.35  # seconds: the smooth time of the critically damped follow (the lag behind a steady motion)
MISSING = 0.5  # seconds without a person before the crop eases back to the full frame
STEADY = 0.4  # seconds: the target's position is the median over this long (one frame's odd mask is outvoted)
STEADY_SIZE = 1.5  # ... and its width over this long
ZOOM_IN = 1.5  # seconds: the crop narrows only to the widest of those widths over this long (zooming out is at once)
FACE_EVERY = (0.2, 0.6)  # seconds between face searches: while the face is found (and once after), and else
FACE_PX = 34  # px: the head's region is searched in a grey copy of the frame where the expected face is this wide
FACE_SIZES = (0.7, 2.0)  # ... for faces from this to this of the mask's head's width (the cascade's window: 24 px)
FACE_STEP = 1.1  # ... in size steps of this (the cascade's scale factor)
FACE_REGION = (1.5, 0.25, 2.5)  # the head's region: this many of its widths either side of its centre, above its
# top and below it (a hand held up above the head is taken for the head's top by the mask: the face is below)
FACE_TRACK = (0.4, 28, 0.85, 1.3)  # around a face held: within this many face widths of it, scaled to this many px
# wide, from this to this of its size (a fraction of the cost of a search of the head's region)
FACE_TOP = 0.25  # the top of the head is at least this many face widths above the top of the face's box, ...
FACE_HAIR = 0.8  # ... and up to this many, up the rows above the face that are person across at least HAIR of
HAIR = 0.4  # the face's columns (hair), read when it is found
FACE_HEAD = (1.0, 1.5)  # the head's width in face widths: the mask's head's when the face is found, within these
# (measured against the mask on the clips: 0.9 to 1.25 with short hair, more with hair or headphones)
FACE_OVERLAP = 0.25  # a face is the person's where at least this fraction of its box is person in the matte; one
FACE_APART = 1.5  # held is let go once it has not been for this many seconds (the network can lose a dark face, or
# a dark palm held up in front of it, for a second or more)
CARRY = (0.25, 0.8)  # a face held moves with the mask's head from frame to frame where that moves less than this
# many face widths and its width changes by less than this factor (the person moves); not where it jumps (a hand
# raised, the network losing the person for a moment)
CASCADE = "haarcascade_frontalface_default.xml"  # OpenCV's frontal face cascade (in its wheel, cv2.data)

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
    """``--frame-zoom``: a number in its range (``options``); anything else is one line of error."""
    return OPTIONS["frame_zoom"].check(value)


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


def overlap(box: np.ndarray, person: np.ndarray, width: int, height: int) -> float:
    """The fraction of a box (x, y, w, h in the frame's pixels) that is person (1) in the small 0/1 mask."""
    sh, sw = person.shape
    x, y, w, h = box
    x0, x1 = int(np.clip(x * sw / width, 0, sw)), int(np.clip(np.ceil((x + w) * sw / width), 0, sw))
    y0, y1 = int(np.clip(y * sh / height, 0, sh)), int(np.clip(np.ceil((y + h) * sh / height), 0, sh))
    if x1 <= x0 or y1 <= y0:
        return 0.0
    return float(cv2.countNonZero(person[y0:y1, x0:x1])) / ((x1 - x0) * (y1 - y0))


class FaceFinder:
    """The person's face, from OpenCV's frontal Haar cascade run on a small grey copy of the head's region
    only, scaled so that the face expected there is about FACE_PX wide (a millisecond or two), once in
    FACE_EVERY seconds. ``search`` gives the faces found (x, y, w, h in the frame's pixels); the framer
    keeps one in ``face``. Around a face it holds, only a small region at the face's own size is searched
    again ("tracking", a fraction of a full search)."""

    def __init__(self):
        self._cascade: cv2.CascadeClassifier | None | bool = None
        self.searches = 0  # searches run, and the CPU seconds they took (the detector's cost): in all, at most
        self.cpu_seconds = self.cpu_max = 0.0
        self.reset()

    def reset(self) -> None:
        self.face: np.ndarray | None = None  # (x, y, w, h) in the frame's pixels: the person's face, held
        self.above = FACE_TOP  # the head's top above the face's, in face widths (``hair``, when it was found)
        self.wide = FACE_HEAD[0]  # the head's width, in face widths (the mask's head's, when it was found)
        self.tracking = False  # the last search found the face held: the next looks around it only
        self._apart = 0  # frames in a row that the face held has been apart from the person
        self._ref: np.ndarray | None = None  # the mask's head on the last frame
        self.misses = 2  # searches in a row that found no face (after two, they come less often)

    def cascade(self) -> cv2.CascadeClassifier | None:
        """The cascade, loaded on first use (it ships in OpenCV's wheel); None where missing."""
        if self._cascade is None:
            base = getattr(getattr(cv2, "data", None), "haarcascades", "")
            make = getattr(cv2, "CascadeClassifier", None)  # OpenCV 5 moved it (and the files) to contrib
            c = make(base + CASCADE) if base and make else None
            self._cascade = c if c is not None and not c.empty() else False
        return self._cascade or None

    def search(self, image_at, width: int, height: int, head: np.ndarray) -> list[np.ndarray]:
        """Faces in the head's region (``head``: the mask's centre x, top and width in the frame's pixels),
        or around the face held when the last search found it: (x, y, w, h) in the frame's pixels.
        ``image_at(w, h)``: the frame at that size (``Pyramid.at``)."""
        cascade = self.cascade()
        if cascade is None:
            return []
        c0 = time.thread_time()
        try:
            if self.face is not None and self.tracking:
                x, y, w, h = self.face
                m, px, smaller, larger = FACE_TRACK
                region = (x - m * w, y - m * w, x + w + m * w, y + h + m * w)
                expected, sizes = w, (smaller, larger)
            else:
                cx, top, hw = head
                across, above, below = FACE_REGION
                region = (cx - across * hw, top - above * hw, cx + across * hw, top + below * hw)
                expected, sizes, px = hw, FACE_SIZES, FACE_PX
            s = min(1.0, px / max(float(expected), 1.0))
            sw, sh = max(1, round(width * s)), max(1, round(height * s))
            fx, fy = sw / width, sh / height
            x0, y0 = max(0, int(region[0] * fx)), max(0, int(region[1] * fy))
            x1, y1 = min(sw, int(np.ceil(region[2] * fx))), min(sh, int(np.ceil(region[3] * fy)))
            smallest = max(24, round(sizes[0] * expected * s))  # (the cascade's window: 24 px)
            largest = round(sizes[1] * expected * s)
            if x1 - x0 < smallest or y1 - y0 < smallest or largest < smallest:
                return []
            roi = image_at(sw, sh)[y0:y1, x0:x1]
            if roi.ndim == 3:
                roi = cv2.cvtColor(roi, cv2.COLOR_BGRA2GRAY if roi.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
            found = cascade.detectMultiScale(roi, FACE_STEP, 3, minSize=(smallest,) * 2, maxSize=(largest,) * 2)
            return [np.array([(bx + x0) / fx, (by + y0) / fy, bw / fx, bh / fy])
                    for bx, by, bw, bh in np.asarray(found, np.float64).reshape(-1, 4)]
        finally:
            cpu = time.thread_time() - c0
            self.searches += 1
            self.cpu_seconds += cpu
            self.cpu_max = max(self.cpu_max, cpu)

    def update(self, image_at, width: int, height: int, head: np.ndarray, person: np.ndarray) -> np.ndarray | None:
        """One search: the face found that is the person's (at least FACE_OVERLAP of its box person in the
        matte; the largest, or the one on the face held), else the face held; None: none."""
        faces = [f for f in self.search(image_at, width, height, head)
                 if overlap(f, person, width, height) >= FACE_OVERLAP]
        if faces:
            held = self.face
            if held is not None:
                faces = [f for f in faces if _meets(f, held)] or faces
            self.face = max(faces, key=lambda f: f[2] * f[3])
            self.above = hair(self.face, person, width, height)
            self.wide = float(np.clip(head[2] / self.face[2], *FACE_HEAD))
            self._apart, self._ref = 0, np.array(head, np.float64)
        self.tracking = bool(faces)
        self.misses = 0 if faces else self.misses + 1
        return self.face

    def keep(self, seen: Seen, width: int, height: int, fps: float) -> np.ndarray | None:
        """The face held, carried along with the mask's head's smooth motion (CARRY: the person moves, or
        turns from the camera; the face keeps its offset from the mask's head and its width's ratio), not with
        its jumps (a hand raised above or before the face, the network losing the person for a moment: the face
        stays where it was); let go once it has not overlapped the person in the newest matte for FACE_APART
        seconds in a row."""
        if self.face is not None:
            x, y, w, h = self.face
            if self._ref is not None:
                step, scale = seen.head[:2] - self._ref[:2], seen.head[2] / max(self._ref[2], 1e-9)
                if np.all(np.abs(step) <= CARRY[0] * w) and CARRY[1] <= scale <= 1 / CARRY[1]:
                    self.face = np.array([x + step[0] + w * (1 - scale) / 2, y + step[1], w * scale, h * scale])
            self._ref = seen.head.copy()
            apart = overlap(self.face, seen.person, width, height) < FACE_OVERLAP
            self._apart = self._apart + 1 if apart else 0
            if self._apart >= max(1, round(FACE_APART * fps)):
                self.reset()
        return self.face


def _meets(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two boxes (x, y, w, h) overlap."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


@dataclass
class Seen:
    """What one matte shows of the person, in the frame's pixels."""

    person: np.ndarray  # the confident pixels (alpha >= 0.5), 0/1 uint8 at the matte's size
    head: np.ndarray  # (centre x, top, width) of the head, from the mask
    box: np.ndarray  # (x0, y0, x1, y1): the box of the person's pixels (a few outliers left out)
    whole: bool  # the box ends above the frame's bottom: a person seen whole


def look(small: np.ndarray, width: int, height: int) -> Seen | None:
    """The person in a matte (uint8 alpha or float probabilities); None: no person."""
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
    return Seen(person, np.array([cx, y0 * sy, head * sx]), np.array([x0 * sx, y0 * sy, x1 * sx, y1 * sy]),
                sh - y1 > 0.02 * sh)


def face_head(face: np.ndarray, above: float = FACE_TOP, wide: float = FACE_HEAD[0]) -> np.ndarray:
    """The head (centre x, top, width) around a face's box (x, y, w, h), its top ``above`` face widths above
    the box's."""
    x, y, w, _ = face
    return np.array([x + w / 2, y - above * w, wide * w])


def hair(face: np.ndarray, person: np.ndarray, width: int, height: int) -> float:
    """How far above a face's box (in face widths) the head goes: FACE_TOP, or up the rows above it that
    are person (the small 0/1 mask) across at least HAIR of the face's columns, at most FACE_HAIR."""
    sh, sw = person.shape
    x, y, w, _ = face
    c0 = int(np.clip(x * sw / width, 0, sw - 1))
    c1 = int(np.clip(np.ceil((x + w) * sw / width), c0 + 1, sw))
    r1 = int(np.clip(y * sh / height, 0, sh))
    r0 = int(np.clip((y - FACE_HAIR * w) * sh / height, 0, r1))
    rows = person[r0:r1, c0:c1].sum(1, dtype=np.int32)[::-1] >= HAIR * (c1 - c0)  # up from the face
    up = rows.size if rows.all() else int(np.argmin(rows))
    return max(FACE_TOP, (y - (r1 - up) * height / sh) / w)


class AutoFramer:
    """``AutoFramer(zoom, fps, faces)``; ``update(small, width, height, frame) -> Crop`` once per output frame.

    State is (centre x, centre y, width) of the crop in frame pixels, its velocity and its goal; ``zoom``
    and ``fps`` may be changed between frames. A new frame size starts again from the full frame. With
    ``faces`` (and a frame given to ``update``) the head is the face's, where one is found."""

    def __init__(self, zoom: float = ZOOM, fps: float = FPS, faces: bool = True):
        self.zoom = parse_zoom(zoom)
        self.fps = fps
        self.faces = FaceFinder() if faces else None
        self.reset()

    def reset(self) -> None:
        """Back to the full frame at once, with no history."""
        self._size: tuple[int, int] | None = None
        self._pos = self._vel = self._goal = None
        self.following = False
        self._framed = False  # a move onto the person has ended since the reset or the person's return
        self._missing = 0
        keep = max(1, round(max(STEADY, STEADY_SIZE) * self.fps))
        self._recent: deque[tuple[float, float, float]] = deque(maxlen=keep)  # the targets, newest last
        self._widths: deque[float] = deque(maxlen=max(1, round(ZOOM_IN * self.fps)))
        self._since_search = None  # frames since the last face search (None: search on the next)
        if self.faces is not None:
            self.faces.reset()
        self.face: np.ndarray | None = None  # the face the last target came from (x, y, w, h); None: the mask's
        self.crop: Crop | None = None

    def target(self, small: np.ndarray, width: int, height: int, frame=None) -> np.ndarray | None:
        """What one matte asks for: (the head's centre x, the top of the head, the crop's width) in frame
        pixels, the width within the zoom limits; None: no person. The head is the face's where a face is
        held (``frame``: the frame, or its ``Pyramid``, for the search; once in FACE_EVERY seconds), else
        the mask's."""
        seen = look(small, width, height)
        if seen is None:  # (the face held is kept: one frame's matte may miss the person)
            self.face = None
            return None
        self.face = self._face(seen, frame, width, height)
        head = seen.head if self.face is None else face_head(self.face, self.faces.above, self.faces.wide)
        return self.shot(head, seen, width, height)

    def _face(self, seen: Seen, frame, width: int, height: int) -> np.ndarray | None:
        """The face held, carried or let go on this matte; searched for again when a search is due."""
        faces = self.faces
        if faces is None:
            return None
        face = faces.keep(seen, width, height, self.fps)
        if frame is None:
            return face
        due = max(1, round(FACE_EVERY[0 if faces.misses <= 1 else 1] * self.fps))
        if self._since_search is not None and self._since_search + 1 < due:
            self._since_search += 1
            return face
        self._since_search = 0
        image_at = frame.at if hasattr(frame, "at") else Pyramid(frame).at
        return faces.update(image_at, width, height, seen.head, seen.person)

    def shot(self, head: np.ndarray, seen: Seen, width: int, height: int) -> np.ndarray:
        """The target (centre x, top, width) for a head (centre x, top, width): a head-and-shoulders shot,
        SHOT head widths squared; a person seen whole fits whole, the box at most FILL of the crop's width;
        within the zoom limits."""
        cx, top, hw = head
        bx0, by0, bx1, by1 = seen.box
        aspect = width / height
        cw = hw * np.sqrt(SHOT * aspect)  # a head-and-shoulders shot: SHOT head widths squared
        if seen.whole:  # seen whole (the box ends above the frame's bottom): the whole box fits
            cw = max(cw, (bx1 - bx0) / FILL, (by1 - by0) / (1 - HEAD_ROOM - FOOT_ROOM) * aspect)
        return np.array([cx, top, min(max(cw, self.zoom * width), float(width))])

    @staticmethod
    def place(cx: float, top: float, cw: float, width: int, height: int) -> np.ndarray:
        """The crop (centre x, centre y, width) of width ``cw`` centred on ``cx`` with the head's ``top``
        HEAD_ROOM below its top, moved into the frame."""
        ch = cw * height / width
        cx = min(max(cx, cw / 2), width - cw / 2)
        cy = min(max(top - HEAD_ROOM * ch + ch / 2, ch / 2), height - ch / 2)
        return np.array([cx, cy, cw])

    def update(self, small: np.ndarray, width: int, height: int, frame=None) -> Crop:
        """One frame: the crop for it, given its newest small matte (uint8 alpha or float probabilities)
        and, for the face search, the frame (an image of ``width`` x ``height``, or its ``Pyramid``)."""
        full = np.array([width / 2, height / 2, float(width)])
        if self._size != (width, height):
            self.reset()
            self._size = (width, height)
            self._pos, self._vel, self._goal = full.copy(), np.zeros(3), full.copy()
        target = self.target(small, width, height, frame)
        if target is None:
            self._missing += 1
            if self._missing >= MISSING * self.fps:
                self._recent.clear()
                self._widths.clear()
                self._framed = False
                if self.faces is not None:
                    self.faces.reset()
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
            off = np.abs(target - self._goal)
            if self.following or (np.any(off > dead) and (not self._framed or self._missing or self.moving(cw)
                                                          or np.any(off > FAR * dead))):
                self.following = True
                self._goal = target
                if np.all(np.abs(target - self._pos) <= CAUGHT_UP * dead):
                    self.following = False  # caught up: rest on this goal
                    self._framed = not self._missing
        self._step()
        self.crop = self._rect(width, height)
        return self.crop

    def moving(self, cw: float) -> bool:
        """Whether the head moved more than MOVE of the crop's width ``cw`` in the last MOVING seconds."""
        recent = list(self._recent)[-max(2, round(MOVING * self.fps)):]
        if len(recent) < 2:
            return False
        cx, top = (np.ptp([t[i] for t in recent]) for i in (0, 1))
        return max(cx, top) > MOVE * cw

    def _step(self) -> None:
        """One frame towards the goal: the critically damped spring (FOLLOW), until braking evenly from the
        speed it has to stop exactly on the goal would move it further; then that. So the spring's endless
        tail ends in finite time (the braking takes over where the spring's own slowing down exceeds it, so
        the speed and its change stay smooth), and never past the goal."""
        pos, vel, goal = self._pos, self._vel, self._goal
        omega = 2.0 / FOLLOW
        dt = 1.0 / max(float(self.fps), 1.0)
        x = omega * dt
        decay = 1.0 / (1.0 + x + 0.48 * x * x + 0.235 * x * x * x)
        change = pos - goal
        temp = (vel + omega * change) * dt
        new_vel = (vel - omega * temp) * decay
        new = goal + (change + temp) * decay
        past = (goal - pos) * (new - goal) > 0  # it would overshoot: stop on the goal
        new[past], new_vel[past] = goal[past], 0.0
        left = goal - pos
        dist, sign = np.abs(left), np.sign(left)
        speed = vel * sign  # px/s towards the goal
        braking = speed > 0
        brake = np.where(braking, speed * speed / (2 * np.maximum(dist, 1e-12)), 0.0)  # the even deceleration
        after = np.maximum(speed - brake * dt, 0.0)
        step = (speed + after) / 2 * dt
        braking &= step > (new - pos) * sign
        new[braking], new_vel[braking] = (pos + sign * step)[braking], (sign * after)[braking]
        arrived = (braking & ((after <= 0) | (step >= dist))) | (dist == 0)  # (on the goal: it stays)
        new[arrived] = goal[arrived]
        new_vel[new == goal] = 0.0
        self._pos, self._vel = new, new_vel

    def _rect(self, width: int, height: int) -> Crop:
        cx, cy, cw = self._pos
        cw = min(max(cw, self.zoom * width), float(width))
        ch = cw * height / width
        x = min(max(cx - cw / 2, 0.0), width - cw)
        y = min(max(cy - ch / 2, 0.0), height - ch)
        if cw >= width - 1e-6 and abs(x) < 1e-6 and abs(y) < 1e-6:
            return Crop.full(width, height)
        return Crop(x, y, cw, ch)
