"""Runs a Pipeline off the Qt thread and hands its frames to the window by signal.

The Qt event loop must never block on the camera or the network, so the pipeline (including
loading the model) runs in a plain Python thread. Each frame for the window is copied (the window
owns it) and sent by a queued signal; while the window has not painted the previous one, newer
frames replace nothing and are simply not shown, so a busy window never builds up a backlog (lag).
"""
from __future__ import annotations

import threading
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from goselfies.errors import GoSelfiesError
from goselfies.io.sinks import FrameInfo, make_sink
from goselfies.live.pipeline import Pipeline
from goselfies.live.session import LiveSession


class Bridge(QObject):
    """Lives in the GUI thread; signals emitted from the worker are delivered queued."""

    ready = Signal(object)  # the LiveSession, once built (before its first frame)
    frame = Signal(object, object, object)  # (owned ndarray, FrameInfo, PipelineStats)
    message = Signal(str)
    error = Signal(str)
    finished = Signal(object)  # PipelineStats, or None if it never started


class _Relay(QObject):
    """Carries a thread's result to the GUI thread (it lives there: the signal is delivered queued)."""

    done = Signal(object, object)  # (result, exception or None)

    def __init__(self, on_done: Callable[[object, BaseException | None], None]):
        super().__init__()
        self.on_done = on_done
        self.done.connect(self._deliver)

    def _deliver(self, result, error) -> None:
        _pending.discard(self)
        self.on_done(result, error)


_pending: set[_Relay] = set()  # relays whose thread has not reported yet (kept alive until then)


def call_in_thread(fn: Callable[[], object], on_done: Callable[[object, BaseException | None], None]) -> None:
    """Run ``fn()`` in a daemon thread (loading a model, probing cameras) and call ``on_done(result, error)``
    in the GUI thread afterwards. An exception is handed over, never raised in the thread."""
    relay = _Relay(on_done)
    _pending.add(relay)

    def run() -> None:
        try:
            result, error = fn(), None
        except Exception as exc:  # noqa: BLE001 - the caller shows it
            result, error = None, exc
        relay.done.emit(result, error)

    threading.Thread(target=run, name="goselfies-gui-task", daemon=True).start()


class PipelineWorker:
    """``PipelineWorker(build).start()``; ``build(on_message)`` makes the LiveSession in the worker thread."""

    def __init__(self, build: Callable[[Callable[[str], None]], LiveSession], parent: QObject | None = None):
        self.build = build
        self.bridge = Bridge(parent)
        self.session: LiveSession | None = None
        self.pipeline: Pipeline | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._in_flight = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="goselfies-gui-worker", daemon=True)
        self._thread.start()

    def frame_shown(self) -> None:
        """Called by the window once it took the frame: the next one may be sent."""
        self._in_flight.clear()

    def _on_frame(self, frame: np.ndarray, info: FrameInfo) -> None:
        if self._in_flight.is_set():
            return  # the window is still busy with the previous frame
        self._in_flight.set()
        self.bridge.frame.emit(frame.copy(), info, self.pipeline.stats())

    def _run(self) -> None:
        stats = None
        try:
            session = self.build(self.bridge.message.emit)
            pipeline = session.pipeline
            pipeline.add_sink(make_sink("window", callback=self._on_frame))
            self.session, self.pipeline = session, pipeline
            self.bridge.ready.emit(session)
            if self._stop.is_set():  # stop() came while the model was loading
                pipeline.capture.stop()
                return
            stats = pipeline.run()
        except GoSelfiesError as exc:
            self.bridge.error.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - the window shows it instead of dying
            self.bridge.error.emit(f"{type(exc).__name__}: {exc}")
        finally:
            self.bridge.finished.emit(stats)

    def stop(self, timeout: float = 3.0) -> bool:
        """Stop the pipeline and join the thread; True if it ended within ``timeout``."""
        self._stop.set()
        if self.pipeline is not None:
            self.pipeline.stop()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        # a pipeline created after our first look (model was still loading) is stopped by _run
        if self._thread.is_alive() and self.pipeline is not None:
            self.pipeline.stop()
            self._thread.join(max(0.5, timeout / 2))
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
