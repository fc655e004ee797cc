"""LR range test, the 8-model grid (--quick), the COCO importer and the held-out folder."""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_training import _one_thread, assert_one_line_error, cli, make_pairs  # noqa: F401 (fixture)

from goselfies.errors import GoSelfiesError

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny(data_dir, tmp_path_factory) -> Path:
    return make_pairs(data_dir, tmp_path_factory.mktemp("tiny_tools"), 6)


# ---------------------------------------------------------------- LR range test
def test_markers_on_a_known_curve():
    from goselfies.training.lr_range import find_markers, lr_schedule

    lrs = [lr_schedule(i, 61, 1e-6, 1.0) for i in range(61)]  # 10 steps per decade
    assert lrs[0] == pytest.approx(1e-6) and lrs[-1] == pytest.approx(1.0) and lrs[30] == pytest.approx(1e-3)

    def loss(lr):  # flat, falls between 1e-4 and 1e-2, rises after
        if lr <= 1e-4:
            return 1.0
        if lr <= 1e-2:
            return 1.0 - 0.8 * math.log10(lr / 1e-4) / 2
        return 0.2 + 3 * math.log10(lr / 1e-2)

    fall, rise = find_markers(lrs, [loss(lr) for lr in lrs])
    assert lrs[fall] == pytest.approx(1e-4, rel=0.3)
    assert lrs[rise] == pytest.approx(1e-2, rel=0.01)


def test_range_test_restores_model_and_optimizer_and_suggests_a_third_of_max(tiny):
    from goselfies.engine.models import model_info
    from goselfies.engine.networks import create_model
    from goselfies.training.data import PairDataset, find_pairs
    from goselfies.training.lr_range import lr_range_test
    from goselfies.training.trainer import loss_fn

    torch.manual_seed(0)
    model = create_model("lite")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(PairDataset(find_pairs(tiny), 64, True, model_info("lite")), batch_size=2)
    x, y = next(iter(loader))  # one real step first, so Adam has state worth restoring
    loss_fn(model(x), y, True).backward()
    opt.step()
    before_model = {k: v.clone() for k, v in model.state_dict().items()}
    before_opt = opt.state_dict()
    before_opt = {"state": {k: {n: t.clone() for n, t in s.items()} for k, s in before_opt["state"].items()},
                  "lr": [g["lr"] for g in before_opt["param_groups"]]}
    rng = torch.get_rng_state()

    r = lr_range_test(model, opt, loader, lambda o, t: loss_fn(o, t, True), 1e-5, 1.0, steps=8)

    assert len(r.lrs) == len(r.losses) == len(r.smoothed) <= 8
    assert r.lrs[0] == pytest.approx(1e-5)
    assert r.fall_lr <= r.rise_lr
    assert r.suggested_lr == pytest.approx(r.rise_lr / 3)
    assert r.suggested_range == pytest.approx((r.rise_lr / 4, r.rise_lr / 3))
    after = model.state_dict()
    assert all(torch.equal(before_model[k], after[k]) for k in before_model)
    now = opt.state_dict()
    assert [g["lr"] for g in now["param_groups"]] == before_opt["lr"]
    assert now["state"].keys() == before_opt["state"].keys()
    assert all(torch.equal(before_opt["state"][k][n], now["state"][k][n])
               for k in before_opt["state"] for n in before_opt["state"][k])
    assert torch.equal(torch.get_rng_state(), rng)
    assert model.training


def test_lr_find_cli_writes_plot_and_suggestion(tiny, tmp_path, capsys):
    png = tmp_path / "lr" / "find.png"
    rc, out, err = cli(capsys, "lr-find", "--data", tiny, "--model", "lite", "--size", 64, "--batch", 2,
                       "--steps", 6, "--start-lr", 1e-5, "--end-lr", 1e-1, "--device", "cpu", "-o", png)
    assert rc == 0, err
    assert png.is_file() and png.stat().st_size > 5000
    rows = (tmp_path / "lr" / "find.csv").read_text().splitlines()
    assert rows[0] == "lr,loss,smoothed" and len(rows) >= 4
    assert "starts falling at LR" in out and "starts rising at LR" in out and "suggested LR" in out

    rc, _, err = cli(capsys, "lr-find", "--data", tiny, "--model", "lite", "--size", 64, "--start-lr", 1,
                     "--end-lr", 1e-3, "-o", png)
    assert_one_line_error(rc, err, "lr-find", "start LR < end LR")


