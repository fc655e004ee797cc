"""goselfies grid: the paper's 8-model comparison (Table I) as one command, written to OUT/table.md."""
from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", action="append", required=True, metavar="DIR",
                   help="training folder(s) with images/ and masks/; repeat to combine")
    p.add_argument("--test", metavar="DIR", help="held-out test folder (default: score on the validation split)")
    p.add_argument("--out", default="runs/grid", metavar="DIR", help="grid folder: one run per row + table.md (default runs/grid)")
    p.add_argument("--epochs", type=int, default=50, help="epochs per model (default 50, as in the paper)")
    p.add_argument("--batch", type=int, help="batch size (default the paper's: 64 at 128 px, 16 at 512 px)")
    p.add_argument("--lr", type=float, default=1e-3, help="maximum LR of the triangular cycle (default 1e-3)")
    p.add_argument("--max-steps", type=int, help="at most this many steps per epoch")
    p.add_argument("--encoder-weights-dir", metavar="DIR",
                   help="local ImageNet encoders: DIR/resnet34.safetensors, DIR/vgg16.safetensors "
                        "(state dicts of model.encoder)")
    p.add_argument("--offline", action="store_true", help="never try to download ImageNet weights")
    p.add_argument("--quick", action="store_true",
                   help="tiny scale (32/64 px instead of 128/512, 1 epoch x 2 steps, batch 2): a smoke test")
    p.add_argument("--models", default="vgunet16,resunet34", help="comma-separated subset (default both)")
    p.add_argument("--sizes", default="128,512", help="comma-separated nominal sizes (default 128,512)")
    p.add_argument("--resume", action="store_true", help="continue rows from their last.pt")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--seed", type=int, default=0)


def run(args) -> int:
    from goselfies.extras import require_extra

    require_extra("train", "goselfies grid")
    from goselfies.errors import GoSelfiesError
    from goselfies.training.grid_search import GridSpec, markdown_table, run_grid

    try:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    except ValueError:
        raise GoSelfiesError(f"--sizes must be comma-separated integers, got '{args.sizes}'") from None
    if any(s < 32 or s % 32 for s in sizes):
        raise GoSelfiesError("--sizes must be multiples of 32")
    if args.epochs < 1 or (args.batch is not None and args.batch < 1) or args.lr <= 0:
        raise GoSelfiesError("need --epochs >= 1, --batch >= 1 and --lr > 0")
    spec = GridSpec(
        data=args.data, out=args.out, test=args.test, epochs=args.epochs, batch=args.batch, lr=args.lr,
        max_steps=args.max_steps, quick=args.quick, encoder_weights_dir=args.encoder_weights_dir,
        offline=args.offline, resume=args.resume, device=args.device, seed=args.seed,
        models=tuple(m.strip() for m in args.models.split(",") if m.strip()), sizes=sizes,
    )
    rows = run_grid(spec)
    print(markdown_table(rows, spec.scaled()), end="")
    print(f"table: {args.out}/table.md")
    return 0
