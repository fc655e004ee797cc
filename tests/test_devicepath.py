"""The frame path's device engine (``devicepath.TorchOps``) held to the numpy engine on the shared clips.

The same torch code runs on a CUDA GPU; here it runs on the CPU with the shipped lite weights, every
background and option, frame after frame (smoothing, auto-framing and the look-ahead carry state), and
each output and matte must stay within 2 grey levels of the numpy engine's. The CUDA tests at the end
run the same comparison on a GPU (skipped without one)."""
from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from goselfies.engine.segmenter import Segmenter, SegmenterConfig  # noqa: E402
from goselfies.frame.framepath import FramePath, PathConfig  # noqa: E402
from goselfies.frame.postprocess import PostProcess  # noqa: E402
from goselfies.io.media import VideoReader  # noqa: E402

TOLERANCE = 2  # grey levels
CLIPS = ("webcam_gestures_640x480", "desk_960x540", "chair_side_540x960")


@pytest.fixture(scope="module")
def segmenter():
    return Segmenter(SegmenterConfig(model="lite", backend="torch", device="cpu"), quiet=True)


_frames: dict[tuple[str, int, int], list[np.ndarray]] = {}


def frames(data_dir, clip: str, n: int = 8, every: int = 3) -> list[np.ndarray]:
    """n frames of a shared clip, ``every`` apart (so the picture moves between them)."""
    key = (clip, n, every)
    if key not in _frames:
        reader = VideoReader(data_dir / "videos" / f"{clip}.mp4")
        _frames[key] = [f.copy() for f in itertools.islice(reader, 0, n * every, every)]
        reader.close()
    return _frames[key]


def paths(segmenter, **options) -> tuple[FramePath, FramePath]:
    return tuple(FramePath(segmenter, PathConfig(skip=False, engine=e, **options)) for e in ("numpy", "torch"))


def worst(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape and a.dtype == b.dtype == np.uint8
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


def beyond(a: np.ndarray, b: np.ndarray) -> float:
    """The share of values that differ by more than TOLERANCE."""
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16)) > TOLERANCE))


# A hard threshold turns a probability within float error of it into 0 on one engine and 255 on the other: a small
# pixel or two that flip, enlarged (4 of 518400 pixels on one chair_side frame, 84 with feathering after it)
FLIPS = 1e-3  # a wrong edge differs along the whole outline: thousands of pixels
STRAYS = 1e-5  # float rounding (the refine's filter, the enlargement) leaves a lone pixel one level past TOLERANCE


def compare(segmenter, clip_frames, flips: float = 0.0, **options) -> tuple[FramePath, FramePath]:
    """Every output and matte within TOLERANCE of the numpy engine's but for STRAYS (a lone pixel one level
    past it); ``flips``: the share of pixels allowed past it (a hard threshold's)."""
    numpy_path, torch_path = paths(segmenter, **options)
    assert torch_path.ops.name == "torch" and numpy_path.ops.name == "numpy"
    for i, frame in enumerate(clip_frames):
        (out_n, alpha_n, _), (out_t, alpha_t, _) = numpy_path(frame), torch_path(frame)
        if flips:
            assert beyond(out_n, out_t) <= flips, f"frame {i}: {beyond(out_n, out_t):.2e} of the output differs"
            assert beyond(alpha_n, alpha_t) <= flips, f"frame {i}: {beyond(alpha_n, alpha_t):.2e} of the matte differs"
            continue
        for what, a, b in (("output", out_n, out_t), ("matte", alpha_n, alpha_t)):
            assert worst(a, b) <= TOLERANCE + 1, f"frame {i}: the {what} differs by {worst(a, b)}"
            assert beyond(a, b) <= STRAYS, f"frame {i}: {beyond(a, b):.2e} of the {what} differs by more than {TOLERANCE}"
    return numpy_path, torch_path


BACKGROUNDS = ["blur", "blur:60", "blue", "image:{data}/eg1800/test/images/00002.jpg",
               "video:{data}/videos/webcam_headphones_640x480.mp4", "transparent", "mask"]


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_every_background_matches_the_numpy_engine(segmenter, data_dir, background):
    compare(segmenter, frames(data_dir, CLIPS[0]), background=background.format(data=data_dir))


OPTIONS = {
    "no refine": dict(post=PostProcess(refine=False)),
    "threshold": dict(post=PostProcess(threshold=0.5)),
    "feather": dict(post=PostProcess(feather=4.0)),
    "threshold and feather": dict(post=PostProcess(threshold=0.5, feather=2.0)),
    "no smoothing": dict(smoothing=0.0),
    "strong smoothing": dict(smoothing=0.9, motion=0.5),
}


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("clip", CLIPS)
def test_post_processing_and_smoothing_match_the_numpy_engine(segmenter, data_dir, clip, option):
    hard = OPTIONS[option].get("post", PostProcess()).threshold is not None
    compare(segmenter, frames(data_dir, clip, n=5), FLIPS if hard else 0.0, background="blue", **OPTIONS[option])


