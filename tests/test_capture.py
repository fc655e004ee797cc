"""Capture: latest-frame hand-off, dropped-frame count, mirror, camera loss and recovery, release on
every exit path, and video files played as a live source."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from livefakes import FlakySource, StepSource, SyntheticSource, frame_number, wait_until

from goselfies.errors import GoSelfiesError
from goselfies.io.capture import (
    CameraSource,
    Capture,
    VideoFileSource,
    lost_frame,
    make_source,
    parse_camera,
)


def test_latest_frame_handoff_is_exact():
    src = StepSource()
    with Capture(src) as cap:
        src.step(5)
        assert wait_until(lambda: cap.frames_in == 5)
        f = cap.get(timeout=1)
        assert f is not None and f.seq == 5 and frame_number(f.image) == 5  # the newest, not the oldest
        assert cap.dropped == 4  # 1..4 were overwritten before anyone took them
        assert cap.get(timeout=0.05) is None  # never the same frame twice
        src.step()
        f = cap.get(timeout=1)
        assert f.seq == 6 and cap.dropped == 4
    assert src.released


def test_slow_consumer_gets_only_newest_frames_and_drop_count_adds_up():
    src = SyntheticSource(fps=200)
    taken = []
    with Capture(src) as cap:
        end = time.perf_counter() + 0.6
        while time.perf_counter() < end:
            newest_before = cap.frames_in
            f = cap.get(timeout=1)
            assert f is not None
            taken.append(f.seq)
            assert f.seq >= newest_before  # the newest frame at the time we asked (or a newer one)
            time.sleep(0.04)  # a consumer much slower than the camera
    assert taken == sorted(set(taken))  # strictly increasing: no duplicates, no going back
    assert len(taken) < cap.frames_in / 2  # most frames were skipped, not queued up (no lag)
    leftover = cap.frames_in - cap.dropped - len(taken)
    assert leftover in (0, 1)  # every frame was either handed out, counted as dropped, or still in the slot
    assert src.released


def test_mirror_flips_left_right_and_can_be_toggled():
    src = StepSource(width=8, height=4)
    src.base[:, :4] = (255, 0, 0)
    with Capture(src, mirror=True) as cap:
        src.step()
        f = cap.get(timeout=2)
        assert (f.image[2, -1] == (255, 0, 0)).all() and (f.image[2, 0] == src.base[2, -1]).all()
        cap.mirror = False
        src.step()
        f = cap.get(timeout=2)
        assert (f.image[2, 1] == (255, 0, 0)).all()


def test_camera_lost_shows_lost_frames_retries_with_backoff_and_recovers():
    src = FlakySource(fps=100)
    cap = Capture(src, retry_min=0.02, retry_max=0.08, max_read_failures=2, lost_fps=50)
    seen = []
    with cap:
        assert wait_until(lambda: cap.frames_in >= 5)
        src.unplugged = True
        t_lost = time.perf_counter()
        while time.perf_counter() - t_lost < 0.5:
            f = cap.get(timeout=1)
            assert f is not None  # the pipeline keeps getting frames while the camera is gone
            seen.append(f)
        lost = [f for f in seen if f.lost]
        assert lost, "no 'camera lost' frame while unplugged"
        assert cap.lost and cap.lost_events == 1 and src.failed_opens >= 3  # it kept retrying
        assert src.failed_opens < 25  # ... with backoff, not in a busy loop
        assert src.is_open is False  # the dead device is released while waiting
        src.unplugged = False
        assert wait_until(lambda: not cap.lost, timeout=2)
        after = []
        while len(after) < 3:
            f = cap.get(timeout=1)
            if not f.lost:
                after.append(f)
        assert cap.reconnects == 1
        assert frame_number(after[0].image) >= 5 and after[0].seq > lost[-1].seq  # real frames again, in order
    assert src.released and src.opens == 2


def test_lost_frame_says_so_at_any_size():
    for w, h in ((640, 480), (64, 48), (1920, 1080)):
        img = lost_frame(w, h)
        assert img.shape == (h, w, 3) and img.dtype == np.uint8
        # the text stands out of the dark (40) frame; OpenCV 5.1 (pulled in by mediapipe) anti-aliases
        # all text, so strokes a fraction of a pixel wide at 64 px peak near 130 instead of 220
        assert ((img > 100).all(axis=2)).sum() >= 10


def test_released_when_the_source_raises():
    class Broken(SyntheticSource):
        def read(self):
            raise RuntimeError("driver crashed")

    src = Broken()
    cap = Capture(src).start()
    assert cap.get(timeout=2) is None
    assert isinstance(cap.error, RuntimeError)
    assert wait_until(lambda: src.released, 2)
    cap.stop()
    assert src.released and cap.released


def test_stop_before_start_releases_an_opened_source():
    src = SyntheticSource()
    cap = Capture(src).open()
    assert src.is_open
    cap.stop()
    assert src.released


def test_missing_camera_is_a_clear_error():
    cap = Capture(CameraSource(97, 320, 240, 30))
    with pytest.raises(GoSelfiesError, match="camera 97"):
        cap.start()
    assert not cap.running


def test_parse_camera_and_make_source(tmp_path):
    assert parse_camera("2") == 2 and parse_camera("/dev/video4") == "/dev/video4" and parse_camera(None) is None
    assert isinstance(make_source(), CameraSource) and make_source().device == 0
    assert make_source("/dev/video4").device == "/dev/video4"
    assert isinstance(make_source(video=tmp_path / "x.mp4"), VideoFileSource)


def _tiny_video(path, frames=6, fps=50.0, size=(32, 24)):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(frames):
        img = np.full((size[1], size[0], 3), 30 * i, np.uint8)
        w.write(img)
    w.release()
    return path


def test_video_file_plays_once_paced_at_its_fps(tmp_path):
    src = VideoFileSource(_tiny_video(tmp_path / "v.mp4", frames=6, fps=50.0), loop=False)
    got = []
    t0 = time.perf_counter()
    with Capture(src) as cap:
        while True:
            f = cap.get(timeout=2)
            if f is None:
                break
            got.append(f)
        assert cap.ended
    dt = time.perf_counter() - t0
    assert len(got) == 6 and cap.dropped == 0
    assert dt >= 5 / 50.0 * 0.8  # paced like a camera, not decoded as fast as possible
    assert (src.width, src.height, src.fps) == (32, 24, 50.0)


def test_video_file_loops_as_a_live_source(tmp_path):
    src = VideoFileSource(_tiny_video(tmp_path / "v.mp4", frames=4, fps=100.0), loop=True)
    with Capture(src) as cap:
        n = 0
        while n < 10:
            assert cap.get(timeout=2) is not None
            n += 1
        assert not cap.ended
    assert src._reader is None  # released


def test_missing_video_file_is_a_clear_error(tmp_path):
    with pytest.raises(GoSelfiesError, match="no such video"):
        Capture(VideoFileSource(tmp_path / "nope.mp4")).start()


def test_find_cameras_lists_those_that_open_and_releases_each():
    from goselfies.io.capture import find_cameras

    opened = []

    class Cam:
        def __init__(self, index):
            self.index, self.is_open = index, False
            opened.append(self)

        def open(self):
            if self.index % 2:
                raise GoSelfiesError(f"cannot open camera {self.index}")
            self.is_open = True

        def release(self):
            self.is_open = False

    found = find_cameras(range(6), skip=(2,), source=Cam, present=lambda i: i != 4)
    assert found == [0]  # 1, 3, 5 fail to open, 2 is in use (not touched), 4 has no device node
    assert sorted(c.index for c in opened) == [0, 1, 3, 5]
    assert not any(c.is_open for c in opened)  # every one released again
