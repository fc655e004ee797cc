"""Training options shared by ``train``, ``lr-find`` and ``grid``: defaults < ``--config`` JSON < flags.

Every flag defaults to None so that only the flags a user actually typed override the file.
"""
from __future__ import annotations

import argparse
from dataclasses import asdict, fields
from pathlib import Path

from goselfies.engine.models import MODELS
from goselfies.errors import GoSelfiesError
from goselfies.io.media import read_json_object
from goselfies.training.schedule import SCHEDULES


def add_data_model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", action="append", metavar="DIR",
                   help="folder with images/ and masks/ (same stems); repeat to combine folders")
    p.add_argument("--model", help=f"model name ({', '.join(sorted(MODELS))}; default resunet34, the paper's ResU-Net)")
    p.add_argument("--size", type=int, metavar="N", help="square training size, a multiple of 32 (default 256)")
    p.add_argument("--batch", type=int, metavar="B", help="batch size (default 16)")
    p.add_argument("--config", metavar="FILE.json", help="training config as JSON (TrainConfig keys); flags override it")
    p.add_argument("--encoder-weights", metavar="PATH|imagenet",
                   help="encoder init: a safetensors file of model.encoder.state_dict(), or imagenet (needs network)")
    p.add_argument("--init-weights", metavar="PATH", help="start from a Go-selfies .safetensors file (fine-tuning)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where to train (default auto)")
    p.add_argument("--seed", type=int, help="seed of the split, init, shuffling and augmentation (default 0)")
    p.add_argument("--dice-loss", action=argparse.BooleanOptionalAction, default=None,
                   help="add Dice loss to binary cross-entropy (default on)")


class TeacherFor(argparse.Action):
    """``--teacher-for DIR=NAME``, repeatable, into one {DIR: NAME} dict."""

    def __call__(self, parser, namespace, value, option_string=None):
        folder, sep, name = value.rpartition("=")
        if not sep or not folder or not name:
            parser.error(f"{option_string} takes DIR=TEACHER, got {value!r}")
        setattr(namespace, self.dest, {**(getattr(namespace, self.dest) or {}), folder: name})


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    add_data_model_arguments(p)
    p.add_argument("--teacher", metavar="WEIGHTS|mediapipe",
                   help="distillation: a Go-selfies .safetensors file, or mediapipe (MediaPipe's selfie segmenter, "
                        "pip install \".[mediapipe]\"), whose soft masks are an extra target")
    p.add_argument("--teacher-for", dest="teachers", action=TeacherFor, metavar="DIR=WEIGHTS|mediapipe|none",
                   help="the pairs of one --data folder learn from this teacher instead of --teacher (none: no "
                        "distillation for them); repeat for several folders")
    p.add_argument("--teacher-weight", type=float, metavar="W", help="weight of the distillation term (default 1)")
    p.add_argument("--epochs", type=int, metavar="E", help="epochs (default 50, as in the paper)")
    p.add_argument("--out", metavar="RUN", help="run folder: checkpoints, log.csv, curves.png, config.json, weights")
    p.add_argument("--lr", type=float, help="maximum LR of the triangular cycle (default 1e-3; see lr-find)")
    p.add_argument("--base-lr", type=float, help="minimum LR of the cycle (default lr/10)")
    p.add_argument("--cycle-epochs", type=float, help="length of one LR triangle in epochs (default 2)")
    p.add_argument("--schedule", choices=SCHEDULES,
                   help="triangular (default; the paper's) or triangular2 (amplitude halves every cycle)")
    p.add_argument("--val-fraction", type=float, help="validation share when not using --fold (default 0.1)")
    p.add_argument("--fold", type=int, metavar="K", help="validate on fold K (0-4) of a 5-fold cross-validation")
    p.add_argument("--freeze-encoder-epochs", type=int, metavar="N",
                   help="fine-tuning: train only the decoder for the first N epochs, then unfreeze")
    p.add_argument("--encoder-lr-scale", type=float, metavar="S",
                   help="fine-tuning: the (unfrozen) encoder trains at lr * S (default 1)")
    p.add_argument("--max-steps", type=int, help="at most this many steps per epoch (quick runs, tests)")
    p.add_argument("--workers", type=int, help="data-loader worker processes (default 0)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="mixed precision where the device has it natively: float16 on CUDA, bfloat16 on a CPU with "
                        "AVX-512 BF16 or AMX (default on)")
    p.add_argument("--resume", action="store_true", default=None,
                   help="continue RUN from its last.pt (RUN/config.json is the base config)")


