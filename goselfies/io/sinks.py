"""Where composited frames go: a registry of sinks (window preview, virtual camera, recording).

A sink gets every output frame with its ``FrameInfo`` and must not keep the array past ``send``
unless it copies it: the pipeline may reuse nothing, but a window in another thread must own its
image. New outputs are added to ``SINKS``, at the end.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from ..errors import GoSelfiesError
from ..options import FPS
from .fitting import letterbox
from .media import check_frame


@dataclass(frozen=True)
class FrameInfo:
    seq: int  # the capture sequence number of the frame
    timestamp: float  # capture time (time.perf_counter())
    lost: bool  # a 'camera lost' frame
    effect: bool  # the background effect was applied
    mask_lag: int  # how many capture frames older than the frame the mask is (0 = its own mask)
    # read-only views for sinks that show or check more than the output; copy them to keep them
    input: np.ndarray | None = field(default=None, repr=False, compare=False)  # the camera frame
    mask: np.ndarray | None = field(default=None, repr=False, compare=False)  # the mask composited with
    mask_age: float = 0.0  # seconds between the capture of the mask's frame and of this frame


class Sink(Protocol):
    name: str
    # optional ``live: bool`` attribute: False while the sink takes frames but delivers none (a virtual
    # camera without a device); the overlay lists only live sinks

    def send(self, frame: np.ndarray, info: FrameInfo) -> None: ...
    def close(self, ok: bool = True) -> None: ...


def has_display() -> bool:
    """False on a Linux box with no X11/Wayland session (a window cannot open there; Qt would abort)."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True  # the user (or a test) chose a platform plugin, e.g. offscreen
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def ensure_display(hint: str) -> None:
    """One line, before a camera light goes on, where a window cannot open."""
    if not has_display():
        raise GoSelfiesError(f"no display found (DISPLAY and WAYLAND_DISPLAY are unset); {hint}")


def make_sink(name: str, **kwargs) -> Sink:
    try:
        factory = SINKS[name]
    except KeyError:
        raise GoSelfiesError(f"unknown output '{name}'; valid: {', '.join(sorted(SINKS))}") from None
    sink = factory(**kwargs)
    sink.name = name
    return sink


class CallbackSink:
    """Calls ``callback(frame, info)``: the GUI's hand-over to its own thread, or a test's recorder."""

    name = "window"

    def __init__(self, callback: Callable[[np.ndarray, FrameInfo], None]):
        self.callback = callback

    def send(self, frame, info):
        self.callback(check_frame(f"{self.name} sink", frame), info)

    def close(self, ok=True):
        pass


class RecordSink:
    """Writes the composited stream to a video file at the source's fps (H.264; VP9 in .webm) with
    the same writer as ``goselfies video``, fast enough for live; the file appears when complete.
    With ``alpha`` (a transparent background) the alpha is kept, which needs .webm or .mov."""

    name = "record"

    def __init__(self, path: str | Path, fps: float = FPS, alpha: bool = False):
        from .media import VIDEO_EXTS, video_encoding

        self.path = Path(path)
        if self.path.suffix.lower() not in VIDEO_EXTS:
            raise GoSelfiesError(f"{self.path}: recordings are video files; use a .mp4, .mov, .mkv or .webm name")
        video_encoding(self.path, alpha, realtime=True)  # refuse alpha in .mp4 now, not at the first frame
        self.fps = fps
        self.alpha = alpha
        self.writer = None
        self.frames = 0

    def send(self, frame, info):
        from .media import VideoWriter

        check_frame(f"{self.name} sink", frame)
        if self.writer is None:
            self.size = (frame.shape[1], frame.shape[0])
            self.writer = VideoWriter(self.path, self.fps, self.size, alpha=self.alpha, realtime=True)
        self.writer.write(letterbox(frame, *self.size))
        self.frames += 1

    def close(self, ok=True):
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.close(ok=ok)


class VirtualCameraSink:
    """The pyvirtualcam device, driven at a fixed fps; without a device it prints setup help once."""

    name = "virtualcam"

    def __init__(self, fps: float = FPS, device: str | None = None, backend: str | None = None,
                 width: int | None = None, height: int | None = None,
                 on_message: Callable[[str], None] | None = None):
        from .virtualcam import VirtualCamera, VirtualCameraConfig

        self.camera = VirtualCamera(VirtualCameraConfig(fps, width, height, device, backend), on_message)

    @property
    def live(self) -> bool:
        """Not yet tried (no frame yet) or sending; False once the device could not be opened or failed."""
        return self.camera.available is not False

    @property
    def error(self) -> str:
        return self.camera.error

    @property
    def device(self) -> str:
        """The device it sends to, once open ("" before)."""
        return self.camera.device

    def send(self, frame, info):
        self.camera.send(check_frame(f"{self.name} sink", frame))

    def close(self, ok=True):
        self.camera.close()


# name -> the class of that output (``make_sink``)
SINKS: dict[str, Callable[..., Sink]] = {"window": CallbackSink, "record": RecordSink, "virtualcam": VirtualCameraSink}