# ---------------------------------------------------------------- grid
def test_grid_quick_writes_table_and_marks_unavailable_pretrained_rows(tiny, tmp_path, capsys):
    from safetensors.torch import save_file

    from goselfies.engine.networks import create_model

    # A local "ImageNet" ResNet34 encoder (random here): its pretrained rows run, VGG16's cannot.
    weights_dir = tmp_path / "enc"
    weights_dir.mkdir()
    enc = create_model("resunet34").encoder.state_dict()
    save_file({k: v.contiguous() for k, v in enc.items()}, str(weights_dir / "resnet34.safetensors"))

    out = tmp_path / "grid"
    rc, stdout, err = cli(capsys, "grid", "--data", tiny, "--test", tiny, "--quick", "--offline",
                          "--encoder-weights-dir", weights_dir, "--out", out, "--device", "cpu")
    assert rc == 0, err
    table = (out / "table.md").read_text()
    assert table in stdout
    rows = [l for l in table.splitlines() if l.startswith("| ") and not l.startswith("| Model")]
    names = [r.split("|")[1].strip() for r in rows]
    assert names == ["Vgg16-128", "Vgg16-128-pretrain", "Vgg16-512", "Vgg16-512-pretrain",
                     "Resnet34-128", "Resnet34-128-pretrain", "Resnet34-512", "Resnet34-512-pretrain"]
    for row in rows:
        cells = [c.strip() for c in row.split("|")[2:-1]]
        if row.startswith("| Vgg16-") and "pretrain" in row:
            assert cells[0].startswith("not run: no ImageNet weights for the vgg16 encoder"), row
            assert cells[1:] == ["", "", ""]
        else:
            assert all(float(c.strip("*")) >= 0 for c in cells), row  # four real numbers
    assert "Quick scale" in table and "| Model | Training loss | Testing loss | Testing accuracy | Testing Dice |" in table
    grid = json.loads((out / "grid.json").read_text())
    pre = [r for r in grid["rows"] if r["name"] == "Resnet34-512-pretrain"][0]
    assert pre["status"] == "ok" and pre["encoder_weights"].endswith("resnet34.safetensors") and pre["trained_size"] == 64
    # the pretrained row really started from the local encoder file
    cfg = json.loads((out / "Resnet34-128-pretrain" / "config.json").read_text())
    assert cfg["encoder_weights"].endswith("resnet34.safetensors") and cfg["size"] == 32


def test_pretrained_resolution_reports_a_misfit_local_file(tmp_path):
    from safetensors.torch import save_file

    from goselfies.engine.networks import create_model
    from goselfies.training.grid_search import GridSpec, resolve_pretrained

    enc = create_model("resunet34").encoder.state_dict()
    save_file({k: v.contiguous() for k, v in enc.items()}, str(tmp_path / "vgg16.safetensors"))  # wrong network
    cache: dict = {}
    spec = GridSpec(data=[], out=str(tmp_path), encoder_weights_dir=str(tmp_path), offline=True)
    with pytest.raises(GoSelfiesError, match="do not fit"):
        resolve_pretrained("vgunet16", spec, cache)
    with pytest.raises(GoSelfiesError, match="do not fit"):  # remembered: the grid asks once per encoder
        resolve_pretrained("vgunet16", spec, cache)
    with pytest.raises(GoSelfiesError, match="no resnet34.safetensors or resunet34-encoder.safetensors"):
        resolve_pretrained("resunet34", spec, cache)


