"""``evaluate --clips``: a labelled clip's frames scored in order, with how the mattes change from frame to frame
against the truth (flicker, temporal error), on the shared DAVIS sequences."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from goselfies.cli import main
from goselfies.engine.metrics import TEMPORAL_KEYS
from goselfies.engine.scoring import evaluate, pairs


@pytest.fixture(scope="module")
def clip(data_dir):
    return data_dir / "davis_people" / "rollerblade"  # 35 frames, a skater crossing fast


def truths(clip) -> list[np.ndarray]:
    return [cv2.imread(str(m), cv2.IMREAD_GRAYSCALE) > 127 for _, m in pairs(clip)]


def test_temporal_scores_of_known_mattes(clip):
    """The truth itself: no temporal error, its flicker the truth's own change. The truth one frame late (a matte
    that lags): the error is the mean |change of the matte - change of the truth| over pixels and frame pairs."""
    truth = truths(clip)
    real = np.mean([np.abs(b.astype(np.float32) - a).mean() for a, b in zip(truth, truth[1:])])
    assert real > 0.01  # the skater moves

    frames = iter(truth)
    exact = evaluate(clip, lambda frame: next(frames).astype(np.float32), clip=True)
    assert exact["temporal_error"] == 0 and exact["iou"] == 1
    assert exact["flicker"] == pytest.approx(real) and exact["truth_change"] == pytest.approx(real)

    late = [truth[0], *truth[:-1]]
    frames = iter(late)
    lagging = evaluate(clip, lambda frame: next(frames).astype(np.float32), clip=True)
    f = [t.astype(np.float32) for t in truth]
    m = [t.astype(np.float32) for t in late]
    want = np.mean([np.abs((m[i] - m[i - 1]) - (f[i] - f[i - 1])).mean() for i in range(1, len(f))])
    assert lagging["temporal_error"] == pytest.approx(want) and want > 0.01
    assert lagging["flicker"] == pytest.approx(np.mean([np.abs(m[i] - m[i - 1]).mean() for i in range(1, len(m))]))

    assert not set(TEMPORAL_KEYS) & set(evaluate(clip, lambda frame: truth[0].astype(np.float32)))  # stills: none


def test_a_frame_that_cannot_be_scored_breaks_the_chain(clip, tmp_path):
    """A missing mask in the middle of a clip: one error line, and no frame pair across the gap."""
    import shutil

    shutil.copytree(clip, tmp_path / "clip")
    (tmp_path / "clip" / "masks" / "00010.png").unlink()
    truth = [t.astype(np.float32) for t in truths(clip)]
    result = evaluate(tmp_path / "clip", lambda frame: np.zeros(frame.shape[:2], np.float32), clip=True)
    assert len(result["errors"]) == 1 and result["n"] == len(truth) - 1
    # an empty matte: the error is the truth's own change, over the pairs on either side of the gap only
    kept = [i for i in range(1, len(truth)) if 10 not in (i - 1, i)]
    want = np.mean([np.abs(truth[i] - truth[i - 1]).mean() for i in kept])
    across = np.mean([np.abs(truth[i] - truth[i - 1]).mean() for i in kept] + [np.abs(truth[11] - truth[9]).mean()])
    assert result["temporal_error"] == pytest.approx(want) and result["truth_change"] == pytest.approx(want)
    assert result["flicker"] == 0 and abs(want - across) > 1e-4


def test_evaluate_live_clips_is_a_session_fed_the_frames_in_order(clip, tmp_path, capsys):
    """``evaluate --live --clips`` scores the mattes of one live session's frame path fed the clip's frames in order
    (its past kept from frame to frame), and prints and writes the temporal scores beside the others."""
    from livefakes import SyntheticSource

    from goselfies.live.session import build_session
    from goselfies.live.settings import LiveSettings

    code = main(["evaluate", "--live", "--clips", "--backend", "onnx", "--data", str(clip),
                 "--json", str(tmp_path / "clip.json")])
    out = capsys.readouterr()
    assert code == 0, out.err
    result = json.loads((tmp_path / "clip.json").read_text())
    assert all(line.split()[0] in out.out for line in ("flicker", "temporal_error", "truth_change"))

    session = build_session(LiveSettings(backend="onnx"), source_factory=lambda s: SyntheticSource())
    try:
        path = session.pipeline.path
        path.reset()
        again = evaluate(clip, path.mask, clip=True)
    finally:
        session.pipeline.capture.stop()
    assert again["per_image"] == result["per_image"]
    assert {k: again[k] for k in TEMPORAL_KEYS} == {k: result[k] for k in TEMPORAL_KEYS}
    assert 0 < result["temporal_error"] < 0.05 and result["iou"] > 0.7


def test_mediapipe_through_the_same_clip_scoring(clip, tmp_path):
    """``benchmarks.accuracy --clips``: MediaPipe's masks as its own solution gives them, and inside a live session's
    frame path, scored by the same code (the peers' column of the README's table)."""
    from goselfies.benchmarks import accuracy
    from goselfies.engine.mediapipe_selfie import mediapipe_available

    if not mediapipe_available():
        pytest.skip("mediapipe is not installed (pip install '.[mediapipe]')")
    results = {}
    for how in ("", "--live"):
        out = tmp_path / f"mp{how}.json"
        assert accuracy.main(["--clips", "--data", str(clip), "--json", str(out), *filter(None, [how])]) == 0
        results[how] = json.loads(out.read_text())
    assert (results[""]["model"], results["--live"]["model"]) == ("mediapipe-general", "mediapipe-general-live")
    for r in results.values():
        assert r["n"] == 35 and 0 < r["temporal_error"] < 0.2 and r["truth_change"] > 0.01
    assert results[""]["per_image"] != results["--live"]["per_image"]


def test_the_refined_matte_is_smoothed_once_more(data_dir):
    """The live path smooths the refined matte too (``FramePath.settle``): on ``hike`` (held out of training) the
    temporal error falls against the same session with smoothing off, and IoU stays; a hard matte stays hard."""
    from goselfies.live.session import live_path
    from goselfies.live.settings import LiveSettings

    hike = data_dir / "davis_people" / "hike"
    scores = {}
    for smoothing in (0.0, 0.6):
        _, path = live_path(LiveSettings(backend="onnx", smoothing=smoothing))
        scores[smoothing] = evaluate(hike, path.mask, clip=True)
    assert scores[0.6]["temporal_error"] < scores[0.0]["temporal_error"] - 0.0003  # measured 0.0095 against 0.0099
    assert scores[0.6]["iou"] >= scores[0.0]["iou"] - 0.001

    _, path = live_path(LiveSettings(backend="onnx", threshold=0.5))
    for img, _ in list(pairs(hike))[:5]:
        matte = path.mask(cv2.imread(str(img)))
        assert set(np.unique(matte)) <= {0.0, 1.0}
