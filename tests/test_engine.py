"""The segmentation engine and the background registry, on real photos."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from goselfies.engine.pyramid import Pyramid
from goselfies.engine.segmenter import Segmenter, SegmenterConfig
from goselfies.errors import GoSelfiesError
from goselfies.frame.backgrounds import parse_background
from goselfies.frame.postprocess import PostProcess
from goselfies.io.fitting import letterbox
from goselfies.io.media import read_image


@pytest.fixture(scope="module")
def segmenter(lite_weights):
    return Segmenter(SegmenterConfig(weights=lite_weights, device="cpu"), quiet=True)


@pytest.mark.parametrize("shape", [(800, 600), (333, 517), (31, 45), (540, 960)])
def test_mask_has_frame_size_and_range(segmenter, shape):
    frame = np.random.default_rng(0).integers(0, 255, (*shape, 3), dtype=np.uint8)
    mask = segmenter(frame)
    assert mask.shape == shape and mask.dtype == np.float32
    assert 0.0 <= mask.min() <= mask.max() <= 1.0


def test_geometry_keeps_aspect_and_pads_to_32(segmenter):
    for h, w in ((540, 960), (480, 640), (800, 600)):
        nh, nw, ph, pw = segmenter.geometry(h, w)
        assert segmenter.size * 0.95 <= max(nh, nw) <= segmenter.size and abs(nh / nw - h / w) < 0.02
        assert ph % 32 == 0 and pw % 32 == 0 and ph >= nh and pw >= nw


def test_rgb_and_bgr_inputs_agree(segmenter, photo):
    img, _ = photo
    a = segmenter(img)
    b = segmenter(np.ascontiguousarray(img[:, :, ::-1]), rgb=True)
    assert np.allclose(a, b, atol=1e-5)


def test_returned_masks_are_never_overwritten(segmenter, photo):
    img, _ = photo
    first = segmenter(img)
    kept = first.copy()
    segmenter(np.ascontiguousarray(img[::-1]))  # same size, other content: reuses buffers
    assert np.array_equal(first, kept)


def test_flip_averaging_makes_the_mask_mirror_symmetric(photo, lite_weights):
    """With --flip the mask of a mirrored photo is the mirrored mask (no padding here: 192 x 256)."""
    img = cv2.resize(photo[0], (192, 256), interpolation=cv2.INTER_AREA)
    mirrored = np.ascontiguousarray(img[:, ::-1])
    plain = Segmenter(SegmenterConfig(weights=lite_weights, device="cpu", size=256), quiet=True)
    flip = Segmenter(SegmenterConfig(weights=lite_weights, device="cpu", size=256, flip=True), quiet=True)
    assert np.abs(plain(img) - plain(mirrored)[:, ::-1]).max() > 0.05  # the network itself is not symmetric
    assert np.abs(flip(img) - flip(mirrored)[:, ::-1]).max() < 1e-4
    assert "flip-averaged" in flip.describe()


def test_bad_frame_is_a_clear_error(segmenter):
    with pytest.raises(GoSelfiesError, match="uint8"):
        segmenter(np.zeros((10, 10), np.float32))


def test_cuda_requested_without_gpu_is_a_clear_error(lite_weights):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(GoSelfiesError, match="no CUDA GPU"):
        Segmenter(SegmenterConfig(weights=lite_weights, device="cuda"))


def test_auto_device_falls_back_to_cpu_with_a_notice(lite_weights, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    seg = Segmenter(SegmenterConfig(weights=lite_weights, device="auto"))
    assert seg.device == "cpu"
    assert "running on the CPU" in capsys.readouterr().err


def test_threshold_and_feather(photo):
    img, mask = photo
    soft = cv2.GaussianBlur(mask, (0, 0), 5)
    hard = PostProcess(threshold=0.5, refine=False).matte(soft, Pyramid(img))
    assert set(np.unique(hard)) <= {0.0, 1.0}
    feathered = PostProcess(feather=4, refine=False).matte(mask, Pyramid(img))
    edge = (feathered > 0.05) & (feathered < 0.95)
    assert edge.sum() > (mask != cv2.erode(mask, np.ones((3, 3)))).sum()


# --- backgrounds: pixels checked on a real photo with its real mask -----------------------

def test_blur_changes_background_and_keeps_person(photo):
    img, mask = photo
    out = parse_background("blur:20").composite(img, mask)
    bg, fg = mask == 0, mask == 1
    assert np.abs(out[bg].astype(int) - img[bg]).mean() > 3
    assert np.array_equal(out[fg], img[fg])


def test_blur_does_not_bleed_person_into_background(photo):
    """The person is masked out before blurring: no coloured halo around them.

    The real portrait's person is painted pure red; red leaking into the ring of background
    around the person is measured for our blur and for a plain full-frame blur."""
    img, mask = photo
    red = img.copy()
    red[mask == 1] = (0, 0, 255)
    ring = (cv2.dilate(mask, np.ones((31, 31))) > 0) & (mask == 0)

    def redness(x):
        x = x.astype(np.float32)[ring]
        return float((x[:, 2] - (x[:, 0] + x[:, 1]) / 2).mean())

    ours = parse_background("blur:20").composite(red, mask)
    plain = cv2.GaussianBlur(red, (0, 0), 20)
    assert redness(ours) < redness(img) + 5 < redness(plain)


@pytest.mark.parametrize("spec,bgr", [("color:#00ff00", (0, 255, 0)), ("color:#438EDB", (219, 142, 67)), ("blue", (219, 142, 67)), ("color:white", (255, 255, 255))])
def test_colour_region_equals_the_colour(photo, spec, bgr):
    img, mask = photo
    out = parse_background(spec).composite(img, mask)
    assert np.array_equal(out[mask == 0], np.broadcast_to(np.array(bgr, np.uint8), out[mask == 0].shape))
    assert np.array_equal(out[mask == 1], img[mask == 1])


def test_transparent_alpha_equals_the_mask(photo):
    img, mask = photo
    soft = cv2.GaussianBlur(mask, (0, 0), 3)
    out = parse_background("transparent").composite(img, soft)
    assert out.shape == (*mask.shape, 4)
    assert np.array_equal(out[:, :, 3], np.round(soft * 255).astype(np.uint8))
    assert np.array_equal(out[:, :, :3], img)


def test_mask_output_is_8bit_gray_frame_size(photo):
    img, mask = photo
    out = parse_background("mask").composite(img, mask)
    assert out.shape == mask.shape and out.dtype == np.uint8
    assert np.array_equal(out > 127, mask > 0.5)


def test_image_background_is_cover_fitted_not_stretched(photo, data_dir, tmp_path):
    """A landscape photo behind a portrait frame: a round marker painted on it stays round (not
    stretched), the frame is covered to its corners (no bars), and the marker stays centred."""
    img, mask = photo  # portrait 600x800; the mountain photo is landscape 800x531
    src = read_image(data_dir / "composite/backgrounds/bgmv2_mountain.jpg")
    h, w = src.shape[:2]
    cv2.circle(src, (w // 2, h // 2), 60, (255, 0, 255), -1)
    path = tmp_path / "marked.png"
    cv2.imwrite(str(path), src)
    out = parse_background(f"image:{path}").composite(img, np.zeros_like(mask))  # all background
    marker = np.all(np.abs(out.astype(int) - (255, 0, 255)) < 40, axis=2)
    ys, xs = np.nonzero(marker)
    height, width = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    assert abs(width - height) <= 2  # round, so not stretched
    assert abs(height - 120 * img.shape[0] / h) <= 3  # scaled to the frame's full height (cover)
    assert abs(xs.mean() - img.shape[1] / 2) < 2 and abs(ys.mean() - img.shape[0] / 2) < 2
    for edge in (out[0], out[-1], out[:, 0], out[:, -1]):  # covered to the borders: no black bars
        assert edge.mean() > 20


def test_letterbox_keeps_aspect_and_centres():
    tall = np.full((100, 50, 4), 9, np.uint8)
    out = letterbox(tall, 80, 40)
    assert out.shape == (40, 80, 4) and out.dtype == np.uint8
    assert (out[:, 30:50] == 9).all() and (out[:, :30] == 0).all() and (out[:, 50:] == 0).all()
    gray = np.full((30, 90), 255, np.uint8)
    assert letterbox(gray, 90, 60)[15:45].min() == 255 and letterbox(gray, 90, 60)[:15].max() == 0
    same = np.ones((4, 6, 3), np.uint8)
    assert letterbox(same, 6, 4) is same


def test_video_background_loops(photo, data_dir):
    img, mask = photo
    bg = parse_background(f"video:{data_dir / 'videos/webcam_headphones_640x480.mp4'}")
    outs = [bg.composite(img, mask) for _ in range(129)]  # the clip has 127 frames
    assert not np.array_equal(outs[0], outs[60])
    assert np.array_equal(outs[0], outs[127])


@pytest.mark.parametrize("spec,match", [
    ("sparkles", "unknown background"), ("color:#12345", "bad colour"), ("blur:abc", "number"),
    ("image:/nonexistent/bg.jpg", "cannot read"), ("video:/nonexistent/bg.mp4", "no such video"),
])
def test_bad_background_specs(spec, match):
    with pytest.raises(GoSelfiesError, match=match):
        parse_background(spec)


def test_clean_matte_tails_are_exact_and_move_the_half_point_to_their_middle(photo):
    """Background haze (p under the lower tail) becomes exactly 0, the confident body (over the upper) exactly 1, and
    the matte is 0.5 where p is halfway between the tails (a thresholded mask there is the same)."""
    img, mask = photo
    soft = np.clip(cv2.GaussianBlur(mask, (0, 0), 4) * 0.96 + 0.02, 0, 1).astype(np.float32)  # haze 0.02, top 0.98
    post = PostProcess(refine=False)
    lo, hi = post.tails
    assert 0.02 < lo < 0.5 < hi < 0.98
    clean = post.matte(soft, Pyramid(img))  # the tails alone
    assert clean[soft < lo].max() == 0.0 and clean[soft > hi].min() == 1.0
    assert np.array_equal(clean >= 0.5, soft >= (lo + hi) / 2)
    assert PostProcess.none().matte(soft, Pyramid(img)).min() == pytest.approx(0.02)
    alpha = parse_background("transparent").composite(img, clean)[:, :, 3]
    assert alpha[soft < lo].max() == 0 and alpha[soft > hi].min() == 255


def test_boundary_iou_looks_at_edges_only():
    from goselfies.engine.metrics import MeanScores, boundary_iou

    truth = np.zeros((200, 200), bool)
    truth[40:160, 50:150] = True
    shifted = np.roll(truth, 1, axis=1)  # the band is 3 px here (1 % of the diagonal)
    assert boundary_iou(truth, truth) == 1.0
    assert 0.3 < boundary_iou(shifted, truth) < 0.9
    assert boundary_iou(np.roll(truth, 3, axis=1), truth) < boundary_iou(shifted, truth)
    empty = np.zeros_like(truth)
    assert boundary_iou(empty, empty) == 1.0 and boundary_iou(empty, truth) == 0.0
    s = MeanScores()
    s.add(shifted, truth)
    assert s.result()["iou"] > 0.9 > s.result()["boundary_iou"]  # the edge error that IoU hides


def test_a_gpu_out_of_memory_or_driver_error_is_one_line_with_what_to_try(data_dir, tmp_path, capsys, monkeypatch):
    """CUDA running out of memory mid-video (simulated where it is raised: the runner's call, with torch's own
    exception class) ends ``goselfies video`` with one line naming --size and --device cpu, exit 1, and no output
    or partial file; a driver error names --device cpu and nvidia-smi; any other error is left alone."""
    import torch

    from goselfies.cli import main
    from goselfies.engine.runners.onnx import OnnxRunner
    from goselfies.engine.segmenter import gpu_failure

    real, calls = OnnxRunner.predict, []

    def predict(self, frame, rgb=False):
        calls.append(1)
        if len(calls) == 5:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 139.81 GiB total)")
        return real(self, frame, rgb)

    monkeypatch.setattr(OnnxRunner, "predict", predict)
    out = tmp_path / "out"
    rc = main(["video", str(data_dir / "videos/webcam_headphones_640x480.mp4"), "-o", str(out / "x.mp4"),
               "--model", "lite", "--backend", "onnx", "--no-second-pass", "--size", "224"])
    err = capsys.readouterr().err
    lines = [l for l in err.splitlines() if l.startswith("goselfies video: error:")]
    assert rc == 1 and len(lines) == 1 and "Traceback" not in err, err
    assert "the GPU ran out of memory at 224 px" in lines[0] and "--size" in lines[0] and "--device cpu" in lines[0]
    assert not out.exists() or list(out.iterdir()) == []

    driver = gpu_failure(RuntimeError("CUDA error: an illegal memory access was encountered\nCUDA kernel errors..."),
                         "cuda", 512)
    assert "the GPU failed (CUDA error: an illegal memory access was encountered)" in str(driver)
    assert "--device cpu" in str(driver) and "nvidia-smi" in str(driver)
    assert gpu_failure(RuntimeError("shapes do not match"), "cuda", 512) is None
    assert gpu_failure(RuntimeError("CUDA error: x"), "cpu", 512) is None
