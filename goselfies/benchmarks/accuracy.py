"""MediaPipe's selfie segmenter scored by the same code as ``goselfies evaluate``.

    python -m goselfies.benchmarks.accuracy --data ../shared/data/eg1800/test --json mp.json
    python -m goselfies.benchmarks.accuracy --clips --data ../shared/data/davis_people   # flicker, temporal error

Gives the reference column of the model cards: same images, same metrics, same threshold.
"""
from __future__ import annotations

import argparse
import json
import sys

from goselfies.engine.scoring import data_folders, evaluate, report
from goselfies.errors import GoSelfiesError
from goselfies.frame.framepath import FramePath, PathConfig
from goselfies.live.session import live_path
from goselfies.live.settings import LiveSettings

from ..engine.mediapipe_selfie import VARIANTS, MediaPipeSelfie


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, action="append", metavar="DIR",
                   help="folder with images/ and masks/, or a folder of such folders; repeat for several")
    p.add_argument("--variant", default="general", choices=list(VARIANTS))
    p.add_argument("--json", help="write the metrics here")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--refine", action="store_true",
                     help="apply Go-selfies' edge refinement to MediaPipe's mask too (the filter, like for like)")
    how.add_argument("--live", action="store_true",
                     help="MediaPipe inside a live session's frame path with the default settings (as `benchmark-fps "
                          "live` runs it): smoothing, skipping unchanged frames, refine")
    p.add_argument("--clips", action="store_true", help="each folder is a clip: as `goselfies evaluate --clips`")
    args = p.parse_args(argv)
    try:
        seg = MediaPipeSelfie(args.variant)
        path = None
        if args.live:
            path = live_path(LiveSettings(), factory=lambda s: seg)[1]
        elif args.refine:
            path = FramePath(seg, PathConfig(background="mask", smoothing=0.0, skip=False))
        results = []
        for folder in data_folders(args.data):
            result = evaluate(folder, path.mask if path else seg,
                              on_error=lambda e: print(f"error: {e}", file=sys.stderr),
                              clip=args.clips, reset=path.reset if path else None)
            result.update(model=f"mediapipe-{args.variant}" + ("-refined" if args.refine else "-live" if args.live else ""),
                          version=seg.version, data=str(folder))
            results.append(result)
    except GoSelfiesError as exc:
        print(f"benchmarks.accuracy: error: {exc}", file=sys.stderr)
        return 1
    report_json, text = report(results)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report_json, f, indent=2)
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
