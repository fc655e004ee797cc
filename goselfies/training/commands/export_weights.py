"""goselfies export-weights RUN: the run's best checkpoint as fp16 safetensors with its metrics."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", help="a training run folder (holds config.json and best.pt)")
    p.add_argument("-o", "--output", metavar="PATH", help="weights file to write (default RUN/<model>.safetensors)")


def run(args) -> int:
    from goselfies.extras import require_extra

    require_extra("train", "goselfies export-weights")
    from goselfies.engine.weights import read_metadata
    from goselfies.errors import GoSelfiesError
    from goselfies.training.commands.shared import read_config_file
    from goselfies.training.trainer import TrainConfig, export_best

    out = Path(args.run)
    if not out.is_dir():
        raise GoSelfiesError(f"{out}: no such run folder")
    if not (out / "config.json").is_file():
        raise GoSelfiesError(f"{out}: no config.json (not a training run folder)")
    if not (out / "best.pt").is_file():
        raise GoSelfiesError(f"{out}: no best.pt yet (no epoch has finished)")
    cfg = TrainConfig.from_dict(read_config_file(out / "config.json"))
    try:
        path = export_best(out, cfg, Path(args.output) if args.output else None)
    except RuntimeError as exc:  # state dict does not fit the config's model
        raise GoSelfiesError(f"{out}/best.pt does not fit model '{cfg.model}' ({str(exc).splitlines()[0][:100]})") from None
    meta = read_metadata(path)
    metrics = meta.get("val_metrics", {})
    print(f"{path}  ({cfg.model}, trained at {cfg.size} px, best epoch {meta.get('epochs')}"
          + "".join(f", {k} {metrics[k]:.4f}" for k in ("dice", "iou") if k in metrics) + ")")
    return 0