def test_markdown_table_bolds_the_best_and_never_fakes_missing_rows():
    from goselfies.training.grid_search import GridRow, GridSpec, markdown_table

    rows = [GridRow("Resnet34-128", "resunet34", 128, 128, False, train_loss=0.2, test_loss=0.3, accuracy=0.9, dice=0.8),
            GridRow("Resnet34-512", "resunet34", 512, 512, False, train_loss=0.1, test_loss=0.4, accuracy=0.95, dice=0.7),
            GridRow("Resnet34-512-pretrain", "resunet34", 512, 512, True, status="not run: offline | no file")]
    table = markdown_table(rows, GridSpec(data=["d"], out="o"))
    assert "| Resnet34-128 | 0.2000 | **0.3000** | 0.9000 | **0.8000** |" in table
    assert "| Resnet34-512 | **0.1000** | 0.4000 | **0.9500** | 0.7000 |" in table
    assert "| Resnet34-512-pretrain | not run: offline / no file | | | |" in table
    assert "Validation loss" in table  # no --test folder: says what was scored


# ---------------------------------------------------------------- COCO importer
def test_rle_codec_round_trip_and_reference_string():
    from goselfies.training.coco import rle_decode, rle_encode

    # uncompressed counts, by hand: column-major runs 0,1,1 | 0,0,0
    assert rle_decode({"size": [2, 3], "counts": [1, 2, 3]}).tolist() == [[0, 1, 0], [1, 0, 0]]
    rng = np.random.default_rng(0)
    masks = [np.zeros((7, 5)), np.ones((7, 5)), rng.random((40, 33)) > 0.5, rng.random((64, 48)) > 0.97]
    big = np.zeros((300, 200), bool)
    big[30:250, 40:190] = True  # runs longer than 32 need several 5-bit groups
    masks.append(big)
    for m in masks:
        rle = rle_encode(m)
        assert isinstance(rle["counts"], str)
        assert np.array_equal(rle_decode(rle), m.astype(np.uint8))
    # A string written by pycocotools (50x70 example in the armengot/COCOtoolsFORK README):
    # our decoder must cover every pixel and our encoder must give back the same bytes.
    ref = ("0g05b08J4M2N2NA^O1`0OCO=0E090H080IO68DH;>@C>a0_O_O`0j0OWOF<:CM72I24NL43JM92FN;1ENKO72L0LO91J0MO92INO0"
           "NO122OO0M031O000NO31OO11MO40N011MO41MO21L06OL021L06OL021L06OL021L060J040L060J040L060J040L060J040L060J04"
           "0L060J040L060KO31L060KO31L06OL021L06OL021L06OL021MO41MO21MO40N100NO310O00M0310O00NO1220NO92IONO91KOMO72"
           "M0<1EO:2GN63KM34OLM73JF<;=1G_O_Ob0=AC`07EH=1IO71H090F0:1DO>1_O1b0>2N2N3L6H]O")
    m = rle_decode({"size": [50, 70], "counts": ref})
    assert m.shape == (50, 70) and 0 < m.sum() < 50 * 70
    assert rle_encode(m)["counts"] == ref
    with pytest.raises(GoSelfiesError, match="cover"):
        rle_decode({"size": [4, 4], "counts": [3, 2]})


def _rect(x0, y0, x1, y1) -> list[list[float]]:
    return [[x0, y0, x1, y0, x1, y1, x0, y1]]


