"""Per-stage timers for the live pipeline: a moving average and the p99 over recent frames, in ms.

Averages hide stutter (one frame six times too slow in 30 reads as "fine"); the p99 shows it. Both are over a
window of recent samples so the numbers follow what the user sees now, not since start-up. The same
``Timings`` object is read by the window overlay, the CLI's exit table and the benchmarks.
"""
from __future__ import annotations

import os
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np


@dataclass(frozen=True)
class StageStats:
    name: str
    mean_ms: float  # moving average over the window
    p99_ms: float  # 99th percentile over the window
    last_ms: float
    count: int  # samples since start (not just the window)


class StageTimer:
    """Thread-safe window of recent durations for one stage."""

    def __init__(self, name: str, window: int = 240):
        self.name = name
        self._samples: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()
        self.count = 0

    def add(self, seconds: float) -> None:
        with self._lock:
            self._samples.append(seconds)
            self.count += 1

    def stats(self) -> StageStats:
        with self._lock:
            samples = np.fromiter(self._samples, np.float64, len(self._samples))
            count = self.count
        if samples.size == 0:
            return StageStats(self.name, 0.0, 0.0, 0.0, count)
        ms = samples * 1000.0
        return StageStats(self.name, float(ms.mean()), float(np.percentile(ms, 99)), float(ms[-1]), count)


class Timings:
    """Named stage timers, created on first use; keeps the order stages first appear in."""

    def __init__(self, stages: tuple[str, ...] = (), window: int = 240):
        self.window = window
        self._timers: dict[str, StageTimer] = {}
        self._lock = threading.Lock()
        for name in stages:
            self.timer(name)

    def timer(self, name: str) -> StageTimer:
        with self._lock:
            t = self._timers.get(name)
            if t is None:
                t = self._timers[name] = StageTimer(name, self.window)
            return t

    def add(self, name: str, seconds: float) -> None:
        self.timer(name).add(seconds)

    @contextmanager
    def measure(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def snapshot(self) -> dict[str, StageStats]:
        with self._lock:
            timers = list(self._timers.values())
        return {t.name: t.stats() for t in timers}

    def table(self) -> str:
        return format_table(self.snapshot().values())


def format_table(stats) -> str:
    """A plain-text table: stage, mean ms, p99 ms, samples."""
    rows = [s for s in stats if s.count]
    if not rows:
        return "(no timings)"
    width = max(8, *(len(s.name) for s in rows))
    lines = [f"{'stage':<{width}}  {'mean ms':>8}  {'p99 ms':>8}  {'frames':>7}"]
    lines += [f"{s.name:<{width}}  {s.mean_ms:8.1f}  {s.p99_ms:8.1f}  {s.count:7d}" for s in rows]
    return "\n".join(lines)


class RateMeter:
    """Events per second over the last ``seconds`` (the FPS the user actually gets)."""

    def __init__(self, seconds: float = 2.0):
        self.seconds = seconds
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def tick(self, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        with self._lock:
            self._times.append(now)
            self._trim(now)

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self.seconds:
            self._times.popleft()

    def rate(self, now: float | None = None) -> float:
        now = time.perf_counter() if now is None else now
        with self._lock:
            self._trim(now)
            n = len(self._times)
            if n < 2:
                return 0.0
            span = self._times[-1] - self._times[0]
        return (n - 1) / span if span > 0 else 0.0


def cpu_seconds() -> float:
    """This process's CPU time so far, user + system, all threads."""
    t = os.times()
    return t.user + t.system


class CpuMeter:
    """The process's CPU use in cores (CPU seconds per wall second): over the last ``seconds`` (what the
    window shows) and since ``start()`` (the summary at exit)."""

    def __init__(self, seconds: float = 2.0):
        self.seconds = seconds
        self._samples: deque[tuple[float, float]] = deque()
        self._start: tuple[float, float] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._start = (time.perf_counter(), cpu_seconds())

    def tick(self, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        with self._lock:
            self._samples.append((now, cpu_seconds()))
            while self._samples and now - self._samples[0][0] > self.seconds:
                self._samples.popleft()

    def cores(self) -> float:
        with self._lock:
            if len(self._samples) < 2:
                return 0.0
            (w0, c0), (w1, c1) = self._samples[0], self._samples[-1]
        return (c1 - c0) / (w1 - w0) if w1 > w0 else 0.0

    def total_cores(self) -> float:
        if self._start is None:
            return 0.0
        w0, c0 = self._start
        wall = time.perf_counter() - w0
        return (cpu_seconds() - c0) / wall if wall > 0 else 0.0
