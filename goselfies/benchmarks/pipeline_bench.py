"""The whole video pipeline, timed per stage: decode -> segment -> composite -> encode.

This is what a user feels: the network is only one of four stages, and on a small CPU decoding,
compositing and encoding can cost as much as a small network. Every configuration (and MediaPipe)
reads the same video, at the same size, with the same background and the same encoder, so their
times compare directly. Stages are timed with ``perf_counter`` around each call; on CUDA the frame path runs
on the device and only its end (the output on the host) waits for the GPU, so the split between segment and
composite is the launches', and the total is the GPU's too.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from goselfies.errors import GoSelfiesError
from goselfies.io.media import VideoWriter
from goselfies.options import FPS

from .stats import Samples

STAGES = ("decode", "segment", "composite", "encode")


@dataclass(frozen=True)
class PipelineSpec:
    model: str  # a Go-selfies model name, or "mediapipe"
    size: int  # network input, longer side (MediaPipe: its fixed input)
    backend: str  # torch | onnx | the MediaPipe variant
    device: str
    precision: str


class ClipSource:
    """Frames of a video file (looping at the end) or a camera, optionally resized; or synthetic
    frames when neither is given."""

    def __init__(self, video: Path | None, resize: tuple[int, int] | None, camera: int | None = None):
        self.video = video
        self.resize = resize
        self.camera = camera
        self._cap = None
        self._frames: Iterator[np.ndarray] | None = None
        self._reader = None
        self._t = 0

    def _open(self) -> Iterator[np.ndarray]:
        from goselfies.io.media import VideoReader

        if self._reader is not None:
            self._reader.close()
        self._reader = VideoReader(self.video)
        return iter(self._reader)

    def _synthetic(self) -> np.ndarray:
        """A moving gradient with a bright ellipse: costs like a real frame to composite/encode."""
        w, h = self.resize or (640, 480)
        self._t += 1
        x = np.linspace(0, 255, w, dtype=np.float32)[None, :]
        y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
        frame = np.stack([(x + self._t) % 256 + 0 * y, (y + 2 * self._t) % 256 + 0 * x, (x + y) / 2], -1)
        frame = frame.astype(np.uint8)
        cv2.ellipse(frame, (w // 2 + (self._t % 40) - 20, h // 2), (w // 6, h // 3), 0, 0, 360, (200, 180, 160), -1)
        return frame

    def _camera_frame(self) -> np.ndarray:
        if self._cap is None:
            self._cap = cv2.VideoCapture(self.camera)
            if not self._cap.isOpened():
                self._cap.release()
                self._cap = None
                raise GoSelfiesError(f"cannot open camera {self.camera}")
        ok, frame = self._cap.read()
        if not ok or frame is None:
            raise GoSelfiesError(f"camera {self.camera} gave no frame")
        return frame

    def next(self) -> np.ndarray:
        if self.camera is not None:
            frame = self._camera_frame()
            if self.resize and (frame.shape[1], frame.shape[0]) != self.resize:
                frame = cv2.resize(frame, self.resize, interpolation=cv2.INTER_AREA)
            return frame
        if self.video is None:
            return self._synthetic()
        for _ in range(2):
            if self._frames is None:
                self._frames = self._open()
            frame = next(self._frames, None)
            if frame is not None:
                if self.resize and (frame.shape[1], frame.shape[0]) != self.resize:
                    frame = cv2.resize(frame, self.resize, interpolation=cv2.INTER_AREA)
                return frame
            self._frames = None  # end of file: loop
        raise GoSelfiesError(f"{self.video}: no frames")

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class NullSink:
    def write(self, frame: np.ndarray) -> None:
        pass

    def close(self) -> None:
        pass


class Mp4Sink:
    """The recording's MP4 encoder (H.264, live preset) to a scratch file that is deleted afterwards:
    we time, not keep."""

    def __init__(self, folder: Path, size: tuple[int, int], fps: float = FPS):
        self.video = VideoWriter(folder / f"benchmark-{os.getpid()}-{id(self)}.mp4", fps, size, realtime=True)

    def write(self, frame: np.ndarray) -> None:
        self.video.write(frame)

    def close(self) -> None:
        self.video.close(ok=False)  # an aborted VideoWriter removes its file


class PipelineRun:
    """One configuration's pipeline; ``step()`` processes one frame and returns its stage times."""

    def __init__(self, spec: PipelineSpec, segment: Callable[[np.ndarray], np.ndarray], source: ClipSource,
                 background: str, sink: str, scratch: Path, stage_timings: Callable[[], dict] | None = None,
                 describe: str = "", engine: str = "auto"):
        from goselfies.frame.framepath import FramePath, PathConfig

        self.spec = spec
        self.segment = segment
        self.source = source
        self.path = FramePath(segment, PathConfig(background=background, engine=engine))  # the live defaults
        self.sink_kind = sink
        self.scratch = scratch
        self.sink = None
        self.stage_timings = stage_timings
        self.describe = describe
        self.samples = Samples()
        self.frame_shape: tuple[int, ...] | None = None

    def step(self, record: bool = True) -> None:
        t0 = time.perf_counter()
        frame = self.source.next()
        t1 = time.perf_counter()
        out = self.path(frame)[0]  # the frame path's own steps; it times its composite (on a GPU: its launch)
        t3 = time.perf_counter()
        t2 = t3 - self.path.timings.timer("composite").stats().last_ms / 1000
        if self.sink is None:
            h, w = frame.shape[:2]
            self.frame_shape = frame.shape
            self.sink = Mp4Sink(self.scratch, (w, h)) if self.sink_kind == "mp4" else NullSink()
        self.sink.write(out)
        t4 = time.perf_counter()
        if record:
            stages = {"decode": t1 - t0, "segment": t2 - t1, "composite": t3 - t2, "encode": t4 - t3}
            for k, v in (self.stage_timings() if self.stage_timings else {}).items():
                stages[f"segment.{k}"] = v
            self.samples.add(t4 - t0, stages)

    def close(self) -> None:
        self.source.close()
        if self.sink is not None:
            self.sink.close()


def run_interleaved(runs: list[PipelineRun], frames: int, warmup: int, rounds: int,
                    progress: Callable[[str], None] = lambda s: None) -> None:
    """Warm every run up, then time ``frames`` frames each in ``rounds`` round-robin chunks, so a
    change in machine load during the benchmark hits every configuration alike."""
    for run in runs:
        for _ in range(warmup):
            run.step(record=False)
    rounds = max(1, min(rounds, frames))
    chunks = [frames // rounds + (1 if i < frames % rounds else 0) for i in range(rounds)]
    for r, chunk in enumerate(chunks):
        for run in runs:
            progress(f"pipeline round {r + 1}/{rounds}: {run.describe}")
            for _ in range(chunk):
                run.step()