def test_coco_import_applies_the_papers_rules(tmp_path, capsys):
    from goselfies.training.coco import rle_encode

    W, H = 100, 80
    images_dir = tmp_path / "coco_images"
    images_dir.mkdir()
    names = ["zero", "one", "two", "three", "small", "crowd", "missing", "two_small", "rle_list"]
    images = [{"id": i + 1, "file_name": f"{n}.jpg", "width": W, "height": H} for i, n in enumerate(names)]
    rng = np.random.default_rng(1)
    for n in names:
        if n != "missing":
            cv2.imwrite(str(images_dir / f"{n}.jpg"), rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
    right = np.zeros((H, W), bool)
    right[:, 60:] = True  # 40 % of the image
    list_rle = {"size": [H, W], "counts": [H * 50, H * 40, H * 10]}  # columns 50..89: 40 %
    anns = []

    def ann(image, seg, cat=1, crowd=0):
        anns.append({"id": len(anns) + 1, "image_id": names.index(image) + 1, "category_id": cat,
                     "segmentation": seg, "iscrowd": crowd})

    ann("zero", _rect(0, 0, 99, 79), cat=18)  # a dog only
    ann("one", _rect(0, 0, 49, 79))  # 50 %
    ann("two", _rect(0, 0, 29, 79))  # 30 % polygon ...
    ann("two", rle_encode(right))  # ... + 40 % compressed RLE
    for x in (0, 30, 60):
        ann("three", _rect(x, 0, x + 29, 79))
    ann("small", _rect(0, 0, 9, 79))  # 10 %
    ann("crowd", _rect(0, 0, 49, 79))
    ann("crowd", {"size": [H, W], "counts": [H * 60, H * 30, H * 10]}, crowd=1)
    ann("missing", _rect(0, 0, 79, 79))
    ann("two_small", _rect(0, 0, 9, 79))
    ann("two_small", _rect(50, 0, 59, 79))
    ann("rle_list", list_rle)
    annotations = tmp_path / "instances.json"
    annotations.write_text(json.dumps({
        "images": images, "annotations": anns,
        "categories": [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"}],
    }))

    out = tmp_path / "out"
    rc, stdout, err = cli(capsys, "coco-import", annotations, images_dir, out)
    assert rc == 0, err
    assert "3 of 9 images kept" in stdout
    for reason in ("1 without people", "2 with too many people", "2 with foreground under 30%",
                   "1 missing or unreadable image file"):
        assert reason in stdout, stdout
    assert sorted(p.name for p in (out / "images").iterdir()) == ["one.jpg", "rle_list.jpg", "two.jpg"]
    assert sorted(p.name for p in (out / "masks").iterdir()) == ["one.png", "rle_list.png", "two.png"]
    assert (out / "images" / "one.jpg").read_bytes() == (images_dir / "one.jpg").read_bytes()
    two = cv2.imread(str(out / "masks" / "two.png"), cv2.IMREAD_UNCHANGED)
    assert two.shape == (H, W) and set(np.unique(two).tolist()) == {0, 255}
    assert (two[:, :30] == 255).all() and (two[:, 30:60] == 0).all() and (two[:, 60:] == 255).all()
    rle_mask = cv2.imread(str(out / "masks" / "rle_list.png"), cv2.IMREAD_UNCHANGED)
    assert (rle_mask[:, 50:90] == 255).all() and (rle_mask[:, :50] == 0).all() and (rle_mask[:, 90:] == 0).all()
    one = cv2.imread(str(out / "masks" / "one.png"), cv2.IMREAD_UNCHANGED)
    assert abs((one > 0).mean() - 0.5) < 0.02

    # the output is a valid training folder
    from goselfies.training.data import find_pairs

    assert len(find_pairs(out)) == 3

    # looser rules keep more: 3 people allowed, 10 % foreground enough
    rc, stdout, _ = cli(capsys, "coco-import", annotations, images_dir, tmp_path / "loose",
                        "--max-people", 3, "--min-foreground", 0.1)
    assert rc == 0 and "6 of 9 images kept" in stdout


def test_coco_import_errors(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    rc, _, err = cli(capsys, "coco-import", bad, tmp_path, tmp_path / "o")
    assert_one_line_error(rc, err, "coco-import", "not a readable COCO annotations JSON")
    bad.write_text(json.dumps({"images": [], "annotations": [], "categories": [{"id": 3, "name": "car"}]}))
    rc, _, err = cli(capsys, "coco-import", bad, tmp_path, tmp_path / "o")
    assert_one_line_error(rc, err, "coco-import", "no 'person' category")
    rc, _, err = cli(capsys, "coco-import", tmp_path / "none.json", tmp_path, tmp_path / "o")
    assert_one_line_error(rc, err, "coco-import", "no such COCO annotations file")
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
                               "annotations": [], "categories": [{"id": 1, "name": "person"}]}))
    rc, out, err = cli(capsys, "coco-import", bad, tmp_path, tmp_path / "o")
    assert_one_line_error(rc, err, "coco-import", "no image met the selection rules")
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
                               "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 3]]}],
                               "categories": [{"id": 1, "name": "person"}]}))
    rc, out, err = cli(capsys, "coco-import", bad, tmp_path, tmp_path / "o")
    assert_one_line_error(rc, err, "coco-import", "no image met the selection rules")
    assert "1 with an unusable segmentation" in out
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [],
                               "categories": [{"id": 1, "name": "person"}]}))
    rc, out, err = cli(capsys, "coco-import", bad, tmp_path, tmp_path / "o")
    assert_one_line_error(rc, err, "coco-import", "needs 'id', 'file_name', 'width' and 'height'")


