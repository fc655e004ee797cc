"""benchmark-fps live: the real live session (``live.session.build_session``) fed a video played at its frame rate.

What a caller's laptop pays during a call: frames in / out / dropped / segmented, latency (capture to
sink) p50 / p99, and the process's CPU time per output frame and in cores, start-up excluded (the
window starts after a few seconds of warm-up: 3, 1 with ``--quick``). In the same run: MediaPipe's segmenter inside our own
pipeline (change detection on and off), and an lfbw-style loop (MediaPipe, a full-size Gaussian blur, a
float blend: what Linux-Fake-Background-Webcam and many scripts run today). Configurations take turns in
``--rounds`` chunks, so a change in the machine's load hits all alike.

The clips are made from ``--video`` (re-timed to ``--fps``, cover-fitted to each ``--resolutions``
size) into ``OUT/clips``, never downloaded.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from goselfies.errors import GoSelfiesError
from goselfies.frame.backgrounds import BLUR_STRENGTH
from goselfies.live.settings import LiveSettings
from goselfies.timing import cpu_seconds


@dataclass(frozen=True)
class LiveConfig:
    """One row: our session with these settings (and ONNX Runtime threads), or a reference loop."""

    name: str
    settings: dict = field(default_factory=dict)  # LiveSettings fields that differ from the defaults
    threads: int | None = None  # ONNX Runtime intra-op threads (None: the default)
    mediapipe: bool = False  # MediaPipe's segmenter instead of ours, inside our pipeline
    reference: bool = False  # the lfbw-style loop instead of our pipeline


def default_configs(models: list[str], sizes: list[int], backends: list[str], threads: list[int | None],
                    mediapipe: bool, device: str = "auto", weights: dict[str, str] | None = None) -> list[LiveConfig]:
    """Ours for each model x size x backend x threads with change detection and without it, the first also
    without the live look-closer, on ``device``, each model with its file in ``weights`` (else the shipped one);
    MediaPipe in our pipeline (on and off) and the lfbw-style loop when mediapipe is installed."""
    out = []
    for model in models:
        for size in sizes:
            for backend in backends:
                for t in threads:
                    name = (f"{model}" + (f"@{size}" if size else "") + (f" {backend}" if backend != "auto" else "")
                            + (f" {t} thread{'s' if t > 1 else ''}" if t else ""))
                    settings = {"model": model, "size": size, "backend": backend, "device": device,
                                "weights": (weights or {}).get(model, "")}
                    out += [LiveConfig(name, settings, t), LiveConfig(name + " no-skip", {**settings, "skip": False}, t)]
    first = out[0]
    out.insert(2, replace(first, name=first.name + " no-look-closer", settings={**first.settings, "look_closer": False}))
    if mediapipe:
        out += [LiveConfig("mediapipe", mediapipe=True),
                LiveConfig("mediapipe no-skip", {"skip": False}, mediapipe=True),
                LiveConfig("lfbw-style", reference=True)]
    return out


def make_clip(video: Path, width: int, height: int, fps: float, folder: Path, seconds: float) -> Path:
    """``video`` cover-fitted to width x height and re-timed to ``fps`` (looped to ``seconds``), cached."""
    from goselfies.io.fitting import cover_fit
    from goselfies.io.media import VideoReader, VideoWriter

    path = folder / f"{video.stem}_{width}x{height}_{fps:g}.mp4"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    reader = VideoReader(video, loop=True)
    writer = VideoWriter(path, fps, (width, height))
    ok = False
    try:
        for i, frame in enumerate(reader):
            if i >= max(reader.frame_count, int(seconds * fps)):
                break
            writer.write(cover_fit(frame, width, height))
        ok = True
    finally:
        reader.close()
        writer.close(ok=ok)
    return path


class _Latency:
    """A sink that keeps every frame's capture-to-output latency (the pipeline's own timer keeps a window)."""

    name = "latency"

    def __init__(self):
        self.samples: list[float] = []
        self.on = False

    def send(self, frame, info):
        if self.on:
            self.samples.append(time.perf_counter() - info.timestamp)

    def close(self, ok=True):
        pass


@dataclass
class Counters:
    frames_in: int
    frames_out: int
    dropped: int
    segmented: int
    skipped: int  # frames the change detector found unchanged
    cpu: float
    wall: float


def _measure(start: Callable[[], None], stop: Callable[[], None], counters: Callable[[], Counters],
             latency: _Latency, warmup: float, seconds: float) -> dict:
    start()
    try:
        deadline = time.perf_counter() + warmup + 120  # the first frame may wait for a model export
        while counters().frames_out < 1:
            if time.perf_counter() > deadline:
                raise GoSelfiesError("no output frame within two minutes")
            time.sleep(0.05)
        time.sleep(warmup)
        a = counters()
        latency.on = True
        time.sleep(seconds)
        b = counters()
        latency.on = False
    finally:
        stop()
    out = b.frames_out - a.frames_out
    cpu = b.cpu - a.cpu
    wall = b.wall - a.wall
    lat = np.array(latency.samples or [0.0]) * 1000
    return {"latency_ms": lat.tolist(), "frames_in": b.frames_in - a.frames_in, "frames_out": out, "dropped": b.dropped - a.dropped,
            "segmented": b.segmented - a.segmented, "skipped": b.skipped - a.skipped, "seconds": round(wall, 2),
            "latency_p50_ms": round(float(np.percentile(lat, 50)), 1),
            "latency_p99_ms": round(float(np.percentile(lat, 99)), 1),
            "cpu_ms_per_frame": round(1000 * cpu / max(1, out), 2), "cores": round(cpu / wall, 3),
            "fps": round(out / wall, 2)}


def run_ours(config: LiveConfig, clip: Path, warmup: float, seconds: float) -> dict:
    from goselfies.live.session import build_session

    settings = replace(LiveSettings(), source=str(clip), **config.settings)
    factory = None
    if config.mediapipe:
        from ..engine.mediapipe_selfie import MediaPipeSelfie

        factory = lambda s: MediaPipeSelfie("general")  # noqa: E731
    saved = os.environ.get("GOSELFIES_ORT_THREADS")
    if config.threads:
        os.environ["GOSELFIES_ORT_THREADS"] = str(config.threads)
    try:
        session = build_session(settings, on_message=lambda m: None, segmenter_factory=factory)
    finally:
        if saved is None:
            os.environ.pop("GOSELFIES_ORT_THREADS", None)
        else:
            os.environ["GOSELFIES_ORT_THREADS"] = saved
    p = session.pipeline
    engine = session.describe_model()
    latency = _Latency()
    p.add_sink(latency)
    thread = threading.Thread(target=p.run, daemon=True)

    def counters() -> Counters:
        c = p.capture
        return Counters(c.frames_in, p.frames_out, c.dropped, p.masks, p.skipped, cpu_seconds(), time.perf_counter())

    def stop() -> None:
        p.stop()
        thread.join(10)

    return {"engine": engine, **_measure(thread.start, stop, counters, latency, warmup, seconds)}


def run_reference(clip: Path, warmup: float, seconds: float, strength: float = BLUR_STRENGTH) -> dict:
    """lfbw-style: MediaPipe's mask, the whole frame Gaussian-blurred at full size, a float blend; the
    same paced capture as ours, one loop."""
    from goselfies.io.capture import Capture, VideoFileSource

    from ..engine.mediapipe_selfie import MediaPipeSelfie

    cv2.setNumThreads(-1)  # OpenCV's default pool, as such a script runs (our sessions set one thread)
    seg = MediaPipeSelfie("general")
    capture = Capture(VideoFileSource(clip))
    latency = _Latency()
    done = threading.Event()
    state = {"out": 0}

    def loop() -> None:
        while not done.is_set():
            frame = capture.get(timeout=0.1)
            if frame is None:
                continue
            img = frame.image
            mask = seg(img)[..., None]
            bg = cv2.GaussianBlur(img, (0, 0), strength)
            out = (img * mask + bg * (1.0 - mask)).astype(np.uint8)
            latency.send(out, frame)
            state["out"] += 1

    thread = threading.Thread(target=loop, daemon=True)

    def start() -> None:
        capture.start()
        thread.start()

    def stop() -> None:
        done.set()
        thread.join(10)
        capture.stop()
        seg.close()

    def counters() -> Counters:
        return Counters(capture.frames_in, state["out"], capture.dropped, state["out"], 0, cpu_seconds(),
                        time.perf_counter())

    return _measure(start, stop, counters, latency, warmup, seconds)


def run_live(configs: list[LiveConfig], clips: list[tuple[str, Path]], seconds: float, warmup: float,
             rounds: int, say: Callable[[str], None]) -> list[dict]:
    """Every config on every clip, ``seconds`` in all per pair, taken in ``rounds`` turns; one row per pair
    (counts summed, latency percentiles over all frames of the turns, CPU per frame over all)."""
    parts: dict[tuple[str, str], list[dict]] = {}
    chunk = seconds / rounds
    for r in range(rounds):
        for label, clip in clips:
            for cfg in configs:
                say(f"live round {r + 1}/{rounds}: {label} {cfg.name} ({chunk:g} s)")
                one = (run_reference(clip, warmup, chunk) if cfg.reference else run_ours(cfg, clip, warmup, chunk))
                say(f"  {one['frames_out']} frames out, {one['dropped']} dropped, {one['segmented']} segmented, "
                    f"p99 {one['latency_p99_ms']} ms, {one['cpu_ms_per_frame']} ms CPU a frame, {one['cores']} cores")
                parts.setdefault((label, cfg.name), []).append(one)
    rows = []
    for (label, name), runs in parts.items():
        total = {k: sum(x[k] for x in runs) for k in ("frames_in", "frames_out", "dropped", "segmented", "skipped",
                                                              "seconds")}
        cpu_ms = sum(x["cpu_ms_per_frame"] * x["frames_out"] for x in runs) / max(1, total["frames_out"])
        lat = np.concatenate([x["latency_ms"] for x in runs])
        rows.append({"clip": label, "config": name, **total,
                     "latency_p50_ms": round(float(np.percentile(lat, 50)), 1),
                     "latency_p99_ms": round(float(np.percentile(lat, 99)), 1),
                     "cpu_ms_per_frame": round(cpu_ms, 2),
                     "cores": round(sum(x["cores"] * x["seconds"] for x in runs) / max(1e-9, total["seconds"]), 3),
                     "fps": round(total["frames_out"] / max(1e-9, total["seconds"]), 2),
                     "engine": runs[0].get("engine", "MediaPipe + full-size blur (cpu)")})
    return rows


def format_rows(rows: list[dict]) -> str:
    head = ("clip", "config", "engine", "in", "out", "dropped", "segmented", "p50 ms", "p99 ms", "CPU ms/frame",
            "cores")
    keys = ("clip", "config", "engine", "frames_in", "frames_out", "dropped", "segmented", "latency_p50_ms",
            "latency_p99_ms", "cpu_ms_per_frame", "cores")
    table = [head] + [tuple(str(r[k]) for k in keys) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in table]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
