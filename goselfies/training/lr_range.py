"""Learning-rate range test (Smith 2015; paper section III-B).

The LR grows exponentially from ``start_lr`` to ``end_lr`` over ``steps`` optimiser steps while the
loss is recorded. The plot marks where the loss starts to fall and where it starts to rise; the
paper's rule suggests 1/3 to 1/4 of that maximum. The model and optimizer are restored after the
test, so it can run right before a real training without side effects.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from goselfies.errors import GoSelfiesError
from goselfies.paths import atomic_path


@dataclass
class LRFindResult:
    lrs: list[float]
    losses: list[float]  # raw per-step loss
    smoothed: list[float]  # bias-corrected exponential moving average of ``losses``
    fall_lr: float  # where the loss starts to fall (the paper's red dot)
    rise_lr: float  # where the loss starts to rise again (the black dot): the usable maximum
    suggested_lr: float  # rise_lr / 3
    suggested_range: tuple[float, float] = field(default=(0.0, 0.0))  # (rise_lr / 4, rise_lr / 3)
    diverged: bool = False  # stopped early because the loss exploded

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("fall_lr", "rise_lr", "suggested_lr", "suggested_range", "diverged")}


def lr_schedule(step: int, steps: int, start_lr: float, end_lr: float) -> float:
    """Exponential ramp: start_lr at step 0, end_lr at step ``steps - 1``."""
    if steps < 2:
        return start_lr
    return start_lr * (end_lr / start_lr) ** (step / (steps - 1))


def smooth(values: list[float], beta: float) -> list[float]:
    """Bias-corrected exponential moving average (noisy per-batch losses hide the turning points)."""
    out, avg = [], 0.0
    for i, v in enumerate(values):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def find_markers(lrs: list[float], smoothed: list[float], tolerance: float = 0.05) -> tuple[int, int]:
    """Indices (fall, rise) on a smoothed loss curve.

    rise: the minimum of the curve; past it the loss goes up. fall: the last point before the
    minimum still within ``tolerance`` of the total drop from the starting level, i.e. where the
    descent begins.
    """
    if not smoothed:
        raise GoSelfiesError("LR range test recorded no losses")
    finite = [v if math.isfinite(v) else math.inf for v in smoothed]
    rise = min(range(len(finite)), key=finite.__getitem__)
    top = max(finite[: rise + 1])
    first = finite.index(top)  # losses often climb briefly at first; measure the fall from the top
    drop = top - finite[rise]
    fall = first
    for i in range(first, rise + 1):
        if finite[i] >= top - tolerance * drop:
            fall = i
    return fall, rise


def lr_range_test(
    model,
    optimizer,
    batches: Iterable,
    loss_fn: Callable,
    start_lr: float = 1e-6,
    end_lr: float = 1.0,
    steps: int = 100,
    device=None,
    beta: float = 0.8,
    diverge_factor: float = 4.0,
) -> LRFindResult:
    """Run the range test on ``batches`` (cycled as needed); model/optimizer/RNG are restored after."""
    import torch

    if not 0 < start_lr < end_lr:
        raise GoSelfiesError(f"need 0 < start LR < end LR, got {start_lr} and {end_lr}")
    if steps < 3:
        raise GoSelfiesError("the LR range test needs at least 3 steps")
    device = device or next(model.parameters()).device
    saved_model = copy.deepcopy(model.state_dict())
    saved_opt = copy.deepcopy(optimizer.state_dict())
    saved_rng = torch.get_rng_state()
    was_training = model.training
    lrs: list[float] = []
    losses: list[float] = []
    diverged = False
    try:
        model.train()
        it = _cycle(batches)
        for step in range(steps):
            lr = lr_schedule(step, steps, start_lr, end_lr)
            for g in optimizer.param_groups:
                g["lr"] = lr
            x, y = next(it)
            x, y = x.to(device), y.to(device)
            loss = loss_fn(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            lrs.append(lr)
            losses.append(float(loss.item()))
            sm = smooth(losses, beta)
            if not math.isfinite(losses[-1]) or (step > 2 and sm[-1] > diverge_factor * min(sm)):
                diverged = True
                break
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_opt)
        optimizer.zero_grad(set_to_none=True)
        torch.set_rng_state(saved_rng)
        model.train(was_training)
    sm = smooth(losses, beta)
    fall, rise = find_markers(lrs, sm)
    rise_lr = lrs[rise]
    return LRFindResult(lrs, losses, sm, lrs[fall], rise_lr, rise_lr / 3, (rise_lr / 4, rise_lr / 3), diverged)


def _cycle(batches: Iterable) -> Iterator:
    while True:
        empty = True
        for b in batches:
            empty = False
            yield b
        if empty:
            raise GoSelfiesError("no training batches for the LR range test")


def plot_lr_find(result: LRFindResult, path: str | Path, title: str = "") -> Path:
    """Loss against LR (log axis) with the fall (red) and rise (black) points and the suggestion."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(result.lrs, result.losses, color="0.75", lw=1, label="loss per step")
    ax.plot(result.lrs, result.smoothed, color="C0", lw=2, label="smoothed loss")
    fi, ri = result.lrs.index(result.fall_lr), result.lrs.index(result.rise_lr)
    ax.plot(result.fall_lr, result.smoothed[fi], "o", color="red", ms=9, label=f"starts falling: {result.fall_lr:.2e}")
    ax.plot(result.rise_lr, result.smoothed[ri], "o", color="black", ms=9, label=f"starts rising: {result.rise_lr:.2e}")
    lo, hi = result.suggested_range
    ax.axvspan(lo, hi, color="green", alpha=0.2, label=f"suggested LR {result.suggested_lr:.2e} (max/4..max/3)")
    ax.set_xscale("log")
    # Keep the interesting part readable: a diverging tail would squash the curve flat.
    top = max(result.smoothed[: ri + 1])
    low = min(min(result.smoothed), min(result.losses))
    ax.set_ylim(low - 0.05 * abs(low), top + 0.5 * (top - low) + 1e-9)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.set_title(title or "learning-rate range test")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)
    return path