def test_model_card_lists_stages_and_plots_them_end_to_end(lite_weights, tmp_path):
    import csv
    from dataclasses import asdict

    from goselfies.training import card
    from goselfies.training.trainer import TrainConfig

    runs = []
    for i, cfg in enumerate([TrainConfig(data=["d"], model="lite", size=160, epochs=5, lr=2e-3,
                                         encoder_weights="imagenet"),
                             TrainConfig(data=["d"], model="lite", size=160, epochs=4, lr=1e-3, base_lr=1e-5,
                                         schedule="triangular2", init_weights="w.safetensors")]):
        run = tmp_path / f"stage{i}"
        run.mkdir()
        (run / "config.json").write_text(json.dumps(asdict(cfg)))
        with open(run / "log.csv", "w", newline="") as f:
            w = csv.DictWriter(f, ["epoch", "step", "train_loss", "seconds", "val_loss", "val_dice", "val_iou",
                                   "val_accuracy"])
            w.writeheader()
            for e in range(1, 4):
                w.writerow({"epoch": e, "step": e * 10, "train_loss": 0.5 - 0.1 * e - i * 0.2, "seconds": 600,
                            "val_loss": 0.4, "val_dice": 0.9 + 0.01 * e, "val_iou": 0.8 + 0.01 * e,
                            "val_accuracy": 0.95})
        runs.append(run)
    evals = tmp_path / "eval.json"
    evals.write_text(json.dumps({"dice": 0.95, "iou": 0.91, "accuracy": 0.94, "sensitivity": 0.97,
                                 "specificity": 0.89, "size": 160}))
    out = tmp_path / "lite.md"
    card.main([str(lite_weights), "--run", str(runs[0]), "--run", str(runs[1]), "--eval", str(evals),
               "--hardware", "2-core CPU", "--curves", str(tmp_path / "lite-curves.png"), "-o", str(out)])
    text = out.read_text()
    assert "Wall time: 1.00 h over 6 epochs" in text
    assert "1. 3 of 5 planned epochs, triangular LR 0.0002..0.002" in text and "--encoder-weights imagenet" in text
    assert "2. 3 of 4 planned epochs, triangular2 LR 1e-05..0.001" in text
    assert "--base-lr 1e-05 --schedule triangular2 --init-weights w.safetensors --out RUN" in text
    import shutil

    from goselfies.engine.weights import update_metadata

    stages = [card.read_run(r) for r in runs]  # the last stage's best validation Dice is its epoch 3
    for epoch, says in ((3, "best by validation Dice (its epoch 3)"), (2, "epoch 2 (see the notes)")):
        weights = shutil.copy(lite_weights, tmp_path / f"epoch{epoch}.safetensors")
        update_metadata(weights, epochs=epoch)
        assert f"The shipped weights are the last stage's {says}" in card.render(Path(weights), stages, [], [], "", "")
    assert "| lite | 160 | 0.9500 | 0.9100 |" in text and "![training curves](lite-curves.png)" in text
    assert text.count("\n| 1 | ") == 3 and text.count("\n| 2 | ") == 3  # each stage's epochs in the table
    assert cv2.imread(str(tmp_path / "lite-curves.png")) is not None
    history = card.combined_history([card.read_run(r) for r in runs])
    assert [r["epoch"] for r in history] == [1, 2, 3, 4, 5, 6]


