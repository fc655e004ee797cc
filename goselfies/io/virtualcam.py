"""The virtual camera that Zoom, Meet or Teams can pick, through pyvirtualcam.

Video-call apps expect a steady frame rate from a camera, so frames are sent from a thread at a fixed
fps, re-sending the last frame when the pipeline is late. Where no virtual-camera device exists the
app keeps running (window, recording) and prints the exact setup steps once, instead of failing; the
window unticks its box and shows the same steps (``setup_help``) with a retry.
"""
from __future__ import annotations

import platform
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from ..options import FPS
from .fitting import letterbox

LINUX_MODPROBE = 'sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label="Go-selfies"'
AGAIN = "Then turn the virtual camera on again (the window's Retry button: no restart needed)"

# The setup steps per system (platform.system()). One text: the window shows it, `goselfies webcam` prints
# it, and the README quotes it word for word (tests/test_virtualcam.py checks).
SETUP_STEPS = {
    "Linux": (
        "Install v4l2loopback (once):\n"
        "    sudo apt install v4l2loopback-dkms\n"
        "Load it (once per boot):\n"
        f"    {LINUX_MODPROBE}\n"
        f'{AGAIN}\n'
        'and pick "Go-selfies" as the camera in your video-call app.\n'
        "With several loopback devices, --virtual-camera-device /dev/videoN picks one."
    ),
    "Windows": (
        "Install OBS Studio (https://obsproject.com). Its installer adds the\n"
        '"OBS Virtual Camera" device; OBS itself does not need to run.\n'
        f'{AGAIN}\n'
        'and pick "OBS Virtual Camera" as the camera in your video-call app.'
    ),
    "Darwin": (
        "Install OBS Studio (https://obsproject.com; version 30 or newer on macOS 13+).\n"
        'Start it and click "Start Virtual Camera" (if asked, allow the system extension in\n'
        'System Settings > Privacy & Security), then click "Stop Virtual Camera" and quit OBS.\n'
        f'{AGAIN}\n'
        'and pick "OBS Virtual Camera" as the camera in your video-call app.'
    ),
}
SYSTEM_NAMES = {"Linux": "Linux", "Windows": "Windows", "Darwin": "macOS"}
NO_DEVICE = "no virtual camera device found"

_help_lock = threading.Lock()
_help_printed = False


def this_system(system: str | None = None) -> str:
    """A key of SETUP_STEPS: this operating system's, or ``system``'s (Linux for any other)."""
    system = system or platform.system()
    return system if system in SETUP_STEPS else "Linux"


def setup_help(system: str | None = None) -> str:
    """The setup steps for this operating system (or ``system``: Linux, Windows, Darwin)."""
    return SETUP_STEPS[this_system(system)]


def print_setup_help_once(reason: str = "", file=None) -> bool:
    """Print the setup help the first time only (per process); True when it printed."""
    global _help_printed
    with _help_lock:
        if _help_printed:
            return False
        _help_printed = True
    out = file or sys.stderr
    print(f"virtual camera: {NO_DEVICE}. Set one up ({SYSTEM_NAMES[this_system()]}):", file=out)
    print(textwrap.indent(setup_help(), "    "), file=out)
    if reason:
        print(f"virtual camera: (pyvirtualcam said: {reason.strip().splitlines()[0]})", file=out)
    return True


def to_bgr(frame: np.ndarray) -> np.ndarray:
    """Any composited output as 3-channel BGR: gray masks expanded, transparency keyed on green."""
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.shape[2] == 4:
        alpha = frame[:, :, 3:4].astype(np.float32) * (1.0 / 255.0)
        green = np.array([0, 255, 0], np.float32)
        return (frame[:, :, :3] * alpha + green * (1.0 - alpha) + 0.5).astype(np.uint8)
    return frame


@dataclass
class VirtualCameraConfig:
    fps: float = FPS
    width: int | None = None  # default: the first frame's size
    height: int | None = None
    device: str | None = None  # e.g. /dev/video10; default: the first free device
    backend: str | None = None  # a pyvirtualcam backend name; default: whatever exists


class VirtualCamera:
    """Opens on the first frame; sends the newest frame ``fps`` times a second from its own thread."""

    def __init__(self, config: VirtualCameraConfig | None = None, on_message: Callable[[str], None] | None = None):
        self.config = config or VirtualCameraConfig()
        self.on_message = on_message
        self.available: bool | None = None  # None: not tried yet
        self.error = ""
        self.device = ""
        self.frames_sent = 0
        self.size: tuple[int, int] | None = None
        self._cam = None
        self._latest: np.ndarray | None = None
        self._lock = threading.Lock()
        self._new = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _say(self, text: str) -> None:
        if self.on_message:
            self.on_message(text)

    def open(self, width: int, height: int) -> bool:
        """Try the device once; without one, print the setup help (once) and carry on without it."""
        import pyvirtualcam

        cfg = self.config
        w, h = cfg.width or width, cfg.height or height
        try:
            self._cam = pyvirtualcam.Camera(w, h, cfg.fps, fmt=pyvirtualcam.PixelFormat.BGR,
                                            device=cfg.device, backend=cfg.backend)
        except Exception as exc:  # noqa: BLE001 - every backend failure means 'no device'
            self.available = False
            self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print_setup_help_once(self.error)
            self._say(f"virtual camera unavailable: {self.error}")
            return False
        self.available = True
        self.size = (w, h)
        self.device = str(self._cam.device)
        self._say(f"virtual camera on: {self.device} ({w}x{h}@{cfg.fps:g})")
        self._thread = threading.Thread(target=self._run, name="goselfies-virtualcam", daemon=True)
        self._thread.start()
        return True

    def send(self, frame: np.ndarray) -> None:
        """Hand over the newest output frame; opens the device on the first call."""
        if self.available is None:
            self.open(frame.shape[1], frame.shape[0])
        if not self.available:
            return
        bgr = letterbox(to_bgr(frame), *self.size)  # a new camera's other aspect is not stretched
        with self._lock:
            self._latest = np.ascontiguousarray(bgr)
        self._new.set()

    def _run(self) -> None:
        interval = 1.0 / self.config.fps
        self._new.wait()  # nothing to send before the first frame
        due = time.perf_counter()
        while not self._stop.is_set():
            with self._lock:
                frame = self._latest
            try:
                self._cam.send(frame)
                self.frames_sent += 1
            except Exception as exc:  # noqa: BLE001 - the device went away: keep the app running
                self.available = False
                self.error = str(exc)
                self._say(f"virtual camera stopped: {exc}")
                return
            due += interval
            now = time.perf_counter()
            if now - due > interval:
                due = now  # far behind (machine busy): do not burst to catch up
            self._stop.wait(max(0.0, due - now))

    def close(self) -> None:
        self._stop.set()
        self._new.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        if self._cam is not None:
            try:
                self._cam.close()
            finally:
                self._cam = None
