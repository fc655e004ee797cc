"""goselfies evaluate --data DIR [--data DIR...]: Dice, IoU, accuracy, sensitivity, specificity, boundary IoU (mean per
image), for each folder, and their mean when there are several."""
from __future__ import annotations

import json
import sys

from ..options import OPTIONS
from .common import add_segmenter_arguments, make_path, make_segmenter, post_from_args


def add_arguments(p) -> None:
    p.add_argument("--data", required=True, action="append", metavar="DIR",
                   help="folder with images/ and masks/ (same stems), or a folder of such folders (a set of video "
                        "sequences); repeat to report several")
    p.add_argument("--json", metavar="PATH", help="also write the metrics to this JSON file")
    p.add_argument("--live", action="store_true",
                   help="score what a live session composites for a picture: the live model, size and backend "
                        "(--model auto: the live default), the session's frame path with --threshold, --feather and "
                        "--refine; never flipped; --second-pass means the live look-closer there")
    add_segmenter_arguments(p, background=None, second_pass=True)


def run(args) -> int:
    from tqdm import tqdm

    from ..engine.metrics import KEYS
    from ..engine.scoring import data_folders, evaluate
    from ..paths import atomic_path

    if args.live:
        from ..live.session import still_masks
        from ..live.settings import LiveSettings

        post = post_from_args(args)  # a bad --threshold fails before the model loads
        OPTIONS["size"].check(args.size)
        seg, predict = still_masks(LiveSettings(model=args.model, weights=str(args.weights or ""), device=args.device,
                                                backend=args.backend, size=args.size or 0, flip=False,
                                                threshold=post.threshold or 0.0, feather=post.feather,
                                                refine=post.refine, look_closer=args.second_pass))
        print(f"model: {seg.describe()}, as a live session runs it", file=sys.stderr)
    else:
        seg = make_segmenter(args)
        predict = make_path(args, seg, background="mask").mask
    results = []
    for folder in data_folders(args.data):
        result = evaluate(
            folder, predict,
            on_error=lambda e: print(f"goselfies evaluate: error: {e}", file=sys.stderr),
            # disable=None: quiet when stderr is not a terminal (a log gets no bar)
            progress=lambda items: tqdm(items, unit="img", desc=folder.name, file=sys.stderr, disable=None),
        )
        result["data"] = str(folder)
        result["engine"] = seg.describe()  # model, backend, device and size, as the startup line says
        result["model"] = seg.model_name
        result["size"] = seg.size
        result["live"] = bool(args.live)
        results.append(result)
    if len(results) == 1:
        report = results[0]
        for k in KEYS:
            print(f"{k:12s} {report[k]:.4f}")
        print(f"{'n':12s} {report['n']}")
    else:
        report = {"sets": results, "mean_of_sets": {k: sum(r[k] for r in results) / len(results) for k in KEYS}}
        print("| data | n | " + " | ".join(KEYS) + " |")
        print("|---|---|" + "---|" * len(KEYS))
        for r in results:
            print(f"| {r['data']} | {r['n']} | " + " | ".join(f"{r[k]:.4f}" for k in KEYS) + " |")
        print(f"| mean of the {len(results)} sets | | " + " | ".join(f"{report['mean_of_sets'][k]:.4f}" for k in KEYS) + " |")
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(report, indent=2))
    return 1 if any(r["errors"] for r in results) else 0
