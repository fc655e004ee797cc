"""Training package at tiny scale on real EG1800 pairs (64 px, a few steps, the lite model).

Covers: loss falls, bit-for-bit resume, the CLR schedule, config files, k-fold, fine-tuning
(encoder init from a local file, freeze/unfreeze), export, and every bad input's one-line error.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import pytest

from goselfies.cli import main
from goselfies.errors import GoSelfiesError

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Two OpenMP threads on two busy cores spin against each other (10x slower); one is fastest.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def make_pairs(data_dir: Path, dest: Path, n: int, start: int = 0) -> Path:
    """Copy ``n`` EG1800 train pairs, downscaled to 120x160, into ``dest/images`` + ``dest/masks``."""
    src = data_dir / "eg1800" / "train"
    stems = sorted(p.stem for p in (src / "images").glob("*.jpg"))[start:start + n]
    (dest / "images").mkdir(parents=True, exist_ok=True)
    (dest / "masks").mkdir(parents=True, exist_ok=True)
    for s in stems:
        img = cv2.resize(cv2.imread(str(src / "images" / f"{s}.jpg")), (120, 160), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(cv2.imread(str(src / "masks" / f"{s}.png"), cv2.IMREAD_GRAYSCALE), (120, 160),
                          interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(str(dest / "images" / f"{s}.jpg"), img)
        cv2.imwrite(str(dest / "masks" / f"{s}.png"), mask)
    return dest


@pytest.fixture(scope="module")
def tiny(data_dir, tmp_path_factory) -> Path:
    """Eight real pairs: a read-only source that tests copy when they need to break it."""
    return make_pairs(data_dir, tmp_path_factory.mktemp("tiny"), 8)


def tiny_cfg(data: Path, out: Path, **kw):
    from goselfies.training.trainer import TrainConfig

    base = dict(data=[str(data)], model="lite", size=64, epochs=1, batch=2, out=str(out), lr=3e-3,
                max_steps=2, val_fraction=0.25, device="cpu")
    return TrainConfig(**{**base, **kw})


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc: int, err: str, command: str, *needles: str) -> None:
    assert rc != 0
    assert "Traceback" not in err
    lines = [l for l in err.splitlines() if l.startswith(f"goselfies {command}: error:")]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], lines[0]


# ---------------------------------------------------------------- schedule
def test_triangular_lr_start_peak_period():
    from goselfies.training.schedule import triangular_lr

    base, top, half = 1e-4, 1e-3, 10
    assert triangular_lr(0, base, top, half) == pytest.approx(base)
    assert triangular_lr(half, base, top, half) == pytest.approx(top)
    assert triangular_lr(half // 2, base, top, half) == pytest.approx((base + top) / 2)
    assert triangular_lr(2 * half, base, top, half) == pytest.approx(base)
    for s in range(0, 60, 3):  # period 2 * step_size, always within [base, max]
        assert triangular_lr(s, base, top, half) == pytest.approx(triangular_lr(s + 2 * half, base, top, half))
        assert base - 1e-12 <= triangular_lr(s, base, top, half) <= top + 1e-12
    assert triangular_lr(3, base, top, half) < triangular_lr(4, base, top, half)  # rising half
    assert triangular_lr(13, base, top, half) > triangular_lr(14, base, top, half)  # falling half
    with pytest.raises(ValueError):
        triangular_lr(0, base, top, 0)


# ---------------------------------------------------------------- training
def test_loss_falls_and_run_folder_is_complete(tiny, tmp_path):
    from goselfies.training.trainer import train

    out = tmp_path / "run"
    best = train(tiny_cfg(tiny, out, epochs=4, max_steps=3, batch=3, lr=5e-3, val_fraction=0.25), progress=False)
    ck = torch.load(out / "last.pt", weights_only=True)
    losses = [r["train_loss"] for r in ck["history"]]
    assert losses[-1] < losses[0] * 0.9, losses
    assert 0 <= best["dice"] <= 1 and best["epoch"] >= 1
    for name in ("last.pt", "best.pt", "log.csv", "curves.png", "config.json", "lite.safetensors"):
        assert (out / name).is_file(), name
    assert json.loads((out / "config.json").read_text())["size"] == 64
    assert not list(out.glob("*.partial"))  # atomic writes left nothing behind


def _state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_continues_bit_for_bit(tiny, tmp_path):
    from goselfies.training.trainer import train

    straight, split_run = tmp_path / "straight", tmp_path / "resumed"
    train(tiny_cfg(tiny, straight, epochs=2), progress=False)
    train(tiny_cfg(tiny, split_run, epochs=1), progress=False)
    train(tiny_cfg(tiny, split_run, epochs=2, resume=True), progress=False)
    a = torch.load(straight / "last.pt", weights_only=True)
    b = torch.load(split_run / "last.pt", weights_only=True)
    assert (a["epoch"], a["step"]) == (b["epoch"], b["step"]) == (2, 4)
    assert _state_equal(a["model"], b["model"])
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    assert sa.keys() == sb.keys() and all(_state_equal(sa[k], sb[k]) for k in sa)
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(a["history"]) == strip(b["history"])


def encoder_file(path: Path, seed: int = 123) -> Path:
    """A local "pretrained" encoder: safetensors of model.encoder.state_dict() (random, seeded)."""
    from safetensors.torch import save_file

    from goselfies.engine.networks import create_model

    torch.manual_seed(seed)
    model = create_model("lite")
    save_file({k: v.contiguous() for k, v in model.encoder.state_dict().items()}, str(path))
    return path


def test_encoder_init_from_local_file_and_frozen_encoder_stays_put(tiny, tmp_path):
    from safetensors.torch import load_file

    from goselfies.training.trainer import train

    enc = load_file(str(encoder_file(tmp_path / "enc.safetensors")))
    out = tmp_path / "ft"
    train(tiny_cfg(tiny, out, epochs=1, encoder_weights=str(tmp_path / "enc.safetensors"),
                   freeze_encoder_epochs=1), progress=False)
    model = torch.load(out / "last.pt", weights_only=True)["model"]
    trained_enc = {k.removeprefix("encoder."): v for k, v in model.items() if k.startswith("encoder.")}
    # Params and BatchNorm statistics both untouched while frozen; the decoder did train.
    assert _state_equal(trained_enc, enc)
    torch.manual_seed(0)
    from goselfies.engine.networks import create_model

    fresh = create_model("lite").state_dict()
    assert any(not torch.equal(fresh[k], model[k]) for k in model if k.startswith("decoder."))


def test_unfreeze_with_lower_encoder_lr_and_resume_across_it(tiny, tmp_path):
    from goselfies.training.trainer import train

    kw = dict(freeze_encoder_epochs=1, encoder_lr_scale=0.5, max_steps=1)
    straight, split_run = tmp_path / "straight", tmp_path / "resumed"
    train(tiny_cfg(tiny, straight, epochs=3, **kw), progress=False)
    train(tiny_cfg(tiny, split_run, epochs=2, **kw), progress=False)
    after2 = torch.load(split_run / "last.pt", weights_only=True)
    assert len(after2["optimizer"]["param_groups"]) == 2  # the encoder got its own (lower) LR
    lrs = [g["lr"] for g in after2["optimizer"]["param_groups"]]
    assert lrs[1] == pytest.approx(lrs[0] * 0.5)
    train(tiny_cfg(tiny, split_run, epochs=3, resume=True, **kw), progress=False)
    a = torch.load(straight / "last.pt", weights_only=True)
    b = torch.load(split_run / "last.pt", weights_only=True)
    assert _state_equal(a["model"], b["model"])
    # unfrozen in epoch 3, the encoder moved
    assert any(not torch.equal(after2["model"][k], b["model"][k]) for k in b["model"] if k.startswith("encoder."))


# ---------------------------------------------------------------- CLI: train, config, folds, export
def test_cli_train_with_config_file_flags_override_and_export(tiny, tmp_path, capsys):
    from goselfies.engine.weights import load_weights

    cfg_file = tmp_path / "cfg.json"
    cfg_file.write_text(json.dumps({"model": "lite", "size": 96, "epochs": 1, "batch": 2, "lr": 2e-3,
                                    "val_fraction": 0.25, "device": "cpu"}))
    run = tmp_path / "run"
    rc, out, err = cli(capsys, "train", "--data", tiny, "--config", cfg_file, "--size", 64, "--max-steps", 1,
                       "--out", run)
    assert rc == 0, err
    saved = json.loads((run / "config.json").read_text())
    assert saved["size"] == 64 and saved["lr"] == 2e-3 and saved["max_steps"] == 1 and saved["data"] == [str(tiny)]
    assert "weights:" in out and "best: epoch 1" in out

    rc, out, err = cli(capsys, "export-weights", run, "-o", tmp_path / "exported.safetensors")
    assert rc == 0, err
    state, meta = load_weights(tmp_path / "exported.safetensors", expect_arch="lite")
    assert meta["train_size"] == 64 and "dice" in meta["val_metrics"] and meta["epochs"] == 1
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())

    # --resume on a finished run picks its config.json up again and changes nothing
    rc, out, err = cli(capsys, "train", "--out", run, "--resume")
    assert rc == 0, err
    assert "resuming" in err and json.loads((run / "config.json").read_text())["size"] == 64

    rc, _, err = cli(capsys, "export-weights", tmp_path / "nowhere")
    assert_one_line_error(rc, err, "export-weights", "no such run folder")


def test_mixed_precision_only_where_the_device_computes_it(monkeypatch):
    from goselfies.training.trainer import autocast_dtype

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert autocast_dtype(cuda) == torch.float16 and autocast_dtype(cuda, amp=False) is None
    assert autocast_dtype(cpu, amp=False) is None
    for bf16, amx, want in [(True, False, torch.bfloat16), (False, True, torch.bfloat16), (False, False, None)]:
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda v=bf16: v, raising=False)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda v=amx: v, raising=False)
        assert autocast_dtype(cpu) == want


def test_a_bfloat16_run_resumes_bit_for_bit_and_is_not_float32(tiny, tmp_path, monkeypatch):
    from goselfies.training import trainer

    monkeypatch.setattr(trainer, "autocast_dtype", lambda device, amp=True: torch.bfloat16 if amp else None)
    straight, split_run = tmp_path / "straight", tmp_path / "resumed"
    trainer.train(tiny_cfg(tiny, straight, epochs=2), progress=False)
    trainer.train(tiny_cfg(tiny, split_run, epochs=1), progress=False)
    trainer.train(tiny_cfg(tiny, split_run, epochs=2, resume=True), progress=False)
    a = torch.load(straight / "last.pt", weights_only=True)
    b = torch.load(split_run / "last.pt", weights_only=True)
    assert _state_equal(a["model"], b["model"]) and "scaler" not in a  # bfloat16 needs no gradient scaler
    fp32 = tmp_path / "fp32"
    trainer.train(tiny_cfg(tiny, fp32, epochs=2, amp=False), progress=False)
    c = torch.load(fp32 / "last.pt", weights_only=True)
    assert not _state_equal(a["model"], c["model"])  # the bfloat16 run did compute in bfloat16


def test_cli_config_errors(tiny, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"epochs": 1, "learning_rate": 0.1}))
    rc, _, err = cli(capsys, "train", "--data", tiny, "--config", bad, "--out", tmp_path / "r")
    assert_one_line_error(rc, err, "train", "unknown config keys", "learning_rate")
    bad.write_text(json.dumps({"amp": "yes"}))
    rc, _, err = cli(capsys, "train", "--data", tiny, "--config", bad, "--out", tmp_path / "r")
    assert_one_line_error(rc, err, "train", "'amp' must be true or false")
    bad.write_text("{not json")
    rc, _, err = cli(capsys, "train", "--data", tiny, "--config", bad, "--out", tmp_path / "r")
    assert_one_line_error(rc, err, "train", "not a readable config JSON")
    rc, _, err = cli(capsys, "train", "--data", tiny, "--size", 100, "--out", tmp_path / "r")
    assert_one_line_error(rc, err, "train", "multiple of 32")
    rc, _, err = cli(capsys, "train", "--data", tiny, "--model", "nope", "--out", tmp_path / "r")
    assert_one_line_error(rc, err, "train", "unknown model 'nope'")
    rc, _, err = cli(capsys, "train", "--out", tmp_path / "r")
    assert_one_line_error(rc, err, "train", "--data")
    rc, _, err = cli(capsys, "train", "--data", tiny, "--fold", 7, "--out", tmp_path / "r")
    assert_one_line_error(rc, err, "train", "fold")
    rc, _, err = cli(capsys, "train", "--data", tiny, "--encoder-weights", tmp_path / "missing.safetensors",
                     "--out", tmp_path / "r", "--model", "lite", "--size", 64)
    assert_one_line_error(rc, err, "train", "not found")


def test_kfold_split_and_all_folds(tiny, tmp_path, capsys):
    from goselfies.training.data import find_pairs, split

    pairs = find_pairs(tiny)
    vals = [set(split(pairs, 0.1, 0, fold=k)[1]) for k in range(5)]
    assert set().union(*vals) == set(pairs)  # every pair validates exactly once
    assert sum(len(v) for v in vals) == len(pairs)
    for k in range(5):
        train, val = split(pairs, 0.1, 0, fold=k)
        assert not set(train) & set(val) and len(train) + len(val) == len(pairs)

    rc, out, err = cli(capsys, "train", "--data", tiny, "--model", "lite", "--size", 64, "--epochs", 1,
                       "--batch", 2, "--max-steps", 1, "--device", "cpu", "--folds", "--out", tmp_path / "cv")
    assert rc == 0, err
    summary = json.loads((tmp_path / "cv" / "folds.json").read_text())
    assert len(summary["folds"]) == 5 and "dice" in summary["mean"]
    assert (tmp_path / "cv" / "folds.md").read_text().count("\n") == 8
    assert json.loads((tmp_path / "cv" / "fold3" / "config.json").read_text())["fold"] == 3


# ---------------------------------------------------------------- bad input
def _copy(tiny: Path, dest: Path) -> Path:
    shutil.copytree(tiny, dest)
    return dest


def _train_args(data: Path, out: Path, *extra) -> list:
    return ["train", "--data", data, "--model", "lite", "--size", 64, "--epochs", 1, "--batch", 2,
            "--max-steps", 1, "--device", "cpu", "--out", out, *extra]


def test_bad_data_each_gets_a_clear_message(tiny, tmp_path, capsys):
    cases = {}
    d = _copy(tiny, tmp_path / "no_mask")
    victim = sorted((d / "masks").iterdir())[2]
    victim.unlink()
    cases["no mask"] = (d, victim.stem)

    d = _copy(tiny, tmp_path / "no_image")
    victim = sorted((d / "images").iterdir())[1]
    victim.unlink()
    cases["mask without image"] = (d, victim.stem)

    d = _copy(tiny, tmp_path / "not_binary")
    m = sorted((d / "masks").iterdir())[0]
    cv2.imwrite(str(m), (cv2.imread(str(m), cv2.IMREAD_GRAYSCALE) // 2))
    cases["not binary"] = (d, m.name)

    d = _copy(tiny, tmp_path / "other_size")
    m = sorted((d / "masks").iterdir())[3]
    cv2.imwrite(str(m), cv2.resize(cv2.imread(str(m), cv2.IMREAD_GRAYSCALE), (60, 80), interpolation=cv2.INTER_NEAREST))
    cases["60x80 but image is 120x160"] = (d, m.name)

    d = tmp_path / "empty"
    (d / "images").mkdir(parents=True)
    (d / "masks").mkdir()
    cases["no images found"] = (d, "empty")

    cases["expected folders 'images/' and 'masks/'"] = (tmp_path / "does_not_exist", "does_not_exist")

    for needle, (data, name) in cases.items():
        rc, _, err = cli(capsys, *_train_args(data, tmp_path / "run"))
        assert_one_line_error(rc, err, "train", needle, name)


def test_corrupt_image_mid_epoch_is_skipped_and_reported(tiny, tmp_path, capsys):
    d = _copy(tiny, tmp_path / "corrupt")
    victims = sorted((d / "images").iterdir())
    for v in victims[2:4]:  # truncated JPEGs: the mask is fine, the image does not decode
        v.write_bytes(v.read_bytes()[:200])
    rc, _, err = cli(capsys, *_train_args(d, tmp_path / "run", "--epochs", 2, "--max-steps", 3, "--batch", 3))
    assert rc == 0, err
    assert "Traceback" not in err
    assert f"skipping {victims[2]}" in err or f"skipping {victims[3]}" in err
    assert "unreadable pair(s) skipped" in err
    history = torch.load(tmp_path / "run" / "last.pt", weights_only=True)["history"]
    assert len(history) == 2  # both epochs ran


def test_resume_from_another_models_checkpoint_is_refused(tiny, tmp_path, capsys):
    run = tmp_path / "run"
    rc, _, err = cli(capsys, *_train_args(tiny, run))
    assert rc == 0, err
    rc, _, err = cli(capsys, *_train_args(tiny, run, "--resume", "--epochs", 2, "--model", "resunet34"))
    assert_one_line_error(rc, err, "train", "checkpoint is of model 'lite', not 'resunet34'")

    (run / "last.pt").write_bytes(b"not a checkpoint at all")
    rc, _, err = cli(capsys, *_train_args(tiny, run, "--resume", "--epochs", 2))
    assert_one_line_error(rc, err, "train", "not a usable checkpoint")


def test_train_core_errors_without_cli(tiny, tmp_path):
    from goselfies.training.trainer import train

    one = tmp_path / "one"
    make_one = shutil.copytree(tiny, one)
    for p in sorted((make_one / "images").iterdir())[1:]:
        p.unlink()
        (make_one / "masks" / f"{p.stem}.png").unlink()
    with pytest.raises(GoSelfiesError, match="none left for training"):
        train(tiny_cfg(one, tmp_path / "r"), progress=False)
    with pytest.raises(GoSelfiesError, match="multiple of 32"):
        train(replace(tiny_cfg(tiny, tmp_path / "r"), size=50), progress=False)


def test_triangular2_halves_each_cycle_and_anneals_to_base():
    from goselfies.training.schedule import triangular_lr

    base, top, half = 1e-5, 1e-3, 10
    peaks = [triangular_lr(half + c * 2 * half, base, top, half, decay=True) - base for c in range(4)]
    assert peaks[0] == pytest.approx(top - base)
    for a, b in zip(peaks, peaks[1:]):
        assert b == pytest.approx(a / 2)
    assert triangular_lr(40 * half + half, base, top, half, decay=True) == pytest.approx(base, abs=1e-9)
    assert triangular_lr(2 * half, base, top, half, decay=True) == pytest.approx(base)


def test_augmentation_zooms_out_with_a_neutral_border_that_the_loss_ignores():
    """Its first step shows some pictures smaller, inside a border that is zero after normalisation
    (like the Segmenter's padding) and labelled IGNORE, not background: a body cut by that border must
    not teach that people end at a frame edge. The rest of the chain then crops."""
    from torchvision import tv_tensors

    from goselfies.engine.models import IMAGENET_MEAN as MEAN
    from goselfies.engine.models import IMAGENET_STD as STD
    from goselfies.training.data import (  # first: it makes torchvision importable here
        IGNORE,
        train_transform,
    )

    torch.manual_seed(0)
    zoom = train_transform(64, MEAN).transforms[0]
    image = tv_tensors.Image(torch.full((3, 80, 60), 200, dtype=torch.uint8))
    mask = tv_tensors.Mask(torch.ones((1, 80, 60), dtype=torch.uint8))
    zoomed = 0
    for _ in range(40):
        img, m = zoom(image, mask)
        border = m[0] == IGNORE
        assert ((img[0] == 200) == ~border).all()  # the picture is intact, only a border was added
        assert (m[0][~border] == 1).all()
        if border.any():
            zoomed += 1
            assert img.shape[1] > 80 or img.shape[2] > 60
            x = (img.float() / 255 - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
            assert x[:, border].abs().max() < 0.01  # the mean colour
    assert 8 <= zoomed <= 32  # p = 0.5


def test_the_loss_leaves_out_ignored_pixels():
    """Whatever the network says on IGNORE pixels, the loss is that of the real pixels alone."""
    from goselfies.training.data import IGNORE
    from goselfies.training.trainer import loss_fn

    torch.manual_seed(0)
    logits = torch.randn(2, 1, 8, 8)
    target = (torch.rand(2, 1, 8, 8) > 0.5).float()
    padded_target = target.clone()
    padded_target[..., 6:] = IGNORE
    for value in (-30.0, 0.0, 30.0):
        padded_logits = logits.clone()
        padded_logits[..., 6:] = value
        for dice in (False, True):
            got = loss_fn(padded_logits, padded_target, dice)
            assert got.item() == pytest.approx(loss_fn(logits[..., :6], target[..., :6], dice).item(), rel=1e-5)
    assert loss_fn(logits, target, True).item() != pytest.approx(loss_fn(logits[..., :6], target[..., :6], True).item())


# ---------------------------------------------------------------- distillation
def test_teacher_sees_the_crop_in_its_own_normalisation(data_dir):
    """A 0.5/0.5 teacher (the shipped quality tier) given an ImageNet-normalised student batch gives the
    soft mask it gives when run directly on its own normalisation: the student's mean/std are undone."""
    import numpy as np

    from goselfies.engine.models import model_info
    from goselfies.engine.networks import create_model
    from goselfies.engine.weights import shipped_weights
    from goselfies.training.distill import Teacher

    weights = shipped_weights("quality")
    student = model_info("resunet34")
    teacher = Teacher(weights, student, torch.device("cpu"))
    assert teacher.size == 320 and student.mean != model_info("quality").mean
    img = cv2.imread(str(data_dir / "eg1800" / "test" / "images" / "00002.jpg"))[:, :, ::-1]
    rgb = torch.from_numpy(np.ascontiguousarray(cv2.resize(img, (320, 320)))).permute(2, 0, 1)[None].float() / 255
    as_student = (rgb - torch.tensor(student.mean).view(1, 3, 1, 1)) / torch.tensor(student.std).view(1, 3, 1, 1)
    net = create_model("quality", weights=weights).eval()
    with torch.no_grad():
        direct = torch.sigmoid(net((rgb - 0.5) / 0.5))
    soft = teacher(as_student)
    assert torch.allclose(soft, direct, atol=1e-4)
    assert 0.2 < (soft > 0.5).float().mean() < 0.95  # a person, not an empty or full mask
    assert teacher(as_student[..., ::2, ::2]).shape[-2:] == (160, 160)  # smaller crops: run at 320, back to 160


def test_mediapipe_teacher_sees_the_crop_as_mediapipe_does(data_dir, tiny, tmp_path):
    """``--teacher mediapipe``: an ImageNet-normalised student batch is turned back into the RGB crop, so
    the teacher's mask is MediaPipe's own mask of that crop; and a tiny run trains with it."""
    import numpy as np

    from goselfies.engine.mediapipe_selfie import MediaPipeSelfie, mediapipe_available
    from goselfies.engine.models import model_info
    from goselfies.training.distill import MediaPipeTeacher, make_teacher
    from goselfies.training.trainer import train

    if not mediapipe_available():
        pytest.skip("mediapipe is not installed (pip install '.[mediapipe]')")
    student = model_info("resunet34")
    teacher = make_teacher("mediapipe", student, torch.device("cpu"))
    assert isinstance(teacher, MediaPipeTeacher)
    img = cv2.imread(str(data_dir / "eg1800" / "test" / "images" / "00002.jpg"))
    crop = np.ascontiguousarray(cv2.resize(img, (224, 288)))  # BGR, as OpenCV reads it
    rgb = torch.from_numpy(crop[:, :, ::-1].copy()).permute(2, 0, 1)[None].float() / 255
    as_student = (rgb - torch.tensor(student.mean).view(1, 3, 1, 1)) / torch.tensor(student.std).view(1, 3, 1, 1)
    soft = teacher(as_student.repeat(2, 1, 1, 1))
    direct = MediaPipeSelfie("general")(crop)
    assert soft.shape == (2, 1, 288, 224)
    assert np.abs(soft[1, 0].numpy() - direct).max() < 0.02  # only the uint8 round trip differs
    assert 0.2 < (soft > 0.5).float().mean() < 0.95  # a person, not an empty or full mask
    best = train(tiny_cfg(tiny, tmp_path / "run", teacher="mediapipe", teacher_weight=0.5), progress=False)
    assert 0 <= best["dice"] <= 1


def test_training_with_a_teacher_runs_and_a_missing_teacher_is_one_line(tiny, tmp_path, capsys, lite_weights):
    from goselfies.training.trainer import train

    out = tmp_path / "run"
    best = train(tiny_cfg(tiny, out, teacher=str(lite_weights), teacher_weight=0.5), progress=False)
    assert 0 <= best["dice"] <= 1
    assert json.loads((out / "config.json").read_text())["teacher"] == str(lite_weights)
    rc, _, err = cli(capsys, "train", "--data", tiny, "--teacher", tmp_path / "missing.safetensors",
                     "--out", tmp_path / "r", "--model", "lite", "--size", 64)
    assert_one_line_error(rc, err, "train", "not found", "missing.safetensors")
    rc, _, err = cli(capsys, "train", "--data", tiny, "--teacher", lite_weights, "--teacher-weight", -1,
                     "--out", tmp_path / "r", "--model", "lite", "--size", 64)
    assert_one_line_error(rc, err, "train", "--teacher-weight")


def test_each_pair_learns_from_its_own_folders_teacher(tiny, tmp_path, capsys, lite_weights):
    """``--teacher-for DIR=NAME``: a teacher's soft masks reach only its pairs' rows of a batch; the rows of
    pairs without a teacher are IGNORE (no distillation loss). A run with two folders, one of them taught by
    ``none``, trains and records the choice; a folder that is not a --data folder is one line."""
    from goselfies.engine.models import model_info
    from goselfies.training.data import IGNORE
    from goselfies.training.distill import Teacher, Teachers

    student = model_info("lite")
    teachers = Teachers([None, str(lite_weights), None, str(lite_weights)], student, torch.device("cpu"))
    x = torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    soft = teachers(x, torch.tensor([3, 2, 1, 0]))  # rows 0 and 2 are pairs 3 and 1: taught
    direct = Teacher(lite_weights, student, torch.device("cpu"))(x[[0, 2]])
    assert (soft[[1, 3]] == IGNORE).all()
    assert torch.allclose(soft[[0, 2]], direct, atol=1e-6) and (direct != IGNORE).all()
    assert not Teachers([None, None], student, torch.device("cpu"))

    second = tmp_path / "second"
    shutil.copytree(tiny, second)
    out = tmp_path / "run"
    rc, _, err = cli(capsys, "train", "--data", tiny, "--data", second, "--teacher", lite_weights,
                     "--teacher-for", f"{second}=none", "--out", out, "--model", "lite", "--size", 64,
                     "--epochs", 1, "--batch", 2, "--max-steps", 2, "--device", "cpu")
    assert rc == 0, err
    assert json.loads((out / "config.json").read_text())["teachers"] == {str(second): "none"}
    # Every folder on none: the --teacher named (a file that does not exist) is never loaded.
    rc, _, err = cli(capsys, "train", "--data", tiny, "--data", second, "--teacher", tmp_path / "missing.safetensors",
                     "--teacher-for", f"{tiny}/=none", "--teacher-for", f"{second}=none", "--out", tmp_path / "r2",
                     "--model", "lite", "--size", 64, "--epochs", 1, "--batch", 2, "--max-steps", 2, "--device", "cpu")
    assert rc == 0, err
    rc, _, err = cli(capsys, "train", "--data", tiny, "--teacher-for", f"{tmp_path / 'elsewhere'}=mediapipe",
                     "--out", tmp_path / "r", "--model", "lite", "--size", 64)
    assert_one_line_error(rc, err, "train", "--teacher-for", "not one of the --data folders")
