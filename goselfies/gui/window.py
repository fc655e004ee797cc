"""The main window: live preview, controls, hotkeys, persisted settings.

Everything the user changes goes three ways at once: into ``LiveSettings`` (saved), into the
controls (so hotkeys and widgets agree) and into the running session (``LiveSession.apply``: live,
no restart) -- except the camera, which needs a new session and restarts the worker, and the model,
which loads beside the running one and is swapped in only once it loaded: a model that cannot load
leaves the running one as it was, is not saved, and the window says why.

No dead ends: whatever fails says so in the window, in words for the window (not command-line options),
and leaves something that works running.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from goselfies.engine.models import MODELS
from goselfies.engine.segmenter import runnable_models
from goselfies.errors import GoSelfiesError, MissingWeights
from goselfies.frame.backgrounds import KINDS, LIVE_KINDS
from goselfies.io.capture import find_cameras
from goselfies.io.virtualcam import NO_DEVICE, SYSTEM_NAMES, setup_help, this_system
from goselfies.live.pipeline import Pipeline
from goselfies.live.session import LiveSession, build_session, load_segmenter
from goselfies.live.settings import MODEL_FIELDS, LiveSettings, save_settings
from goselfies.options import OPTIONS, Option

from .preview import PreviewWidget, overlay_lines
from .worker import PipelineWorker, call_in_thread

Build = Callable[[LiveSettings, Callable[[str], None]], LiveSession]
LoadModel = Callable[[LiveSettings], Callable]
PANEL_WIDTH = 320
VIDEO_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv *.webm)"


def build_from_settings(s: LiveSettings, on_message: Callable[[str], None]) -> LiveSession:
    """The window's session; runs in the worker thread (the model loads there). A saved model that no
    longer loads falls back to the default one (the window then says why): the start is never black."""
    def explain(exc: GoSelfiesError) -> GoSelfiesError:
        return GoSelfiesError(f"{exc}: pick another camera or a video file in the camera list")

    return build_session(s, on_message, explain=explain, fallback=True)


def model_problem(exc: BaseException) -> str:
    """Why a model cannot run, in the window's words (the command line's name --weights)."""
    if isinstance(exc, MissingWeights):
        return f"no weights for '{exc.model}' are installed: pick \"Weights file...\" in the model list to load a .safetensors file"
    return str(exc)


class MainWindow(QMainWindow):
    """Preview + controls. ``build`` makes the session (default: from the settings); ``load_model`` loads a
    model chosen while no session runs (with one, the session's own loader is used); ``find_cameras``
    lists the cameras that open (called once, in a thread, given the index in use)."""

    closed = Signal()

    def __init__(self, settings: LiveSettings | None = None, *, settings_file: str | Path | None = None,
                 persist: bool = True, build: Build | None = None, controls: bool = True,
                 autostart: bool = True, close_when_done: bool = False, stop_timeout: float = 3.0,
                 load_model: LoadModel | None = None,
                 find_cameras: Callable[..., list[int]] | None = find_cameras):
        super().__init__()
        self.settings = settings or LiveSettings()
        self.settings_file = settings_file
        self.persist = persist
        self.build = build or build_from_settings
        self.load_model = load_model or load_segmenter
        self.find_cameras = find_cameras
        self.close_when_done = close_when_done
        self.stop_timeout = stop_timeout
        self.worker: PipelineWorker | None = None
        self.last_stats = None  # the newest stats of the running pipeline
        self.final_stats = None  # the last pipeline's, once it stopped
        self.last_info = None
        self.errors: list[str] = []
        self.model_error = ""  # why the last model choice (or the saved one) did not load
        self.cameras: list[int] | None = None  # the probe's answer; None: not probed yet
        self._probe_started = False
        self._model_gen = 0  # the newest model choice; older loads that finish later are dropped
        self._loading: LiveSettings | None = None
        self._closed = False  # a model or camera list that arrives after the close is dropped
        self._overlay_t = 0.0
        self.setWindowTitle("Go-selfies")
        self.preview = PreviewWidget()
        self.vcam_help = self._make_vcam_help()
        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.setSpacing(0)
        left.addWidget(self.preview, 1)
        left.addWidget(self.vcam_help)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(left, 1)
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
        b.ready.connect(self._on_ready)
        b.frame.connect(self._on_frame)
        b.message.connect(self._on_message)
        b.error.connect(self._on_error)
        b.finished.connect(self._on_finished)
        self._show_model()
        self.worker.start()

    def stop(self) -> bool:
        """Stop the worker (joins with a timeout); True if it ended in time."""
        if self.worker is None:
            return True
        w, self.worker = self.worker, None
        ok = w.stop(self.stop_timeout)
        if w.pipeline is not None:
            self.final_stats = w.pipeline.stats()
        for sig in (w.bridge.ready, w.bridge.frame, w.bridge.message, w.bridge.error, w.bridge.finished):
            try:
                sig.disconnect()
            except (RuntimeError, TypeError):
                pass
        return ok

    @property
    def session(self) -> LiveSession | None:
        return self.worker.session if self.worker else None

    @property
    def pipeline(self) -> Pipeline | None:
        return self.worker.pipeline if self.worker else None

    def _on_ready(self, session: LiveSession) -> None:
        if session.model_error is not None:  # the chosen model did not load: the default runs instead
            failed = self.settings.model if not self.settings.weights else Path(self.settings.weights).name
            self._adopt_model(session.settings)
            self._model_failed(f"{failed} cannot run ({model_problem(session.model_error)}); "
                               "the default model runs instead")
            self._save()
        self._show_model()
        self._probe_cameras()

    def _on_frame(self, frame, info, stats) -> None:
        session = self.session
        if session is not None and session.settings != self.settings:
            self._apply_live()  # changes made while the model was loading
        self.preview.set_frame(frame)
        self.last_info, self.last_stats = info, stats
        now = time.perf_counter()
        if now - self._overlay_t > 0.25:  # readable numbers: refresh 4x a second
            self._overlay_t = now
            self.preview.overlay = overlay_lines(stats) + ([] if self.settings.effect else ["effect off (space)"])
            self._check_virtual_camera()
        if self.worker is not None:
            self.worker.frame_shown()

    def _on_message(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text, 10000)

    def _on_error(self, text: str) -> None:
        self.errors.append(text)
        self.preview.set_message(text)
        self.statusBar().showMessage(text)
        self._show_model()
        self._probe_cameras()  # the source was released: every camera may be tried

    def _on_finished(self, stats) -> None:
        if stats is not None:
            self.last_stats = stats
        if self.close_when_done:
            self.close()

    # -- the model ----------------------------------------------------------------------------
    def choose_model(self, model: str, weights: str = "") -> None:
        """Load ``model`` (or a weights file) beside the running one and swap it in once loaded. One that
        cannot load leaves the running model running and the settings as they were (nothing saved)."""
        candidate = replace(self.settings, model=model, weights=weights)
        self._model_gen += 1  # whatever loads now is no longer wanted
        if candidate.same_model(self.settings):
            self._loading = None
            self._show_model()
            return
        gen, self._loading = self._model_gen, candidate
        session = self.session
        load = session.load_model if session is not None else self.load_model
        self._show_model()
        call_in_thread(lambda: load(candidate), lambda segment, error: self._model_loaded(gen, candidate, segment, error))

    def _model_loaded(self, gen: int, candidate: LiveSettings, segment, error) -> None:
        if gen != self._model_gen or self._closed:
            return  # a newer choice was made while this one loaded, or the window is gone
        self._loading = None
        if error is not None:
            name = Path(candidate.weights).name if candidate.weights else candidate.model
            self._model_failed(f"{name} cannot run: {model_problem(error)}")
            self._sync_controls()  # the list shows the running model again
            self._show_model()
            return
        self.model_error = ""
        self._adopt_model(candidate)
        session = self.session
        if session is not None:
            session.use_model(segment, candidate)
            self._show_model()
            self.statusBar().showMessage(f"model: {session.describe_model()}", 10000)
        else:
            self.start()  # no session ran (a camera problem, say): start one with the model that loads
        self._save()

    def _adopt_model(self, s: LiveSettings) -> None:
        for name in MODEL_FIELDS:
            setattr(self.settings, name, getattr(s, name))
        self._sync_controls()

    def _model_failed(self, text: str) -> None:
        self.model_error = text
        self.statusBar().showMessage(text, 15000)
        self._show_model()

    def model_text(self) -> str:
        """What the model label says: the running model, backend, device and size (and auto's choice)."""
        session = self.session
        if self._loading is not None:
            c = self._loading
            what = Path(c.weights).name if c.weights else c.model
            keeps = f" Meanwhile {session.describe_model()} runs." if session is not None else ""
            return f"Loading {what}...{keeps}"
        if session is None:
            return "starting..." if self.worker is not None and self.worker.running else "no model running"
        text = session.describe_model()
        s = session.settings
        if s.weights:
            return f"{text}, from {Path(s.weights).name}"
        return f"auto chose {text}" if s.model == "auto" else text

    def _show_model(self) -> None:
        if self.panel is None:
            return
        self.model_label.setText(self.model_text())
        self.model_error_label.setText(self.model_error)
        self.model_error_label.setVisible(bool(self.model_error))

    # -- the virtual camera -------------------------------------------------------------------
    def _check_virtual_camera(self) -> None:
        """A virtual camera that could not open (or failed) unticks itself and shows the setup steps;
        one that opened (after Retry) hides them."""
        pipeline = self.pipeline
        sink = pipeline.sink("virtualcam") if pipeline is not None else None
        if sink is None:
            return
        if not getattr(sink, "live", True):
            self.settings.virtual_camera = False
            self._changed()  # the sink is removed, the box unticked, the choice saved
            self.show_virtual_camera_help(getattr(sink, "error", ""))
        elif getattr(sink, "device", "") and self.vcam_help.isVisible():
            self.vcam_help.hide()

    def show_virtual_camera_help(self, reason: str = "") -> None:
        system = this_system()
        self.vcam_title.setText(f"<b>Virtual camera: {NO_DEVICE}.</b> Set one up ({SYSTEM_NAMES[system]}), "
                                "then press Retry: no restart needed.")
        self.vcam_reason.setText(f"pyvirtualcam said: {reason} ({time.strftime('%H:%M:%S')})" if reason else "")
        self.vcam_reason.setVisible(bool(reason))
        self.vcam_steps.setPlainText(setup_help(system))
        self.vcam_help.show()

    def retry_virtual_camera(self) -> None:
        self.vcam_reason.setText("trying again...")
        self.settings.virtual_camera = True
        self._changed()

    def _copy_steps(self) -> None:
        QGuiApplication.clipboard().setText(self.vcam_steps.toPlainText())
        self.statusBar().showMessage("setup steps copied", 3000)

    def _make_vcam_help(self) -> QFrame:
        box = QFrame()
        box.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QVBoxLayout(box)
        self.vcam_title = QLabel()
        self.vcam_title.setWordWrap(True)
        self.vcam_reason = QLabel()
        self.vcam_reason.setWordWrap(True)
        self.vcam_reason.setStyleSheet("color: gray")
        self.vcam_steps = QPlainTextEdit()
        self.vcam_steps.setReadOnly(True)
        self.vcam_steps.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.vcam_steps.setFont(font)
        self.vcam_steps.setFixedHeight(self.vcam_steps.fontMetrics().lineSpacing() * 8 + 12)
        buttons = QHBoxLayout()
        self.vcam_retry = QPushButton("Retry")
        self.vcam_copy = QPushButton("Copy steps")
        self.vcam_close = QPushButton("Close")
        self.vcam_retry.clicked.connect(self.retry_virtual_camera)
        self.vcam_copy.clicked.connect(self._copy_steps)
        self.vcam_close.clicked.connect(box.hide)
        for b in (self.vcam_retry, self.vcam_copy, self.vcam_close):
            b.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            buttons.addWidget(b)
        buttons.addStretch(1)
        for w in (self.vcam_title, self.vcam_reason, self.vcam_steps):
            lay.addWidget(w)
        lay.addLayout(buttons)
        box.hide()
        return box

    # -- cameras ------------------------------------------------------------------------------
    def _probe_cameras(self) -> None:
        """Once, after the first session started (or failed): which cameras open. The one in use is not
        opened again (it works: it runs); each other one is opened, read once and released, in a thread."""
        if self._probe_started or self.panel is None or self.find_cameras is None:
            return
        self._probe_started = True
        s, session = self.settings, self.session
        in_use = (int(s.camera),) if session is not None and not s.source and s.camera.isdigit() else ()
        probe = self.find_cameras
        call_in_thread(lambda: sorted({*probe(skip=in_use), *in_use}), self._cameras_found)

    def _cameras_found(self, cameras, error) -> None:
        if self._closed:
            return
        self.cameras = list(cameras or [])
        if error is not None:
            self.statusBar().showMessage(f"cannot list the cameras: {error}", 10000)
        self._sync_controls()

    # -- hotkeys and state -------------------------------------------------------------------
    def _hotkeys(self) -> None:
        for key, slot in ((Qt.Key.Key_Space, self.toggle_effect), (Qt.Key.Key_M, self.toggle_mirror),
                          (Qt.Key.Key_B, self.next_background), (Qt.Key.Key_O, self.toggle_overlay),
                          (Qt.Key.Key_F, self.toggle_auto_frame), (Qt.Key.Key_Q, self.close),
                          (Qt.Key.Key_Escape, self.close)):
            QShortcut(QKeySequence(key), self, activated=slot)

    def toggle_effect(self) -> None:
        self.settings.effect = not self.settings.effect
        self._changed()

    def toggle_mirror(self) -> None:
        self.settings.mirror = not self.settings.mirror
        self._changed()

    def toggle_overlay(self) -> None:
        self.settings.overlay = not self.settings.overlay
        self._changed()

    def toggle_auto_frame(self) -> None:
        self.settings.auto_frame = not self.settings.auto_frame
        self._changed()

    def next_background(self) -> None:
        skipped = self.settings.skipped_backgrounds()
        self.settings.background = self.settings.next_background()
        self._changed()
        if skipped:
            names = " and ".join(KINDS[k] for k in skipped)
            how = "pick it in the Background list" if self.panel is not None else "-b image:PATH or -b video:PATH"
            self.statusBar().showMessage(f"b skipped {names}: {'they need' if len(skipped) > 1 else 'it needs'} "
                                         f"a file first ({how})", 8000)

    def _changed(self, restart: bool = False) -> None:
        """Push the settings to the controls, the pipeline (live) and the settings file."""
        self._sync_controls()
        if restart:
            self.start()
        else:
            self._apply_live()
        self._save()

    def _apply_live(self) -> None:
        session = self.session
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
        self._closed = True
        self.stop()
        self._save()
        self.closed.emit()
        super().closeEvent(event)

    # -- controls -----------------------------------------------------------------------------
    def _make_controls(self) -> QWidget:
        box = QWidget()
        form = QFormLayout(box)
        self.camera_box = QComboBox()
        self.model_box = QComboBox()
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.model_error_label = QLabel()
        self.model_error_label.setWordWrap(True)
        self.model_error_label.setStyleSheet("color: #d04040")
        self.model_error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for combo in (self.camera_box, self.model_box):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        self.background_box = QComboBox()
        for kind in LIVE_KINDS:
            self.background_box.addItem(KINDS[kind], kind)
        self.blur_slider, blur_row, self.blur_value = _slider(*_steps(OPTIONS["blur_strength"], 1))
        self.color_button = QPushButton("Pick colour...")
        self.file_button = QPushButton("Choose file...")
        self.threshold_slider, threshold_row, self.threshold_value = _slider(*_steps(OPTIONS["threshold"], 100))
        self.feather_spin = QDoubleSpinBox()
        self.feather_spin.setRange(OPTIONS["feather"].low, OPTIONS["feather"].high)
        self.feather_spin.setSingleStep(0.5)
        self.feather_spin.setSuffix(" px")
        self.smoothing_slider, smoothing_row, self.smoothing_value = _slider(*_steps(OPTIONS["smoothing"], 100))
        self.mirror_check = QCheckBox("Mirror (m)")
        self.vcam_check = QCheckBox("Virtual camera")
        self.effect_check = QCheckBox("Background effect (space)")
        self.overlay_check = QCheckBox("Overlay: FPS and timings (o)")
        self.frame_check = QCheckBox("Auto-frame (f)")
        self.hint = QLabel("space: effect  m: mirror  b: next background  f: auto-frame  o: overlay  q/Esc: quit")
        self.hint.setWordWrap(True)
        for label, w in (("Camera", self.camera_box), ("Model", self.model_box), ("", self.model_label),
                         ("", self.model_error_label), ("Background", self.background_box),
                         ("Blur strength", blur_row), ("Colour", self.color_button), ("Image/video", self.file_button),
                         ("Threshold", threshold_row), ("Feather", self.feather_spin),
                         ("Smoothing", smoothing_row), ("", self.mirror_check),
                         ("", self.vcam_check), ("", self.effect_check), ("", self.frame_check),
                         ("", self.overlay_check), ("", self.hint)):
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
        self.vcam_check.toggled.connect(self._vcam_toggled)
        self.effect_check.toggled.connect(lambda v: self._set("effect", bool(v)))
        self.overlay_check.toggled.connect(lambda v: self._set("overlay", bool(v)))
        self.frame_check.toggled.connect(lambda v: self._set("auto_frame", bool(v)))
        scroll = QScrollArea()
        scroll.setWidget(box)
        scroll.setWidgetResizable(True)
        scroll.setFixedWidth(PANEL_WIDTH)
        return scroll

    def _set(self, name: str, value, restart: bool = False) -> None:
        if getattr(self.settings, name) != value:
            setattr(self.settings, name, value)
            self._changed(restart)

    def _vcam_toggled(self, on: bool) -> None:
        if on and self.vcam_help.isVisible():
            self.vcam_reason.setText("trying again...")
        self._set("virtual_camera", bool(on))

    def _sync_controls(self) -> None:
        s = self.settings
        self.preview.show_overlay = s.overlay
        self.preview.update()
        if self.panel is None:
            return
        widgets = (self.camera_box, self.model_box, self.background_box, self.blur_slider, self.threshold_slider,
                   self.feather_spin, self.smoothing_slider, self.mirror_check, self.vcam_check, self.effect_check,
                   self.frame_check, self.overlay_check)
        for w in widgets:
            w.blockSignals(True)
        self._fill_cameras()
        self._fill_models()
        self.background_box.setCurrentIndex(max(0, self.background_box.findData(s.background)))
        self.blur_slider.setValue(round(s.blur_strength))
        self.threshold_slider.setValue(round(s.threshold * 100))
        self.feather_spin.setValue(s.feather)
        self.smoothing_slider.setValue(round(s.smoothing * 100))
        self.mirror_check.setChecked(s.mirror)
        self.vcam_check.setChecked(s.virtual_camera)
        self.effect_check.setChecked(s.effect)
        self.overlay_check.setChecked(s.overlay)
        self.frame_check.setChecked(s.auto_frame)
        for w in widgets:
            w.blockSignals(False)
        self.blur_value.setText(f"{s.blur_strength:g}")
        self.threshold_value.setText(f"{s.threshold:.2f}" if s.threshold > 0 else "soft")
        self.smoothing_value.setText(f"{s.smoothing:.2f}" if s.smoothing > 0 else "off")
        self.blur_slider.setEnabled(s.background == "blur")
        self.color_button.setEnabled(s.background == "color")
        self.file_button.setEnabled(s.background in ("image", "video"))
        # a swatch of the chosen colour, only while it is the active background (else unreadable when disabled)
        self.color_button.setStyleSheet(f"background-color: {s.color}" if s.background == "color" else "")
        self._show_model()

    def _fill_cameras(self) -> None:
        """The cameras that open (once probed), the video file in use, and 'Video file...'."""
        s, box = self.settings, self.camera_box
        box.clear()
        current = f"file:{s.source}" if s.source else f"camera:{s.camera}"
        cameras = [str(i) for i in self.cameras] if self.cameras is not None else []
        for c in cameras:
            box.addItem(f"Camera {c}", f"camera:{c}")
        if not s.source and s.camera not in cameras:  # the choice in use, found or not
            running = self.worker is not None and self.worker.running
            note = " (cannot open)" if self.cameras is not None and not running else ""
            box.addItem(f"Camera {s.camera}{note}", f"camera:{s.camera}")
        if self.cameras == []:
            box.addItem("No camera found")
            box.model().item(box.count() - 1).setEnabled(False)
        if s.source:
            self._add_file_item(box, "File: ", s.source, f"file:{s.source}")
        box.addItem("Video file...", "pick:")
        box.setCurrentIndex(max(0, box.findData(current)))

    def _fill_models(self) -> None:
        """auto, the models with shipped weights, a weights file in use, and 'Weights file...'."""
        s, box = self.settings, self.model_box
        box.clear()
        for name in ("auto", *runnable_models()):
            box.addItem(name, f"model:{name}")
            tip = "tiny live on a CPU, quality on a GPU" if name == "auto" else MODELS[name].description
            box.setItemData(box.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        if s.weights:
            self._add_file_item(box, "", s.weights, f"weights:{s.weights}")
        box.addItem("Weights file...", "pick:")
        current = f"weights:{s.weights}" if s.weights else f"model:{s.model}"
        box.setCurrentIndex(max(0, box.findData(current)))

    def _add_file_item(self, box: QComboBox, prefix: str, path: str, data: str) -> None:
        """A file's name, shortened in the middle to fit the panel (the extension stays); the full path
        is the tooltip and the list shows it whole."""
        room = PANEL_WIDTH - 120
        name = box.fontMetrics().elidedText(prefix + Path(path).name, Qt.TextElideMode.ElideMiddle, room)
        box.addItem(name, data)
        box.setItemData(box.count() - 1, path, Qt.ItemDataRole.ToolTipRole)

    def _camera_chosen(self, index: int) -> None:
        kind, _, value = str(self.camera_box.itemData(index)).partition(":")
        if kind == "pick":
            path, _ = QFileDialog.getOpenFileName(self, "Play a video file as the camera", "",
                                                  f"{VIDEO_FILTER};;All files (*)")
            if not path:
                self._sync_controls()
                return
            kind, value = "file", path
        if kind not in ("file", "camera"):
            self._sync_controls()
            return
        self.settings.source = value if kind == "file" else ""
        if kind == "camera":
            self.settings.camera = value
        self._changed(restart=True)

    def _model_chosen(self, index: int) -> None:
        kind, _, value = str(self.model_box.itemData(index)).partition(":")
        if kind == "pick":
            path, _ = QFileDialog.getOpenFileName(self, "Weights file", "", "Weights (*.safetensors);;All files (*)")
            if not path:
                self._sync_controls()
                return
            kind, value = "weights", path
        if kind == "weights":
            self.choose_model("auto", value)  # the file says which network it is for
        else:
            self.choose_model(value)  # a registry model runs its own shipped weights

    def _background_chosen(self, index: int) -> None:
        kind = self.background_box.itemData(index)
        if self.settings.needs_file(kind):
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
        filt = "Images (*.jpg *.jpeg *.png *.bmp *.webp)" if kind == "image" else VIDEO_FILTER
        path, _ = QFileDialog.getOpenFileName(self, f"Background {kind}", "", f"{filt};;All files (*)")
        if not path:
            return False
        setattr(self.settings, kind, path)
        self.settings.background = kind
        self._changed()
        return True


def _steps(option: Option, scale: int) -> tuple[int, int]:
    """A slider's whole steps over the option's range, in 1/``scale`` units (an open end one step inside)."""
    return (round(option.low * scale) + option.open_low, round(option.high * scale) - option.open_high)


def _slider(lo: int, hi: int) -> tuple[QSlider, QWidget, QLabel]:
    """A slider with its value beside it: (slider, the row to lay out, the value label)."""
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    value = QLabel()
    value.setMinimumWidth(QLabel("0.00 ").sizeHint().width())
    value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(s, 1)
    lay.addWidget(value)
    s.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    return s, row, value