def test_flip_averaging_matches_the_numpy_engine(data_dir):
    flipped = Segmenter(SegmenterConfig(model="lite", backend="torch", device="cpu", flip=True), quiet=True)
    compare(flipped, frames(data_dir, CLIPS[1], n=3), background="blue")


@pytest.mark.parametrize("option", ["second_pass", "look_closer"])
def test_second_pass_and_look_closer_match_the_numpy_engine(segmenter, data_dir, option):
    """On a hiker standing back (DAVIS hike) both kinds of second look run (the output differs from one pass
    alone) and the engines agree."""
    from goselfies.io.media import read_image

    clip = [read_image(p) for p in sorted((data_dir / "davis_people/hike/images").iterdir())[:40:10]]
    numpy_path, torch_path = compare(segmenter, clip, background="mask", **{option: True})
    one_pass = FramePath(segmenter, PathConfig(skip=False, background="mask", engine="torch"))
    assert worst(one_pass(clip[-1])[0], torch_path(clip[-1])[0]) > 50, f"{option} did not run"


def test_a_context_pass_matches_the_numpy_engine(data_dir, tmp_path):
    """Above the weights' own size (lite's 288 px, its file made to declare a context pass) both engines add the
    pass at it, the second pass's calls too (their crops grow here), and agree; the pass changes the answer."""
    import shutil

    from goselfies.engine.weights import shipped_weights, update_metadata
    from goselfies.io.media import read_image

    weights = shutil.copy(shipped_weights("lite"), tmp_path / "lite.safetensors")
    update_metadata(weights, context=True)
    big = Segmenter(SegmenterConfig(model="lite", weights=weights, backend="torch", device="cpu", size=448), quiet=True)
    assert big.context_side() == 288
    clip = [read_image(p) for p in sorted((data_dir / "davis_people/hike/images").iterdir())[:20:10]]
    _, torch_path = compare(big, clip, background="mask", smoothing=0.0, second_pass=True)
    alone = Segmenter(SegmenterConfig(model="lite", backend="torch", device="cpu", size=448), quiet=True)
    assert alone.context_side() is None  # the shipped file declares none
    without = FramePath(alone, PathConfig(skip=False, background="mask", engine="torch", smoothing=0.0, second_pass=True))
    assert worst(without(clip[-1])[0], torch_path(clip[-1])[0]) > 50


def test_auto_framing_matches_the_numpy_engine(segmenter, data_dir):
    """The crop moves in on the person sitting back (chair clip) and both engines warp alike (the crop within a
    hundredth of a pixel: the refined matte's smoothing keeps float state, so a pixel can round one level apart)."""
    numpy_path, torch_path = compare(segmenter, frames(data_dir, CLIPS[2], n=30, every=2),
                                     auto_frame=True, frame_zoom=0.4)
    h, w = frames(data_dir, CLIPS[2], n=30, every=2)[0].shape[:2]
    assert not torch_path.crop.is_full(w, h)
    t, n = torch_path.crop, numpy_path.crop
    assert (t.x, t.y, t.w, t.h) == pytest.approx((n.x, n.y, n.w, n.h), abs=0.01)


def test_file_path_with_lookahead_matches_the_numpy_engine(segmenter, data_dir):
    """push/flush (a video file: every frame segmented, the smoother looking 2 frames ahead)."""
    clip = frames(data_dir, CLIPS[0], n=6)
    outs = []
    for path in paths(segmenter, background="blur", lookahead=2):
        got = [out.copy() for f in clip for _, out, _ in path.push(f)]
        got += [out.copy() for _, out, _ in path.flush()]
        outs.append(got)
    assert len(outs[0]) == len(outs[1]) == len(clip)
    assert max(worst(a, b) for a, b in zip(*outs)) <= TOLERANCE


@pytest.mark.parametrize("h, w, nh, nw", [(270, 480, 160, 284), (480, 270, 284, 160), (240, 320, 160, 213),
                                          (400, 300, 213, 160), (270, 480, 162, 288)])
def test_the_pyramids_last_step_is_opencvs_to_the_grey_level(h, w, nh, nw):
    """The bilinear shrink of a pyramid level (less than 2x) on the device equals cv2.INTER_LINEAR on uint8, also
    at the scales network_fit gives (its weights are computed in float32, as OpenCV's)."""
    from goselfies.frame.devicepath import Filters

    img = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    got = Filters(torch.device("cpu")).linear_u8(x, nw, nh)[0].permute(1, 2, 0).numpy()
    assert np.array_equal(got, cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR))


@pytest.mark.parametrize("h, w, nh, nw", [(390, 147, 548, 207), (100, 80, 137, 93), (50, 200, 120, 150),
                                          (300, 200, 120, 90)])
