"""Temporal smoothing of the mask against edge flicker, and the flicker measure itself.

A per-frame network gives slightly different edges on identical frames (noise, compression), which
reads as shimmering hair and shoulders. An exponential moving average over masks removes that, but a
plain EMA also makes a moving arm leave a ghost. So the average is weighted per pixel: small changes
(flicker) are smoothed at full strength, large changes (real motion) pass straight through.
A file is not real time, so ``LookaheadSmoother`` adds the next few frames to the same average.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..options import OPTIONS

SMOOTHING = OPTIONS["smoothing"].default  # live and for video files alike
MOTION = 0.3  # a per-pixel change this large or larger counts as motion and is not smoothed
LOOKAHEAD = OPTIONS["lookahead"].default  # video files: frames ahead the smoother also looks at (live: none)


@dataclass
class MaskSmoother:
    strength: float = 0.0  # 0 = off; 0.9 = keep 90 % of the previous mask where the change is small
    motion: float = MOTION

    def __post_init__(self) -> None:
        self._prev: np.ndarray | None = None

    @property
    def weight(self) -> float:
        """The strength within the option's range: the past's weight where the change is tiny."""
        return float(min(max(self.strength, 0.0), OPTIONS["smoothing"].high))

    def reset(self) -> None:
        """Forget the history (after a camera change or loss: the scene is not the same)."""
        self._prev = None

    def __call__(self, mask):
        """The next raw mask (a float32 numpy array, or a torch tensor: the same operators) -> smoothed."""
        s = self.weight
        if s <= 0.0:
            self._prev = None
            return mask
        prev = self._prev
        if prev is None or prev.shape != mask.shape:
            self._prev = _copy(mask)
            return mask
        if self.motion > 0:
            # weight of the past: s where the change is tiny, falling to 0 at `motion`
            w = (1.0 - abs(mask - prev) * (1.0 / self.motion)).clip(0.0, 1.0) * s
        else:
            w = s
        out = mask + w * (prev - mask)
        self._prev = out
        return _copy(out)


def _copy(x):
    """A copy of a numpy array or a torch tensor."""
    return x.copy() if isinstance(x, np.ndarray) else x.clone()


class LookaheadSmoother:
    """For video files: the live ``MaskSmoother`` (the past) plus the next ``lookahead`` frames.

    Frame t+j joins the average with the weight the live smoother gives frame t-j (strength**j),
    gated by the same motion test against frame t, so real motion still passes through. The past
    alone makes the mask trail behind slow movement; the future balances it, and the mask is
    steadier. Output is ``lookahead`` frames late: ``push`` returns what is ready, ``flush`` the rest.
    """

    def __init__(self, strength: float = SMOOTHING, motion: float = MOTION, lookahead: int = LOOKAHEAD):
        self.live = MaskSmoother(strength, motion)
        self.lookahead = max(0, int(lookahead)) if strength > 0 else 0
        self._queue: deque[tuple[Any, np.ndarray]] = deque()

    def push(self, mask: np.ndarray, item: Any = None) -> list[tuple[Any, np.ndarray]]:
        """Add the raw mask of the next frame (``item`` travels with it, e.g. the frame itself);
        returns the (item, smoothed mask) pairs that are complete, oldest first."""
        self._queue.append((item, mask))
        return [self._pop()] if len(self._queue) > self.lookahead else []

    def flush(self) -> list[tuple[Any, np.ndarray]]:
        """The frames still waiting at the end of the video (fewer frames ahead to look at)."""
        return [self._pop() for _ in range(len(self._queue))]

    def _pop(self) -> tuple[Any, np.ndarray]:
        item, raw = self._queue[0]
        out = self.live(raw)
        if len(self._queue) > 1:
            s, motion = self.live.weight, self.live.motion
            total, weight = _copy(out), 1.0
            for j in range(1, len(self._queue)):
                ahead = self._queue[j][1]
                sj = s ** j
                # sj where the change is tiny, falling to 0 at `motion`
                w = (abs(ahead - raw) * (-sj / motion) + sj).clip(0.0, sj) if motion > 0 else sj
                total += w * ahead
                weight = weight + w
            out = total / weight
        self._queue.popleft()
        return item, out


class FlickerMeter:
    """Running flicker of a stream of masks, for a summary line at the end of a video."""

    def __init__(self) -> None:
        self.total, self.count = 0.0, 0
        self._prev: np.ndarray | None = None

    def add(self, mask) -> None:
        """The next mask (numpy, as float32, or a float torch tensor: its sum stays on the device until read)."""
        if isinstance(mask, np.ndarray):
            mask = np.asarray(mask, np.float32)
        if self._prev is not None and self._prev.shape == mask.shape:
            change = abs(mask - self._prev).mean()
            self.total = self.total + (float(change) if isinstance(change, np.generic) else change)
            self.count += 1
        self._prev = mask

    @property
    def value(self) -> float:
        return float(self.total) / self.count if self.count else 0.0


def flicker(masks) -> float:
    """Mean absolute change of the mask between consecutive frames (0 = perfectly stable)."""
    meter = FlickerMeter()
    for m in masks:
        meter.add(m)
    return meter.value


def measure_flicker(frames, segment, strengths=(0.0, 0.3, 0.6, 0.8), motion: float = MOTION) -> dict[float, float]:
    """Flicker of ``segment``'s masks over ``frames`` for each smoothing strength (0 = off).

    The network runs once per frame; every strength smooths the same raw masks, so the numbers
    differ only by the smoothing."""
    raw = [segment(f) for f in frames]
    result = {}
    for s in strengths:
        smoother = MaskSmoother(s, motion)
        result[s] = flicker(smoother(m) for m in raw)
    return result
