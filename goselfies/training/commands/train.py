"""goselfies train: train (or resume) a segmentation model on folders of images/ + masks/."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from .shared import add_train_arguments, resolve_config


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_train_arguments(p)
    p.add_argument("--folds", action="store_true",
                   help="5-fold cross-validation: train folds 0-4 into RUN/fold0..fold4 and summarise")


def run(args) -> int:
    from goselfies.extras import require_extra

    require_extra("train", "goselfies train")
    from goselfies.errors import GoSelfiesError
    from goselfies.training.trainer import train

    cfg = resolve_config(args)
    if args.folds:
        if cfg.fold is not None:
            raise GoSelfiesError("use either --fold K or --folds, not both")
        results = []
        for k in range(5):
            fold_cfg = replace(cfg, fold=k, out=str(Path(cfg.out) / f"fold{k}"))
            print(f"== fold {k + 1}/5 -> {fold_cfg.out}", file=sys.stderr)
            results.append(train(fold_cfg))
        summary = write_fold_summary(Path(cfg.out), results)
        print(summary)
        return 0
    best = train(cfg)
    _report(cfg, best)
    return 0


def _report(cfg, best: dict) -> None:
    if not best:  # a non-zero rank under torchrun
        return
    weights = Path(cfg.out) / f"{cfg.model}.safetensors"
    if best.get("dice", -1) >= 0:
        print(f"best: epoch {best.get('epoch')} " + " ".join(
            f"{k}={best[k]:.4f}" for k in ("loss", "dice", "iou", "accuracy") if k in best))
    if weights.is_file():
        print(f"weights: {weights}")


def write_fold_summary(out: Path, results: list[dict]) -> str:
    """Mean and spread of the folds' best validation scores, as markdown and JSON."""
    import numpy as np

    keys = [k for k in ("loss", "dice", "iou", "accuracy", "sensitivity", "specificity") if all(k in r for r in results)]
    lines = ["| fold | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for i, r in enumerate(results):
        lines.append(f"| {i} | " + " | ".join(f"{r[k]:.4f}" for k in keys) + " |")
    mean = {k: float(np.mean([r[k] for r in results])) for k in keys}
    std = {k: float(np.std([r[k] for r in results])) for k in keys}
    lines.append("| mean ± sd | " + " | ".join(f"{mean[k]:.4f} ± {std[k]:.4f}" for k in keys) + " |")
    text = "\n".join(lines) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "folds.md").write_text(text)
    (out / "folds.json").write_text(json.dumps({"folds": results, "mean": mean, "std": std}, indent=2))
    return text
