"""Threaded capture with latest-frame semantics, for cameras and for video files played live.

Why a thread and a one-frame slot: a consumer that reads a camera directly either blocks on the
device or, if it is slower than the camera, works through a queue of stale frames (lag). Here the
capture thread always overwrites the slot with the newest frame, counts the frames nobody took
(dropped), and the consumer never gets the same frame twice.

A camera that fails mid-stream (unplugged, read errors) is released and re-opened with backoff;
meanwhile the slot carries a 'camera lost' frame so the window and the virtual camera say so. The
source is released on every exit path: ``stop()``, leaving a ``with`` block, or the thread dying.
"""
from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ..errors import GoSelfiesError
from ..options import FPS, OPTIONS

CAMERA_SIZE = (OPTIONS["width"].default, OPTIONS["height"].default)  # what a camera is asked for (it may grant less)
CAMERA_FPS = OPTIONS["fps"].default


class SourceEnded(Exception):
    """A finite source (a video file played once) has no more frames."""


class FrameSource(Protocol):
    """What Capture reads from. ``read`` returns None on a failed read (the camera may be lost)."""

    fps: float

    def open(self) -> None: ...  # raise GoSelfiesError (or OSError) when the device is not there
    def wait_frame(self, stop: threading.Event) -> None: ...  # block until a frame is due (not timed)
    def read(self) -> np.ndarray | None: ...  # decode it (timed as 'capture'); may raise SourceEnded
    def release(self) -> None: ...
    def describe(self) -> str: ...


@dataclass
class Frame:
    image: np.ndarray  # uint8 BGR, owned by the consumer once handed over
    seq: int  # increases by one for every frame the capture thread publishes
    timestamp: float  # time.perf_counter() when it was captured
    lost: bool = False  # a generated 'camera lost' frame, not camera content


def parse_camera(text: str | int | None) -> int | str | None:
    """'0' -> 0 (an index); '/dev/video2' stays a path."""
    if text is None or isinstance(text, int):
        return text
    text = text.strip()
    return int(text) if text.isdigit() else text


