"""goselfies evaluate --data DIR: Dice, IoU, accuracy, sensitivity, specificity, boundary IoU (mean per image)."""
from __future__ import annotations

import json
import sys

from .common import add_segmenter_arguments, make_path, make_segmenter


def add_arguments(p) -> None:
    p.add_argument("--data", required=True, metavar="DIR", help="folder with images/ and masks/ (same stems)")
    p.add_argument("--json", metavar="PATH", help="also write the metrics to this JSON file")
    add_segmenter_arguments(p, background=None)


def run(args) -> int:
    from tqdm import tqdm

    from ..evaluate import evaluate
    from ..paths import atomic_path
    from ..metrics import KEYS

    seg = make_segmenter(args)
    path = make_path(args, seg, background="mask")
    result = evaluate(
        args.data, path.mask,
        on_error=lambda e: print(f"goselfies evaluate: error: {e}", file=sys.stderr),
        # disable=None: quiet when stderr is not a terminal (a log gets no bar)
        progress=lambda items: tqdm(items, unit="img", desc="evaluate", file=sys.stderr, disable=None),
    )
    result["data"] = str(args.data)
    result["engine"] = seg.describe()  # model, backend, device and size, as the startup line says
    result["model"] = seg.model_name
    result["size"] = seg.size
    for k in KEYS:
        print(f"{k:12s} {result[k]:.4f}")
    print(f"{'n':12s} {result['n']}")
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(result, indent=2))
    return 1 if result["errors"] else 0
