"""The one frame path: pyramid -> (change?) -> segment -> smooth -> post-process -> composite.

Every front end runs these same steps on a frame: the live pipeline (split over its two threads), a
video file (``push``/``flush``: the smoother also looks ``lookahead`` frames ahead; with 0 the output is the
live one), a photo, ``evaluate`` and ``benchmark-fps``. Everything but the last step works at the network's
resolution: the pyramid gives each small copy of the frame once, the mask is smoothed and post-processed small, and only the finished matte
is enlarged, once, to the output, in uint8. Outputs and mattes go into buffers reused from frame to frame
(a short ring, so a sink may still read the last few), so the steady state allocates no full-size array.
With auto-framing on, the composited frame is then cropped to follow the person (``autoframe``: the crop
comes from the newest small matte, and the face found a few times a second in a small copy from the pyramid)
and scaled back to the output size: one more warp, into a ring too.

"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import cv2
import numpy as np

from ..engine.prep import fit, shrink
from ..engine.pyramid import Pyramid
from ..errors import GoSelfiesError
from ..extras import load
from ..options import FPS, OPTIONS
from ..timing import Timings
from .autoframe import ZOOM, AutoFramer, Crop, crop_to, parse_zoom
from .backgrounds import Background, parse_background
from .change import ChangeDetector
from .postprocess import PostProcess
from .secondpass import look_closer
from .smoothing import MOTION, SMOOTHING, FlickerMeter, LookaheadSmoother, MaskSmoother

UNSURE = 0.4  # with skip: a mask this unsure is never kept (see needs_mask)
RING = 3  # output buffers in rotation: a sink may hold the last RING - 1 frames without copying

Segment = Callable[[np.ndarray], np.ndarray]  # uint8 BGR image -> float32 probabilities of its size
Ready = tuple[tuple[Pyramid, Any], Any]  # a file's frame segmented and smoothed: ((pyramid, item), probabilities)


@dataclass
class PathConfig:
    background: str | Background = "blur"  # a spec, or a background already made from one
    post: PostProcess = field(default_factory=PostProcess)  # applied after smoothing
    smoothing: float = SMOOTHING
    motion: float = MOTION
    skip: bool = True  # reuse the last mask while the picture does not change (change.ChangeDetector)
    max_age: int | None = None  # with skip: most frames in a row on one mask (None: change.MAX_AGE)
    change_threshold: float | None = None  # with skip: a block change that counts (None: change.THRESHOLD)
    auto_frame: bool = False  # crop the output to follow the person (autoframe.AutoFramer)
    frame_zoom: float = ZOOM  # the narrowest crop, as a fraction of the frame's width
    fps: float = FPS  # the frame rate, for auto-framing's timing
    second_pass: bool = False  # run the network again on a person small in the frame (secondpass; photos, files)
    look_closer: bool = False  # live: one extra small run on a person small in the frame (ModelInfo.closer_side)
    lookahead: int = 0  # with push/flush (a file): frames ahead the smoother also looks at (0: the past only, as live)
    engine: str = "auto"  # where the pixel steps run (ENGINES): auto: torch on a CUDA segmenter, else numpy


class _Ring:
    """A few buffers of one shape, handed out in turn."""

    def __init__(self, n: int = RING):
        self.n = n
        self._bufs: list[np.ndarray] = []
        self._i = 0

    def next(self, shape: tuple[int, ...]) -> np.ndarray:
        if not self._bufs or self._bufs[0].shape != shape:
            self._bufs = [np.empty(shape, np.uint8) for _ in range(self.n)]
        self._i = (self._i + 1) % self.n
        return self._bufs[self._i]


class NumpyOps:
    """The frame path's pixel steps on the host (OpenCV and numpy, into ring buffers): the CPU's engine."""

    name = "numpy"

    def __init__(self, segment: Segment, device: str, ring: int):
        self._out, self._alpha, self._framed = (_Ring(ring) for _ in range(3))

    def pyramid(self, frame: np.ndarray) -> Pyramid:
        return Pyramid(frame)

    def adopt(self, pyramid, small=None):
        """A pyramid and small matte another engine made (a model switched between the GPU and the CPU while
        frames were in flight), as this engine's."""
        if not isinstance(pyramid, Pyramid):
            pyramid = Pyramid(pyramid.host_frame())
        if small is not None and not isinstance(small, np.ndarray):
            small = small.to("cpu").numpy()
        return pyramid, small

    def host(self, x: np.ndarray, tag: str = "out") -> np.ndarray:
        return x

    def host_view(self, pyramid: Pyramid) -> Pyramid:
        return pyramid

    def small(self, small: np.ndarray) -> np.ndarray:
        return small

    def probabilities(self, segment, pyramid: Pyramid, nw: int, nh: int, live_side: int | None,
                      second: bool) -> np.ndarray:
        prob = segment(pyramid.at(nw, nh))
        if second and hasattr(segment, "sized"):
            prob = look_closer(segment, pyramid, prob, live_side)
        return prob

    def unsure(self, prob: np.ndarray) -> float:
        return float(np.count_nonzero((prob > 0.2) & (prob < 0.8)) / max(np.count_nonzero(prob >= 0.5), 0.01 * prob.size))

    def finish(self, post: PostProcess, prob: np.ndarray, pyramid: Pyramid, settle=None) -> np.ndarray:
        mask = post.matte(prob, pyramid) if post.changes_mask else prob
        if settle is not None:
            mask = settle(mask)
        return cv2.convertScaleAbs(mask, alpha=255.0)

    def enlarge(self, small: np.ndarray, width: int, height: int, hard: bool) -> np.ndarray:
        if small.shape == (height, width):
            alpha = small
        else:
            alpha = cv2.resize(small, (width, height), dst=self._alpha.next((height, width)), interpolation=cv2.INTER_LINEAR)
        if hard:  # hard edges at full size too
            cv2.threshold(alpha, 127, 255, cv2.THRESH_BINARY, dst=alpha)
        return alpha

    def composite(self, bg: Background, pyramid: Pyramid, alpha: np.ndarray, small: np.ndarray) -> np.ndarray:
        h, w = alpha.shape
        out = self._out.next((h, w) if bg.channels == 1 else (h, w, bg.channels))
        return bg.composite(pyramid.frame, alpha, out, pyramid, small)

    def crop_to(self, out: np.ndarray, crop: Crop) -> np.ndarray:
        return crop_to(out, crop, self._framed.next(out.shape))


