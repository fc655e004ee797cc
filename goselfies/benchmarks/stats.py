"""Sample collection and summary statistics: median, p90, p99 and FPS from raw per-frame times.

We keep every sample (not a moving average): a benchmark must show the tail (p99), where one slow
frame in thirty is a visible stutter in a call.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class Samples:
    """Per-iteration seconds for the whole step and for each named stage."""

    total: list[float] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=dict)

    def add(self, total: float, stages: dict[str, float] | None = None) -> None:
        self.total.append(total)
        for k, v in (stages or {}).items():
            self.stages.setdefault(k, []).append(v)


@dataclass(frozen=True)
class Summary:
    n: int
    median_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    fps: float  # items per second at the median (batch size / median time)
    stages_ms: dict[str, float]  # median per stage


def summarize(samples: Samples, items_per_step: int = 1) -> Summary:
    t = np.asarray(samples.total, dtype=np.float64) * 1000.0
    if t.size == 0:
        raise ValueError("no samples")
    med = float(np.median(t))
    stages = {k: float(np.median(v)) * 1000.0 for k, v in samples.stages.items() if v}
    return Summary(
        n=int(t.size),
        median_ms=med,
        p90_ms=float(np.percentile(t, 90)),
        p99_ms=float(np.percentile(t, 99)),
        mean_ms=float(t.mean()),
        fps=items_per_step * 1000.0 / med if med > 0 else float("inf"),
        stages_ms=stages,
    )


def time_calls(fn: Callable[[], object], iters: int, warmup: int, sync: Callable[[], None] = lambda: None) -> Samples:
    """Time ``fn`` ``iters`` times after ``warmup`` calls; ``sync`` waits for the device around each
    timer so asynchronous GPU work is counted in the call that launched it."""
    for _ in range(warmup):
        fn()
    sync()
    out = Samples()
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        sync()
        out.add(time.perf_counter() - t0)
    return out
