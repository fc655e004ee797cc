"""``goselfies video`` and the PyAV video I/O behind it: H.264 with the sound kept, real alpha in .webm,
.mov and PNG sequences, timestamps and rotation kept, steady masks, one-line refusals, nothing
half-written. Clips are cut from the real videos (a few frames, small) and checked by decoding with PyAV."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from goselfies.cli import main
from goselfies.errors import GoSelfiesError
from goselfies.frame.smoothing import LookaheadSmoother, MaskSmoother, flicker
from goselfies.frame.videofile import VideoJob
from goselfies.io.media import VideoReader, VideoWriter
from goselfies.io.sinks import FrameInfo, make_sink

FPS = 25
RATE = 44100


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def real_frames(data_dir: Path, name: str, n: int, size: tuple[int, int]) -> list[np.ndarray]:
    path = data_dir / "videos" / name
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with VideoReader(path) as r:
        frames = []
        for f in r:
            frames.append(cv2.resize(f, size, interpolation=cv2.INTER_AREA))
            if len(frames) == n:
                return frames
    return frames


def make_clip(path: Path, frames: list[np.ndarray], *, tone: str | None = "aac", pts: list[int] | None = None,
              rotation: int = 0, time_base: Fraction = Fraction(1, 12800), title: str | None = None) -> Path:
    """An H.264 clip of ``frames`` with (optionally) a 440 Hz tone as long as the video, written with
    PyAV; ``pts`` (in ``time_base``) makes it variable-frame-rate; ``rotation`` is its display rotation;
    ``title`` its container title tag."""
    h, w = frames[0].shape[:2]
    if rotation % 180:
        frames = [cv2.rotate(f, cv2.ROTATE_90_CLOCKWISE) for f in frames]  # stored sideways, shown upright
        h, w = w, h
    pts = pts or [round(i / FPS / time_base) for i in range(len(frames))]
    with av.open(str(path), "w") as c:
        if title:
            c.metadata["title"] = title
        v = c.add_stream("libx264", rate=FPS, options={"crf": "18", "preset": "ultrafast"})
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.codec_context.time_base = v.time_base = time_base
        if rotation:
            v.set_display_rotation(rotation)
        a = None
        if tone:
            a = c.add_stream(tone, rate=RATE)
            a.layout = "mono"
        for f, p in zip(frames, pts):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="bgr24")
            vf.pts, vf.time_base = p, time_base
            for packet in v.encode(vf):
                c.mux(packet)
        for packet in v.encode(None):
            c.mux(packet)
        if a is not None:
            samples = round(RATE * len(frames) / FPS)
            wave = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / RATE)).astype(np.float32)
            fmt = a.codec_context.codec.audio_formats[0].name
            for start in range(0, samples, 1024):
                chunk = wave[None, start:start + 1024]
                af = av.AudioFrame.from_ndarray(chunk if fmt.startswith("flt") else (chunk * 32767).astype(np.int16),
                                                format=fmt, layout="mono")
                af.sample_rate, af.pts = RATE, start
                for packet in a.encode(af):
                    c.mux(packet)
            for packet in a.encode(None):
                c.mux(packet)
    return path


def probe(path: Path) -> dict:
    """What a player finds in ``path``: streams, decoded frame count, frame times, audio duration."""
    with av.open(str(path)) as c:
        info = {"format": c.format.name, "video": None, "audio": None}
        v = c.streams.video[0]
        info["video"] = {"codec": v.codec_context.name, "pix_fmt": v.codec_context.pix_fmt,
                         "size": (v.codec_context.width, v.codec_context.height)}
        if c.streams.audio:
            a = c.streams.audio[0]
            info["audio"] = {"codec": a.codec_context.name, "rate": a.codec_context.sample_rate,
                             "packets": [bytes(p) for p in c.demux(a) if p.size]}
    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
        info["video"]["frames"] = len(frames)
        info["video"]["times"] = [float(f.time) for f in frames]
        info["video"]["rotation"] = frames[0].rotation
    if info["audio"]:
        with av.open(str(path)) as c:
            samples = sum(f.samples for f in c.decode(audio=0))
        info["audio"]["seconds"] = samples / info["audio"]["rate"]
    return info


def decoded_frames(path: Path, fmt: str = "bgra") -> list[np.ndarray]:
    """Every frame; VP9 through libvpx, the decoder that reads VP9's alpha (FFmpeg's own drops it)."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        if s.codec_context.name != "vp9":
            return [f.to_ndarray(format=fmt) for f in c.decode(s)]
        dec = av.CodecContext.create("libvpx-vp9", "r")
        return [f.to_ndarray(format=fmt) for p in c.demux(s) for f in dec.decode(p if p.size else None)]