def test_area_resizes_are_opencvs(h, w, nh, nw):
    """cv2.INTER_AREA on the device (the second pass's crop): where the picture grows, on either axis, OpenCV
    takes other weights than its shrink's, and the device takes the same: uint8 to the grey level, float to 1e-4."""
    from goselfies.frame.devicepath import Filters

    img = cv2.GaussianBlur(np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 2)
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    filters = Filters(torch.device("cpu"))
    got = filters.area_u8(x, nw, nh)[0].permute(1, 2, 0).numpy().astype(np.uint8)
    assert worst(got, cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)) <= (0 if nh > h or nw > w else 1)
    smooth = filters.area(x, nw, nh)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(smooth, cv2.resize(img.astype(np.float32), (nw, nh), interpolation=cv2.INTER_AREA),
                               atol=1e-4)


def test_auto_engine_is_numpy_on_a_cpu_and_a_plain_function_cannot_take_torch(segmenter):
    from goselfies.errors import GoSelfiesError

    assert FramePath(segmenter).ops.name == "numpy"
    with pytest.raises(GoSelfiesError, match="Segmenter"):
        FramePath(lambda f: np.zeros(f.shape[:2], np.float32), PathConfig(engine="torch"))
    with pytest.raises(GoSelfiesError, match="unknown frame engine"):
        FramePath(segmenter, PathConfig(engine="tpu"))


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none found)")


@pytest.mark.cuda
@cuda
@pytest.mark.parametrize("background", ["blur", "blue", "transparent"])
def test_cuda_engine_is_chosen_and_close_to_the_cpu(data_dir, background):
    """On a GPU the torch engine is the default; fp16 moves the network's answer a little, so the matte
    is held to the numpy engine's on the mean and on 99.9 % of its pixels."""
    gpu = Segmenter(SegmenterConfig(model="lite", device="cuda"), quiet=True)
    cpu = Segmenter(SegmenterConfig(model="lite", backend="torch", device="cpu"), quiet=True)
    on_gpu = FramePath(gpu, PathConfig(skip=False, background=background))
    on_cpu = FramePath(cpu, PathConfig(skip=False, background=background, engine="numpy"))
    assert on_gpu.ops.name == "torch"
    for frame in frames(data_dir, CLIPS[0], n=4):
        (a, am, _), (b, bm, _) = on_gpu(frame), on_cpu(frame)
        diff = np.abs(am.astype(np.int16) - bm.astype(np.int16))
        assert diff.mean() < 0.5 and np.percentile(diff, 99.9) <= 16
        assert np.abs(a.astype(np.int16) - b.astype(np.int16)).mean() < 0.5


def test_a_model_switch_between_engines_adopts_the_frames_in_flight(segmenter, data_dir):
    """A live session that switches between a GPU and a CPU model has a pyramid and a matte made by the old engine
    in flight: the new one takes them over (the output as if it had made them itself)."""
    from goselfies.engine.pyramid import Pyramid

    frame = frames(data_dir, CLIPS[0], n=1)[0]
    numpy_path, torch_path = paths(segmenter, background="blue", smoothing=0.0)
    want, _, _ = numpy_path(frame)
    # the torch engine given the numpy engine's pyramid and matte, and the reverse
    small = numpy_path.matte(Pyramid(frame))
    got = torch_path.compose(Pyramid(frame), small)[0]
    assert worst(want, got) <= TOLERANCE
    device_pyramid = torch_path.ops.pyramid(frame)
    small = torch_path.matte(device_pyramid)
    got = numpy_path.compose(device_pyramid, small)[0]
    assert worst(want, got) <= TOLERANCE
    fresh = FramePath(segmenter, PathConfig(engine="numpy"))  # skip on: the change detector reads it too
    assert fresh.needs_mask(torch_path.ops.pyramid(frame)) is True  # a first picture
    assert fresh.needs_mask(torch_path.ops.pyramid(frame)) is False  # the same picture again


@pytest.mark.parametrize("step", ["box", "gaussian"])  # the refine (post-processing), the blurred background
def test_a_gpu_failure_in_a_full_size_step_is_one_line_with_what_to_try(segmenter, data_dir, step):
    """Out of memory in the frame path's own steps, not only in the network, ends in one line naming --size and
    --device cpu (simulated: the CPU has no CUDA); any other error is raised as it was."""
    from goselfies.errors import GoSelfiesError

    frame = frames(data_dir, CLIPS[0], n=1)[0]
    _, path = paths(segmenter, background="blur")

    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 24.00 MiB")

    setattr(path.ops.filters, step, out_of_memory)
    with pytest.raises(GoSelfiesError, match=rf"^the GPU ran out of memory at {segmenter.size} px .*--size, or --device cpu$"):
        path(frame)

    def bug(*args, **kwargs):
        raise RuntimeError("shape mismatch")

    setattr(path.ops.filters, step, bug)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        path(frame)


def test_auto_takes_the_torch_engine_only_for_the_cuda_torch_runner(segmenter):
    """--backend onnx (or openvino) with --device cuda keeps its runner: the frame path stays numpy around it."""
    class OnnxOnCuda:
        device, size = "cuda", 224
        runner = type("OnnxRunner", (), {"name": "onnx"})()

        def __call__(self, image):
            return np.zeros(image.shape[:2], np.float32)

    assert FramePath(OnnxOnCuda()).ops.name == "numpy"
