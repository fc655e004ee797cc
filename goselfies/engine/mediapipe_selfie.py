"""MediaPipe's selfie segmenter: the reference every Go-selfies number is compared with, and a teacher.

It is what most video-call background effects run on a CPU, so "how many times MediaPipe's time"
is the number a user understands. It is optional (``pip install ".[mediapipe]"`` or
``mediapipe==0.10.14``); its model ships inside the wheel (``selfie_segmentation*.tflite``), so
nothing is downloaded at run time. We use the ``solutions.selfie_segmentation`` API: BGR frame in,
float mask of the frame's size out, the same contract as ``Segmenter``.
"""
from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from typing import Iterator

import cv2
import numpy as np

from ..errors import GoSelfiesError
from ..extras import available, require

VARIANTS = {"general": 0, "landscape": 1}  # 256x256 input, and the 144x256 one made for 16:9 calls
INPUT_SIDE = 256  # the longer side of either variant's input


def mediapipe_available() -> bool:
    return available("mediapipe")


@contextmanager
def _quiet_stderr() -> Iterator[list[str]]:
    """Silence MediaPipe's native start-up logging (TFLite, absl) at the file-descriptor level;
    what it printed is handed back so a failure can still show it."""
    captured: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            captured.append(tmp.read().decode(errors="replace"))


class MediaPipeSelfie:
    """``MediaPipeSelfie("general")(bgr_frame) -> float32 mask (H, W) in [0, 1]``. ``size``: its input's
    longer side: the frame path works on its mask at that size. It is given the whole frame (given the
    frame already small it scored lower on EG1800 portraits: its own resize is part of its model)."""

    size = INPUT_SIDE
    full_frame = True

    def __init__(self, variant: str = "general"):
        if variant not in VARIANTS:
            raise GoSelfiesError(f"unknown MediaPipe variant '{variant}'; use {' or '.join(VARIANTS)}")
        require("mediapipe", "MediaPipe's selfie segmenter")
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.variant = variant
        try:
            with _quiet_stderr() as log:
                import mediapipe as mp

                self.version = getattr(mp, "__version__", "?")
                self._seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=VARIANTS[variant])
                self._seg.process(np.zeros((64, 64, 3), np.uint8))  # start the graph now, not in the timings
        except Exception as exc:  # noqa: BLE001 - an optional extra must never crash the benchmark
            tail = " ".join((log[0] if log else "").split())[-200:]
            raise GoSelfiesError(f"mediapipe failed to start ({type(exc).__name__}: {exc}) {tail}".strip()) from None

    def __call__(self, frame: np.ndarray, rgb: bool = False) -> np.ndarray:
        mask = self._seg.process(frame if rgb else cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)).segmentation_mask
        if mask is None:
            return np.zeros(frame.shape[:2], np.float32)
        return np.asarray(mask, dtype=np.float32)

    def close(self) -> None:
        self._seg.close()