# where the pixel steps run: "module:Class" strings are imported on first use (torch stays off the CPU's path)
ENGINES: dict[str, str] = {"numpy": "goselfies.frame.framepath:NumpyOps", "torch": "goselfies.frame.devicepath:TorchOps"}


def make_ops(engine: str, segment: Segment, ring: int):
    """The engine ``engine`` names (auto: torch where the segmenter runs on a CUDA device, else numpy)."""
    device = str(getattr(segment, "device", "cpu"))
    if engine == "auto":
        runs_torch = getattr(getattr(segment, "runner", None), "engine", None) is not None  # the CUDA runner's CudaEngine
        engine = "torch" if device.startswith("cuda") and runs_torch else "numpy"
    if engine not in ENGINES:
        raise GoSelfiesError(f"unknown frame engine '{engine}'; use auto or one of: {', '.join(ENGINES)}")
    if engine != "numpy" and not hasattr(segment, "runner"):
        raise GoSelfiesError(f"the {engine} frame engine runs a Segmenter's network, not a plain function")
    return load(ENGINES[engine])(segment, device, ring)


class FramePath:
    """``FramePath(segment, config)``; ``path(frame)`` runs every step, or call the steps one by one.

    ``segment`` is a ``Segmenter`` (given the frame already shrunk to its input size from the pyramid)
    or any callable returning a mask of its input's size (given the whole frame; with ``size`` and
    ``full_frame`` its mask is shrunk to that size first)."""

    def __init__(self, segment: Segment, config: PathConfig | None = None, timings: Timings | None = None):
        self.segment = segment
        self.config = config or PathConfig()
        OPTIONS["smoothing"].check(self.config.smoothing)
        self.timings = timings or Timings()
        bg = self.config.background
        self.background: Background = parse_background(bg) if isinstance(bg, str) else bg
        self.set_post(self.config.post)
        # one smoother: the past (``smoother``, what live frames get) plus the frames ahead (push/flush)
        self.ahead = LookaheadSmoother(self.config.smoothing, self.config.motion, self.config.lookahead)
        self.smoother = self.ahead.live
        # the refined matte smoothed once more (``finish_matte``), with the same strength
        self.settle = MaskSmoother(self.config.smoothing, self.config.motion)
        self.flicker, self.raw_flicker = FlickerMeter(), FlickerMeter()  # of push's mattes, and of the network's
        given = {"max_age": self.config.max_age, "threshold": self.config.change_threshold}
        self.detector = ChangeDetector(**{k: v for k, v in given.items() if v is not None})
        self.skip = self.config.skip
        self.framer = AutoFramer(self.config.frame_zoom, self.config.fps)
        self.auto_frame = self.config.auto_frame
        self.crop: Crop | None = None  # the last frame's crop (None: auto-framing was off)
        self.ops = make_ops(self.config.engine, segment, RING)

    # -- settings, safe to change between frames -------------------------------------------
    def set_background(self, spec: str) -> None:
        self.background = parse_background(spec)  # raises GoSelfiesError before anything changes

    def set_post(self, post: PostProcess) -> None:
        self._post = post
        size = getattr(self.segment, "size", None)  # a Segmenter's network input: the refine grid follows it
        self.post = post.for_network(size) if size else post
        self.current = False  # the kept matte was made with the old settings

    def set_segment(self, segment: Segment) -> None:
        """Another network from the next matte on (call it from the thread that makes the mattes): its
        own size for the refine grid, and no smoothing with the old network's answers."""
        self.segment = segment
        self.ops = make_ops(self.config.engine, segment, RING)  # a device engine runs its network
        self.set_post(self._post)
        self.smoother.reset()
        self.settle.reset()
        self._raw = self._matte = None

    def set_smoothing(self, strength: float) -> None:
        self.smoother.strength = self.settle.strength = float(strength)
        self.current = False

    def set_skip(self, on: bool) -> None:
        self.skip = bool(on)

    def set_look_closer(self, on: bool) -> None:
        self.config.look_closer = bool(on)  # from the next network run on

    def set_auto_frame(self, on: bool, zoom: float | None = None) -> None:
        """Auto-framing on or off (turned on, it starts from the full frame); ``zoom``: its limit."""
        if zoom is not None:
            self.framer.zoom = parse_zoom(zoom)  # raises GoSelfiesError before anything changes
        self.auto_frame = bool(on)

    def reset(self) -> None:
        """Forget the past (a camera change or loss: the scene is not the same)."""
        self.smoother.reset()
        self.settle.reset()
        self.detector.reset()
        self._raw = self._matte = None
        self.current = False
        self.crop = None  # the framing starts again from the full frame

    # -- the steps ----------------------------------------------------------------------------
    def needs_mask(self, pyramid: Pyramid) -> bool:
        """Whether the network should run on this frame: always with skip off (the change detector is not asked,
        and starts afresh when skip comes back on); else when the picture changed, or when the last mask was unsure
        (on a dark or hard picture the network's answer moves with the compression noise of a repeated frame:
        keeping one answer would not be its answer)."""
        if not self.skip:
            self.detector.reset()
            return True
        changed = self.detector(self.ops.host_view(self.ops.adopt(pyramid)[0]))
        return changed or self.unsure > UNSURE

    def probabilities(self, pyramid: Pyramid) -> np.ndarray:
        """segment: the network's probabilities at its own input size (a plain callable: the frame's)."""
        size = getattr(self.segment, "size", None)
        with self.timings.measure("segment"):
            if size is None:
                return self.segment(pyramid.frame)
            w, h = pyramid.size
            if getattr(self.segment, "full_frame", False):  # it resizes for itself (MediaPipe)
                nh, nw = fit(h, w, size)
                return shrink(self.segment(pyramid.frame), nw, nh)
            nh, nw = self.segment.geometry(h, w)[:2]  # the network's own input size (prep.network_fit)
            second = self.config.second_pass or self.config.look_closer
            return self.ops.probabilities(self.segment, pyramid, nw, nh,
                                          None if self.config.second_pass else self.segment.closer_side, second)

    def smooth(self, prob: np.ndarray) -> np.ndarray:
        with self.timings.measure("smooth"):
            return self.smoother(prob)

    def finish_matte(self, prob: np.ndarray, pyramid: Pyramid) -> np.ndarray:
        """post-process: the small probabilities -> the small uint8 matte. A soft refined matte is then smoothed once
        more (``settle``, the smoothing's strength): the refine lays the edge on the frame's own edges afresh each
        frame, and brought back change the smoothing before it had taken out (DAVIS ``hike``, held out of training:
        README "Against the peers"). A hard matte is left hard."""
        settle = self.settle if self.post.refine and self.post.threshold is None else None
        with self.timings.measure("post"):
            return self.ops.finish(self.post, prob, pyramid, settle)

    def matte(self, pyramid: Pyramid, network: bool = True) -> np.ndarray:
        """segment -> smooth -> post-process. ``network=False`` (an unchanged picture): the last matte
        stands; after a change of settings the last probabilities are smoothed and post-processed anew.

        Not smoothing on towards the last answer while the picture stands still leaves the matte within a few
        levels of where per-frame smoothing would take it (on the shared clips every such step was under 8 of
        255), and it spares the refine on those frames (BENCHMARKS.md run 13)."""
        if not network and self.current and self._matte is not None:
            return self._matte
        pyramid = self.ops.adopt(pyramid)[0]
        if network or self._raw is None:
            self._raw = prob = self.probabilities(pyramid)
            self.unsure = self.ops.unsure(prob)
        self._matte = self.finish_matte(self.smooth(self._raw), pyramid)
        self.current = True
        return self._matte

    def compose(self, pyramid: Pyramid, small: np.ndarray,
                background: Background | None = None) -> tuple[np.ndarray, Any]:
        """composite: (output, the matte at the frame's size). The matte is enlarged once (bilinear,
        uint8); both go into ring buffers. ``background``: another than the path's own, this once.
        With auto-framing the output is then cropped (``reframe``); the matte stays the whole frame's.
        The output comes back to the host (once, from a device engine); the matte stays where the engine
        made it (``ops.host`` brings it back)."""
        with self.timings.measure("composite"):
            pyramid, small = self.ops.adopt(pyramid, small)
            w, h = pyramid.size
            last_small, alpha, size = self._enlarged
            if small is not last_small or size != (w, h):  # else: an unchanged picture's matte
                hard = self.post.threshold is not None and not self.post.feather
                alpha = self.ops.enlarge(small, w, h, hard)
                self._enlarged = small, alpha, (w, h)
            out = self.ops.composite(background or self.background, pyramid, alpha, small)
        return self.ops.host(self.reframe(out, small, pyramid)), alpha

    def reframe(self, out: np.ndarray, small: np.ndarray, pyramid: Pyramid | None = None) -> np.ndarray:
        """auto-frame: the composited output cropped to follow the person in the newest small matte and
        scaled back to its size (one warp into a ring buffer); as it is while the crop is the whole
        frame, or auto-framing is off. Once per output frame: the crop moves with each call. ``pyramid``:
        the camera frame's, where the framer looks for the face (a few times a second, on a small copy)."""
        if not self.auto_frame:
            self.crop = None
            return out
        with self.timings.measure("autoframe"):
            if self.crop is None:  # just turned on, or after a reset: from the full frame
                self.framer.reset()
            w, h = pyramid.size if pyramid is not None else out.shape[1::-1]
            self.crop = crop = self.framer.update(self.ops.small(small), w, h,
                                                  None if pyramid is None else self.ops.host_view(pyramid))
            if crop.is_full(w, h):
                return out
            return self.ops.crop_to(out, crop)

    def looks(self, frame: np.ndarray, backgrounds: list[Background]) -> list[np.ndarray]:
        """One matte, several backgrounds: the frame composited over each (copies; the demo's before/after)."""
        pyramid = self.ops.pyramid(frame)
        small = self.matte(pyramid)
        return [self.compose(pyramid, small, bg)[0].copy() for bg in backgrounds]

    def mask(self, frame: np.ndarray) -> np.ndarray:
        """The finished matte at the frame's size as float32 in [0, 1] (``evaluate``, tests)."""
        return self(frame)[1] * np.float32(1 / 255.0)

    def push(self, frame: np.ndarray, item: Any = None) -> Iterator[tuple[Any, np.ndarray, np.ndarray]]:
        """The next frame of a file, where every frame gets the network and the smoother may look ahead:
        yields (item, output, matte at the frame's size) for each frame now complete, oldest first, composited
        as each is taken (``RING`` outputs may be held at once). ``lookahead`` frames stay behind until
        ``flush``. With look-ahead 0 the output is what ``__call__`` (live, skip off) gives."""
        for ready in self.masks(frame, item):
            yield self.finish(ready)

    def flush(self) -> Iterator[tuple[Any, np.ndarray, np.ndarray]]:
        """The frames still held for the look-ahead, at the end of a file."""
        for ready in self.masks_left():
            yield self.finish(ready)

    def masks(self, frame: np.ndarray, item: Any = None) -> list[Ready]:
        """``push``'s first half: segment and smooth, in frame order on one thread; each ``Ready`` it returns
        then goes to ``finish`` (post-process and composite), in the same order, on this thread or another
        (a file's encoder thread: ``videofile.Stages``)."""
        pyramid = self.ops.pyramid(frame)
        raw = self.probabilities(pyramid)
        self.raw_flicker.add(raw)
        self._raw, self.current = raw, False
        return self.ahead.push(raw, (pyramid, item))

    def masks_left(self) -> list[Ready]:
        """``flush``'s first half: the frames still held for the look-ahead."""
        return self.ahead.flush()

    def finish(self, ready: Ready) -> tuple[Any, np.ndarray, np.ndarray]:
        """``push``'s second half: (item, output, matte at the frame's size) for one ``Ready``."""
        (pyramid, item), prob = ready
        small = self.finish_matte(prob, pyramid)
        self.flicker.add(small * (1 / 255.0))
        return (item, *self.compose(pyramid, small))

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Every step on one frame: (output, matte at the frame's size, whether the network ran)."""
        pyramid = self.ops.pyramid(frame)
        network = self.needs_mask(pyramid) or self._raw is None
        out, alpha = self.compose(pyramid, self.matte(pyramid, network))
        return out, self.ops.host(alpha, "alpha"), network

    _raw: np.ndarray | None = None  # the network's last probabilities
    _matte: np.ndarray | None = None  # ... smoothed and post-processed
    _enlarged: tuple[Any, Any, tuple[int, int]] = (None, None, (0, 0))  # the last matte composited, enlarged, its size
    current: bool = False  # the kept matte was made with the settings in force: it stands while nothing changes
    unsure: float = 0.0  # their pixels between 0.2 and 0.8, per pixel of person (at least 1 % of the frame)
