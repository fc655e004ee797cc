"""Paired comparison of two ``evaluate --json`` results on the same images.

    python -m goselfies.benchmarks.compare OLD.json NEW.json [--key iou]

A difference of 0.002 in mean IoU can be noise or a real gain; pairing each image with itself and
bootstrapping the per-image differences says which. Prints NEW - OLD, its 95 % bootstrap interval and
on how many images NEW is better.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from goselfies.engine.scoring import PER_IMAGE
from goselfies.errors import GoSelfiesError
from goselfies.io.media import read_json_object


def paired(old: dict, new: dict, key: str = "iou", rounds: int = 5000, seed: int = 0) -> dict:
    """Mean of NEW - OLD per image, a bootstrap 95 % interval and the count of images NEW does better on."""
    a, b = old.get("per_image"), new.get("per_image")
    if not a or not b:
        raise GoSelfiesError("both results need per-image scores (made by goselfies evaluate --json)")
    if a.keys() != b.keys():
        raise GoSelfiesError(f"the results are on different images ({len(a.keys() ^ b.keys())} not in both)")
    names = sorted(a)
    d = np.array([b[n][key] - a[n][key] for n in names])
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, len(d), (rounds, len(d)))].mean(axis=1)
    low, high = np.percentile(boots, [2.5, 97.5])
    return {"key": key, "n": len(d), "mean_diff": float(d.mean()), "low": float(low), "high": float(high),
            "better": int((d > 0).sum()), "worse": int((d < 0).sum())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old", help="evaluate --json result of the baseline")
    p.add_argument("new", help="evaluate --json result of the candidate")
    p.add_argument("--key", default="iou", choices=PER_IMAGE)
    args = p.parse_args(argv)
    try:
        r = paired(read_json_object(args.old, "evaluate result"), read_json_object(args.new, "evaluate result"), args.key)
    except GoSelfiesError as exc:
        print(f"benchmarks.compare: error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.key}: new - old = {r['mean_diff']:+.4f} per image, 95 % interval {r['low']:+.4f}..{r['high']:+.4f}, "
          f"new better on {r['better']} of {r['n']} (worse on {r['worse']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
