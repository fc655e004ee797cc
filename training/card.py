"""Model cards: markdown next to the shipped weights, every number read from files that
commands anyone can rerun wrote (the weights' metadata, the run's log.csv, evaluate's JSON).

    python -m training.card goselfies/assets/models/lite.safetensors --run RUN \
        --eval lite_eg1800.json --reference mediapipe_eg1800.json --hardware "..." -o lite.md
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from goselfies.weights import read_metadata

KEYS = ("dice", "iou", "accuracy", "sensitivity", "specificity")


def render(weights: Path, run: Path, evals: list[dict], reference: dict | None, hardware: str, notes: str) -> str:
    meta = read_metadata(weights)
    config = json.loads((run / "config.json").read_text())
    with open(run / "log.csv") as f:
        log = list(csv.DictReader(f))
    hours = sum(float(r["seconds"]) for r in log) / 3600
    name = meta["arch"]
    cmd = (f"goselfies train " + " ".join(f"--data {d}" for d in config["data"])
           + f" --model {name} --size {config['size']} --epochs {config['epochs']} --batch {config['batch']}"
           + f" --lr {config['lr']} --out RUN")
    lines = [
        f"# Model card: `{name}`",
        "",
        f"- Architecture: {name} (see `goselfies.models`), 1 output channel, sigmoid.",
        f"- Weights: `{weights.name}`, fp16 safetensors, {weights.stat().st_size / 1e6:.1f} MB.",
        f"- Training data: {', '.join(config['data'])} ({config['val_fraction']:.0%} held out for validation).",
        f"- Input: {config['size']} px training crops, ImageNet mean/std normalisation, encoder from scratch (no ImageNet weights on the training machine).",
        f"- Method: Adam, triangular cyclical LR {config.get('base_lr') or config['lr'] / 10:g}..{config['lr']:g} "
        f"(cycle {config['cycle_epochs']:g} epochs), BCE{' + Dice' if config['dice_loss'] else ''} loss, the paper's augmentation.",
        f"- Epochs run: {len(log)} of the {config['epochs']} planned; best by validation Dice at epoch {meta.get('epochs')}.",
        f"- Hardware: {hardware}. Wall time: {hours:.2f} h.",
        f"- Command: `{cmd}`, then `goselfies export-weights RUN`.",
        "",
        "## Measured on EG1800 test (264 images, mean per image, threshold 0.5)",
        "",
        "| model | input size | " + " | ".join(KEYS) + " |",
        "|---|---|" + "---|" * len(KEYS),
    ]
    for e in evals:
        lines.append(f"| {name} | {e.get('size', '')} | " + " | ".join(f"{e[k]:.4f}" for k in KEYS) + " |")
    if reference:
        lines.append(f"| {reference.get('model', 'reference')} {reference.get('version', '')} | 256 | "
                     + " | ".join(f"{reference[k]:.4f}" for k in KEYS) + " |")
    lines += [
        "",
        f"Reproduce: `goselfies evaluate --data ../shared/data/eg1800/test --model {name} --size N --json F` and "
        "`python -m benchmarks.accuracy --data ../shared/data/eg1800/test` (MediaPipe, same code).",
        "",
        "## Validation curve",
        "",
        "| epoch | train loss | val loss | val dice | val iou |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {r['epoch']} | {float(r['train_loss']):.4f} | {float(r['val_loss']):.4f} | "
              f"{float(r['val_dice']):.4f} | {float(r['val_iou']):.4f} |" for r in log]
    if notes:
        lines += ["", "## Notes", "", notes]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("weights", type=Path)
    p.add_argument("--run", type=Path, required=True, help="the training run folder (config.json, log.csv)")
    p.add_argument("--eval", type=Path, action="append", default=[], help="evaluate --json output (repeatable)")
    p.add_argument("--reference", type=Path, help="benchmarks.accuracy --json output (MediaPipe)")
    p.add_argument("--hardware", default="unknown")
    p.add_argument("--notes", default="")
    p.add_argument("-o", "--out", type=Path, required=True)
    a = p.parse_args(argv)
    evals = [json.loads(e.read_text()) for e in a.eval]
    ref = json.loads(a.reference.read_text()) if a.reference else None
    a.out.write_text(render(a.weights, a.run, evals, ref, a.hardware, a.notes))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
