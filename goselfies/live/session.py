"""One live session -- capture, segmenter, pipeline, sinks -- built from one ``LiveSettings``.

``goselfies webcam`` (its arguments made into settings) and the window (saved settings, then the
controls) both call ``build_session``; while it runs, ``LiveSession.apply(settings)`` pushes what
changed into the pipeline without a restart. A camera needs a new session; a model is loaded beside the
running one (``load_model``, any thread) and swapped in once it loaded (``use_model``), so a model that
cannot load leaves the running one as it was.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from typing import Callable

import cv2

from ..engine.segmenter import Segmenter, SegmenterConfig
from ..errors import GoSelfiesError, ModelLoadError
from ..frame.framepath import FramePath
from ..io.capture import Capture, FrameSource, make_source
from ..io.sinks import make_sink
from .pipeline import Pipeline, PipelineConfig
from .settings import MODEL_FIELDS, LiveSettings

Say = Callable[[str], None]
SegmenterFactory = Callable[[LiveSettings], Callable]

# ONNX Runtime's threads in a live session: one. The network alone took 13.6 ms of CPU a 720p frame on one
# thread against 17.5 ms on two (2-core EPYC, lite at 224), and the session's other threads (capture,
# compositing) keep the second core busy anyway (BENCHMARKS.md, live runs).
LIVE_THREADS = 1
# OpenCV's own worker threads, likewise: one. Its pool waits busily after each parallel call: on the 2-core
# EPYC the refine filter took 4.7 ms of CPU a 640x480 frame with the default pool and 2.6 ms with one thread,
# the compositing 3.4 and 1.7 ms (the same work; process CPU time, every thread).


def _stderr(message: str) -> None:
    if message:
        print(message, file=sys.stderr)


def load_segmenter(s: LiveSettings) -> Segmenter:
    """The network the settings name (post-processing runs in the pipeline, after smoothing). Whatever
    stops it from loading is a ModelLoadError, so a caller can tell it from a camera problem."""
    try:
        return Segmenter(SegmenterConfig(model=s.model, weights=s.weights or None, device=s.device,
                                         size=s.size or None, backend=s.backend, flip=s.flip,
                                         threads=LIVE_THREADS), quiet=True)
    except ModelLoadError:
        raise
    except GoSelfiesError as exc:
        raise ModelLoadError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - a backend's own error (a corrupt file, a failed compile)
        raise ModelLoadError(f"{type(exc).__name__}: {exc}") from None


def path_config(s: LiveSettings) -> PipelineConfig:
    """The frame path of a live session with these settings (its fps: ``Pipeline.run``'s)."""
    return PipelineConfig(background=s.background_spec(), post=s.post(), smoothing=s.smoothing, skip=s.skip,
                          effect=s.effect, max_frames=s.frames or None, auto_frame=s.auto_frame,
                          frame_zoom=s.frame_zoom, look_closer=s.look_closer)


def live_path(s: LiveSettings, factory: SegmenterFactory = load_segmenter) -> tuple[Callable, FramePath]:
    """What a live session with these settings composites with, outside a session (``evaluate --live``): its
    network (``factory``: ``load_segmenter``, the live model, size and backend, no second pass) and its frame
    path (``path_config``). ``path.mask(frame)``: the matte a session composites for the frame, after the frames
    before it; ``path.reset()``: a new scene, with no past to keep or to smooth with."""
    segment = factory(s)
    return segment, FramePath(segment, path_config(s))


def describe_model(segment) -> str:
    """Which model, backend, device and size run: a Segmenter says; any other callable by its name."""
    describe = getattr(segment, "describe", None)
    return describe() if callable(describe) else type(segment).__name__


class LiveSession:
    """A running pipeline and the settings it runs with (a copy of its own)."""

    def __init__(self, pipeline: Pipeline, settings: LiveSettings, on_message: Say = _stderr,
                 segmenter_factory: SegmenterFactory = load_segmenter):
        self.pipeline = pipeline
        self.settings = replace(settings)
        self.on_message = on_message
        self.segmenter_factory = segmenter_factory
        self.model_error: ModelLoadError | None = None  # why the chosen model did not load (the default runs)

    def describe_model(self) -> str:
        return describe_model(self.pipeline.segment)

    def load_model(self, new: LiveSettings):
        """Load the model ``new`` names, from any thread, without touching the running one; raises
        ModelLoadError. Hand the result to ``use_model``."""
        return self.segmenter_factory(replace(new))

    def use_model(self, segment, new: LiveSettings) -> None:
        """Run ``segment`` (from ``load_model(new)``) from the next segmented frame on."""
        self.pipeline.set_segment(segment)
        for name in MODEL_FIELDS:
            setattr(self.settings, name, getattr(new, name))

    def apply(self, new: LiveSettings) -> None:
        """Push what differs from the running settings into the pipeline. A bad background raises
        GoSelfiesError after everything else was applied (the old background stays)."""
        old, p = self.settings, self.pipeline
        self.settings = replace(new)
        if new.post() != old.post():
            p.set_post(new.post())
        if new.smoothing != old.smoothing:
            p.set_smoothing(new.smoothing)
        if new.skip != old.skip:
            p.set_skip(new.skip)
        if new.look_closer != old.look_closer:
            p.set_look_closer(new.look_closer)
        if new.effect != old.effect:
            p.set_effect(new.effect)
        if new.mirror != old.mirror:
            p.set_mirror(new.mirror)
        if (new.auto_frame, new.frame_zoom) != (old.auto_frame, old.frame_zoom):
            p.set_auto_frame(new.auto_frame, new.frame_zoom)
        if new.virtual_camera != old.virtual_camera:
            if new.virtual_camera:
                p.add_sink(_virtual_camera(new, p.capture.fps, self.on_message))
            else:
                p.remove_sink("virtualcam")
        if new.background_spec() != old.background_spec():
            p.set_background(new.background_spec())


def _virtual_camera(s: LiveSettings, fps: float, on_message: Say):
    return make_sink("virtualcam", fps=fps, device=s.virtual_camera_device or None, on_message=on_message)


def build_session(settings: LiveSettings, on_message: Say = _stderr, *, quiet: bool = True,
                  fallback: bool = False, explain: Callable[[GoSelfiesError], GoSelfiesError] | None = None,
                  source_factory: Callable[[LiveSettings], FrameSource] | None = None,
                  segmenter_factory: Callable[[LiveSettings], Callable] | None = None) -> LiveSession:
    """Open the source, load the model, assemble pipeline and sinks; on any failure the source is
    released again. ``explain`` rewords a source that cannot be opened for the caller's user
    (a command line names options, the window its camera list); ``quiet=False`` says which model runs.
    ``fallback``: a model that cannot load is replaced by the default one (the window: a saved choice that
    no longer loads must not leave the next start black); the session's ``model_error`` says why."""
    s = replace(settings)
    cv2.setNumThreads(LIVE_THREADS)  # process-wide: a live session is the process's main work
    if source_factory is not None:
        source = source_factory(s)
    else:
        source = make_source(None if s.source else s.camera, s.source or None,
                             width=s.width, height=s.height, fps=s.fps, loop=s.loop)
    capture = Capture(source, mirror=s.mirror)
    try:
        capture.open()
    except GoSelfiesError as exc:
        if explain is None:
            raise
        raise explain(exc) from None
    try:
        factory = segmenter_factory or load_segmenter
        model_error = None
        try:
            segment = factory(s)
        except ModelLoadError as exc:
            default = s.with_default_model()
            if not fallback or s.same_model(default):
                raise
            model_error, s = exc, default
            segment = factory(s)
        if not quiet:
            on_message(f"model: {describe_model(segment)}")
        on_message(getattr(source, "describe", lambda: "")())
        pipeline = Pipeline(capture, segment, path_config(s))
        if s.record:  # a transparent background is recorded with its alpha
            alpha = bool(getattr(pipeline.background, "alpha", False))
            pipeline.add_sink(make_sink("record", path=s.record, fps=capture.fps, alpha=alpha))
        if s.virtual_camera:
            pipeline.add_sink(_virtual_camera(s, capture.fps, on_message))
        session = LiveSession(pipeline, s, on_message, factory)
        session.model_error = model_error
        return session
    except BaseException:
        capture.stop()
        raise