class MovingDisc:
    """A segmenter with a known soft mask: a disc moving right by 3 px a frame (calls = frames, in order)."""

    def __init__(self):
        self.calls = 0

    def mask(self, i: int, h: int, w: int) -> np.ndarray:
        yy, xx = np.mgrid[:h, :w]
        return np.clip(1.5 - np.hypot(xx - w / 3 - 3 * i, yy - h / 2) / (h / 4), 0, 1).astype(np.float32)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        m = self.mask(self.calls, *frame.shape[:2])
        self.calls += 1
        return m


@pytest.fixture(scope="module")
def clip(data_dir, tmp_path_factory) -> Path:
    """12 real frames (160x120) of webcam_headphones with an AAC tone: 0.48 s."""
    frames = real_frames(data_dir, "webcam_headphones_640x480.mp4", 12, (160, 120))
    return make_clip(tmp_path_factory.mktemp("clip") / "talk.mp4", frames)


# --- Done when: H.264, the input's size and frame count, the sound kept ---------------------------

def test_video_writes_h264_with_the_sound_of_the_input(clip, tmp_path, lite_weights, capsys):
    dst = tmp_path / "out.mp4"
    code, _, err = run_cli(capsys, "video", clip, "-o", dst, "-b", "color:green", "--weights", lite_weights,
                           "--size", "64", "--backend", "torch")
    assert code == 0, err
    src, out = probe(clip), probe(dst)
    assert out["video"]["codec"] == "h264" and out["video"]["pix_fmt"] == "yuv420p"
    assert out["video"]["size"] == src["video"]["size"] == (160, 120)
    assert out["video"]["frames"] == src["video"]["frames"] == 12
    assert out["video"]["times"] == pytest.approx(src["video"]["times"], abs=1e-4)
    assert out["audio"] is not None and out["audio"]["codec"] == "aac"
    assert abs(out["audio"]["seconds"] - src["audio"]["seconds"]) <= 1 / FPS
    assert out["audio"]["packets"] == src["audio"]["packets"]  # copied, not re-encoded
    with open(dst, "rb") as f:
        head = f.read()
    assert head.find(b"moov") < head.find(b"mdat")  # +faststart: plays while downloading
    assert "sound copied (aac)" in err and "flicker" in err  # the summary
    assert "frame/s" not in err  # no progress bar when stderr is not a terminal (a log)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_no_audio_drops_the_sound(clip, tmp_path, lite_weights, capsys):
    dst = tmp_path / "quiet.mkv"
    code, _, err = run_cli(capsys, "video", clip, "-o", dst, "--no-audio", "--weights", lite_weights,
                           "--size", "64", "--backend", "torch")
    assert code == 0, err
    out = probe(dst)
    assert out["format"].startswith("matroska") and out["video"]["codec"] == "h264" and out["audio"] is None
    assert out["video"]["frames"] == 12


def test_a_file_whose_metadata_is_not_utf8_still_opens(data_dir, tmp_path, capsys):
    """Old camcorders and some .mov artwork write tags in other encodings: PyAV up to 18 refuses them unless
    told to be lenient, PyAV 19 has no such keyword (it is always lenient). Both must open the file, sound
    and all (issue: every video input died with a TypeError on PyAV 19)."""
    frames = real_frames(data_dir, "webcam_headphones_640x480.mp4", 6, (96, 64))
    src = make_clip(tmp_path / "latin1.mp4", frames, title="TITLE_TO_PATCH")
    data = src.read_bytes()
    assert data.count(b"TITLE_TO_PATCH") == 1
    src.write_bytes(data.replace(b"TITLE_TO_PATCH", "Caf\xe9 f\xfcr Z\xfcrich".encode("latin-1")[:14]))
    with VideoReader(src) as r:
        assert len(list(r)) == 6 and r.has_audio
    with VideoJob(src, tmp_path / "out.mp4", background="white", smoothing=0.0) as job:
        result = job.run(MovingDisc())
    assert result.frames == 6 and result.audio == "sound copied (aac)"
    assert probe(tmp_path / "out.mp4")["audio"]["codec"] == "aac"


