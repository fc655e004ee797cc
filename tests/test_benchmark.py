"""benchmark-fps end to end at CI scale: both modes, table, JSON, CSV and PNG; clean errors."""
from __future__ import annotations

import csv
import json

import pytest

from goselfies.benchmarks.main import main as benchmark_main
from goselfies.cli import main


@pytest.fixture(autouse=True)
def onnx_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GOSELFIES_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "onnx-cache"))


def test_quick_run_writes_table_json_csv_and_chart(lite_weights, tmp_path, capsys):
    out = tmp_path / "bench"
    rc = main(["benchmark-fps", "--quick", "--weights", f"lite={lite_weights}", "--sizes", "64",
               "--resize", "160x120", "--frames", "4", "-o", str(out)])
    assert rc == 0
    table = capsys.readouterr().out
    assert "median ms" in table and "pipeline" in table and "model" in table
    data = json.loads((out / "results.json").read_text())
    assert data["machine"]["usable_cores"] >= 1 and data["machine"]["versions"]["torch"]
    rows = [r for r in data["results"] if not r["skipped"]]
    modes = {(r["mode"], r["model"], r["backend"]) for r in rows}
    assert {("model", "lite", "torch"), ("model", "lite", "onnx"), ("pipeline", "lite", "onnx")} <= modes
    for r in rows:
        assert r["fps"] > 0 and r["median_ms"] <= r["p90_ms"] <= r["p99_ms"] + 1e-9
    pipe = next(r for r in rows if r["mode"] == "pipeline" and r["backend"] == "onnx")
    assert pipe["frame"] == "160x120" and pipe["n"] == 4
    assert {"decode", "segment", "composite", "encode", "segment.infer"} <= set(pipe["stages_ms"])
    if any(r["model"] == "mediapipe" for r in rows):  # the optional reference, when installed
        assert pipe["ratio_to_mediapipe"] > 0
    with open(out / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == len(data["results"])
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob(".benchmark-*.mp4"))  # the scratch encode is cleaned up


def test_impossible_combinations_are_skipped_not_faked(lite_weights, tmp_path, capsys):
    rc = benchmark_main(["model", "--quick", "--device", "cpu", "--weights", f"lite={lite_weights}", "--sizes", "64",
                         "--precisions", "fp16", "--backends", "torch,cudagraph", "--mediapipe", "off", "-o", str(tmp_path)])
    assert rc == 0
    rows = json.loads((tmp_path / "results.json").read_text())["results"]
    assert rows and all(r["skipped"] for r in rows)


def test_help_explains_modes_and_bad_input_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        benchmark_main(["--help"])
    text = capsys.readouterr().out
    for word in ("pipeline", "MediaPipe", "--quick", "p99", "results.csv", "random"):
        assert word in text
    assert benchmark_main(["--models", "nope", "-o", str(tmp_path)]) == 1
    assert benchmark_main(["pipeline", "--video", str(tmp_path / "missing.mp4"), "-o", str(tmp_path)]) == 1
    assert benchmark_main(["pipeline", "--quick", "--camera", "97", "--mediapipe", "off", "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "unknown model" in err and "no such video" in err and "cannot open camera 97" in err
    assert "Traceback" not in err


def test_mediapipe_accuracy_with_and_without_our_refine(data_dir, tmp_path):
    """The like-for-like check of the edge filter: MediaPipe's own masks, then the same masks refined
    (measured on these 6 EG1800 portraits: IoU 0.955 -> 0.958; all 264: 0.962 -> 0.965)."""
    from goselfies.benchmarks import accuracy
    from goselfies.engine.mediapipe_selfie import mediapipe_available

    if not mediapipe_available():
        pytest.skip("mediapipe is not installed (pip install '.[mediapipe]')")
    test = data_dir / "eg1800/test"
    for sub in ("images", "masks"):
        (tmp_path / "six" / sub).mkdir(parents=True)
    for stem in ("00002", "00210", "00417", "00642", "00861", "01043"):
        (tmp_path / "six/images" / f"{stem}.jpg").symlink_to(test / "images" / f"{stem}.jpg")
        (tmp_path / "six/masks" / f"{stem}.png").symlink_to(test / "masks" / f"{stem}.png")
    plain, refined = tmp_path / "plain.json", tmp_path / "refined.json"
    assert accuracy.main(["--data", str(tmp_path / "six"), "--json", str(plain)]) == 0
    assert accuracy.main(["--data", str(tmp_path / "six"), "--refine", "--json", str(refined)]) == 0
    plain, refined = json.loads(plain.read_text()), json.loads(refined.read_text())
    assert (plain["model"], refined["model"]) == ("mediapipe-general", "mediapipe-general-refined")
    assert refined["n"] == plain["n"] == 6
    assert refined["boundary_iou"] > plain["boundary_iou"] and refined["iou"] > plain["iou"]


def test_live_mode_runs_the_real_session_on_a_shared_clip(data_dir, tmp_path, capsys):
    """benchmark-fps live --quick: our live session (and its no-skip twin) on a real clip made 320x240@30."""
    out = tmp_path / "live"
    rc = main(["benchmark-fps", "live", "--quick", "--mediapipe", "off", "--seconds", "2", "--device", "cpu",
               "--video", str(data_dir / "videos/webcam_headphones_640x480.mp4"), "-o", str(out)])
    assert rc == 0
    assert "CPU ms/frame" in capsys.readouterr().out
    rows = {r["config"]: r for r in json.loads((out / "live.json").read_text())["rows"]}
    assert set(rows) == {"lite", "lite no-skip", "lite no-look-closer"}
    for r in rows.values():
        assert r["clip"] == "320x240@30" and r["frames_out"] >= 20 and r["cpu_ms_per_frame"] > 0
        assert 0 < r["latency_p50_ms"] <= r["latency_p99_ms"]
        assert r["engine"].startswith("lite (") and ", cpu)" in r["engine"]  # the device and backend of the row
    # without the skip no frame is found unchanged; with it, the still clip keeps masks (how many: the benchmark's)
    assert rows["lite no-skip"]["skipped"] == 0 < rows["lite"]["skipped"]
    assert (out / "clips" / "webcam_headphones_640x480_320x240_30.mp4").is_file()


def test_live_mode_needs_a_video(tmp_path, capsys):
    assert benchmark_main(["live", "-o", str(tmp_path / "x")]) != 0
    err = capsys.readouterr().err
    assert "--video" in err and "Traceback" not in err


def test_live_mode_times_the_weights_it_is_given(data_dir, tmp_path, capsys):
    """--weights NAME=PATH reaches the live session's settings for that model only, and a file of another model
    is one line, not a run."""
    from goselfies.benchmarks.live_bench import default_configs
    from goselfies.engine.weights import shipped_weights

    lite = str(shipped_weights("lite"))
    rows = default_configs(["lite", "quality"], [0], ["onnx"], [None], mediapipe=False, weights={"lite": lite})
    assert {r.name: r.settings["weights"] for r in rows} == {
        "lite onnx": lite, "lite onnx no-skip": lite, "lite onnx no-look-closer": lite, "quality onnx": "",
        "quality onnx no-skip": ""}
    clip = str(data_dir / "videos/webcam_headphones_640x480.mp4")
    rc = benchmark_main(["live", "--video", clip, "--weights", f"lite={shipped_weights('quality')}",
                         "-o", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert rc != 0 and "weights are for 'quality', not 'lite'" in err and "Traceback" not in err
