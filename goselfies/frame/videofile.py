"""A video file through the frame path (segment -> smooth -> post-process -> composite) -> encode:
``goselfies video``.

Unlike the live pipeline, every frame gets its own mask (a file is not real time), the smoother
may look ahead, and the output keeps the input's sound, timestamps and rotation (media.VideoWriter).
Everything that can be refused (input, output format, alpha) is checked when the job is opened,
before the model loads, and the output appears only when complete.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from ..errors import GoSelfiesError
from ..io.media import (
    ImageSequenceWriter,
    VideoReader,
    open_video_output,
    sequence_target,
    video_encoding,
)
from ..options import OPTIONS
from ..paths import check_output_folder
from .autoframe import ZOOM, parse_zoom
from .backgrounds import parse_background
from .framepath import FramePath, PathConfig
from .postprocess import PostProcess
from .smoothing import LOOKAHEAD, MOTION, SMOOTHING


@dataclass(frozen=True)
class VideoResult:
    output: Path
    frames: int
    seconds: float
    flicker: float  # of the masks composited with (after smoothing and post-processing)
    raw_flicker: float  # of the network's masks alone
    smoothing: float
    audio: str | None  # what became of the sound, None: there was none or it was dropped

    def summary(self) -> str:
        """One line: frames, speed, flicker (with the unsmoothed figure when smoothing is on), sound."""
        fps = self.frames / self.seconds if self.seconds > 0 else 0.0
        line = f"wrote {self.frames} frames to {self.output} ({fps:.1f} fps), flicker {self.flicker:.4f}"
        if self.smoothing > 0:
            line += f" (unsmoothed {self.raw_flicker:.4f})"
        return line + (f", {self.audio}" if self.audio else "")


QUEUE = 4  # frames decoded ahead, and segmented frames waiting to be composited and encoded


class Stages:
    """Decoding, and compositing with encoding, each on a thread of its own beside the caller's, which segments,
    with bounded queues (``depth``; 0: all in the caller's thread, one stage after another). ``frames()`` gives
    the decoded frames in order; ``write`` hands a segmented one (``FramePath.masks``) to the encoder thread,
    which finishes it (``finish``: ``FramePath.finish``, in order) and encodes the output at once. Splitting the
    frame path there keeps both cores busy on a 2-core CPU (BENCHMARKS.md run 17). An error on any thread is
    raised in the caller's; leaving the block stops both threads and waits for them, so the writer is closed by
    one thread only."""

    def __init__(self, frames: Iterable, finish: Callable, writer, depth: int = QUEUE):
        self._source, self.finish, self.writer, self.depth = frames, finish, writer, depth
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._error: BaseException | None = None
        if depth:
            self._decoded: queue.Queue = queue.Queue(depth)
            self._finished: queue.Queue = queue.Queue(depth)
            for target in (self._decode, self._encode):
                t = threading.Thread(target=target, name=f"video-{target.__name__[1:]}", daemon=True)
                t.start()
                self._threads.append(t)

    def _put(self, q: queue.Queue, item) -> bool:
        while not self._stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q: queue.Queue):
        while not self._stop.is_set():
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                continue
        return _END

    def _decode(self) -> None:
        try:
            for item in self._source:
                if not self._put(self._decoded, item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self._error = self._error or exc
        self._put(self._decoded, _END)

    def _encode(self) -> None:
        try:
            while (ready := self._get(self._finished)) is not _END:
                self._write(ready)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self._error = self._error or exc
            self._stop.set()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def frames(self) -> Iterator:
        if not self.depth:
            yield from self._source
            return
        while (item := self._get(self._decoded)) is not _END:
            yield item
        self._raise()

    def _write(self, ready) -> None:
        pts, out, _ = self.finish(ready)
        self.writer.write(out, pts)

    def write(self, ready) -> None:
        if not self.depth:
            self._write(ready)
            return
        self._raise()
        self._put(self._finished, ready)

    def __enter__(self) -> "Stages":
        return self

    def __exit__(self, exc_type, *rest) -> None:
        if self.depth:
            if exc_type is None:
                self._put(self._finished, _END)  # the encoder finishes what is queued
                self._threads[1].join()
            self._stop.set()
            for t in self._threads:
                t.join()
        if exc_type is None:
            self._raise()


_END = object()


class VideoJob:
    """``VideoJob(input, output, ...)`` checks and opens; ``run(segment)`` writes; ``close()``."""

    def __init__(self, input: str | Path, output: str | Path, *, background: str = "blur",
                 smoothing: float = SMOOTHING, motion: float = MOTION, lookahead: int = LOOKAHEAD, audio: bool = True,
                 auto_frame: bool = False, frame_zoom: float | str = ZOOM, second_pass: bool = False):
        smoothing, lookahead = OPTIONS["smoothing"].check(smoothing), OPTIONS["lookahead"].check(lookahead)
        self.input, self.output = Path(input), Path(output)
        if self.output.resolve() == self.input.resolve():
            raise GoSelfiesError("output would overwrite the input")
        self.background = parse_background(background)
        self.alpha = bool(getattr(self.background, "alpha", False))
        sequence = sequence_target(self.output)  # refuse a format, a PNG folder or a place to write now, before any work
        if sequence is None:
            video_encoding(self.output, self.alpha)
            check_output_folder(self.output.parent)
        elif sequence[0].exists() and not sequence[0].is_dir():
            raise GoSelfiesError(f"{sequence[0]}: is a file; a PNG sequence needs a folder")
        else:
            check_output_folder(sequence[0] if sequence[0].is_dir() else sequence[0].parent)
        self.smoothing, self.motion, self.lookahead = smoothing, motion, lookahead
        self.auto_frame, self.frame_zoom = auto_frame, parse_zoom(frame_zoom)
        self.second_pass = second_pass
        self.audio = audio
        self.reader = VideoReader(self.input)

    @property
    def frame_count(self) -> int:
        """Frames in the input (an estimate for formats that do not store it)."""
        return self.reader.frame_count

    def run(self, segment: Callable[[np.ndarray], np.ndarray], post: PostProcess | None = None,
            progress: Callable[[Iterable], Iterable] | None = None, pipelined: bool = True) -> VideoResult:
        """Write the output. ``segment`` gives the raw mask; ``post`` (threshold, feather, refine)
        follows the smoothing, as in the live path, so a threshold sees a steady mask; ``progress``
        wraps the frame iterator (a progress bar). ``pipelined``: decoding on a thread of its own, and
        compositing with encoding on another, beside the network (``Stages``; the same output as ``False``, one
        stage after another)."""
        r = self.reader
        depth = QUEUE if pipelined else 0
        path = FramePath(segment, PathConfig(background=self.background, post=post or PostProcess.none(),
                                             smoothing=self.smoothing, motion=self.motion, skip=False,
                                             auto_frame=self.auto_frame, frame_zoom=self.frame_zoom, fps=r.fps,
                                             second_pass=self.second_pass, lookahead=self.lookahead))
        t0 = time.perf_counter()
        with open_video_output(self.output, r.fps, (r.width, r.height), alpha=self.alpha,
                               audio_from=self.input if self.audio else None, time_base=r.time_base,
                               rotation=r.rotation) as writer:
            with Stages(r.timed(), path.finish, writer, depth) as stages:
                frames = progress(stages.frames()) if progress is not None else stages.frames()
                for image, pts in frames:
                    for ready in path.masks(image, pts):
                        stages.write(ready)
                for ready in path.masks_left():
                    stages.write(ready)
        audio = writer.audio
        if audio is None and self.audio and r.has_audio and isinstance(writer, ImageSequenceWriter):
            audio = "no sound (a PNG sequence has none)"
        return VideoResult(self.output, writer.frames, time.perf_counter() - t0, path.flicker.value,
                           path.raw_flicker.value, self.smoothing, audio)

    def close(self) -> None:
        self.reader.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
