"""Whether a frame needs the network: a grey thumbnail compared block by block with the last segmented one.

On the shared webcam clips about half the consecutive frames differ by under one grey level; running
the network on them buys nothing but CPU. The thumbnail comes from the frame's pyramid (nearly free),
and it is compared with the thumbnail of the frame the network last ran on, not the previous frame, so a
slow drift adds up until it counts. Block by block, so that a hand moving in one corner counts as much
as the whole picture changing; ``max_age`` forces a run now and then whatever happens.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..engine.pyramid import Pyramid

THUMB_WIDTH = 64  # px; the height follows the frame's aspect
BLOCKS = (8, 6)  # columns x rows of the comparison grid
# Mean absolute grey-level change of one block that counts as a change. Swept with
# ``python -m goselfies.benchmarks.skip`` (BENCHMARKS.md run 12): 2.5 keeps every clip's worst frame where 1.5
# did (0.958 on the gestures clip) with 7-10 % fewer network runs; 3.5 let a gesture through (worst 0.85).
THRESHOLD = 2.5
MAX_AGE = 15  # frames in a row that may reuse a mask before the network runs anyway


class ChangeDetector:
    """``detector(pyramid)`` -> True when the network should run on this frame (and remembers it)."""

    def __init__(self, threshold: float = THRESHOLD, max_age: int = MAX_AGE):
        self.threshold = float(threshold)
        self.max_age = int(max_age)
        self._ref: np.ndarray | None = None
        self.age = 0  # frames since the network last ran
        self.last_change = 0.0  # the largest block change of the last frame looked at

    def reset(self) -> None:
        self._ref = None

    def thumbnail(self, pyramid: Pyramid) -> np.ndarray:
        w, h = pyramid.size
        th = max(1, round(THUMB_WIDTH * h / w))
        return cv2.cvtColor(pyramid.at(THUMB_WIDTH, th), cv2.COLOR_BGR2GRAY).astype(np.float32)

    def __call__(self, pyramid: Pyramid) -> bool:
        thumb = self.thumbnail(pyramid)
        ref = self._ref
        if ref is None or ref.shape != thumb.shape or self.age >= self.max_age:
            self.last_change = float("inf")
        else:
            diff = cv2.absdiff(thumb, ref)
            self.last_change = float(cv2.resize(diff, BLOCKS, interpolation=cv2.INTER_AREA).max())
        if self.last_change > self.threshold:
            self._ref, self.age = thumb, 0
            return True
        self.age += 1
        return False
