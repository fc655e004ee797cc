"""A video file through the frame path (segment -> smooth -> post-process -> composite) -> encode:
``goselfies video``.

Unlike the live pipeline, every frame gets its own mask (a file is not real time), the smoother
may look ahead, and the output keeps the input's sound, timestamps and rotation (media.VideoWriter).
Everything that can be refused (input, output format, alpha) is checked when the job is opened,
before the model loads, and the output appears only when complete.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .autoframe import ZOOM, parse_zoom
from .backgrounds import parse_background
from .errors import GoSelfiesError
from .framepath import FramePath, PathConfig
from .media import ImageSequenceWriter, VideoReader, open_video_output, sequence_target, video_encoding
from .paths import check_output_folder
from .postprocess import PostProcess
from .pyramid import Pyramid
from .smoothing import MOTION, SMOOTHING, FlickerMeter, LookaheadSmoother


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


class VideoJob:
    """``VideoJob(input, output, ...)`` checks and opens; ``run(segment)`` writes; ``close()``."""

    def __init__(self, input: str | Path, output: str | Path, *, background: str = "blur",
                 smoothing: float = SMOOTHING, motion: float = MOTION, lookahead: int = 2, audio: bool = True,
                 auto_frame: bool = False, frame_zoom: float | str = ZOOM, second_pass: bool = False):
        if not 0.0 <= smoothing < 1.0:
            raise GoSelfiesError(f"--smoothing must be in [0, 1), got {smoothing:g}")
        if lookahead < 0:
            raise GoSelfiesError(f"--lookahead must be 0 or more, got {lookahead}")
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
            progress: Callable[[Iterable], Iterable] | None = None) -> VideoResult:
        """Write the output. ``segment`` gives the raw mask; ``post`` (threshold, feather, refine)
        follows the smoothing, as in the live path, so a threshold sees a steady mask; ``progress``
        wraps the frame iterator (a progress bar)."""
        r = self.reader
        path = FramePath(segment, PathConfig(background=self.background, post=post or PostProcess.none(),
                                             smoothing=self.smoothing, motion=self.motion, skip=False,
                                             auto_frame=self.auto_frame, frame_zoom=self.frame_zoom, fps=r.fps,
                                             second_pass=self.second_pass))
        smoother = LookaheadSmoother(self.smoothing, self.motion, self.lookahead)  # the path's, plus the future
        raw_meter, meter = FlickerMeter(), FlickerMeter()
        frames: Iterator = iter(r.timed())
        if progress is not None:
            frames = iter(progress(frames))
        t0 = time.perf_counter()
        with open_video_output(self.output, r.fps, (r.width, r.height), alpha=self.alpha,
                               audio_from=self.input if self.audio else None, time_base=r.time_base,
                               rotation=r.rotation) as writer:

            def emit(ready) -> None:
                for (pyramid, pts), prob in ready:
                    small = path.finish(prob, pyramid)
                    meter.add(small * (1 / 255.0))
                    writer.write(path.compose(pyramid, small)[0], pts)

            for image, pts in frames:
                pyramid = Pyramid(image)
                raw = path.probabilities(pyramid)
                raw_meter.add(raw)
                emit(smoother.push(raw, (pyramid, pts)))
            emit(smoother.flush())
        audio = writer.audio
        if audio is None and self.audio and r.has_audio and isinstance(writer, ImageSequenceWriter):
            audio = "no sound (a PNG sequence has none)"
        return VideoResult(self.output, writer.frames, time.perf_counter() - t0, meter.value, raw_meter.value,
                           self.smoothing, audio)

    def close(self) -> None:
        self.reader.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
