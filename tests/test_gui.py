"""The window as a real Qt window (QT_QPA_PLATFORM=offscreen, set in conftest): frames arrive from the
worker thread, a screenshot shows the composited frame at the right aspect ratio, hotkeys change the
state (and the settings file), and closing stops the worker and releases the source."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

pytest.importorskip("PySide6.QtWidgets")

from PySide6.QtCore import QEventLoop, QRect, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from goselfies.capture import Capture  # noqa: E402
from goselfies.pipeline import Pipeline, PipelineConfig  # noqa: E402
from goselfies.settings import LiveSettings, load_settings, save_settings  # noqa: E402
from goselfies.gui.app import qt_application  # noqa: E402
from goselfies.gui.preview import fit_rect  # noqa: E402
from goselfies.gui.window import MainWindow  # noqa: E402
from goselfies.live import LiveSession, build_session  # noqa: E402
from livefakes import EXACT, SOURCE_BGR, HalfMask, SyntheticSource  # noqa: E402

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
    """A build function with a synthetic 16:9 camera and a half/half mask; remembers its sources."""

    def __init__(self, width=320, height=180):
        self.size = (width, height)
        self.sources: list[SyntheticSource] = []

    def __call__(self, settings, say):
        return build_session(settings, say, source_factory=self._source,
                             segmenter_factory=lambda s: HalfMask())

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
        assert not win.color_button.isEnabled() and win.blur_slider.isEnabled()
    finally:
        win.close()


def test_virtual_camera_toggle_without_device_keeps_window_running(app, tmp_path, monkeypatch, capsys):
    import pyvirtualcam
    from pyvirtualcam import camera

    from goselfies import virtualcam

    class NoDevice:
        def __init__(self, **kw):
            raise RuntimeError("No v4l2 loopback device found")

    monkeypatch.setattr(camera, "BACKENDS", {"none": NoDevice})
    monkeypatch.setattr(virtualcam, "_help_printed", False)
    assert pyvirtualcam.Camera  # the real API is what the sink calls
    win = MainWindow(red_settings(), settings_file=tmp_path / "gui.json", build=Fakes())
    win.show()
    try:
        assert qwait_until(lambda: win.preview.frames_shown >= 1), win.errors
        win.vcam_check.setChecked(True)
        assert win.pipeline.sink("virtualcam") is not None
        n = win.preview.frames_shown
        assert qwait_until(lambda: win.preview.frames_shown >= n + 5)  # still running
        assert qwait_until(lambda: "virtual camera" in win.statusBar().currentMessage(), 3)
        win.vcam_check.setChecked(False)
        assert win.pipeline.sink("virtualcam") is None
    finally:
        win.close()
    assert "modprobe v4l2loopback" in capsys.readouterr().err


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
    from goselfies.settings import SessionGuard

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