def test_variable_frame_rate_timestamps_are_kept(data_dir, tmp_path):
    frames = real_frames(data_dir, "webcam_headphones_640x480.mp4", 8, (96, 64))
    tb = Fraction(1, 1000)
    pts = [0, 40, 70, 150, 160, 260, 300, 420]  # a phone slowing down and catching up
    src = make_clip(tmp_path / "vfr.mp4", frames, tone=None, pts=pts, time_base=tb)
    with VideoJob(src, tmp_path / "out.mp4", background="white", smoothing=0.0) as job:
        job.run(MovingDisc())
    assert probe(tmp_path / "out.mp4")["video"]["times"] == pytest.approx([p / 1000 for p in pts], abs=1e-3)


def test_rotation_is_kept_and_the_network_sees_people_upright(data_dir, tmp_path):
    frames = real_frames(data_dir, "webcam_headphones_640x480.mp4", 4, (64, 96))  # portrait: 64 wide, 96 high
    src = make_clip(tmp_path / "phone.mp4", frames, tone=None, rotation=90)
    assert probe(src)["video"]["size"] == (96, 64)  # stored sideways
    seen = []

    def ones(frame):  # a mask of ones: the output is the picture itself
        seen.append(frame.shape[:2])
        return np.ones(frame.shape[:2], np.float32)

    with VideoJob(src, tmp_path / "out.mp4", background="white", smoothing=0.0) as job:
        job.run(ones)
    assert set(seen) == {(96, 64)}  # upright, as shown
    out = probe(tmp_path / "out.mp4")
    assert out["video"]["size"] == (96, 64) and out["video"]["rotation"] == 90  # stored like the input
    with VideoReader(tmp_path / "out.mp4") as r:
        shown = list(r)
    assert shown[0].shape[:2] == (96, 64)
    assert np.abs(shown[0].astype(int) - frames[0]).mean() < 6  # mask of ones: the picture itself, upright


# --- transparent: real alpha, or a one-line refusal --------------------------------------------------

@pytest.mark.parametrize("name, codec, pix_fmt, mean_err, max_err", [
    ("cut.webm", "vp9", "yuva420p", 1.5, 24),  # lossy VP9 alpha
    ("cut.mov", "prores", "yuva444p", 0.5, 2),  # ProRes 4444: 16-bit alpha, near-lossless
])
def test_transparent_video_alpha_is_the_mask(clip, tmp_path, name, codec, pix_fmt, mean_err, max_err):
    seg = MovingDisc()
    dst = tmp_path / name
    with VideoJob(clip, dst, background="transparent", smoothing=0.0) as job:
        result = job.run(seg)
    assert result.frames == 12
    out = probe(dst)
    assert out["video"]["codec"] == codec and out["video"]["size"] == (160, 120)
    with av.open(str(dst)) as c:
        stream_fmt = c.streams.video[0].codec_context.pix_fmt
    assert stream_fmt.startswith(pix_fmt) or codec == "vp9"  # FFmpeg's VP9 reader reports no alpha
    frames = decoded_frames(dst)
    assert len(frames) == 12
    errs = [np.abs(f[:, :, 3].astype(float) - seg.mask(i, 120, 160) * 255) for i, f in enumerate(frames)]
    assert max(e.mean() for e in errs) < mean_err and max(e.max() for e in errs) <= max_err
    inside = seg.mask(0, 120, 160) > 0.99  # where the person is, the colours are the input's
    with VideoReader(clip) as r:
        first = next(iter(r))
    assert np.abs(frames[0][:, :, :3][inside].astype(int) - first[inside]).mean() < 8
    if name.endswith(".webm"):
        assert out["audio"]["codec"] == "opus"  # WebM takes no AAC: re-encoded
    else:
        assert out["audio"]["codec"] == "aac"
    assert abs(out["audio"]["seconds"] - probe(clip)["audio"]["seconds"]) <= 1 / FPS


