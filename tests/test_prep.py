"""Fast pre-processing: same result as INTER_AREA + cvtColor + normalise, at a fraction of the cost."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from goselfies.engine.models import IMAGENET_MEAN as MEAN
from goselfies.engine.models import IMAGENET_STD as STD
from goselfies.engine.prep import (
    SHRINK,
    fit,
    network_fit,
    normalize_into,
    padded,
    shrink,
)
from goselfies.io.media import read_image
from goselfies.paths import SAMPLES

SAMPLE = sorted(SAMPLES.glob("*.jpg"))[0]


@pytest.mark.parametrize("size", [(640, 480), (641, 481), (1920, 1080), (300, 200)])
def test_shrink_is_close_to_inter_area(size):
    img = cv2.resize(read_image(SAMPLE), size, interpolation=cv2.INTER_AREA)
    w, h = round(size[0] / 2.5), round(size[1] / 2.5)
    fast = shrink(img, w, h)
    ref = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    assert fast.shape == ref.shape
    assert np.abs(fast.astype(np.float32) - ref).mean() < 2.0  # odd sizes lose one edge pixel


def test_shrink_enlarges_too():
    assert shrink(np.zeros((50, 40, 3), np.uint8), 80, 100).shape == (100, 80, 3)


@pytest.mark.parametrize("rgb", [False, True])
def test_normalize_into_matches_reference(rgb):
    small = (np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.uint8)
    mean, std = np.array(MEAN, np.float32), np.array(STD, np.float32)
    buf = np.zeros((1, 3, 64, 64), np.float32)
    normalize_into(buf, small, rgb, mean, std)
    x = small if rgb else small[:, :, ::-1]
    ref = ((x.astype(np.float32) / 255.0 - mean) / std).transpose(2, 0, 1)
    np.testing.assert_allclose(buf[0, :, :48, :64], ref, atol=1e-5)
    assert not buf[0, :, 48:].any()  # the padding stays zero


def test_padding_never_holds_an_earlier_frame(lite_weights):
    from goselfies.engine.segmenter import Segmenter, SegmenterConfig

    seg = Segmenter(SegmenterConfig(weights=lite_weights, device="cpu", backend="torch", size=64), quiet=True)
    tall, wide = np.full((64, 40, 3), 200, np.uint8), np.full((64, 56, 3), 30, np.uint8)  # both pad to 64x64
    buf, _, _ = seg.prep.prepare(wide, False)
    buf = buf.copy()
    seg.prep.prepare(tall, False)
    again, _, _ = seg.prep.prepare(wide, False)
    np.testing.assert_array_equal(again, buf)
    assert not seg.prep.prepare(tall, False)[0][0, :, :, 40:].any()


@pytest.mark.parametrize("h, w, side, expected", [
    (720, 1280, 288, (160, 284)),  # 162 rows would pad to 192: 1.2 % smaller needs no padded rows
    (1080, 1920, 288, (160, 284)),
    (960, 540, 288, (284, 160)),  # portrait: the same on the other axis
    (480, 640, 288, (216, 288)),  # 216 is 12 % above 192: padded to 224 as before
    (720, 1280, 256, (144, 256)),  # 144 is 12 % above 128: padded
    (720, 1280, 320, (180, 320)),
    (96, 128, 96, (72, 96)),  # the shorter side under one multiple: nothing to shrink onto
])
def test_network_fit_shrinks_a_little_rather_than_pad_a_lot(h, w, side, expected):
    nh, nw = network_fit(h, w, side)
    assert (nh, nw) == expected
    assert abs(nh / nw - h / w) < 0.01  # the aspect is kept
    fh, fw = fit(h, w, side)
    assert nw * nh >= fw * fh * (1 - SHRINK) ** 2  # never more than SHRINK smaller a side
    assert padded(nh) * padded(nw) <= padded(fh) * padded(fw)  # never more padded pixels


def test_a_square_model_gets_every_frame_squeezed_onto_its_size():
    """MediaPipe's network (``tiny``) learned whole frames squeezed onto a square: no padding, no aspect kept, and
    the mask back at the frame's own size."""
    from goselfies.engine.prep import Prep

    prep = Prep(256, (0.0,) * 3, (1.0,) * 3, 16, square=True)
    frame = read_image(next(SAMPLES.glob("*.jpg")))
    for img in (frame, cv2.resize(frame, (640, 360)), cv2.resize(frame, (300, 500))):
        h, w = img.shape[:2]
        assert prep.geometry(h, w) == (256, 256, 256, 256)
        buf, nh, nw = prep.prepare(img, False)
        want = cv2.resize(img, (256, 256), interpolation=cv2.INTER_AREA)[:, :, ::-1].transpose(2, 0, 1) / 255.0
        assert (nh, nw) == (256, 256) and np.abs(buf[0] - want).mean() < 2 / 255  # all of it the picture, in RGB
        assert Prep.restore(buf[0, 0], h, w).shape == (h, w)


def test_a_box_from_a_halving_is_the_frames_box_within_a_pixel():
    """``Pyramid.region``: a box more than twice its output comes from the halving (already made for the network's
    input), its corners rounded there: close to INTER_AREA of the frame's own pixels, which ``halved=False`` gives."""
    from goselfies.engine.pyramid import Pyramid

    img = cv2.resize(read_image(SAMPLE), (1280, 720), interpolation=cv2.INTER_AREA)
    box = (141, 80, 1146, 645)
    ref = cv2.resize(img[80:645, 141:1146], (256, 256), interpolation=cv2.INTER_AREA)
    pyramid = Pyramid(img)
    assert np.array_equal(pyramid.region(box, 256, 256, halved=False), ref) and len(pyramid.levels) == 1
    fast = pyramid.region(box, 256, 256)
    assert len(pyramid.levels) == 2 and fast.shape == ref.shape
    assert np.abs(fast.astype(np.float32) - ref).mean() < 2.0
