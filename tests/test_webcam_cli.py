"""``goselfies webcam`` / ``goselfies gui`` from the command line: the Done-when command (shorter),
the exit summary, the one-line errors (no camera -> names --source; no display -> names --no-window)."""
from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from goselfies.cli import COMMANDS, main
from goselfies.errors import GoSelfiesError
from goselfies.io.capture import CameraSource


@pytest.fixture
def headless(monkeypatch):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def no_camera(monkeypatch):
    def missing(self):
        raise GoSelfiesError(f"cannot open camera {self.device}")

    monkeypatch.setattr(CameraSource, "open", missing)


def desk(data_dir):
    return str(data_dir / "videos" / "desk_960x540.mp4")


def test_commands_registered():
    assert "webcam" in COMMANDS and "gui" in COMMANDS


def test_webcam_source_no_window_record_prints_summary(data_dir, lite_weights, tmp_path, capsys, headless):
    out = tmp_path / "out.mp4"
    rc = main(["webcam", "--source", desk(data_dir), "--no-window", "--frames", "40", "--record", str(out),
               "--background", "blur", "--weights", str(lite_weights), "--size", "64", "--backend", "torch"])
    assert rc == 0
    captured = capsys.readouterr()
    assert "frames in: " in captured.out and "frames out: 40" in captured.out and "dropped: " in captured.out
    for stage in ("stage", "mean ms", "p99 ms", "capture", "segment", "composite", "record", "latency"):
        assert stage in captured.out
    assert "Traceback" not in captured.err
    reader = cv2.VideoCapture(str(out))
    n, w, h = (int(reader.get(p)) for p in (cv2.CAP_PROP_FRAME_COUNT, cv2.CAP_PROP_FRAME_WIDTH,
                                            cv2.CAP_PROP_FRAME_HEIGHT))
    ok, first = reader.read()
    reader.release()
    assert (n, w, h) == (40, 960, 540) and ok
    src = cv2.VideoCapture(desk(data_dir))
    _, raw = src.read()
    src.release()
    assert np.abs(first.astype(int) - raw).mean() > 2  # the composited stream, not the camera's


def test_done_when_command_in_a_subprocess(data_dir, lite_weights, tmp_path):
    """The issue's command as a user types it (fewer frames, to stay fast), headless."""
    out = tmp_path / "out.mp4"
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY",
                                                                           "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "-m", "goselfies", "webcam", "--source", desk(data_dir), "--no-window",
                        "--frames", "30", "--record", str(out), "--background", "blur",
                        "--weights", str(lite_weights), "--size", "64"],
                       capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, r.stderr
    assert "frames out: 30" in r.stdout and "p99 ms" in r.stdout
    assert out.is_file()


def test_no_camera_and_no_source_names_source(capsys, no_camera, headless):
    rc = main(["webcam", "--no-window"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1
    assert "--source" in err and "camera" in err and "Traceback" not in err


def test_missing_display_names_no_window(capsys, headless, data_dir):
    rc = main(["webcam", "--source", desk(data_dir)])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and "--no-window" in err
    rc = main(["gui"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and "display" in err


def test_goselfies_gui_entry_point_without_display(capsys, headless):
    from goselfies.gui.app import main as gui_main

    assert gui_main([]) == 1
    assert "no display" in capsys.readouterr().err


@pytest.mark.parametrize("args, needle", [
    (["--camera", "0", "--source", "x.mp4"], "either --camera or --source"),
    (["--source", "x.mp4", "--smoothing", "1.5"], "--smoothing"),
    (["--source", "x.mp4", "--frames", "0"], "--frames"),
    (["--once"], "--once"),
    (["--source", "x.mp4", "--background", "plasma"], "unknown background"),
    (["--source", "/nonexistent/video.mp4"], "no such video file"),
])
def test_bad_options_are_one_line_errors(args, needle, capsys, headless):
    rc = main(["webcam", "--no-window", *args])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and needle in err and len(err.splitlines()) == 1


def test_record_needs_mp4(data_dir, lite_weights, tmp_path, capsys, headless):
    rc = main(["webcam", "--source", desk(data_dir), "--no-window", "--frames", "2", "--record",
               str(tmp_path / "x.avi"), "--weights", str(lite_weights), "--size", "64"])
    assert rc == 1 and ".mp4" in capsys.readouterr().err


def test_virtual_camera_without_device_still_runs(data_dir, lite_weights, capsys, headless, monkeypatch):
    from pyvirtualcam import camera

    from goselfies.io import virtualcam

    class NoDevice:
        def __init__(self, **kw):
            raise RuntimeError("No v4l2 loopback device found at /dev/video[0-99].")

    monkeypatch.setattr(camera, "BACKENDS", {"v4l2loopback": NoDevice})
    monkeypatch.setattr(virtualcam, "_help_printed", False)
    rc = main(["webcam", "--source", desk(data_dir), "--no-window", "--frames", "10", "--virtual-camera",
               "--weights", str(lite_weights), "--size", "64", "--backend", "torch"])
    captured = capsys.readouterr()
    assert rc == 0 and "frames out: 10" in captured.out
    assert captured.err.count("virtual camera: no virtual camera") == 1


def test_once_plays_a_short_video_to_its_end(tmp_path, lite_weights, capsys, headless):
    path = tmp_path / "short.mp4"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 50, (64, 48))
    for i in range(8):
        w.write(np.full((48, 64, 3), 20 * i, np.uint8))
    w.release()
    rc = main(["webcam", "--source", str(path), "--once", "--no-window", "--weights", str(lite_weights),
               "--size", "64", "--backend", "torch"])
    out = capsys.readouterr().out
    assert rc == 0 and "frames in: 8" in out


def test_real_sigint_finishes_the_recording(data_dir, lite_weights, tmp_path):
    """Ctrl-C sent to a real process: it exits cleanly (code 130, no traceback) and the recording is a
    complete, readable video, not a partial file."""
    import os
    import signal
    import time

    out = tmp_path / "rec.mp4"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for var in ("DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(var, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "goselfies", "webcam", "--source", desk(data_dir), "--no-window", "--record", str(out),
         "--weights", str(lite_weights), "--size", "64", "--backend", "torch"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 120
        partial = [p for p in tmp_path.iterdir()]
        while time.time() < deadline and proc.poll() is None:
            partial = list(tmp_path.iterdir())
            if partial:  # the recorder has started writing frames
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(3.0)  # a few seconds of frames
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (0, 130), stderr
    assert "Traceback" not in stderr
    assert "frames out: " in stdout
    assert [p.name for p in tmp_path.iterdir()] == ["rec.mp4"]  # no temporary file left behind
    reader = cv2.VideoCapture(str(out))
    n = 0
    while reader.read()[0]:
        n += 1
    reader.release()
    assert n >= 5


def test_a_named_camera_that_cannot_open_is_said_once(capsys, no_camera, headless):
    rc = main(["webcam", "--camera", "3", "--no-window"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1
    assert err.count("cannot open camera 3") == 1 and "--source" in err


@pytest.mark.parametrize("command", ["gui", "webcam"])
def test_help_lists_every_registered_model(command, capsys):
    from goselfies.engine.models import MODELS

    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "quality" in MODELS
    assert f"({', '.join(sorted(MODELS))})" in out