@pytest.mark.parametrize("target", ["frames", "frames/shot_%04d.png"])
def test_transparent_png_sequence_is_rgba_with_the_mask_as_alpha(clip, tmp_path, target):
    seg = MovingDisc()
    with VideoJob(clip, tmp_path / target, background="transparent", smoothing=0.0) as job:
        result = job.run(seg)
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    first = "00001.png" if target == "frames" else "shot_0001.png"
    assert len(names) == 12 and names[0] == first
    assert "no sound" in result.summary()
    for i, name in enumerate(names):
        png = cv2.imread(str(tmp_path / "frames" / name), cv2.IMREAD_UNCHANGED)
        assert png.shape == (120, 160, 4)  # RGBA
        expected = np.clip(seg.mask(i, 120, 160) * 255 + 0.5, 0, 255).astype(np.uint8)
        np.testing.assert_array_equal(png[:, :, 3], expected)  # lossless: exactly the mask
    assert [p.name for p in tmp_path.iterdir()] == ["frames"]  # no hidden partial folder left


@pytest.mark.parametrize("name", ["out.mp4", "out.mkv", "out.m4v"])
def test_transparent_to_a_format_without_alpha_is_refused(clip, tmp_path, lite_weights, capsys, name):
    code, _, err = run_cli(capsys, "video", clip, "-o", tmp_path / name, "-b", "transparent", "--weights", lite_weights)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1  # before the model loads: no "model:" line
    assert "cannot carry transparency" in lines[0] and ".webm" in lines[0] and ".mov" in lines[0]
    assert "PNG sequence" in lines[0]
    assert list(tmp_path.iterdir()) == []


# --- bad inputs and outputs: one line, non-zero, nothing written ----------------------------------

def test_a_still_image_a_folder_and_an_unknown_format_are_one_line(data_dir, clip, tmp_path, lite_weights, capsys):
    cases = [
        (data_dir / "eg1800/test/images/00002.jpg", tmp_path / "o.mp4", "goselfies photo"),
        (data_dir / "eg1800/test/masks/00002.png", tmp_path / "o.mp4", "still image"),
        (data_dir / "videos", tmp_path / "o.mp4", "is a folder"),
        (clip, tmp_path / "o.avi", "use .mp4, .mov, .mkv or .webm"),
        (clip, tmp_path / "o_%d.jpg", "ends in .png"),
        (clip, clip, "overwrite the input"),
        (clip, tmp_path / "taken" / "f_%03d.png", "needs a folder"),
    ]
    (tmp_path / "taken").write_bytes(b"a file where the folder would go")
    for src, dst, needle in cases:
        code, _, err = run_cli(capsys, "video", src, "-o", dst, "--weights", lite_weights)
        lines = err.strip().splitlines()
        assert code == 1 and len(lines) == 1 and needle in lines[0], (src, dst, err)
        assert "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


@pytest.mark.parametrize("target, spec", [("out.mp4", "white"), ("out.webm", "transparent"),
                                          ("seq", "transparent"), ("seq/f_%03d.png", "transparent")])
def test_ctrl_c_leaves_nothing_behind(clip, tmp_path, lite_weights, monkeypatch, capsys, target, spec):
    from goselfies.frame import backgrounds

    cls = backgrounds.Color if spec == "white" else backgrounds.Transparent
    calls = {"n": 0}
    real = cls.composite

    def interrupted(self, frame, mask, *args):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return real(self, frame, mask, *args)

    monkeypatch.setattr(cls, "composite", interrupted)
    if "/" in target:
        (tmp_path / "seq").mkdir()  # an existing folder: the frames would be moved into it at the end
    code, _, err = run_cli(capsys, "video", clip, "-o", tmp_path / target, "-b", spec, "--weights", lite_weights,
                           "--size", "64", "--backend", "torch")
    assert code == 130 and "interrupted" in err and calls["n"] == 6
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert left == (["seq"] if "/" in target else [])


