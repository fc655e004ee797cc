"""The window as a real Qt window (QT_QPA_PLATFORM=offscreen, set in conftest): frames arrive from the
worker thread, a screenshot shows the composited frame at the right aspect ratio, hotkeys change the
state (and the settings file), and closing stops the worker and releases the source."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

pytest.importorskip("PySide6.QtWidgets")

from livefakes import (  # noqa: E402
    EXACT,
    SOURCE_BGR,
    HalfMask,
    NoDeviceBackend,
    RecordingBackend,
    SyntheticSource,
)
from PySide6.QtCore import QEventLoop, QRect, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from goselfies.gui.app import qt_application  # noqa: E402
from goselfies.gui.preview import fit_rect  # noqa: E402
from goselfies.gui.window import MainWindow  # noqa: E402
from goselfies.io.capture import Capture  # noqa: E402
from goselfies.live.pipeline import Pipeline, PipelineConfig  # noqa: E402
from goselfies.live.session import LiveSession, build_session  # noqa: E402
from goselfies.live.settings import LiveSettings, load_settings, save_settings  # noqa: E402

RED_RGB = (255, 0, 0)
SOURCE_RGB = SOURCE_BGR[::-1]


@pytest.fixture(scope="module")
def app():
    return qt_application()


def qwait(ms: int) -> None:
    """Run the Qt event loop for ``ms``. (QTest.qWait holds the GIL in PySide6 and would starve the
    pipeline's threads; a QEventLoop releases it, as the real app.exec() does.)"""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def qwait_until(cond, timeout=10.0) -> bool:
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        if cond():
            return True
        qwait(20)
    return cond()


def grab(widget) -> np.ndarray:
    """A screenshot of the widget as an RGB array."""
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h).reshape(h, img.bytesPerLine())
    return arr[:, : w * 3].reshape(h, w, 3).copy()


class Fakes:
    """A build function with a synthetic 16:9 camera and a half/half mask (or ``segmenter(settings)``:
    ``load_segmenter`` is the real one); builds as the window does (a model that cannot load falls back
    to the default); remembers its sources."""

    def __init__(self, width=320, height=180, segmenter=lambda s: HalfMask()):
        self.size = (width, height)
        self.segmenter = segmenter
        self.sources: list[SyntheticSource] = []

    def __call__(self, settings, say):
        return build_session(settings, say, fallback=True, source_factory=self._source,
                             segmenter_factory=self.segmenter)

    def _source(self, settings):
        src = SyntheticSource(*self.size, fps=30)
        self.sources.append(src)
        return src


def red_settings(**kw) -> LiveSettings:
    return LiveSettings(background="color", color="#ff0000", smoothing=0.0, **kw)