def resolve_config(args: argparse.Namespace):
    """TrainConfig from defaults, then --config (or RUN/config.json on --resume), then typed flags."""
    from goselfies.training.trainer import TrainConfig

    base: dict = {}
    if getattr(args, "config", None):
        base = read_config_file(args.config)
    elif getattr(args, "resume", None) and getattr(args, "out", None) and (Path(args.out) / "config.json").is_file():
        base = read_config_file(Path(args.out) / "config.json")
    names = {f.name for f in fields(TrainConfig)}
    for name in names:
        value = getattr(args, name, None)
        if value is not None:
            base[name] = value
    cfg = TrainConfig.from_dict(base)
    check_config(cfg)
    return cfg


def read_config_file(path: str | Path) -> dict:
    return read_json_object(path, "config")


def check_config(cfg) -> None:
    """Reject wrong types and impossible values before any work starts."""
    d = asdict(cfg)
    ints = {"size", "epochs", "batch", "seed", "freeze_encoder_epochs", "workers"}
    floats = {"lr", "cycle_epochs", "val_fraction", "encoder_lr_scale", "teacher_weight"}
    optional_ints = {"fold", "max_steps"}
    for k in ints | optional_ints:
        v = d[k]
        if (v is not None or k in ints) and (not isinstance(v, int) or isinstance(v, bool)):
            raise GoSelfiesError(f"config '{k}' must be an integer, got {v!r}")
    for k in floats | {"base_lr"}:
        v = d[k]
        if (v is not None or k in floats) and (not isinstance(v, (int, float)) or isinstance(v, bool)):
            raise GoSelfiesError(f"config '{k}' must be a number, got {v!r}")
    for k in ("dice_loss", "amp"):
        if not isinstance(d[k], bool):
            raise GoSelfiesError(f"config '{k}' must be true or false, got {d[k]!r}")
    if isinstance(cfg.data, str):
        cfg.data = [cfg.data]
    if not isinstance(cfg.data, list) or not all(isinstance(x, str) for x in cfg.data):
        raise GoSelfiesError("config 'data' must be a list of folders")
    for k in ("epochs", "batch", "size"):
        if d[k] < 1:
            raise GoSelfiesError(f"--{k} must be at least 1, got {d[k]}")
    if cfg.size % 32:
        raise GoSelfiesError(f"--size must be a multiple of 32, got {cfg.size}")
    if cfg.lr <= 0 or (cfg.base_lr is not None and not 0 <= cfg.base_lr <= cfg.lr):
        raise GoSelfiesError("need lr > 0 and 0 <= base_lr <= lr")
    if not 0 <= cfg.val_fraction < 1:
        raise GoSelfiesError(f"--val-fraction must be in [0, 1), got {cfg.val_fraction}")
    if cfg.fold is not None and not 0 <= cfg.fold < 5:
        raise GoSelfiesError(f"--fold must be 0..4 (5-fold cross-validation), got {cfg.fold}")
    if not isinstance(cfg.teachers, dict) or not all(isinstance(v, str) for v in cfg.teachers.values()):
        raise GoSelfiesError("config 'teachers' must map --data folders to a teacher name")
    strays = sorted(d for d in cfg.teachers if Path(d) not in {Path(x) for x in cfg.data})
    if strays:
        raise GoSelfiesError(f"--teacher-for {strays[0]}: not one of the --data folders")
    if cfg.teacher_weight < 0:
        raise GoSelfiesError(f"--teacher-weight must be at least 0, got {cfg.teacher_weight:g}")
    if cfg.max_steps is not None and cfg.max_steps < 1:
        raise GoSelfiesError("--max-steps must be at least 1")
    if cfg.freeze_encoder_epochs < 0 or cfg.encoder_lr_scale <= 0 or cfg.cycle_epochs <= 0:
        raise GoSelfiesError("need freeze-encoder-epochs >= 0, encoder-lr-scale > 0 and cycle-epochs > 0")
    if cfg.schedule not in SCHEDULES:
        raise GoSelfiesError(f"config 'schedule' must be one of {', '.join(SCHEDULES)}, got {cfg.schedule!r}")
    if cfg.workers < 0:
        raise GoSelfiesError("--workers must be >= 0")