# --- steady masks -----------------------------------------------------------------------------------

def test_lookahead_smoother_is_the_live_one_plus_the_future():
    rng = np.random.default_rng(0)
    base = np.zeros((40, 60), np.float32)
    base[:, 30:] = 1.0
    noisy = [np.clip(base + rng.normal(0, 0.05, base.shape), 0, 1).astype(np.float32) for _ in range(30)]

    def smooth(lookahead):
        s = LookaheadSmoother(0.6, 0.3, lookahead)
        out = [m for m_raw in noisy for _, m in s.push(m_raw)] + [m for _, m in s.flush()]
        assert len(out) == len(noisy)
        return out

    live = MaskSmoother(0.6, 0.3)
    for a, b in zip(smooth(0), (live(m) for m in noisy)):
        np.testing.assert_array_equal(a, b)  # lookahead 0 is exactly the live path
    assert flicker(smooth(2)) < flicker(smooth(0)) < 0.6 * flicker(noisy)
    # real motion: a step from 0 to 1 at frame 5 is neither announced early nor trailed
    step = [np.full((8, 8), 0.0 if i < 5 else 1.0, np.float32) for i in range(10)]
    s = LookaheadSmoother(0.6, 0.3, 2)
    out = [m for m_raw in step for _, m in s.push(m_raw)] + [m for _, m in s.flush()]
    assert out[4].max() == 0.0 and out[5].min() == 1.0


def test_smoothing_zero_is_off_and_the_summary_says_so(clip, tmp_path):
    with VideoJob(clip, tmp_path / "off.mp4", smoothing=0.0) as job:
        result = job.run(MovingDisc())
    # the composited matte is the raw mask in uint8: equal to within its rounding
    assert result.flicker == pytest.approx(result.raw_flicker, abs=1 / 255) and result.flicker > 0
    assert "unsmoothed" not in result.summary() and f"flicker {result.flicker:.4f}" in result.summary()