def run_lr_find(cfg, start_lr: float, end_lr: float, steps: int, png: str | Path) -> LRFindResult:
    """The range test for a training config: its data (augmented), model, Adam and loss."""
    import csv

    import torch

    from goselfies.engine.models import model_info
    from goselfies.engine.networks import create_model

    from .data import PairDataset, find_pairs, split
    from .trainer import loss_fn, train_device

    if not cfg.data:
        raise GoSelfiesError("no training data: pass --data DIR (a folder with images/ and masks/)")
    pairs = [p for d in cfg.data for p in find_pairs(d)]
    train_pairs, _ = split(pairs, cfg.val_fraction, cfg.seed, cfg.fold)
    if not train_pairs:
        raise GoSelfiesError("no image/mask pairs left for the range test after the validation split")
    device = train_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model = create_model(cfg.model, weights=cfg.init_weights, encoder_weights=cfg.encoder_weights).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=start_lr)
    ds = PairDataset(train_pairs, cfg.size, True, model_info(cfg.model))
    loader = torch.utils.data.DataLoader(
        ds, batch_size=cfg.batch, shuffle=True, drop_last=len(ds) >= cfg.batch,
        generator=torch.Generator().manual_seed(cfg.seed), num_workers=cfg.workers,
    )
    result = lr_range_test(model, opt, loader, lambda out, y: loss_fn(out, y, cfg.dice_loss),
                           start_lr, end_lr, steps, device)
    png = Path(png)
    plot_lr_find(result, png, f"LR range test: {cfg.model} at {cfg.size} px, batch {cfg.batch}")
    with open(png.with_suffix(".csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["lr", "loss", "smoothed"])
        w.writerows(zip(result.lrs, result.losses, result.smoothed))
    return result
