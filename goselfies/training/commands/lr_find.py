"""goselfies lr-find: learning-rate range test; plots loss against LR and suggests an LR."""
from __future__ import annotations

import argparse
import sys

from .shared import add_data_model_arguments, resolve_config


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_data_model_arguments(p)
    p.add_argument("--start-lr", type=float, default=1e-6, help="first LR (default 1e-6)")
    p.add_argument("--end-lr", type=float, default=1.0, help="last LR (default 1)")
    p.add_argument("--steps", type=int, default=100, help="optimiser steps over the range (default 100)")
    p.add_argument("-o", "--output", default="lr_find.png", metavar="PNG",
                   help="plot to write (default lr_find.png; the numbers go to the same name .csv)")


def run(args) -> int:
    from goselfies.extras import require_extra

    require_extra("train", "goselfies lr-find")
    from goselfies.training.lr_range import run_lr_find

    cfg = resolve_config(args)
    r = run_lr_find(cfg, args.start_lr, args.end_lr, args.steps, args.output)
    if r.diverged:
        print(f"note: loss diverged at LR {r.lrs[-1]:.2e}; stopped early", file=sys.stderr)
    print(f"loss starts falling at LR {r.fall_lr:.2e}")
    print(f"loss starts rising at LR  {r.rise_lr:.2e}")
    lo, hi = r.suggested_range
    print(f"suggested LR {r.suggested_lr:.2e}  (max/4..max/3: {lo:.2e}..{hi:.2e}); use it as --lr")
    print(f"plot: {args.output}")
    return 0