# ---------------------------------------------------------------- held-out folder
def test_holdout_links_the_matching_pairs_and_rejects_a_malformed_split(tiny, tmp_path, capsys):
    from goselfies.training.holdout import main

    images = sorted(str(p) for p in (tiny / "images").glob("*.jpg"))
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"val": images[:3]}))
    assert main([str(split), "-o", str(tmp_path / "out"), "--match", Path(images[1]).stem]) == 0
    linked = sorted((tmp_path / "out" / "images").iterdir())
    assert [p.name for p in linked] == [Path(images[1]).name]
    assert (tmp_path / "out" / "masks" / f"{Path(images[1]).stem}.png").resolve().is_file()

    capsys.readouterr()
    split.write_text(json.dumps({"val": [[images[0], images[0]]]}))  # pairs instead of image paths
    assert main([str(split), "-o", str(tmp_path / "bad")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and "list of image paths" in err


def test_interpolate_blends_two_weight_files_tensor_by_tensor(tmp_path, lite_weights, capsys):
    import numpy as np
    from safetensors.numpy import load_file

    from goselfies.engine.weights import read_metadata, shipped_weights
    from goselfies.training.interpolate import main as interpolate_main

    tuned, base, out = lite_weights, shipped_weights("lite"), tmp_path / "mix.safetensors"
    assert interpolate_main([str(tuned), str(base), "--alpha", "0.25", "-o", str(out)]) == 0
    a, b, mix = load_file(str(tuned)), load_file(str(base)), load_file(str(out))
    name = next(k for k in mix if mix[k].dtype == np.float16 and mix[k].size > 100)
    want = 0.25 * a[name].astype(np.float32) + 0.75 * b[name].astype(np.float32)
    assert np.allclose(mix[name].astype(np.float32), want, atol=2e-3) and not np.allclose(mix[name], b[name])
    assert read_metadata(out)["interpolated"]["alpha"] == 0.25
    assert interpolate_main([str(tuned), str(base), "--alpha", "1.5", "-o", str(tmp_path / "x.safetensors")]) == 1
    assert interpolate_main([str(tuned), str(shipped_weights("quality")), "--alpha", "0.5",
                             "-o", str(tmp_path / "y.safetensors")]) == 1
    err = capsys.readouterr().err
    assert "--alpha must be in [0, 1]" in err and "is 'lite'" in err and "Traceback" not in err
    assert not (tmp_path / "x.safetensors").exists() and not (tmp_path / "y.safetensors").exists()


# ---------------------------------------------------------------- pruning into a slimmer network
@pytest.fixture
def wide_and_slim(monkeypatch):
    """Two registry models of one family at 64 px: lite's network, and the same with half its hidden channels
    and a depthwise-separable decoder."""
    from goselfies.engine import models

    for name, slim in (("wide", {}), ("slim", {"expand": 0.5, "separable": True})):
        build = (lambda kw=slim: models._slim_unet("efficientnet_lite0", out_stride=4, **kw))
        monkeypatch.setitem(models.MODELS, name, models.ModelInfo(name, name, build, 64, models.HALF, models.HALF))


def test_prune_carries_over_exactly_what_the_slim_network_can_hold(wide_and_slim, tmp_path):
    from goselfies.engine.networks import create_model
    from goselfies.engine.weights import save_weights
    from goselfies.training.prune import prune

    torch.manual_seed(0)
    wide, slim_shape = create_model("wide").eval(), dict(create_model("slim").named_modules())
    with torch.no_grad():
        for name, m in wide.named_modules():
            if hasattr(m, "conv_pwl"):  # hidden channels the block's output ignores: pruning drops exactly them
                h, k = m.conv_pw.out_channels, slim_shape[name].conv_pw.out_channels
                m.conv_pwl.weight[:, torch.randperm(h)[: h - k]] = 0
                m.bn2.running_var.uniform_(0.5, 2.0)
            elif name.startswith("decoder") and isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3):
                out, cin = m.weight.shape[:2]  # rank 1 for each input channel: a depthwise + pointwise pair
                m.weight.copy_(torch.randn(out, cin, 1, 1) * torch.randn(1, cin, 3, 3))
    source = save_weights(wide, tmp_path / "wide.safetensors", "wide", {"size": 64}, fp16=False)
    prune(str(source), "slim", str(tmp_path / "slim.safetensors"))
    slim = create_model("slim", weights=tmp_path / "slim.safetensors").eval()
    x = torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b = wide(x), slim(x)
    assert a.std() > 0.1
    assert (a - b).abs().max() < 0.01 * a.abs().max()  # the slim file is stored in float16


def test_prune_refit_on_real_pictures_brings_the_slim_network_closer(wide_and_slim, tiny, tmp_path):
    from goselfies.engine.networks import create_model
    from goselfies.engine.weights import save_weights
    from goselfies.training.prune import calibration_images, prune

    torch.manual_seed(0)
    wide = create_model("wide")
    pictures = calibration_images([tiny], None, 64, (0.5,) * 3, (0.5,) * 3)
    for m in wide.modules():  # BatchNorm statistics of real pictures
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # a cumulative average: one pass sets them
    with torch.no_grad():
        wide.train()(pictures)
    source = save_weights(wide.eval(), tmp_path / "wide.safetensors", "wide", {"size": 64}, fp16=False)
    errors, gaps = [], []
    for name, calibrate in (("plain", []), ("refit", [tiny])):
        prune(str(source), "slim", str(tmp_path / f"{name}.safetensors"), calibrate)
        slim = create_model("slim", weights=tmp_path / f"{name}.safetensors").eval()
        with torch.no_grad():
            a, b = wide.encoder(pictures)[-1], slim.encoder(pictures)[-1]  # the deepest features
            errors.append(((a - b).abs().mean() / a.abs().mean()).item())
            # BatchNorm with the running statistics (eval) against the batch's (training; eval first: this moves them)
            eval_mode = slim(pictures)
            gaps.append((slim.train()(pictures) - eval_mode).abs().mean().item())
    assert errors[1] < 0.25 * errors[0], errors
    assert gaps[1] < 0.1 * gaps[0], gaps  # calibrated: training starts from the network that was fitted


def test_match_statistics_keeps_the_function_and_takes_the_pictures_statistics(wide_and_slim, tiny):
    from goselfies.engine.networks import create_model
    from goselfies.training.prune import calibration_images, match_statistics

    torch.manual_seed(0)
    net = create_model("slim").eval()
    with torch.no_grad():
        for m in net.modules():  # running statistics and affine maps far from what the pictures give
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0, 0.5), m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5), m.bias.normal_(0, 0.2)
    pictures = calibration_images([tiny], None, 64, (0.5,) * 3, (0.5,) * 3)
    with torch.no_grad():
        before, batch_before = net(pictures), copy.deepcopy(net).train()(pictures)
        match_statistics(net, pictures)
        after, batch = net(pictures), net.train()(pictures)
    assert before.std() > 0.01  # not a constant
    assert (after - before).abs().max() < 1e-4 * before.abs().max()  # eval mode: the same function
    # training's batch statistics now give what eval gives; before, they gave another network
    assert (batch - after).abs().max() < 1e-3 * after.abs().max() < (batch_before - before).abs().max()


def test_prune_cli_says_in_one_line_what_does_not_fit(wide_and_slim, lite_weights, tiny, tmp_path, capsys):
    from goselfies.training.prune import main

    (tmp_path / "split.json").write_text("[1, 2")
    for argv, needle in (([str(lite_weights), "--model", "resunet34"], "'resunet34' is not a slimmer 'lite'"),
                         ([str(tmp_path / "none.safetensors"), "--model", "slim"], "not found"),
                         ([str(lite_weights), "--model", "slim", "--calibrate", str(tiny), "--holdout",
                           str(tmp_path / "split.json")], "not a readable split JSON file"),
                         ([str(lite_weights), "--model", "slim", "-o", str(tmp_path)], "cannot write")):
        assert main(argv if "-o" in argv else [*argv, "-o", str(tmp_path / "out.safetensors")]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("python -m goselfies.training.prune: error:") and needle in err
    assert not (tmp_path / "out.safetensors").exists()
