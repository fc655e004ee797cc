"""The virtual camera through pyvirtualcam's own ``register_backend``: a user-space backend stands in
for the device and records what ``Camera.send`` delivers. And the no-device path."""
from __future__ import annotations

import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import pyvirtualcam
from livefakes import (
    EXACT,
    SOURCE_BGR,
    HalfMask,
    NoDeviceBackend,
    Recorder,
    RecordingBackend,
    SyntheticSource,
)

from goselfies.io import virtualcam
from goselfies.io.capture import Capture
from goselfies.io.sinks import make_sink
from goselfies.io.virtualcam import (
    LINUX_MODPROBE,
    VirtualCamera,
    VirtualCameraConfig,
    setup_help,
    to_bgr,
)
from goselfies.live.pipeline import Pipeline, PipelineConfig


@pytest.fixture(autouse=True)
def backends(monkeypatch):
    """Only our backends, and the 'help printed once' flag reset for each test."""
    from pyvirtualcam import camera

    monkeypatch.setattr(camera, "BACKENDS", dict(camera.BACKENDS))
    pyvirtualcam.register_backend("goselfies-recording", RecordingBackend)
    pyvirtualcam.register_backend("goselfies-nodevice", NoDeviceBackend)
    monkeypatch.setattr(virtualcam, "_help_printed", False)
    RecordingBackend.instances.clear()


def test_virtual_camera_sink_sends_composited_frames_at_fixed_fps():
    src = SyntheticSource(width=160, height=90, fps=30)
    rec = Recorder()
    vcam = make_sink("virtualcam", fps=30, backend="goselfies-recording")
    p = Pipeline(Capture(src), HalfMask(), PipelineConfig(post=EXACT, skip=False, background="color:#ff0000", max_frames=30),
                 [make_sink("window", callback=rec), vcam])
    t0 = time.perf_counter()
    p.run()
    dt = time.perf_counter() - t0
    (backend,) = RecordingBackend.instances
    assert backend.closed and (backend.width, backend.height, backend.fps) == (160, 90, 30)
    assert backend.fourcc == pyvirtualcam.util.encode_fourcc(pyvirtualcam.PixelFormat.BGR.value)
    n = len(backend.frames)
    assert 0.4 * 30 * dt <= n <= 1.3 * 30 * dt + 3  # driven at its own fixed rate
    outputs = {f.tobytes() for f in rec.frames}
    for flat in backend.frames:
        assert flat.size == 160 * 90 * 3
        img = flat.reshape(90, 160, 3)
        assert img.tobytes() in outputs  # exactly a composited output frame ...
        assert (img[:, 80:] == (0, 0, 255)).all()  # ... background replaced (red), not the raw frame
        assert (img[5:, :80] == SOURCE_BGR).all()  # the person half untouched


def test_virtual_camera_resends_last_frame_when_pipeline_is_late():
    cam = VirtualCamera(VirtualCameraConfig(fps=50, backend="goselfies-recording"))
    frame = np.full((48, 64, 3), 7, np.uint8)
    cam.send(frame)
    time.sleep(0.3)  # no new frames for 0.3 s: the device must still get ~50 fps
    cam.close()
    (backend,) = RecordingBackend.instances
    assert len(backend.frames) >= 8
    assert all((f == 7).all() for f in backend.frames)
    assert cam.frames_sent == len(backend.frames)


def test_frames_of_other_sizes_and_formats_are_fitted_to_the_device():
    cam = VirtualCamera(VirtualCameraConfig(fps=100, width=64, height=48, backend="goselfies-recording"))
    cam.send(np.zeros((96, 128, 4), np.uint8))  # transparent output: keyed on green
    time.sleep(0.05)
    cam.send(np.full((480, 640), 255, np.uint8))  # a mask: gray
    time.sleep(0.05)
    cam.close()
    frames = [f.reshape(48, 64, 3) for f in RecordingBackend.instances[0].frames]
    assert (frames[0] == (0, 255, 0)).all() and (frames[-1] == 255).all()


def test_a_new_aspect_mid_stream_is_letterboxed_not_stretched():
    """A camera switch from 16:9 to 4:3: the device keeps its size, the picture keeps its shape."""
    cam = VirtualCamera(VirtualCameraConfig(fps=100, backend="goselfies-recording"))
    cam.send(np.full((90, 160, 3), 50, np.uint8))
    time.sleep(0.05)
    square = np.zeros((120, 120, 3), np.uint8)
    square[:, :60] = 200  # left half bright: a stretch would move the edge away from the centre
    cam.send(square)
    time.sleep(0.05)
    cam.close()
    last = RecordingBackend.instances[0].frames[-1].reshape(90, 160, 3)
    assert (last[:, :35] == 0).all() and (last[:, -35:] == 0).all()  # bars left and right
    assert (last[:, 36:79] == 200).all() and (last[:, 81:124] == 0).all()  # 90x90 picture, edge at centre


