"""The one frame path: uint8 compositing against the float reference, the change detector on real frames,
and the same mattes from `goselfies video` and the live pipeline."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from livefakes import Recorder

from goselfies.engine.pyramid import Pyramid
from goselfies.frame.backgrounds import blend, parse_background
from goselfies.frame.change import ChangeDetector
from goselfies.frame.compositing import Tiles, blend_u8, paste
from goselfies.frame.framepath import FramePath, PathConfig
from goselfies.frame.videofile import VideoJob
from goselfies.io.capture import Capture, VideoFileSource
from goselfies.io.media import VideoReader, read_image
from goselfies.io.sinks import make_sink
from goselfies.live.pipeline import Pipeline, PipelineConfig


@pytest.fixture(scope="module")
def webcam_frames(data_dir):
    with VideoReader(data_dir / "videos/webcam_gestures_640x480.mp4") as r:
        return [f for _, f in zip(range(40), r)]


@pytest.mark.parametrize("sigma", [1.0, 4.0])
def test_uint8_composite_within_one_level_of_the_float_blend(photo, data_dir, sigma):
    """A real portrait over a real photo with a soft real mask: the tile compositor (matte enlarged from a
    small one, as the frame path does) within one grey level of the float blend, everywhere."""
    img, mask = photo
    h, w = mask.shape
    soft = np.clip(cv2.GaussianBlur(mask, (0, 0), sigma) * 1.1 - 0.05, 0, 1)
    small = cv2.convertScaleAbs(cv2.resize(soft, (w * 448 // h, 448), interpolation=cv2.INTER_AREA), alpha=255)
    alpha = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    bg = cv2.resize(read_image(data_dir / "composite/backgrounds/bgmv2_mountain.jpg"), (w, h))
    out = bg.copy()
    paste(out, img, alpha, Tiles(small, w, h))
    reference = blend(img, bg, alpha.astype(np.float32) / 255)
    assert np.abs(out.astype(int) - reference).max() <= 1
    assert 0.01 < ((alpha > 0) & (alpha < 255)).mean() < 0.5  # a real edge band was blended
    plain = np.empty_like(img)
    blend_u8(img, bg, alpha, plain)  # every pixel blended: the same numbers
    assert np.array_equal(out, plain)


def test_colour_background_composite_is_exact_off_the_edge(photo):
    img, mask = photo
    out = parse_background("color:#00ff00").composite(img, mask)
    assert (out[mask == 0] == (0, 255, 0)).all() and np.array_equal(out[mask == 1], img[mask == 1])


def test_unchanged_frames_keep_the_mask_and_max_age_forces_a_run(webcam_frames):
    frame = webcam_frames[0]
    det = ChangeDetector(max_age=5)
    runs = [det(Pyramid(frame)) for _ in range(13)]
    assert runs == [True] + [False] * 5 + [True] + [False] * 5 + [True]


def test_compression_noise_is_not_a_change(webcam_frames):
    frame = webcam_frames[0]
    ok, jpg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 70])
    noisy = cv2.imdecode(jpg, cv2.IMREAD_COLOR)
    det = ChangeDetector()
    assert det(Pyramid(frame)) and not det(Pyramid(noisy))


def test_a_hand_moving_in_one_corner_makes_the_network_run(webcam_frames, data_dir):
    """A hand-sized piece of a real person cutout moves 12 px in the top-left corner of a real frame."""
    frame = webcam_frames[0]
    cutout = cv2.imread(str(sorted((data_dir / "composite/persons").glob("*.png"))[0]), cv2.IMREAD_UNCHANGED)
    ys, xs = np.nonzero(cutout[:, :, 3] > 128)
    piece = cutout[ys.min():ys.min() + 200, xs.min():xs.min() + 200]
    piece = cv2.resize(piece, (48, 48), interpolation=cv2.INTER_AREA)

    def with_hand(x: int) -> np.ndarray:
        img = frame.copy()
        a = piece[:, :, 3:].astype(np.float32) / 255
        roi = img[10:58, x:x + 48]
        roi[:] = (piece[:, :, :3] * a + roi * (1 - a)).astype(np.uint8)
        return img

    det = ChangeDetector()
    assert det(Pyramid(with_hand(10)))
    assert not det(Pyramid(with_hand(10)))
    assert det(Pyramid(with_hand(22)))  # 48 px of a 640 px frame, 12 px further: a change


def test_the_change_threshold_decides_how_often_the_network_runs(webcam_frames):
    """PathConfig.change_threshold reaches the detector: on 40 real webcam frames a lower bound runs the network
    more often than the default, and an unreachable one only on the first frame."""
    def seg(img):
        mask = np.full(img.shape[:2], 0.02, np.float32)
        mask[:, : img.shape[1] // 2] = 0.98
        return mask

    def runs(threshold):
        path = FramePath(seg, PathConfig(background="mask", change_threshold=threshold, max_age=100))
        return sum(path(f)[2] for f in webcam_frames)

    low, default, never = runs(0.5), runs(None), runs(1e9)
    assert low > default > never == 1


def test_skip_reuses_the_matte_only_while_nothing_moves(webcam_frames):
    calls = []

    def seg(img):  # a confident mask: the left half
        calls.append(1)
        mask = np.full(img.shape[:2], 0.02, np.float32)
        mask[:, : img.shape[1] // 2] = 0.98
        return mask

    path = FramePath(seg, PathConfig(background="mask", skip=True))
    for f in [webcam_frames[0]] * 4:
        path(f)
    assert len(calls) == 1
    path(webcam_frames[30])  # the person has moved by then
    assert len(calls) == 2
    unsure = FramePath(lambda img: (calls.append(1), np.full(img.shape[:2], 0.6, np.float32))[1],
                       PathConfig(background="mask", skip=True))
    for f in [webcam_frames[0]] * 3:
        unsure(f)  # a mask this unsure is never kept: the network runs on every frame
    assert len(calls) == 5
    off = FramePath(seg, PathConfig(background="mask", skip=False))
    for f in [webcam_frames[0]] * 3:
        off(f)
    assert len(calls) == 8


def test_video_and_live_give_the_same_mattes(data_dir, tmp_path):
    """The same frames and settings (shipped lite, smoothing off, every frame segmented): the live
    pipeline's mattes equal `goselfies video`'s, written losslessly as a PNG sequence of the matte."""
    from goselfies.engine.segmenter import Segmenter, SegmenterConfig

    seg = Segmenter(SegmenterConfig(model="lite", device="cpu", backend="onnx"), quiet=True)
    clip = data_dir / "videos/webcam_headphones_640x480.mp4"
    with VideoJob(clip, tmp_path / "seq", background="mask", smoothing=0.0, lookahead=0) as job:
        job.run(seg, PipelineConfig().post)
    written = sorted((tmp_path / "seq").glob("*.png"))
    rec = Recorder()
    p = Pipeline(Capture(VideoFileSource(clip, loop=False)), seg,
                 PipelineConfig(background="mask", smoothing=0.0, skip=False, max_frames=40, mask_wait=1.0),
                 [make_sink("window", callback=rec)])
    p.run()
    compared = 0
    for out, info in zip(rec.frames, rec.infos):
        if info.mask_lag == 0:
            expected = cv2.imread(str(written[info.seq - 1]), cv2.IMREAD_GRAYSCALE)
            assert np.array_equal(out, expected) and np.array_equal(info.mask, expected)
            compared += 1
    assert compared >= 20


def test_a_kept_matte_follows_new_mask_settings(webcam_frames):
    """On a still picture the matte is kept; changing the post-processing must still show at once."""
    def seg(img):
        mask = np.full(img.shape[:2], 0.02, np.float32)
        mask[:, : img.shape[1] // 2] = 0.98
        return mask

    from goselfies.frame.postprocess import PostProcess

    path = FramePath(seg, PathConfig(background="mask", skip=True, smoothing=0.0, post=PostProcess(refine=False)))
    frame = webcam_frames[0]
    for _ in range(3):
        soft = path(frame)[1].copy()
    path.set_post(PostProcess(refine=False, feather=8.0))
    feathered = path(frame)[1]
    assert np.count_nonzero((feathered > 0) & (feathered < 255)) > 2 * np.count_nonzero((soft > 0) & (soft < 255))


def test_an_unchanged_picture_keeps_its_matte_without_post_processing_again(webcam_frames):
    """With skip on, a frame the network skips shows the last matte as it is (no smoothing, no refine), its
    enlargement too; the next changed frame makes a new one."""
    path = FramePath(lambda img: np.full(img.shape[:2], 0.9, np.float32), PathConfig(background="mask"))
    still, moved = webcam_frames[0], webcam_frames[0][:, ::-1].copy()
    alphas = [path(still)[1] for _ in range(4)]
    assert path.timings.timer("post").count == 1 and path.timings.timer("smooth").count == 1
    assert all(a is alphas[0] for a in alphas)
    path(moved)
    assert path.timings.timer("post").count == 2
