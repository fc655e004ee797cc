"""MediaPipe's selfie segmenter scored by the same code as ``goselfies evaluate``.

    python -m goselfies.benchmarks.accuracy --data ../shared/data/eg1800/test --json mp.json

Gives the reference column of the model cards: same images, same metrics, same threshold.
"""
from __future__ import annotations

import argparse
import json
import sys

from goselfies.engine.metrics import KEYS
from goselfies.engine.scoring import evaluate
from goselfies.errors import GoSelfiesError
from goselfies.frame.framepath import FramePath, PathConfig

from ..engine.mediapipe_selfie import VARIANTS, MediaPipeSelfie


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="folder with images/ and masks/")
    p.add_argument("--variant", default="general", choices=list(VARIANTS))
    p.add_argument("--json", help="write the metrics here")
    p.add_argument("--refine", action="store_true",
                   help="apply Go-selfies' edge refinement to MediaPipe's mask too (the filter, like for like)")
    args = p.parse_args(argv)
    try:
        seg = MediaPipeSelfie(args.variant)
        predict = seg
        if args.refine:
            predict = FramePath(seg, PathConfig(background="mask", smoothing=0.0, skip=False)).mask
        result = evaluate(args.data, predict, on_error=lambda e: print(f"error: {e}", file=sys.stderr))
    except GoSelfiesError as exc:
        print(f"benchmarks.accuracy: error: {exc}", file=sys.stderr)
        return 1
    result.update(model=f"mediapipe-{args.variant}" + ("-refined" if args.refine else ""), version=seg.version,
                  data=str(args.data))
    for k in (*KEYS, "n"):
        print(f"{k:12s} {result[k]:.4f}" if k != "n" else f"n            {result[k]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
