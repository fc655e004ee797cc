"""The main window: live preview, controls, hotkeys, persisted settings.

Everything the user changes goes three ways at once: into ``LiveSettings`` (saved), into the
controls (so hotkeys and widgets agree) and into the running session (``LiveSession.apply``: live,
no restart) -- except camera and model, which need a new session and restart the worker.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (QCheckBox, QColorDialog, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QMainWindow, QPushButton, QScrollArea, QSlider, QWidget)

from goselfies.backgrounds import KINDS, LIVE_KINDS
from goselfies.errors import GoSelfiesError
from goselfies.live import LiveSession, build_session
from goselfies.pipeline import Pipeline
from goselfies.settings import LiveSettings, save_settings

from .preview import PreviewWidget, overlay_lines
from .worker import PipelineWorker

CAMERAS = 4  # indices offered in the camera list; a device path can come from settings or --camera

Build = Callable[[LiveSettings, Callable[[str], None]], LiveSession]


def build_from_settings(s: LiveSettings, on_message: Callable[[str], None]) -> LiveSession:
    """The window's session; runs in the worker thread (the model loads there)."""
    def explain(exc: GoSelfiesError) -> GoSelfiesError:
        return GoSelfiesError(f"{exc}: pick another camera or a video file in the camera list")

    return build_session(s, on_message, explain=explain)


