"""The training loop: Adam, triangular CLR, BCE (+ optional Dice) loss, per-epoch validation,
atomic resumable checkpoints, best-by-Dice export to the shipped safetensors format."""
from __future__ import annotations

import csv
import json
import random
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch  # noqa: E402  (data.py already made torchvision importable)
import torch.nn.functional as F  # noqa: E402

from goselfies.engine.metrics import MeanScores
from goselfies.engine.models import model_info
from goselfies.engine.networks import create_model
from goselfies.errors import GoSelfiesError
from goselfies.paths import atomic_path

from .data import IGNORE, PairDataset, find_pairs, split
from .distill import Teachers
from .schedule import triangular_lr


@dataclass
class TrainConfig:
    data: list[str] = field(default_factory=list)
    model: str = "resunet34"
    size: int = 256
    epochs: int = 50
    batch: int = 16
    out: str = "runs/train"
    lr: float = 1e-3  # max LR of the triangular cycle
    base_lr: float | None = None  # min LR; default lr / 10
    cycle_epochs: float = 2.0  # a full triangle spans this many epochs
    schedule: str = "triangular"  # or "triangular2": each cycle's amplitude halves (anneals)
    dice_loss: bool = True
    val_fraction: float = 0.1
    fold: int | None = None  # k-fold cross-validation fold (k=5) instead of val_fraction
    seed: int = 0
    encoder_weights: str | None = None
    init_weights: str | None = None  # start from a Go-selfies weights file (fine-tuning)
    teacher: str | None = None  # distillation: a Go-selfies weights file, or mediapipe, whose soft masks are an extra target
    teacher_weight: float = 1.0  # the distillation term's weight beside the labels' loss
    # A --data folder -> its own teacher (or distill.NO_TEACHER), instead of ``teacher``. The distillation term is a mean over the
    # taught pixels of a batch, so with untaught folders its weight per taught pixel varies with the batch's mix.
    teachers: dict[str, str] = field(default_factory=dict)
    freeze_encoder_epochs: int = 0  # fine-tuning: train decoder only for this many epochs
    encoder_lr_scale: float = 1.0  # after unfreezing, the encoder trains at lr * this
    device: str = "auto"
    amp: bool = True  # mixed precision where the device computes it natively (``autocast_dtype``)
    max_steps: int | None = None  # stop after this many optimiser steps per epoch (tests, quick runs)
    workers: int = 0
    resume: bool = False

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise GoSelfiesError(f"unknown config keys: {', '.join(sorted(unknown))}")
        return cls(**d)


def train_device(name: str) -> torch.device:
    """auto | cpu | cuda[:N], checked as the engine checks it (segmenter.resolve_device)."""
    from goselfies.engine.segmenter import resolve_device

    return torch.device(resolve_device(name, quiet=True))


def loss_fn(logits: torch.Tensor, target: torch.Tensor, dice: bool) -> torch.Tensor:
    """BCE (+ Dice per image) over the real pixels; target pixels equal to ``IGNORE`` add nothing."""
    valid = (target != IGNORE).float()
    target = target * valid
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    loss = (bce * valid).sum() / valid.sum().clamp(min=1)
    if dice:
        p = (torch.sigmoid(logits) * valid).flatten(1)
        t = target.flatten(1)
        loss = loss + (1 - (2 * (p * t).sum(1) + 1) / (p.sum(1) + t.sum(1) + 1)).mean()
    return loss


def _rng_state() -> dict:
    np_state = np.random.get_state()
    return {
        "python": repr(random.getstate()),
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
        "torch": torch.get_rng_state(),
    }


def _set_rng_state(state: dict) -> None:
    import ast

    random.setstate(ast.literal_eval(state["python"]))
    np_state = state["numpy"]
    np.random.set_state((np_state[0], np.array(np_state[1], dtype=np.uint32), *np_state[2:]))
    torch.set_rng_state(state["torch"])


def save_checkpoint(path: Path, **payload) -> None:
    """Atomic: a crash mid-write never leaves a broken checkpoint at ``path``."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path) -> dict:
    # weights_only: tensors and plain containers only, nothing is unpickled as code.
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise GoSelfiesError(f"{path}: not a usable checkpoint ({str(exc).splitlines()[0][:120]})") from None


def set_encoder_trainable(model, trainable: bool) -> None:
    for p in model.encoder.parameters():
        p.requires_grad_(trainable)


def autocast_dtype(device: torch.device, amp: bool = True) -> torch.dtype | None:
    """The mixed-precision type to train in: float16 on CUDA; bfloat16 on a CPU with AVX-512 BF16 or AMX, where
    oneDNN runs it natively (elsewhere it is emulated and slower); None (float32) otherwise or without ``amp``."""
    if not amp:
        return None
    if device.type == "cuda":
        return torch.float16
    native = (getattr(torch.cpu, name, lambda: False)() for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    return torch.bfloat16 if device.type == "cpu" and any(native) else None


@torch.no_grad()
def validate(model, loader, device, dice_loss: bool) -> dict:
    """Loss and scores of ``model`` on ``loader``, in float32 whatever the training's precision, so that runs compare."""
    model.eval()
    scores, total, n = MeanScores(), 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = model(x)
        total += loss_fn(logits, y, dice_loss).item() * len(x)
        n += len(x)
        pred = (logits > 0).cpu().numpy()
        truth = (y > 0.5).cpu().numpy()
        for p, t in zip(pred, truth):
            scores.add(p, t)
    model.train()
    return {"loss": total / max(n, 1), **scores.result()}