def test_screenshot_shows_composited_frame_not_stretched(app, tmp_path):
    fakes = Fakes(320, 180)
    win = MainWindow(red_settings(), settings_file=tmp_path / "gui.json", build=fakes)
    win.show()
    try:
        assert qwait_until(lambda: win.preview.frames_shown >= 3), win.errors
        qwait(50)
        shot = grab(win.preview)
        r = win.preview.image_rect()
        assert r.width() > 100
        assert abs(r.width() / r.height() - 16 / 9) < 0.02  # the frame's aspect ratio, never stretched
        # sample the lower half (the overlay sits top-left), away from the edges
        y = r.top() + int(r.height() * 0.75)
        left = shot[y, r.left() + r.width() // 4]
        right = shot[y, r.left() + 3 * r.width() // 4]
        assert np.abs(left.astype(int) - SOURCE_RGB).max() <= 3  # the person: camera pixels
        assert np.abs(right.astype(int) - RED_RGB).max() <= 3  # the background: replaced
        outside = shot[y, r.left() - 3] if r.left() >= 3 else shot[r.top() - 3, r.left() + 5]
        assert (outside <= 3).all()  # letterbox bars are black, the frame is not stretched into them
        assert any("fps" in line for line in win.preview.overlay) or qwait_until(
            lambda: any("fps" in line for line in win.preview.overlay), 2)
        assert any(line.startswith("segment") for line in win.preview.overlay)
    finally:
        win.close()
    assert not win.worker and fakes.sources[0].released


def test_hotkeys_change_state_pipeline_and_saved_settings(app, tmp_path):
    fakes = Fakes()
    path = tmp_path / "gui.json"
    win = MainWindow(red_settings(), settings_file=path, build=fakes)
    win.show()
    try:
        assert qwait_until(lambda: win.preview.frames_shown >= 2), win.errors
        p = win.pipeline
        QTest.keyClick(win, Qt.Key.Key_Space)
        assert win.settings.effect is False and p.effect is False
        n = win.preview.frames_shown
        assert qwait_until(lambda: win.preview.frames_shown >= n + 3)
        shot, r = grab(win.preview), win.preview.image_rect()
        right = shot[r.top() + int(r.height() * 0.75), r.left() + 3 * r.width() // 4]
        assert np.abs(right.astype(int) - SOURCE_RGB).max() <= 3  # effect off: the raw camera
        assert not win.effect_check.isChecked()
        QTest.keyClick(win, Qt.Key.Key_Space)
        assert p.effect is True
        QTest.keyClick(win, Qt.Key.Key_M)
        assert win.settings.mirror and p.capture.mirror and win.mirror_check.isChecked()
        QTest.keyClick(win, Qt.Key.Key_B)
        assert win.settings.background == "transparent"  # color -> (no image/video chosen) -> transparent
        assert p.background.spec == "transparent"
        assert "skipped Image and Video" in win.statusBar().currentMessage()  # and says so
        QTest.keyClick(win, Qt.Key.Key_B)
        assert win.settings.background == "green" and p.background.spec == "color:green"
        saved = json.loads(path.read_text())
        assert saved["mirror"] is True and saved["background"] == "green" and saved["effect"] is True
        QTest.keyClick(win, Qt.Key.Key_Q)
        assert qwait_until(lambda: not win.isVisible(), 3)
    finally:
        win.close()
    assert win.worker is None and fakes.sources[0].released
    again = load_settings(path)  # settings persist between runs
    assert again.mirror is True and again.background == "green"


def test_auto_frame_key_and_checkbox_reach_the_pipeline_and_are_saved(app, tmp_path):
    fakes = Fakes()
    path = tmp_path / "gui.json"
    win = MainWindow(red_settings(), settings_file=path, build=fakes)
    win.show()
    try:
        assert qwait_until(lambda: win.preview.frames_shown >= 2), win.errors
        p = win.pipeline
        assert not win.frame_check.isChecked() and p.path.auto_frame is False and p.path.crop is None
        QTest.keyClick(win, Qt.Key.Key_F)
        assert win.settings.auto_frame and p.path.auto_frame and win.frame_check.isChecked()
        assert json.loads(path.read_text())["auto_frame"] is True
        assert qwait_until(lambda: p.path.crop is not None)  # the live path frames its output now
        n = win.preview.frames_shown
        assert qwait_until(lambda: win.preview.frames_shown >= n + 3)
        win.frame_check.setChecked(False)
        assert not win.settings.auto_frame and not p.path.auto_frame
        assert qwait_until(lambda: p.path.crop is None)
        assert json.loads(path.read_text())["auto_frame"] is False
    finally:
        win.close()


def test_escape_closes_and_releases(app, tmp_path):
    fakes = Fakes()
    win = MainWindow(red_settings(), settings_file=tmp_path / "gui.json", build=fakes)
    closed = []
    win.closed.connect(lambda: closed.append(True))
    win.show()
    assert qwait_until(lambda: win.preview.frames_shown >= 1), win.errors
    worker = win.worker
    QTest.keyClick(win, Qt.Key.Key_Escape)
    assert qwait_until(lambda: closed, 3)
    assert not worker.running and fakes.sources[0].released


def test_controls_change_the_running_pipeline(app, tmp_path):
    fakes = Fakes()
    win = MainWindow(red_settings(), settings_file=tmp_path / "gui.json", build=fakes)
    win.show()
    try:
        assert qwait_until(lambda: win.preview.frames_shown >= 1), win.errors
        p = win.pipeline
        win.smoothing_slider.setValue(70)
        assert p.path.smoother.strength == pytest.approx(0.7)
        win.threshold_slider.setValue(50)
        assert p.path.post.threshold == pytest.approx(0.5)
        win.feather_spin.setValue(3.0)
        assert p.path.post.feather == pytest.approx(3.0)
        win.background_box.setCurrentIndex(win.background_box.findData("blur"))
        win.background_box.activated.emit(win.background_box.currentIndex())
        assert p.background.spec.startswith("blur")
        win.blur_slider.setValue(30)
        assert p.background.spec == "blur:30"
        # every slider shows its value
        assert (win.blur_value.text(), win.threshold_value.text(), win.smoothing_value.text()) == ("30", "0.50", "0.70")
        win.threshold_slider.setValue(0)
        win.smoothing_slider.setValue(0)
        assert (win.threshold_value.text(), win.smoothing_value.text()) == ("soft", "off")
        assert p.path.post.threshold is None and p.path.smoother.strength == 0
        assert not win.color_button.isEnabled() and win.blur_slider.isEnabled()
    finally:
        win.close()


def test_virtual_camera_failure_unticks_shows_the_steps_and_retry_needs_no_restart(app, tmp_path, monkeypatch):
    """pyvirtualcam's real Camera with registered backends: first none has a device (the box unticks
    itself, the steps for this system show in the window, the overlay has no virtualcam row, nothing
    ticked is saved); then a device appears and Retry sends to it, in the same session."""
    import pyvirtualcam
    from PySide6.QtGui import QGuiApplication
    from pyvirtualcam import camera

    from goselfies.io import virtualcam
    from goselfies.io.virtualcam import setup_help

    monkeypatch.setattr(camera, "BACKENDS", {})
    pyvirtualcam.register_backend("test-nodevice", NoDeviceBackend)
    monkeypatch.setattr(virtualcam, "_help_printed", False)
    RecordingBackend.instances.clear()
    path = tmp_path / "gui.json"
    fakes = Fakes()
    win = MainWindow(red_settings(), settings_file=path, build=fakes, find_cameras=None)
    win.show()
    try:
        assert qwait_until(lambda: win.preview.frames_shown >= 1), win.errors
        assert not win.vcam_help.isVisible()
        QTest.mouseClick(win.vcam_check, Qt.MouseButton.LeftButton)
        assert win.settings.virtual_camera and win.pipeline.sink("virtualcam") is not None
        assert qwait_until(lambda: not win.vcam_check.isChecked(), 5)  # unticked by itself
        assert win.vcam_help.isVisible()
        assert win.vcam_steps.toPlainText() == setup_help()  # this system's steps, the README's text
        assert "No v4l2 loopback device found" in win.vcam_reason.text()
        assert "Retry" in win.vcam_title.text() and win.vcam_retry.isVisible()
        assert not win.settings.virtual_camera and win.pipeline.sink("virtualcam") is None
        assert json.loads(path.read_text())["virtual_camera"] is False
        win._overlay_t = 0.0
        assert qwait_until(lambda: any(line.startswith("window") for line in win.preview.overlay))
        assert not any(line.startswith("virtualcam") for line in win.preview.overlay)  # only live outputs
        QTest.mouseClick(win.vcam_copy, Qt.MouseButton.LeftButton)
        assert QGuiApplication.clipboard().text() == setup_help()  # copyable
        pipeline, n = win.pipeline, win.preview.frames_shown
        assert qwait_until(lambda: win.preview.frames_shown >= n + 3)  # the preview never stopped

        pyvirtualcam.register_backend("test-recording", RecordingBackend)  # the device appears
        QTest.mouseClick(win.vcam_retry, Qt.MouseButton.LeftButton)
        assert qwait_until(lambda: RecordingBackend.instances and RecordingBackend.instances[0].frames, 5)
        assert qwait_until(lambda: not win.vcam_help.isVisible(), 5)
        assert win.vcam_check.isChecked() and win.pipeline is pipeline and len(fakes.sources) == 1  # no restart
        assert json.loads(path.read_text())["virtual_camera"] is True
        win._overlay_t = 0.0
        assert qwait_until(lambda: any(line.startswith("virtualcam") for line in win.preview.overlay))
        frame = RecordingBackend.instances[0].frames[-1].reshape(180, 320, 3)
        assert (frame[:, 200:] == (0, 0, 255)).all()  # the composited output (red background), BGR
    finally:
        win.close()
    assert RecordingBackend.instances[0].closed and fakes.sources[0].released


def test_real_segmenter_on_the_desk_video(app, tmp_path, data_dir, lite_weights):
    """The default build path: a video file as the camera and the real network, loaded in the worker."""
    video = data_dir / "videos" / "desk_960x540.mp4"
    s = LiveSettings(source=str(video), weights=str(lite_weights), size=64, device="cpu", background="blur")
    win = MainWindow(s, settings_file=tmp_path / "gui.json")
    win.show()
    try:
        assert qwait_until(lambda: win.preview.frames_shown >= 3, 30), win.errors
        assert win.preview.frame_size() == (960, 540)
        r = win.preview.image_rect()
        assert abs(r.width() / r.height() - 960 / 540) < 0.02
        source = win.pipeline.capture.source
    finally:
        win.close()
    assert source._reader is None  # the video file was released


def test_errors_are_shown_not_raised(app, tmp_path):
    s = LiveSettings(source=str(tmp_path / "missing.mp4"))
    win = MainWindow(s, settings_file=tmp_path / "gui.json")
    win.show()
    try:
        assert qwait_until(lambda: win.errors, 5)
        assert "no such video file" in win.errors[0] and "no such video file" in win.preview.message
        assert win.isVisible()
    finally:
        win.close()


def test_webcam_preview_mode_closes_when_frames_done(app):
    from goselfies.gui.app import run_preview

    src = SyntheticSource(fps=60)
    p = Pipeline(Capture(src), HalfMask(), PipelineConfig(post=EXACT, skip=False, max_frames=15))
    stats = run_preview(LiveSession(p, LiveSettings()))
    assert stats.frames_out == 15 and src.released


def test_fit_rect_keeps_aspect():
    for fw, fh in ((960, 540), (540, 960), (640, 480), (100, 100)):
        for aw, ah in ((800, 600), (300, 900), (1920, 1080)):
            r = fit_rect(fw, fh, QRect(0, 0, aw, ah))
            assert abs(r.width() / r.height() - fw / fh) < 0.02
            assert r.width() <= aw and r.height() <= ah and (r.width() == aw or r.height() == ah)


def test_settings_survive_corrupt_and_partial_files(tmp_path):
    path = tmp_path / "gui.json"
    path.write_text("{not json")
    assert load_settings(path) == LiveSettings()
    path.write_text(json.dumps({"mirror": True, "smoothing": "high", "background": "plasma", "extra": 1}))
    s = load_settings(path)
    assert s.mirror is True and s.smoothing == LiveSettings().smoothing and s.background == "blur"
    s.color, s.background = "#00ff00", "color"
    save_settings(s, path)
    assert load_settings(path).background_spec() == "color:#00ff00"
    assert LiveSettings(background="image").background_spec().startswith("blur")  # no file chosen yet


def test_painting_preview_does_not_leak_none_references(app):
    """PySide6-Essentials 6.12.0 on Python 3.11 dropped one reference to None per void QPainter call
    (a fatal none_dealloc after minutes of a call). Paint the overlay and the checkerboard thousands
    of times and check that None's refcount stays put."""
    import sys

    from PySide6.QtGui import QPainter, QPixmap

    from goselfies.gui.preview import PreviewWidget

    w = PreviewWidget()
    w.resize(320, 180)
    frame = np.zeros((90, 160, 4), np.uint8)
    frame[:, 80:] = (0, 0, 255, 255)  # right half opaque red, left half transparent
    w.set_frame(frame)
    w.overlay = ["30.0 fps   dropped 0", "segment      5.0 ms  p99    9.0"]
    target = QPixmap(320, 180)

    def paint(n: int) -> None:
        for _ in range(n):
            w.render(target)

    paint(50)  # warm caches (fonts, the checker brush)
    before = sys.getrefcount(None)
    paint(3000)
    drift = sys.getrefcount(None) - before
    assert abs(drift) < 100, f"None refcount drifted by {drift} over 3000 paints"
    img = target.toImage()
    # the transparent half shows the checkerboard (two greys), the opaque half is red
    greys = {img.pixelColor(x, 90).red() for x in range(20, 140, 3)}
    assert greys == {150, 200}
    assert img.pixelColor(250, 90).red() == 255 and img.pixelColor(250, 90).green() == 0
    del QPainter  # noqa: F821 - imported only to make sure the Qt GUI module loads here


def test_start_after_a_crash_uses_defaults(tmp_path, capsys):
    from goselfies.live.settings import SessionGuard

    path = tmp_path / "gui.json"
    save_settings(LiveSettings(background="transparent", virtual_camera=True), path)
    guard = SessionGuard(path)
    assert guard.start().background == "transparent"  # a clean start applies the saved settings
    # the process dies here: no guard.finish()
    again = SessionGuard(path).start()
    assert again == LiveSettings()
    assert "did not exit cleanly" in capsys.readouterr().err
    guard3 = SessionGuard(path)
    guard3.start()
    guard3.finish()
    assert SessionGuard(path).start().background == "transparent"  # still saved, back after a clean run


def model_items(win) -> list[str]:
    return [str(win.model_box.itemData(i)) for i in range(win.model_box.count())]


def pick_in_list(box, data: str) -> None:
    """Choose an entry of a combo box as a user does (its ``activated`` signal)."""
    i = box.findData(data)
    assert i >= 0, (data, [box.itemData(j) for j in range(box.count())])
    box.setCurrentIndex(i)
    box.activated.emit(i)


def test_a_model_that_cannot_load_keeps_the_running_one_and_nothing_is_saved(app, tmp_path, lite_weights,
                                                                             monkeypatch):
    """The real model loader: the list offers only runnable models; a model without weights, or a broken
    weights file, leaves the running network running (same pipeline, same camera), is not saved and
    says why in the panel; a good weights file and 'auto' are swapped in without a restart, and the label
    names what runs."""
    from PySide6.QtWidgets import QFileDialog

    from goselfies.engine.models import MODELS
    from goselfies.engine.networks import create_model
    from goselfies.engine.segmenter import runnable_models
    from goselfies.engine.weights import save_weights, shipped_weights
    from goselfies.live.session import load_segmenter

    path = tmp_path / "gui.json"
    fakes = Fakes(segmenter=load_segmenter)
    s = red_settings(weights=str(lite_weights), size=64, device="cpu", backend="torch")
    win = MainWindow(s, settings_file=path, build=fakes, find_cameras=None)
    win.show()
    try:
        assert qwait_until(lambda: win.preview.frames_shown >= 2, 30), win.errors
        items = model_items(win)
        assert "model:vgunet16" not in items and set(runnable_models()) < set(MODELS)  # not runnable: not offered
        assert items == ["model:auto", *(f"model:{m}" for m in runnable_models()), f"weights:{lite_weights}", "pick:"]
        assert win.model_label.text() == "lite (torch, cpu) at 64 px, from lite.safetensors"
        QTest.keyClick(win, Qt.Key.Key_M)  # something saved before
        saved = path.read_text()
        p = win.pipeline
        network = p.segment

        win.choose_model("vgunet16")
        assert win.model_label.text().startswith("Loading vgunet16...")
        assert qwait_until(lambda: win.model_error, 30)
        assert "vgunet16 cannot run" in win.model_error and '"Weights file..."' in win.model_error
        assert "--weights" not in win.model_error  # the window's words, not the command line's
        assert win.model_error_label.isVisible() and win.model_error_label.text() == win.model_error
        n = win.preview.frames_shown
        assert qwait_until(lambda: win.preview.frames_shown >= n + 3)  # still running ...
        assert win.pipeline is p and p.segment is network  # ... the same network
        assert (win.settings.model, win.settings.weights) == ("auto", str(lite_weights))
        assert path.read_text() == saved  # nothing saved
        assert win.model_box.currentData() == f"weights:{lite_weights}"
        assert win.model_label.text() == "lite (torch, cpu) at 64 px, from lite.safetensors"

        bad = tmp_path / "bad.safetensors"
        bad.write_bytes(b"not a weights file")
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
        pick_in_list(win.model_box, "pick:")  # "Weights file..."
        assert qwait_until(lambda: "bad.safetensors cannot run" in win.model_error, 30)
        assert "not a valid safetensors" in win.model_error
        assert p.segment is network and path.read_text() == saved and win.settings.weights == str(lite_weights)

        good = save_weights(create_model("lite"), tmp_path / "other.safetensors", "lite", {"train_size": 64})
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(good), ""))
        pick_in_list(win.model_box, "pick:")
        assert qwait_until(lambda: win.model_label.text().endswith("from other.safetensors"), 30)
        assert win.model_label.text() == "lite (torch, cpu) at 64 px, from other.safetensors"
        assert not win.model_error and not win.model_error_label.isVisible()
        assert win.pipeline is p and p.segment is not network and len(fakes.sources) == 1  # swapped, no restart
        assert json.loads(path.read_text())["weights"] == str(good)
        n = win.preview.frames_shown
        assert qwait_until(lambda: win.preview.frames_shown >= n + 3)

        pick_in_list(win.model_box, "model:auto")  # the shipped weights, at the size chosen before
        assert qwait_until(lambda: win.model_label.text().startswith("auto chose"), 60)
        assert win.model_label.text() == "auto chose tiny (torch, cpu) at 64 px"
        assert p.segment.weights_path == shipped_weights("tiny") and win.pipeline is p
        assert json.loads(path.read_text())["model"] == "auto" and json.loads(path.read_text())["weights"] == ""
    finally:
        win.close()
    assert fakes.sources[0].released


def test_a_saved_model_that_no_longer_loads_starts_with_the_default(app, tmp_path):
    """The next start is never black: the saved vgunet16 (no weights) gives way to the default model,
    the panel says why, and the default is what is saved now."""
    from goselfies.live.session import load_segmenter

    path = tmp_path / "gui.json"
    save_settings(red_settings(model="vgunet16"), path)

    def segmenter(s):  # the real loader for the saved model; the default one stands in cheaply
        return HalfMask() if s.same_model(LiveSettings()) else load_segmenter(s)

    win = MainWindow(load_settings(path), settings_file=path, build=Fakes(segmenter=segmenter), find_cameras=None)
    win.show()
    try:
        assert qwait_until(lambda: win.preview.frames_shown >= 2, 30), win.errors
        assert not win.errors
        shot, r = grab(win.preview), win.preview.image_rect()
        right = shot[r.top() + int(r.height() * 0.75), r.left() + 3 * r.width() // 4]
        assert np.abs(right.astype(int) - RED_RGB).max() <= 3  # composited, not black
        assert "vgunet16 cannot run" in win.model_error and "default model runs instead" in win.model_error
        assert win.model_error_label.isVisible()
        assert win.settings.model == "auto" and win.model_box.currentData() == "model:auto"
        assert win.model_label.text() == "auto chose HalfMask"
        assert json.loads(path.read_text())["model"] == "auto"
    finally:
        win.close()


def test_overlay_toggle_hides_it_and_is_saved(app, tmp_path):
    path = tmp_path / "gui.json"
    win = MainWindow(red_settings(), settings_file=path, build=Fakes(), find_cameras=None)
    win.show()

    def white_pixels() -> int:  # the overlay's text is white; the frame (orange-ish and red) has none
        return int((grab(win.preview)[4:60, 4:300] >= 240).all(axis=2).sum())

    try:
        win._overlay_t = 0.0
        assert qwait_until(lambda: any(line.startswith("latency") for line in win.preview.overlay)), win.errors
        latency = next(line for line in win.preview.overlay if line.startswith("latency"))
        assert "mask age" in latency  # beside the latency
        assert win.overlay_check.isChecked() and white_pixels() > 50
        QTest.keyClick(win, Qt.Key.Key_O)
        assert not win.settings.overlay and not win.preview.show_overlay and not win.overlay_check.isChecked()
        qwait(50)
        assert white_pixels() == 0
        assert json.loads(path.read_text())["overlay"] is False
        QTest.mouseClick(win.overlay_check, Qt.MouseButton.LeftButton)  # the checkbox does the same
        assert win.settings.overlay and json.loads(path.read_text())["overlay"] is True
        QTest.keyClick(win, Qt.Key.Key_O)
    finally:
        win.close()
    again = MainWindow(load_settings(path), settings_file=path, build=Fakes(), find_cameras=None, autostart=False)
    try:
        assert not again.settings.overlay and not again.overlay_check.isChecked() and not again.preview.show_overlay
    finally:
        again.close()


def test_camera_list_offers_the_cameras_that_open(app, tmp_path):
    """Probed once, in a thread, after the session started; the camera in use is not opened again."""
    calls = []

    def probe(skip=()):
        calls.append(tuple(skip))
        return [2, 5]

    win = MainWindow(red_settings(camera="0"), settings_file=tmp_path / "gui.json", build=Fakes(), find_cameras=probe)
    win.show()
    try:
        assert qwait_until(lambda: win.cameras is not None), win.errors
        assert calls == [(0,)]
        texts = [win.camera_box.itemText(i) for i in range(win.camera_box.count())]
        assert texts == ["Camera 0", "Camera 2", "Camera 5", "Video file..."]
        assert win.camera_box.currentText() == "Camera 0"
    finally:
        win.close()

    long = tmp_path / ("a_very_long_name_of_a_recording_" * 3 + "1280x720_30.mp4")
    win = MainWindow(red_settings(source=str(long)), settings_file=tmp_path / "gui.json", build=Fakes(),
                     find_cameras=lambda skip=(): [])
    win.show()
    try:
        assert qwait_until(lambda: win.cameras == []), win.errors
        box = win.camera_box
        texts = [box.itemText(i) for i in range(box.count())]
        assert texts[0] == "No camera found" and texts[2] == "Video file..." and len(texts) == 3
        assert not box.model().item(0).isEnabled()  # says so, cannot be chosen
        shown = box.currentText()
        assert shown.startswith("File: a_very") and shown.endswith("_30.mp4") and "…" in shown  # the end stays
        assert box.itemData(box.currentIndex(), Qt.ItemDataRole.ToolTipRole) == str(long)
    finally:
        win.close()


def test_the_window_prints_the_session_summary_line_at_exit(app, tmp_path, data_dir, lite_weights, capsys):
    """``goselfies gui`` closes with the line ``goselfies webcam`` starts its summary with."""
    import argparse
    import re

    from PySide6.QtWidgets import QApplication

    from goselfies.gui.app import add_arguments, run

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--source", str(data_dir / "videos" / "desk_960x540.mp4"), "--weights",
                              str(lite_weights), "--size", "64", "--device", "cpu", "--settings", str(tmp_path / "g.json")])

    def close_after_frames():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, MainWindow) and w.isVisible() and w.preview.frames_shown >= 5:
                w.close()
                return
        QTimer.singleShot(50, close_after_frames)

    QTimer.singleShot(50, close_after_frames)
    assert run(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and re.fullmatch(r"frames in: \d+  frames out: (\d+)  dropped: \d+  segmented: \d+ .*"
                                          r"CPU: \d+\.\d\d cores", out[0])
    assert int(out[0].split("frames out: ")[1].split()[0]) >= 5


def test_a_model_that_loads_after_the_window_closed_starts_nothing(app, tmp_path):
    import threading

    gate = threading.Event()

    def slow(settings):  # a model still loading when the window closes
        gate.wait(10)
        return HalfMask()

    fakes = Fakes()
    win = MainWindow(red_settings(), settings_file=tmp_path / "gui.json", build=fakes, find_cameras=None,
                     load_model=slow)
    win.show()
    assert qwait_until(lambda: win.preview.frames_shown >= 1), win.errors
    win.stop()  # no session: the window's own loader is used
    win.choose_model("quality")
    win.close()
    gate.set()
    from goselfies.gui import worker

    assert qwait_until(lambda: not worker._pending)  # the load's result was delivered ...
    assert win.worker is None and len(fakes.sources) == 1  # ... and started nothing
    assert win.settings.model == "auto"  # nor adopted


def test_the_window_offers_each_options_range_and_starts_at_its_default(app, tmp_path):
    """The controls span the options table's ranges (sliders in hundredths, open ends one step inside) and show
    the table's defaults on a first start."""
    from goselfies.options import OPTIONS

    fakes = Fakes(320, 180)
    win = MainWindow(LiveSettings(), settings_file=tmp_path / "gui.json", build=fakes)
    try:
        assert (win.smoothing_slider.minimum(), win.smoothing_slider.maximum()) == (0, 95)
        assert (win.threshold_slider.minimum(), win.threshold_slider.maximum()) == (0, 99)  # [0, 1): 0.99 at most
        assert (win.feather_spin.minimum(), win.feather_spin.maximum()) == (0.0, 50.0)
        assert (win.blur_slider.minimum(), win.blur_slider.maximum()) == (1, 200)  # (0, 200]
        assert win.smoothing_slider.value() == round(OPTIONS["smoothing"].default * 100)
        assert win.threshold_slider.value() == 0 and win.threshold_value.text() == "soft"
        assert win.feather_spin.value() == OPTIONS["feather"].default
        assert win.blur_slider.value() == OPTIONS["blur_strength"].default
    finally:
        win.close()