@pytest.mark.parametrize("name", ["chair_side_540x960.mp4", "desk_960x540.mp4"])
def test_smoothing_lowers_flicker_on_the_real_videos(data_dir, tmp_path, name):
    """The shipped model on 30 frames of each clip (at a third of their size, to stay fast)."""
    from goselfies.engine.segmenter import Segmenter, SegmenterConfig

    src = data_dir / "videos" / name
    with VideoReader(src) as r:
        size = (r.width // 3, r.height // 3)
    cut = make_clip(tmp_path / "cut.mp4", real_frames(data_dir, name, 30, size), tone=None)
    seg = Segmenter(SegmenterConfig(device="cpu", backend="torch"), quiet=True)
    with VideoJob(cut, tmp_path / "out.mp4") as job:  # the defaults: smoothing 0.6, lookahead 2
        result = job.run(seg)
    assert result.frames == 30
    assert 0 < result.flicker < result.raw_flicker
    assert f"flicker {result.flicker:.4f} (unsmoothed {result.raw_flicker:.4f})" in result.summary()


# --- recording: the same writer --------------------------------------------------------------------

def test_recording_is_h264_and_keeps_alpha_where_it_can(tmp_path):
    info = FrameInfo(seq=0, timestamp=0.0, lost=False, effect=True, mask_lag=0)
    rec = make_sink("record", path=tmp_path / "rec.mp4", fps=15)
    for i in range(5):
        rec.send(np.full((72, 128, 3), 40 * i, np.uint8), info)
    rec.close()
    out = probe(tmp_path / "rec.mp4")
    assert out["video"]["codec"] == "h264" and out["video"]["frames"] == 5 and out["video"]["size"] == (128, 72)
    assert out["video"]["times"] == pytest.approx([i / 15 for i in range(5)], abs=1e-3)
    with pytest.raises(GoSelfiesError, match="cannot carry transparency"):
        make_sink("record", path=tmp_path / "alpha.mp4", alpha=True)
    with pytest.raises(GoSelfiesError, match=r"\.mp4"):
        make_sink("record", path=tmp_path / "x.avi")
    rec = make_sink("record", path=tmp_path / "alpha.webm", fps=15, alpha=True)
    alpha = np.zeros((72, 128), np.uint8)
    alpha[:, 64:] = 255
    for _ in range(3):
        rec.send(np.dstack([np.full((72, 128, 3), 90, np.uint8), alpha]), info)
    rec.close()
    frames = decoded_frames(tmp_path / "alpha.webm")
    assert len(frames) == 3 and np.abs(frames[-1][:, :, 3].astype(int) - alpha).mean() < 3


def test_writer_is_done_with_a_frame_when_write_returns(tmp_path):
    """The writer hands the encoder the caller's buffer without a copy: the frame must be converted before
    ``write`` returns, so a buffer reused for the next frame (the frame path's ring) changes no frame written."""
    buf = np.empty((64, 96, 3), np.uint8)
    levels = [30, 220, 80, 160, 20, 240, 120, 60]
    with VideoWriter(tmp_path / "reused.mp4", 10, (96, 64)) as w:
        for level in levels:
            buf[:] = level
            w.write(buf)
        buf[:] = 0
    got = [float(f.mean()) for f in VideoReader(tmp_path / "reused.mp4")]
    assert len(got) == len(levels)
    assert all(abs(g - level) < 8 for g, level in zip(got, levels))  # levels 20 or more apart


def test_writer_crops_odd_sizes_for_h264_and_refuses_tiny_ones(tmp_path):
    with VideoWriter(tmp_path / "odd.mp4", 10, (161, 97)) as w:
        for _ in range(2):
            w.write(np.zeros((97, 161, 3), np.uint8))
    assert probe(tmp_path / "odd.mp4")["video"]["size"] == (160, 96)  # x264's 4:2:0 needs even sizes
    with pytest.raises(GoSelfiesError, match="too small"):
        VideoWriter(tmp_path / "tiny.mp4", 10, (1, 1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.mp4"]


def test_webcam_record_transparent_needs_a_format_with_alpha(clip, tmp_path, lite_weights, capsys, monkeypatch):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    code, _, err = run_cli(capsys, "webcam", "--source", clip, "--no-window", "--frames", "3", "-b", "transparent",
                           "--record", tmp_path / "live.mp4", "--weights", lite_weights, "--size", "64")
    assert code == 1 and "cannot carry transparency" in err and not (tmp_path / "live.mp4").exists()
    code, _, err = run_cli(capsys, "webcam", "--source", clip, "--no-window", "--frames", "3", "-b", "transparent",
                           "--record", tmp_path / "live.webm", "--weights", lite_weights, "--size", "64",
                           "--backend", "torch")
    assert code == 0, err
    with av.open(str(tmp_path / "live.webm")) as c:
        dec = av.CodecContext.create("libvpx-vp9", "r")
        formats = [f.format.name for p in c.demux(c.streams.video[0]) for f in dec.decode(p if p.size else None)]
    assert formats == ["yuva420p"] * 3  # the alpha plane is there


def test_real_sigint_to_goselfies_video_leaves_nothing(data_dir, lite_weights, tmp_path):
    """Ctrl-C sent to a real ``goselfies video`` process mid-file: exit 130, one line, no traceback,
    and neither the output nor its temporary file is left behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    clip = data_dir / "videos" / "chair_side_540x960.mp4"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "goselfies", "video", str(clip), "-o", str(out_dir / "o.mp4"),
                             "--weights", str(lite_weights), "--size", "64", "--backend", "torch"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and not any(out_dir.iterdir()):
            time.sleep(0.1)  # wait until frames are being written
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert list(out_dir.iterdir()) == []


# --- one frame loop, pipelined (issue: the GPU engine end to end) -----------------------------------

def test_live_output_equals_file_output_with_lookahead_0(data_dir):
    """The file path (push: every frame segmented, look-ahead 0) gives what the live path gives for the same
    frames with skip off: one frame loop, the same steps in the same order."""
    from goselfies.engine.segmenter import Segmenter, SegmenterConfig
    from goselfies.frame.framepath import FramePath, PathConfig
    from goselfies.frame.postprocess import PostProcess

    seg = Segmenter(SegmenterConfig(model="lite", device="cpu", backend="onnx"), quiet=True)
    frames = real_frames(data_dir, "desk_960x540.mp4", 8, (480, 270))
    config = dict(background="blur", post=PostProcess(), smoothing=0.6, skip=False)
    live, file = FramePath(seg, PathConfig(**config)), FramePath(seg, PathConfig(**config, lookahead=0))
    for i, frame in enumerate(frames):
        out_live, alpha_live, _ = live(frame)
        (item, out_file, alpha_file), = list(file.push(frame, i))
        assert item == i
        assert np.array_equal(out_live, out_file) and np.array_equal(alpha_live, alpha_file)
    assert list(file.flush()) == []
    ahead = FramePath(seg, PathConfig(**config, lookahead=2))
    assert [len(list(ahead.push(f, i))) for i, f in enumerate(frames[:4])] == [0, 0, 1, 1]
    assert [item for item, *_ in ahead.flush()] == [2, 3]


def test_pipelined_job_writes_what_the_serial_job_writes(clip, tmp_path, monkeypatch):
    """Decoding on its own thread, and compositing with encoding on another, change nothing: the frames the encoder gets (pixel for
    pixel, in order, with their timestamps) and the file's frame times and sound. (x264's own bits may differ
    from one encoder to the next in a process, so the pixels are compared where they enter it.)"""
    encoded: dict[bool, list] = {}
    real_write = VideoWriter.write

    def write(self, frame, pts=None):
        encoded[pipelined].append((frame.copy(), pts))
        real_write(self, frame, pts)

    monkeypatch.setattr(VideoWriter, "write", write)
    outs = {}
    for pipelined in (False, True):
        encoded[pipelined] = []
        dst = tmp_path / f"{'pipelined' if pipelined else 'serial'}.mp4"
        with VideoJob(clip, dst, background="blur", lookahead=2) as job:
            result = job.run(MovingDisc(), pipelined=pipelined)
        assert result.frames == 12 and result.audio == "sound copied (aac)"
        outs[pipelined] = dst
    assert [pts for _, pts in encoded[True]] == [pts for _, pts in encoded[False]] == sorted({p for _, p in encoded[True]})
    for (x, _), (y, _) in zip(encoded[False], encoded[True], strict=True):
        assert np.array_equal(x, y)
    a, b = probe(outs[False]), probe(outs[True])
    assert a["video"]["frames"] == b["video"]["frames"] == 12
    assert a["video"]["times"] == b["video"]["times"] and a["audio"]["packets"] == b["audio"]["packets"]


@pytest.mark.parametrize("fail_at", ["segment", "composite", "write"])
def test_an_error_on_any_stage_of_the_pipelined_job_leaves_nothing(clip, tmp_path, monkeypatch, fail_at):
    """An error in the network (the caller's thread), in compositing or in the encoder (both on the encoder's
    thread) is raised once, both threads stop, and no output or partial file is left."""
    import threading

    from goselfies.frame.framepath import FramePath

    seg = MovingDisc()
    real_finish = FramePath.finish

    finished = []

    def finish(self, ready):
        finished.append(ready)
        if len(finished) == 4:
            raise GoSelfiesError("compositing failed")
        return real_finish(self, ready)

    if fail_at == "composite":
        monkeypatch.setattr(FramePath, "finish", finish)

    def segment(frame):
        if fail_at == "segment" and seg.calls == 5:
            raise GoSelfiesError("the network failed")
        return seg(frame)

    written = []

    def write(self, frame, pts=None):
        written.append(pts)
        if len(written) == 4:
            raise GoSelfiesError("disk full")
        real_write(self, frame, pts)

    real_write = VideoWriter.write
    if fail_at == "write":
        monkeypatch.setattr(VideoWriter, "write", write)
    threads = threading.active_count()
    message = {"segment": "the network failed", "composite": "compositing failed", "write": "disk full"}[fail_at]
    with pytest.raises(GoSelfiesError, match=message):
        with VideoJob(clip, tmp_path / "out.mp4", background="white", smoothing=0.0) as job:
            job.run(segment)
    assert list(tmp_path.iterdir()) == []
    assert threading.active_count() == threads
