"""Stand-ins for the live tests: frame sources that behave like cameras (paced, numbered, able to be
unplugged) and a segmenter with a known mask, so results can be checked pixel by pixel."""
from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np

from goselfies.errors import GoSelfiesError
from goselfies.frame.postprocess import PostProcess

SOURCE_BGR = (60, 120, 180)


class SyntheticSource:
    """A flat-colour camera whose frame number is written into pixel (0, 0..1); paced at ``fps``."""

    def __init__(self, width: int = 160, height: int = 90, fps: float = 30.0, color=SOURCE_BGR,
                 limit: int | None = None):
        self.width, self.height, self.fps = width, height, fps
        self.base = np.empty((height, width, 3), np.uint8)
        self.base[:] = color
        self.limit = limit
        self.count = 0
        self.opens = self.releases = 0
        self.is_open = False
        self._due = 0.0

    def describe(self) -> str:
        return f"synthetic {self.width}x{self.height}@{self.fps:g}"

    def open(self) -> None:
        self.opens += 1
        self.is_open = True
        self._due = time.perf_counter()

    def wait_frame(self, stop: threading.Event) -> None:
        delay = self._due - time.perf_counter()
        if delay > 0:
            stop.wait(delay)
        self._due = max(self._due + 1.0 / self.fps, time.perf_counter() - 1.0 / self.fps)

    def read(self) -> np.ndarray | None:
        from goselfies.io.capture import SourceEnded

        if self.limit is not None and self.count >= self.limit:
            raise SourceEnded("synthetic")
        self.count += 1
        img = self.base.copy()
        img[0, 0] = (self.count % 256, self.count // 256 % 256, 0)
        return img

    def release(self) -> None:
        self.releases += 1
        self.is_open = False

    @property
    def released(self) -> bool:
        return self.opens == self.releases and not self.is_open


def frame_number(img: np.ndarray) -> int:
    return int(img[0, 0, 0]) + 256 * int(img[0, 0, 1])


class FlakySource(SyntheticSource):
    """Unplug it (``unplugged = True``): reads fail and it cannot be opened until plugged back."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unplugged = False
        self.failed_opens = 0

    def open(self) -> None:
        if self.unplugged:
            self.failed_opens += 1
            raise GoSelfiesError("camera 7: no such device")
        super().open()

    def read(self):
        return None if self.unplugged else super().read()


class StepSource(SyntheticSource):
    """Publishes one frame per ``step()`` call: tests decide exactly when frames arrive."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sem = threading.Semaphore(0)

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self._sem.release()

    def wait_frame(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if self._sem.acquire(timeout=0.02):
                return


# Pixel-exact checks of the pipeline's mechanics: the hard half mask stays hard (no edge refinement).
EXACT = PostProcess(refine=False)


class HalfMask:
    """A segmenter whose mask is 1 (person) on the left half and 0 (background) on the right."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.calls = 0

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        h, w = frame.shape[:2]
        mask = np.zeros((h, w), np.float32)
        mask[:, : w // 2] = 1.0
        return mask


class Recorder:
    """A window-style sink callback that keeps copies of everything it is sent."""

    def __init__(self):
        self.frames: list[np.ndarray] = []
        self.infos = []

    def __call__(self, frame, info) -> None:
        self.frames.append(frame.copy())
        # the matte is a reused buffer (as the frame is): a sink that keeps it copies it
        self.infos.append(replace(info, mask=None if info.mask is None else info.mask.copy()))


def wait_until(cond, timeout: float = 10.0, step: float = 0.01) -> bool:
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


# pyvirtualcam backends for ``pyvirtualcam.register_backend``: the real ``Camera`` API, without a device.
class RecordingBackend:
    """A pyvirtualcam backend (the interface of ``pyvirtualcam.Backend``) that keeps every frame."""

    instances: list["RecordingBackend"] = []

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self.frames: list[np.ndarray] = []
        self.closed = False
        RecordingBackend.instances.append(self)

    def send(self, frame):
        self.frames.append(frame.copy())

    def close(self):
        self.closed = True

    def device(self):
        return "recording-test-device"

    def native_fourcc(self):
        return None


class NoDeviceBackend:
    def __init__(self, **kw):
        raise RuntimeError("No v4l2 loopback device found at /dev/video[0-99]. Did you run 'modprobe v4l2loopback'?")