def train(cfg: TrainConfig, progress: bool = True) -> dict:
    """Run (or resume) a training run in ``cfg.out``; returns the best validation metrics."""
    from .distributed import Dist

    dist = Dist.setup()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    info = model_info(cfg.model)
    if cfg.size % 32:
        raise GoSelfiesError(f"--size must be a multiple of 32, got {cfg.size}")
    if not cfg.data:
        raise GoSelfiesError("no training data: pass --data DIR (a folder with images/ and masks/)")
    pairs, folder_of = [], {}
    for d in cfg.data:
        found = find_pairs(d)
        pairs += found
        folder_of.update((p, Path(d)) for p in found)
    train_pairs, val_pairs = split(pairs, cfg.val_fraction, cfg.seed, cfg.fold)
    if not train_pairs:
        raise GoSelfiesError(f"only {len(pairs)} image/mask pair(s): none left for training after the validation split")
    device = dist.device if dist.enabled else train_device(cfg.device)

    torch.manual_seed(cfg.seed)
    model = create_model(cfg.model, weights=cfg.init_weights, encoder_weights=cfg.encoder_weights).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    start_epoch, step, best, history = 0, 0, {"dice": -1.0}, []
    ckpt_path = out / "last.pt"
    scaler_state = None
    if cfg.resume and ckpt_path.exists():
        ck = load_checkpoint(ckpt_path)
        if not isinstance(ck, dict) or not {"config", "model", "optimizer", "epoch", "rng"} <= set(ck):
            raise GoSelfiesError(f"{ckpt_path}: not a Go-selfies training checkpoint")
        ck_model = ck["config"].get("model")
        if ck_model != cfg.model:
            raise GoSelfiesError(f"{ckpt_path}: checkpoint is of model '{ck_model}', not '{cfg.model}'")
        try:
            model.load_state_dict(ck["model"])
            if len(ck["optimizer"]["param_groups"]) == 2:  # saved after the encoder got its own LR
                _scale_encoder_lr(opt, model, cfg.lr * cfg.encoder_lr_scale)
            opt.load_state_dict(ck["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise GoSelfiesError(f"{ckpt_path}: checkpoint does not fit this run ({str(exc).splitlines()[0][:120]})") from None
        start_epoch, step, best, history = ck["epoch"], ck["step"], ck["best"], ck["history"]
        _set_rng_state(ck["rng"])
        scaler_state = ck.get("scaler")
        if dist.is_main:
            print(f"resuming {ckpt_path} at epoch {start_epoch + 1}, step {step}", file=sys.stderr)
    elif cfg.resume and dist.is_main:
        print(f"note: no checkpoint at {ckpt_path}; starting a new run", file=sys.stderr)
    if dist.is_main:
        (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
        # The held-out pairs, so that a run can be evaluated on exactly what it never trained on.
        (out / "split.json").write_text(json.dumps({"val": [str(p.image) for p in val_pairs]}, indent=2))

    train_ds = PairDataset(train_pairs, cfg.size, True, info, indexed=True)
    val_ds = PairDataset(val_pairs, cfg.size, False, info)
    by_folder = {Path(d): t for d, t in cfg.teachers.items()}
    taught_by = [by_folder.get(folder_of[p], cfg.teacher) for p in train_pairs]
    teachers = Teachers(taught_by, info, device)
    steps_per_epoch = max(1, len(train_ds) // (cfg.batch * dist.world))
    if cfg.max_steps:
        steps_per_epoch = min(steps_per_epoch, cfg.max_steps)
    step_size = max(1, round(cfg.cycle_epochs * steps_per_epoch / 2))
    base_lr = cfg.base_lr if cfg.base_lr is not None else cfg.lr / 10
    # Frozen encoder params get no gradients; DDP must be told to expect that.
    net = dist.wrap(model, find_unused=cfg.freeze_encoder_epochs > start_epoch) if dist.enabled else model
    if dist.enabled and dist.is_main:
        print(f"distributed: {dist.world} processes ({'nccl' if device.type == 'cuda' else 'gloo'})", file=sys.stderr)
    amp = autocast_dtype(device, cfg.amp)
    use_amp = amp == torch.float16  # float16 needs its gradients scaled; bfloat16 has float32's range
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    if scaler_state and use_amp:
        scaler.load_state_dict(scaler_state)
    val_loader = torch.utils.data.DataLoader(val_ds, batch_size=cfg.batch, num_workers=cfg.workers)

    for epoch in range(start_epoch, cfg.epochs):
        frozen = epoch < cfg.freeze_encoder_epochs
        set_encoder_trainable(model, not frozen)
        if frozen:  # a frozen encoder keeps its BatchNorm statistics too
            model.encoder.eval()
        # Per-epoch seeding makes a resumed run replay exactly what an uninterrupted run does.
        gen = torch.Generator().manual_seed(cfg.seed * 100003 + epoch)
        torch.manual_seed(cfg.seed * 7919 + epoch)
        sampler = dist.sampler(train_ds, cfg.seed + epoch) if dist.enabled else torch.utils.data.RandomSampler(train_ds, generator=gen)
        loader = torch.utils.data.DataLoader(
            train_ds, batch_size=cfg.batch, sampler=sampler, drop_last=len(train_ds) >= cfg.batch,
            num_workers=cfg.workers,
        )
        bar = _bar(steps_per_epoch, f"epoch {epoch + 1}/{cfg.epochs}", progress and dist.is_main)
        t0, running, done = time.time(), 0.0, 0
        for i, (x, y, index) in enumerate(loader):
            if i >= steps_per_epoch:
                break
            lr = triangular_lr(step, base_lr, cfg.lr, step_size, decay=cfg.schedule == "triangular2")
            for g in opt.param_groups:
                g["lr"] = lr
            if not frozen and cfg.encoder_lr_scale != 1.0:
                _scale_encoder_lr(opt, model, lr * cfg.encoder_lr_scale)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
                logits = net(x)
                taught = teachers(x, index).float() if teachers else None
            loss = loss_fn(logits.float(), y, cfg.dice_loss)
            if teachers:
                soft = torch.where(y == IGNORE, y, taught)  # made-up pixels and untaught pairs: IGNORE
                loss = loss + cfg.teacher_weight * loss_fn(logits.float(), soft, dice=False)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            step += 1
            done += 1
            running += loss.item()
            bar.update(1)
            bar.set_postfix(loss=f"{running / done:.4f}", lr=f"{lr:.2e}")
        bar.close()
        if train_ds.skipped and dist.is_main:
            print(f"note: {len(train_ds.skipped)} unreadable pair(s) skipped this run", file=sys.stderr)
        val = validate(model, val_loader, device, cfg.dice_loss) if len(val_ds) else {}
        row = {"epoch": epoch + 1, "step": step, "train_loss": running / max(1, done), "seconds": time.time() - t0,
               **{f"val_{k}": v for k, v in val.items()}}
        history.append(row)
        if dist.is_main:
            print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
            is_best = val.get("dice", 0.0) > best.get("dice", -1.0)
            if is_best:
                best = {**val, "epoch": epoch + 1}
                save_checkpoint(out / "best.pt", model=model.state_dict(), config=asdict(cfg), best=best)
            save_checkpoint(ckpt_path, model=model.state_dict(), optimizer=opt.state_dict(), epoch=epoch + 1,
                            step=step, best=best, history=history, rng=_rng_state(), config=asdict(cfg),
                            **({"scaler": scaler.state_dict()} if use_amp else {}))
            _write_log(out, history)
    if dist.is_main:
        export_best(out, cfg)
    dist.close()
    return best if dist.is_main else {}  # other ranks never see the best; only rank 0 reports


def _scale_encoder_lr(opt, model, lr: float) -> None:
    # One param group: scale by writing the encoder's LR through a second group on first use.
    enc = {id(p) for p in model.encoder.parameters()}
    if len(opt.param_groups) == 1:
        group = opt.param_groups[0]
        rest = [p for p in group["params"] if id(p) not in enc]
        enc_params = [p for p in group["params"] if id(p) in enc]
        group["params"] = rest
        opt.add_param_group({"params": enc_params, "lr": lr})
    opt.param_groups[1]["lr"] = lr


def _bar(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=None if enabled else True,  # None: quiet off a terminal
                dynamic_ncols=True, file=sys.stderr)


def _write_log(out: Path, history: list[dict]) -> None:
    keys = list(dict.fromkeys(k for row in history for k in row))
    with atomic_path(out / "log.csv") as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, keys)
        w.writeheader()
        w.writerows(history)
    from .plots import plot_curves

    plot_curves(history, out / "curves.png")


def export_best(out: Path, cfg: TrainConfig, path: Path | None = None) -> Path | None:
    """Write the best checkpoint as fp16 safetensors with architecture, data and metrics."""
    from goselfies.engine.weights import save_weights

    best_path = out / "best.pt"
    if not best_path.exists():
        return None
    ck = load_checkpoint(best_path)
    model = create_model(cfg.model)
    model.load_state_dict(ck["model"])
    meta = {
        "train_size": cfg.size,
        "data": [str(Path(d)) for d in cfg.data],
        "epochs": ck["best"].get("epoch"),
        "val_metrics": {k: v for k, v in ck["best"].items() if k != "epoch"},
    }
    return save_weights(model, path or out / f"{cfg.model}.safetensors", cfg.model, meta)