def test_no_device_keeps_running_and_prints_setup_help_once(capsys):
    src = SyntheticSource(fps=60)
    messages = []
    sinks = [make_sink("virtualcam", fps=30, backend="goselfies-nodevice", on_message=messages.append)]
    p = Pipeline(Capture(src), HalfMask(), PipelineConfig(post=EXACT, skip=False, max_frames=10), sinks)
    assert p.run().frames_out == 10  # the app keeps running without the device
    # a second camera in the same process (the GUI toggling it on again): no second help text
    p2 = Pipeline(Capture(SyntheticSource(fps=60)), HalfMask(), PipelineConfig(post=EXACT, skip=False, max_frames=5),
                  [make_sink("virtualcam", fps=30, backend="goselfies-nodevice")])
    assert p2.run().frames_out == 5
    err = capsys.readouterr().err
    assert err.count("virtual camera: no virtual camera") == 1
    assert textwrap.indent(setup_help(), "    ") in err  # the steps, indented under their heading
    assert "pyvirtualcam said: " in err and "No v4l2 loopback device found" in err
    assert messages and "unavailable" in messages[0]
    assert src.released


def test_setup_help_per_platform():
    linux = setup_help("Linux")
    assert 'sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label="Go-selfies"' in linux
    assert LINUX_MODPROBE in linux
    for system in ("Windows", "Darwin"):
        assert "OBS Virtual Camera" in setup_help(system) and "OBS Studio" in setup_help(system)


def test_the_readme_quotes_the_setup_steps_word_for_word():
    """One text: what the window shows and the terminal prints is what the README says, for every system."""
    readme = (Path(virtualcam.__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for system, name in virtualcam.SYSTEM_NAMES.items():
        assert f"**{name}**\n\n" + textwrap.indent(setup_help(system), "    ") + "\n" in readme
    assert "start Go-selfies again" not in " ".join(readme.split())  # no restart is needed
    assert "again" in setup_help() and "Retry" in setup_help()


def test_to_bgr():
    assert to_bgr(np.zeros((4, 4, 3), np.uint8)).shape == (4, 4, 3)
    assert to_bgr(np.zeros((4, 4), np.uint8)).shape == (4, 4, 3)
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = 100
    rgba[..., 3] = 255
    assert (to_bgr(rgba) == 100).all()


@pytest.mark.parametrize("bad, said", [(np.zeros((90, 160, 3), np.float32), "float32 array of shape (90, 160, 3)"),
                                       (np.zeros((90, 160, 2), np.uint8), "uint8 array of shape (90, 160, 2)"),
                                       (np.zeros((1, 160, 3), np.uint8), "uint8 array of shape (1, 160, 3)"),
                                       ([[0, 0], [0, 0]], "list")])
def test_every_sink_checks_what_it_is_sent(tmp_path, bad, said):
    """As pyvirtualcam's ``send``: a frame that is not a uint8 gray, BGR or BGRA image is one line naming the sink
    and what it got, before anything is shown, written or sent (the recording's file is not even started)."""
    import re

    from goselfies.errors import GoSelfiesError
    from goselfies.io.sinks import SINKS

    shown = []
    sinks = {"window": make_sink("window", callback=lambda f, i: shown.append(f)),
             "record": make_sink("record", path=tmp_path / "rec.mp4"),
             "virtualcam": make_sink("virtualcam", fps=30, backend="goselfies-recording")}
    assert set(sinks) == set(SINKS)  # every registered sink
    for name, sink in sinks.items():
        with pytest.raises(GoSelfiesError, match=rf"^{name} sink: expected a uint8 image .* got a {re.escape(said)}$"):
            sink.send(bad, None)
        sink.close(ok=False)
    assert shown == [] and RecordingBackend.instances == [] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target", ["out.mp4", "seq/frame_%05d.png"])
def test_every_writer_checks_what_it_is_given(tmp_path, target):
    """A video or PNG-sequence writer given a frame that is not a uint8 image says so in one line naming the file,
    and its abort leaves nothing behind."""
    import re

    from goselfies.errors import GoSelfiesError
    from goselfies.io.media import open_video_output

    writer = open_video_output(tmp_path / target, 30.0, (64, 48))
    named = re.escape(str(tmp_path / target.split("/")[0]))
    with pytest.raises(GoSelfiesError, match=rf"^{named}: expected a uint8 image .* got a float32 array of shape \(48, 64, 3\)$"):
        with writer:
            writer.write(np.zeros((48, 64, 3), np.uint8))
            writer.write(np.zeros((48, 64, 3), np.float32))
    assert list(tmp_path.iterdir()) == []