class MainWindow(QMainWindow):
    """Preview + controls. ``build`` makes the session (default: from the settings)."""

    closed = Signal()

    def __init__(self, settings: LiveSettings | None = None, *, settings_file: str | Path | None = None,
                 persist: bool = True, build: Build | None = None, controls: bool = True,
                 autostart: bool = True, close_when_done: bool = False, stop_timeout: float = 3.0):
        super().__init__()
        self.settings = settings or LiveSettings()
        self.settings_file = settings_file
        self.persist = persist
        self.build = build or build_from_settings
        self.close_when_done = close_when_done
        self.stop_timeout = stop_timeout
        self.worker: PipelineWorker | None = None
        self.last_stats = None
        self.last_info = None
        self.errors: list[str] = []
        self._overlay_t = 0.0
        self.setWindowTitle("Go-selfies")
        self.preview = PreviewWidget()
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.preview, 1)
        self.panel = None
        if controls:
            self.panel = self._make_controls()
            layout.addWidget(self.panel)
        self.setCentralWidget(central)
        self.resize(1180 if controls else 960, 600)
        self._hotkeys()
        self._sync_controls()
        if autostart:
            self.start()

    # -- worker -------------------------------------------------------------------------------
    def start(self) -> None:
        self.stop()
        self.preview.set_message("starting...")
        snapshot = replace(self.settings)  # the worker builds from this copy, never a moving target
        self.worker = PipelineWorker(lambda say: self.build(snapshot, say), self)
        b = self.worker.bridge
        b.frame.connect(self._on_frame)
        b.message.connect(self._on_message)
        b.error.connect(self._on_error)
        b.finished.connect(self._on_finished)
        self.worker.start()

    def stop(self) -> bool:
        """Stop the worker (joins with a timeout); True if it ended in time."""
        if self.worker is None:
            return True
        w, self.worker = self.worker, None
        ok = w.stop(self.stop_timeout)
        for sig in (w.bridge.frame, w.bridge.message, w.bridge.error, w.bridge.finished):
            try:
                sig.disconnect()
            except (RuntimeError, TypeError):
                pass
        return ok

    @property
    def pipeline(self) -> Pipeline | None:
        return self.worker.pipeline if self.worker else None

    def _on_frame(self, frame, info, stats) -> None:
        session = self.worker.session if self.worker else None
        if session is not None and session.settings != self.settings:
            self._apply_live()  # changes made while the model was loading
        self.preview.set_frame(frame)
        self.last_info, self.last_stats = info, stats
        now = time.perf_counter()
        if now - self._overlay_t > 0.25:  # readable numbers: refresh 4x a second
            self._overlay_t = now
            self.preview.overlay = overlay_lines(stats) + ([] if self.settings.effect else ["effect off (space)"])
        if self.worker is not None:
            self.worker.frame_shown()

    def _on_message(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text, 10000)

    def _on_error(self, text: str) -> None:
        self.errors.append(text)
        self.preview.set_message(text)
        self.statusBar().showMessage(text)

    def _on_finished(self, stats) -> None:
        if stats is not None:
            self.last_stats = stats
        if self.close_when_done:
            self.close()

    # -- hotkeys and state -------------------------------------------------------------------
    def _hotkeys(self) -> None:
        for key, slot in ((Qt.Key.Key_Space, self.toggle_effect), (Qt.Key.Key_M, self.toggle_mirror),
                          (Qt.Key.Key_B, self.next_background), (Qt.Key.Key_F, self.toggle_auto_frame),
                          (Qt.Key.Key_Q, self.close),
                          (Qt.Key.Key_Escape, self.close)):
            QShortcut(QKeySequence(key), self, activated=slot)

    def toggle_effect(self) -> None:
        self.settings.effect = not self.settings.effect
        self._changed()

    def toggle_mirror(self) -> None:
        self.settings.mirror = not self.settings.mirror
        self._changed()

    def toggle_auto_frame(self) -> None:
        self.settings.auto_frame = not self.settings.auto_frame
        self._changed()

    def next_background(self) -> None:
        self.settings.background = self.settings.next_background()
        self._changed()

    def _changed(self, restart: bool = False) -> None:
        """Push the settings to the controls, the pipeline (live) and the settings file."""
        self._sync_controls()
        if restart:
            self.start()
        else:
            self._apply_live()
        self._save()

    def _apply_live(self) -> None:
        session = self.worker.session if self.worker else None
        if session is None:
            return
        try:
            session.apply(self.settings)
        except GoSelfiesError as exc:
            self._on_error(str(exc))

    def _save(self) -> None:
        if self.persist:
            try:
                save_settings(self.settings, self.settings_file)
            except OSError as exc:
                self.statusBar().showMessage(f"cannot save settings: {exc}", 5000)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.stop()
        self._save()
        self.closed.emit()
        super().closeEvent(event)

    # -- controls -----------------------------------------------------------------------------
    def _make_controls(self) -> QWidget:
        from goselfies.models import MODELS

        box = QWidget()
        form = QFormLayout(box)
        self.camera_box = QComboBox()
        self.model_box = QComboBox()
        self.model_box.addItems(["auto", *sorted(MODELS)])
        self.background_box = QComboBox()
        for kind in LIVE_KINDS:
            self.background_box.addItem(KINDS[kind], kind)
        self.blur_slider = _slider(1, 60)
        self.color_button = QPushButton("Pick colour...")
        self.file_button = QPushButton("Choose file...")
        self.threshold_slider = _slider(0, 95)
        self.feather_spin = QDoubleSpinBox()
        self.feather_spin.setRange(0.0, 20.0)
        self.feather_spin.setSingleStep(0.5)
        self.feather_spin.setSuffix(" px")
        self.smoothing_slider = _slider(0, 95)
        self.mirror_check = QCheckBox("Mirror (m)")
        self.vcam_check = QCheckBox("Virtual camera")
        self.effect_check = QCheckBox("Background effect (space)")
        self.frame_check = QCheckBox("Auto-frame (f)")
        self.hint = QLabel("space: effect  m: mirror  b: next background  f: auto-frame  q/Esc: quit")
        self.hint.setWordWrap(True)
        for label, w in (("Camera", self.camera_box), ("Model", self.model_box),
                         ("Background", self.background_box), ("Blur strength", self.blur_slider),
                         ("Colour", self.color_button), ("Image/video", self.file_button),
                         ("Threshold", self.threshold_slider), ("Feather", self.feather_spin),
                         ("Smoothing", self.smoothing_slider), ("", self.mirror_check),
                         ("", self.vcam_check), ("", self.effect_check), ("", self.frame_check), ("", self.hint)):
            w.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            form.addRow(label, w)
        self.camera_box.activated.connect(self._camera_chosen)
        self.model_box.activated.connect(self._model_chosen)
        self.background_box.activated.connect(self._background_chosen)
        self.blur_slider.valueChanged.connect(lambda v: self._set("blur_strength", float(v)))
        self.color_button.clicked.connect(self._pick_color)
        self.file_button.clicked.connect(self._pick_file)
        self.threshold_slider.valueChanged.connect(lambda v: self._set("threshold", v / 100.0))
        self.feather_spin.valueChanged.connect(lambda v: self._set("feather", float(v)))
        self.smoothing_slider.valueChanged.connect(lambda v: self._set("smoothing", v / 100.0))
        self.mirror_check.toggled.connect(lambda v: self._set("mirror", bool(v)))
        self.vcam_check.toggled.connect(lambda v: self._set("virtual_camera", bool(v)))
        self.effect_check.toggled.connect(lambda v: self._set("effect", bool(v)))
        self.frame_check.toggled.connect(lambda v: self._set("auto_frame", bool(v)))
        scroll = QScrollArea()
        scroll.setWidget(box)
        scroll.setWidgetResizable(True)
        scroll.setFixedWidth(320)
        return scroll

    def _set(self, name: str, value, restart: bool = False) -> None:
        if getattr(self.settings, name) != value:
            setattr(self.settings, name, value)
            self._changed(restart)

    def _sync_controls(self) -> None:
        if self.panel is None:
            return
        s = self.settings
        widgets = (self.camera_box, self.model_box, self.background_box, self.blur_slider, self.threshold_slider,
                   self.feather_spin, self.smoothing_slider, self.mirror_check, self.vcam_check, self.effect_check,
                   self.frame_check)
        for w in widgets:
            w.blockSignals(True)
        self.camera_box.clear()
        for i in range(CAMERAS):
            self.camera_box.addItem(f"Camera {i}", f"camera:{i}")
        if not s.camera.isdigit() or int(s.camera) >= CAMERAS:
            self.camera_box.addItem(f"Camera {s.camera}", f"camera:{s.camera}")
        if s.source:
            self.camera_box.addItem(f"File: {Path(s.source).name}", f"file:{s.source}")
        self.camera_box.addItem("Video file...", "pick:")
        current = f"file:{s.source}" if s.source else f"camera:{s.camera}"
        self.camera_box.setCurrentIndex(max(0, self.camera_box.findData(current)))
        self.model_box.setCurrentIndex(max(0, self.model_box.findText(s.model)))
        self.background_box.setCurrentIndex(max(0, self.background_box.findData(s.background)))
        self.blur_slider.setValue(round(s.blur_strength))
        self.threshold_slider.setValue(round(s.threshold * 100))
        self.feather_spin.setValue(s.feather)
        self.smoothing_slider.setValue(round(s.smoothing * 100))
        self.mirror_check.setChecked(s.mirror)
        self.vcam_check.setChecked(s.virtual_camera)
        self.effect_check.setChecked(s.effect)
        self.frame_check.setChecked(s.auto_frame)
        for w in widgets:
            w.blockSignals(False)
        self.blur_slider.setEnabled(s.background == "blur")
        self.color_button.setEnabled(s.background == "color")
        self.file_button.setEnabled(s.background in ("image", "video"))
        # a swatch of the chosen colour, only while it is the active background (else unreadable when disabled)
        self.color_button.setStyleSheet(f"background-color: {s.color}" if s.background == "color" else "")

    def _camera_chosen(self, index: int) -> None:
        kind, _, value = str(self.camera_box.itemData(index)).partition(":")
        if kind == "pick":
            path, _ = QFileDialog.getOpenFileName(self, "Play a video file as the camera", "",
                                                  "Videos (*.mp4 *.avi *.mov *.mkv *.webm);;All files (*)")
            if not path:
                self._sync_controls()
                return
            kind, value = "file", path
        self.settings.source = value if kind == "file" else ""
        if kind == "camera":
            self.settings.camera = value
        self._changed(restart=True)

    def _model_chosen(self, index: int) -> None:
        model = self.model_box.itemText(index)
        if model != self.settings.model:
            self.settings.weights = ""  # a weights file belongs to one model: use the new model's own
        self._set("model", model, restart=True)

    def _background_chosen(self, index: int) -> None:
        kind = self.background_box.itemData(index)
        if kind in ("image", "video") and not getattr(self.settings, kind):
            self.settings.background = kind
            if not self._pick_file():
                self.settings.background = "blur"
                self._changed()
            return
        self._set("background", kind)

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(QColor(self.settings.color), self, "Background colour")
        if color.isValid():
            self.settings.background = "color"
            self._set("color", color.name())

    def _pick_file(self) -> bool:
        kind = self.settings.background if self.settings.background in ("image", "video") else "image"
        filt = ("Images (*.jpg *.jpeg *.png *.bmp *.webp)" if kind == "image"
                else "Videos (*.mp4 *.avi *.mov *.mkv *.webm)")
        path, _ = QFileDialog.getOpenFileName(self, f"Background {kind}", "", f"{filt};;All files (*)")
        if not path:
            return False
        setattr(self.settings, kind, path)
        self.settings.background = kind
        self._changed()
        return True


def _slider(lo: int, hi: int) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    return s