class CameraSource:
    """A webcam through OpenCV. Requests width/height/fps and reads back what the device granted."""

    def __init__(self, device: int | str = 0, width: int = CAMERA_SIZE[0], height: int = CAMERA_SIZE[1],
                 fps: float = CAMERA_FPS):
        self.device = device
        self.requested = (width, height, fps)
        self.width, self.height, self.fps = width, height, fps
        self.cap: cv2.VideoCapture | None = None

    def describe(self) -> str:
        w, h, f = self.requested
        return (f"camera {self.device}: requested {w}x{h}@{f:g}, "
                f"granted {self.width}x{self.height}@{self.fps:g}")

    def open(self) -> None:
        _quiet_opencv()
        if isinstance(self.device, int) and sys.platform.startswith("linux"):
            cap = cv2.VideoCapture(self.device, cv2.CAP_V4L2)
        else:
            cap = cv2.VideoCapture(self.device)
        if not cap.isOpened():
            cap.release()
            raise GoSelfiesError(f"cannot open camera {self.device}")
        w, h, fps = self.requested
        # MJPG first: most USB webcams only reach 720p at 30 fps compressed
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
        cap.set(cv2.CAP_PROP_FPS, fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the driver must not queue old frames (lag)
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise GoSelfiesError(f"camera {self.device} opened but gives no frames")
        self.height, self.width = first.shape[:2]
        got = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(got) if got and 0 < got < 1000 else float(fps)
        self.cap = cap
        self._grabbed = False

    def wait_frame(self, stop: threading.Event) -> None:
        """Wait for the device's next frame (grab), so that 'capture' times only the decode."""
        self._grabbed = self.cap is not None and self.cap.grab()

    def read(self) -> np.ndarray | None:
        if self.cap is None or not self._grabbed:
            return None
        ok, frame = self.cap.retrieve()
        return frame if ok and frame is not None else None

    def release(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None


class VideoFileSource:
    """A video file played as a live source: paced at its own fps, looping unless ``loop=False``."""

    def __init__(self, path: str | Path, loop: bool = True):
        self.path = Path(path)
        self.loop = loop
        self.fps = FPS
        self.width = self.height = 0
        self._frames = None
        self._reader = None
        self._next_due = 0.0

    def describe(self) -> str:
        return f"video {self.path} ({self.width}x{self.height}@{self.fps:g}, {'looping' if self.loop else 'once'})"

    def open(self) -> None:
        from .media import VideoReader

        self.release()
        self._reader = VideoReader(self.path, loop=self.loop, paced=True)
        self.fps, self.width, self.height = self._reader.fps, self._reader.width, self._reader.height
        self._frames = iter(self._reader)
        self._next_due = time.perf_counter()

    def wait_frame(self, stop: threading.Event) -> None:
        """Pace like a camera: the next frame is not available before its time."""
        delay = self._next_due - time.perf_counter()
        if delay > 0:
            stop.wait(delay)

    def read(self) -> np.ndarray | None:
        if self._frames is None:
            return None
        frame = next(self._frames, None)
        if frame is None:
            raise SourceEnded(str(self.path))
        now = time.perf_counter()
        if now - self._next_due > 2.0 / self.fps:
            self._next_due = now  # fell behind (busy machine): restart the clock, do not burst
        self._next_due += 1.0 / self.fps
        return frame

    def release(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
            self._frames = None


def make_source(camera: int | str | None = None, video: str | Path | None = None, *, width: int = CAMERA_SIZE[0],
                height: int = CAMERA_SIZE[1], fps: float = CAMERA_FPS, loop: bool = True) -> FrameSource:
    """A video file if given, else a camera (index 0 by default)."""
    if video is not None:
        return VideoFileSource(video, loop=loop)
    return CameraSource(0 if camera is None else parse_camera(camera), width, height, fps)


CAMERA_INDICES = range(8)  # the camera indices find_cameras tries


def camera_node_exists(index: int) -> bool:
    """On Linux a camera index is a /dev/videoN node: without one there is nothing to open."""
    return not sys.platform.startswith("linux") or Path(f"/dev/video{index}").exists()


def find_cameras(indices=CAMERA_INDICES, skip=(), source=CameraSource, present=camera_node_exists) -> list[int]:
    """The camera indices that open and give a frame, each released again at once (a slow call: run it
    once, off the GUI thread). ``skip``: indices in use, not opened again (left out of the answer)."""
    found = []
    for i in indices:
        if i in skip or not present(i):
            continue
        cam = source(i)
        try:
            cam.open()
        except (GoSelfiesError, OSError, cv2.error):
            continue
        finally:
            cam.release()
        found.append(i)
    return found


def lost_frame(width: int, height: int, text: str = "camera lost - reconnecting...") -> np.ndarray:
    """A dark frame that says the camera is gone, readable at any size."""
    width, height = max(64, int(width)), max(48, int(height))
    img = np.full((height, width, 3), 40, np.uint8)
    scale = max(0.35, width / 900)
    thick = max(1, round(scale * 2))
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    if tw > width * 0.95:
        scale *= width * 0.95 / tw
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    org = ((width - tw) // 2, (height + th) // 2)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (220, 220, 220), thick, cv2.LINE_AA)
    return img


class Capture:
    """Reads ``source`` in a thread; ``get()`` hands out the newest frame not yet handed out."""

    def __init__(self, source: FrameSource, mirror: bool = False, *, retry_min: float = 0.5,
                 retry_max: float = 5.0, max_read_failures: int = 3, lost_fps: float = 5.0):
        self.source = source
        self.mirror = mirror  # read on every frame: may be toggled while running
        self.retry_min, self.retry_max = retry_min, retry_max
        self.max_read_failures = max_read_failures
        self.lost_fps = lost_fps
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._taken_seq = 0
        self._seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._is_open = False
        self.ended = False  # a finite source ran out
        self.error: BaseException | None = None  # what killed the thread, if anything
        self.frames_in = 0  # real frames read from the source
        self.dropped = 0  # real frames overwritten before anyone took them
        self.lost_events = 0
        self.reconnects = 0
        self.lost = False
        self.size = (0, 0)  # (width, height) of the last real frame
        self.timings = None  # a goselfies.timing.Timings to record the 'capture' stage in

    # -- life cycle -------------------------------------------------------------------------
    def open(self) -> "Capture":
        """Open the source now, so that a missing camera is an immediate, clear error."""
        if not self._is_open:
            self.source.open()
            self._is_open = True
        return self

    def start(self) -> "Capture":
        """Open the source (if not yet open), then read it in a thread."""
        if self._thread is not None:
            return self
        self.open()
        self._thread = threading.Thread(target=self._run, name="goselfies-capture", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> bool:
        """Stop reading and release the source; True when the thread ended within ``timeout``."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        joined = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            joined = not self._thread.is_alive()
        if joined or self._thread is None:
            self._release()
        # else: the thread is stuck in a driver call; it releases the source itself on its way out
        return joined

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def released(self) -> bool:
        return not self._is_open

    def __enter__(self) -> "Capture":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def fps(self) -> float:
        return float(getattr(self.source, "fps", FPS) or FPS)

    # -- consumer side ----------------------------------------------------------------------
    def get(self, timeout: float | None = None) -> Frame | None:
        """The newest frame not handed out before; None on timeout, on stop or when the source ended."""
        deadline = None if timeout is None else time.perf_counter() + timeout
        with self._cond:
            while True:
                f = self._latest
                if f is not None and f.seq > self._taken_seq:
                    self._taken_seq = f.seq
                    self._latest = None  # the consumer owns it now
                    return f
                if self._stop.is_set() or self.ended or self.error is not None:
                    return None
                remaining = None if deadline is None else deadline - time.perf_counter()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)

    # -- capture thread ---------------------------------------------------------------------
    def _publish(self, image: np.ndarray, lost: bool = False) -> None:
        with self._cond:
            self._seq += 1
            if not lost:
                self.frames_in += 1
                if self._latest is not None and not self._latest.lost:
                    self.dropped += 1
            self._latest = Frame(image, self._seq, time.perf_counter(), lost)
            self._cond.notify_all()

    def _release(self) -> None:
        if self._is_open:
            self._is_open = False
            try:
                self.source.release()
            except Exception:  # releasing must never stop the rest of shutdown
                pass

    def _run(self) -> None:
        failures = 0
        try:
            while not self._stop.is_set():
                if self.lost:
                    self._wait_for_source()
                    failures = 0
                    continue
                wait = getattr(self.source, "wait_frame", None)
                if wait is not None:
                    wait(self._stop)
                    if self._stop.is_set():
                        return
                t0 = time.perf_counter()
                try:
                    img = self.source.read()
                except SourceEnded:
                    with self._cond:
                        self.ended = True
                        self._cond.notify_all()
                    return
                if img is None:
                    failures += 1
                    if failures >= self.max_read_failures:
                        self._mark_lost()
                    else:
                        self._stop.wait(0.01)
                    continue
                failures = 0
                if self.mirror:
                    img = cv2.flip(img, 1)
                if self.timings is not None:
                    self.timings.add("capture", time.perf_counter() - t0)
                self.size = (img.shape[1], img.shape[0])
                self._publish(img)
        except BaseException as exc:  # noqa: BLE001 - reported to the consumer, never lost silently
            with self._cond:
                self.error = exc
                self._cond.notify_all()
        finally:
            self._release()

    def _mark_lost(self) -> None:
        self.lost = True
        self.lost_events += 1
        self._release()

    def _wait_for_source(self) -> None:
        """Publish 'camera lost' frames while retrying to open the source with exponential backoff."""
        w, h = self.size if self.size[0] else (640, 480)
        placeholder = lost_frame(w, h)
        backoff = self.retry_min
        next_try = time.perf_counter() + backoff
        while not self._stop.is_set():
            self._publish(placeholder.copy(), lost=True)
            now = time.perf_counter()
            if now >= next_try:
                try:
                    self.source.open()
                except Exception:  # noqa: BLE001 - any failure to open means 'still gone'
                    backoff = min(backoff * 2, self.retry_max)
                    next_try = time.perf_counter() + backoff
                else:
                    self._is_open = True
                    self.lost = False
                    self.reconnects += 1
                    return
            self._stop.wait(min(1.0 / self.lost_fps, max(0.0, next_try - time.perf_counter())) or 0.001)


_opencv_quieted = False


def _quiet_opencv() -> None:
    """OpenCV prints WARN lines when a camera index does not exist; the CLI says it better."""
    global _opencv_quieted
    if not _opencv_quieted:
        try:
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        except AttributeError:
            pass
        _opencv_quieted = True
