"""The live pipeline: capture -> segment -> composite -> sinks, with no Qt in sight.

Three threads: capture (``Capture``), segmentation (here) and the caller's thread running ``run()``,
which composites and feeds the sinks. Both run the one frame path (``framepath.FramePath``): the caller's
thread makes each frame's pyramid and asks the change detector whether the picture changed; the
segmentation thread makes the frame's matte (segment -> smooth -> post-process, all small), running the
network only when it did; the caller's thread composites every frame with the newest matte.
Segmentation may be slower than the camera; then frames are composited with the newest matte
available, so the output keeps the camera's rate instead of the network's. When segmentation is fast
enough, a frame waits briefly for its own matte so edges line up. Every stage is timed (moving average
and p99), and the process's CPU use is metered.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from ..engine.pyramid import Pyramid
from ..errors import GoSelfiesError
from ..frame.framepath import FramePath, PathConfig
from ..frame.postprocess import PostProcess
from ..io.capture import Capture, Frame
from ..io.sinks import FrameInfo, Sink
from ..timing import CpuMeter, RateMeter, StageStats, Timings, format_table

STAGES = ("segment", "smooth", "post", "composite")
LATENCY = "latency"  # a timing row: capture to the last sink
MASK_AGE = "mask age"  # a timing row: the mask's frame was captured this long before the frame it is used on
ROWS = ("capture", *STAGES, LATENCY, MASK_AGE)  # the timing rows that are not outputs (sinks)


@dataclass
class PipelineConfig(PathConfig):
    effect: bool = True  # False: frames pass through untouched (no segmentation, no CPU)
    max_frames: int | None = None  # stop after this many output frames
    mask_wait: float | None = None  # how long a frame may wait for its own mask; None: from the fps
    first_mask_timeout: float = 120.0  # the first mask (model warm-up) may take this long


@dataclass(frozen=True)
class PipelineStats:
    frames_in: int
    frames_out: int
    dropped: int
    masks: int  # frames the network ran on
    mask_reused: int  # output frames composited with an older frame's mask
    lost_frames: int
    lost_events: int
    reconnects: int
    fps: float
    timings: dict[str, StageStats]
    skipped: int = 0  # frames the change detector found unchanged (the network did not run)
    cpu_cores: float = 0.0  # process CPU time / wall time since the start (1.0 = one core busy)
    cpu_now: float = 0.0  # the same over the last two seconds
    sinks: tuple[str, ...] = ()  # the outputs delivering frames now (a virtual camera without a device is not)

    def summary_line(self) -> str:
        """The session in one line: what ``goselfies webcam`` prints first at exit, and the window at its close."""
        return (f"frames in: {self.frames_in}  frames out: {self.frames_out}  dropped: {self.dropped}  "
                f"segmented: {self.masks} (picture unchanged, mask kept: {self.skipped}; older mask "
                f"reused for {self.mask_reused})  CPU: {self.cpu_cores:.2f} cores")

    def summary(self) -> str:
        head = self.summary_line()
        if self.lost_events:
            head += f"\ncamera lost {self.lost_events}x, reconnected {self.reconnects}x, {self.lost_frames} 'camera lost' frames"
        return head + "\n" + format_table(self.timings.values())


class Pipeline:
    """``Pipeline(capture, segment, config, sinks).run()``; ``stop()`` from any thread."""

    def __init__(self, capture: Capture, segment: Callable[[np.ndarray], np.ndarray],
                 config: PipelineConfig | None = None, sinks: Iterable[Sink] = ()):
        self.capture = capture
        self.segment = segment
        self.config = config or PipelineConfig()
        self.timings = Timings(("capture",) + STAGES)
        self.path = FramePath(segment, self.config, self.timings)
        self.effect = self.config.effect
        capture.timings = self.timings
        self.rate = RateMeter()
        self.cpu = CpuMeter()
        self._sinks: list[Sink] = list(sinks)
        self._sinks_lock = threading.RLock()  # stats() reads the sinks from inside a sink's send
        self._stop = threading.Event()
        self._seg_cond = threading.Condition()
        self._seg_frame: tuple[Frame, Pyramid, bool] | None = None  # bool: run the network
        self._taken = 0  # the newest seq the segmentation thread took
        self._handed = 0  # the newest seq handed to it
        self._mask_cond = threading.Condition()
        self._mask: tuple[int, np.ndarray, float] | None = None  # (seq, small uint8 matte, capture time)
        self._new_segment: Callable | None = None  # set_segment's network, taken up by the segmentation thread
        self._seg_error: BaseException | None = None
        self._seg_thread: threading.Thread | None = None
        self.frames_out = 0
        self.masks = 0
        self.mask_reused = 0
        self.skipped = 0
        self.lost_frames = 0
        self.finished = threading.Event()  # set when run() has released everything

    # -- controls, safe to call from any thread while running ------------------------------
    @property
    def background(self):
        return self.path.background

    def set_background(self, spec: str) -> None:
        self.path.set_background(spec)  # raises GoSelfiesError before anything changes

    def set_post(self, post: PostProcess) -> None:
        self.path.set_post(post)

    def set_smoothing(self, strength: float) -> None:
        self.path.set_smoothing(strength)

    def set_skip(self, on: bool) -> None:
        self.path.set_skip(on)

    def set_look_closer(self, on: bool) -> None:
        self.path.set_look_closer(on)

    def set_segment(self, segment: Callable[[np.ndarray], np.ndarray]) -> None:
        """Another network (a model loaded beside this one): the segmentation thread takes it up before
        its next mask, which it makes with the network whether the picture changed or not."""
        self.segment = segment
        self._new_segment = segment

    def set_auto_frame(self, on: bool, zoom: float | None = None) -> None:
        self.path.set_auto_frame(on, zoom)

    def set_mirror(self, on: bool) -> None:
        self.capture.mirror = bool(on)

    def set_effect(self, on: bool) -> None:
        self.effect = bool(on)

    def add_sink(self, sink: Sink) -> None:
        with self._sinks_lock:
            self._sinks.append(sink)

    def remove_sink(self, name: str) -> None:
        with self._sinks_lock:
            gone = [s for s in self._sinks if s.name == name]
            self._sinks = [s for s in self._sinks if s.name != name]
        for s in gone:
            s.close(ok=True)

    def sink(self, name: str) -> Sink | None:
        with self._sinks_lock:
            return next((s for s in self._sinks if s.name == name), None)

    def stop(self) -> None:
        self._stop.set()
        for cond in (self._seg_cond, self._mask_cond):
            with cond:
                cond.notify_all()

    def stats(self) -> PipelineStats:
        c = self.capture
        with self._sinks_lock:
            live = tuple(s.name for s in self._sinks if getattr(s, "live", True))
        return PipelineStats(c.frames_in, self.frames_out, c.dropped, self.masks, self.mask_reused,
                             self.lost_frames, c.lost_events, c.reconnects, self.rate.rate(),
                             self.timings.snapshot(), self.skipped, self.cpu.total_cores(), self.cpu.cores(), live)

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> PipelineStats:
        """Run until ``stop()``, ``max_frames`` or the end of a finite source; always releases all."""
        ok = False
        try:
            self.cpu.start()
            self.capture.start()
            self.path.framer.fps = self.capture.fps  # auto-framing's timing follows the camera's rate
            self._seg_thread = threading.Thread(target=self._segment_loop, name="goselfies-segment", daemon=True)
            self._seg_thread.start()
            self._loop()
            ok = True
        except KeyboardInterrupt:
            ok = True  # Ctrl-C is how a live session ends: keep the recording
            raise
        finally:
            self._shutdown(ok)
        return self.stats()

    def _loop(self) -> None:
        limit = self.config.max_frames
        while not self._stop.is_set():
            if self._seg_error is not None:
                raise self._seg_error
            frame = self.capture.get(timeout=0.1)
            if frame is None:
                if self.capture.error is not None:
                    err = self.capture.error
                    raise err if isinstance(err, GoSelfiesError) else GoSelfiesError(f"capture failed: {err}")
                if self.capture.ended:
                    return
                continue
            out, info = self._process(frame)
            if out is None:
                continue
            self._emit(out, info)
            if limit and self.frames_out >= limit:
                return

    def _process(self, frame: Frame) -> tuple[np.ndarray | None, FrameInfo | None]:
        if frame.lost:
            self.lost_frames += 1
            self.path.reset()
            return frame.image, FrameInfo(frame.seq, frame.timestamp, True, False, 0, frame.image)
        if not self.effect:
            return frame.image, FrameInfo(frame.seq, frame.timestamp, False, False, 0, frame.image)
        pyramid = self.path.ops.pyramid(frame.image)
        network = self.path.needs_mask(pyramid) or self._mask is None
        self.skipped += not network
        if not network and self.path.current and self._mask[0] == self._handed and self._new_segment is None:
            # nothing in flight and an unchanged picture: the last matte stands, no hand-over
            # (and it is as new as the picture: its age is 0)
            mask_seq, small, _ = self._mask
            return self._compose(frame, pyramid, mask_seq, small, frame.timestamp)
        self._handed = frame.seq
        with self._seg_cond:
            pending = self._seg_frame
            if pending is not None and pending[2] and pending[0].seq > self._taken:
                network = True  # a changed picture not segmented yet: this one must be
            self._seg_frame = (frame, pyramid, network)
            self._seg_cond.notify_all()
        mask = self._wait_mask(frame.seq)
        if mask is None:
            return None, None
        return self._compose(frame, pyramid, *mask)

    def _compose(self, frame: Frame, pyramid: Pyramid, mask_seq: int, small: np.ndarray, mask_time: float):
        lag = max(0, frame.seq - mask_seq)
        if lag:
            self.mask_reused += 1
        out, alpha = self.path.compose(pyramid, small)
        if not isinstance(alpha, np.ndarray):  # a device engine's matte stays on the device
            alpha = None
        return out, FrameInfo(frame.seq, frame.timestamp, False, True, lag, frame.image, alpha,
                              max(0.0, frame.timestamp - mask_time))

    def _wait_mask(self, seq: int) -> tuple[int, np.ndarray, float] | None:
        """This frame's own mask if it comes within the budget, else the newest mask there is."""
        with self._mask_cond:
            if self._mask is None:
                deadline = time.perf_counter() + self.config.first_mask_timeout
                while self._mask is None and not self._stop.is_set() and self._seg_error is None:
                    if time.perf_counter() > deadline:
                        raise GoSelfiesError(f"no mask after {self.config.first_mask_timeout:g} s: segmentation is stuck")
                    self._mask_cond.wait(0.1)
                if self._mask is None:
                    return None
            budget = self._mask_budget()
            if budget > 0:
                self._mask_cond.wait_for(lambda: self._mask[0] >= seq or self._stop.is_set(), budget)
            return self._mask

    def _mask_budget(self) -> float:
        if self.config.mask_wait is not None:
            return self.config.mask_wait
        interval = 1.0 / max(1.0, self.capture.fps)
        seg = self.timings.timer("segment").stats().mean_ms / 1000.0
        # At most half a frame interval, so that compositing and the sinks still finish before the next
        # frame arrives (at 0.8 a slow network now and then cost a dropped frame at 720p30); and only when
        # segmentation keeps up with the camera at all.
        return 0.5 * interval if seg < 0.5 * interval else 0.0

    def _emit(self, out: np.ndarray, info: FrameInfo) -> None:
        # Sent under the lock: once remove_sink() has taken a sink out, no frame can reach it while
        # (or after) it closes. Sinks return quickly (the virtual camera paces in its own thread).
        with self._sinks_lock:
            for sink in self._sinks:
                with self.timings.measure(sink.name):
                    sink.send(out, info)
        self.frames_out += 1
        now = time.perf_counter()
        self.rate.tick(now)
        self.cpu.tick(now)
        self.timings.add(LATENCY, now - info.timestamp)
        if info.effect:  # how much older the picture the mask was made for is: a slow network shows here
            self.timings.add(MASK_AGE, info.mask_age)

    def _segment_loop(self) -> None:
        last = 0
        try:
            while not self._stop.is_set():
                with self._seg_cond:
                    while not self._stop.is_set() and (self._seg_frame is None or self._seg_frame[0].seq <= last):
                        self._seg_cond.wait(0.5)
                    if self._stop.is_set():
                        return
                    frame, pyramid, network = self._seg_frame
                    self._taken = frame.seq
                last = frame.seq
                if self._new_segment is not None:
                    segment, self._new_segment = self._new_segment, None
                    self.path.set_segment(segment)
                    network = True
                small = self.path.matte(pyramid, network)
                with self._mask_cond:
                    self._mask = (frame.seq, small, frame.timestamp)
                    self.masks += network
                    self._mask_cond.notify_all()
        except BaseException as exc:  # noqa: BLE001 - handed to run(), which raises it
            self._seg_error = exc if isinstance(exc, GoSelfiesError) else GoSelfiesError(
                f"segmentation failed: {type(exc).__name__}: {exc}")
            with self._mask_cond:
                self._mask_cond.notify_all()

    def _shutdown(self, ok: bool) -> None:
        self.stop()
        self.capture.stop()
        if self._seg_thread is not None:
            self._seg_thread.join(5.0)
        with self._sinks_lock:
            sinks, self._sinks = self._sinks, []
        errors = []
        for sink in sinks:
            try:
                sink.close(ok=ok)
            except Exception as exc:  # noqa: BLE001 - close the others first
                errors.append(exc)
        self.finished.set()
        if errors and ok:
            raise errors[0]

