"""What skipping the network on unchanged frames costs: each clip's mattes with it against without.

    python -m goselfies.benchmarks.skip ../shared/data/videos/*.mp4 [--thresholds 1.5,2.5] [--json F]

Both runs go through the same frame path frame by frame (no threads, so no frame is dropped and the
comparison is exact): per frame the IoU of the two mattes (at 0.5), and per run the share of frames the
network ran on and the flicker (mean absolute matte change between frames, 0-1).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from goselfies.errors import GoSelfiesError, exit_status


def compare(video: Path, segment, max_frames: int = 0, threshold: float | None = None) -> dict:
    from goselfies.engine.metrics import confusion, scores
    from goselfies.frame.framepath import FramePath, PathConfig
    from goselfies.frame.smoothing import FlickerMeter
    from goselfies.io.media import VideoReader

    on, off = (FramePath(segment, PathConfig(background="mask", skip=s, change_threshold=threshold))
               for s in (True, False))
    ious, runs, flicker = [], 0, {True: FlickerMeter(), False: FlickerMeter()}
    with VideoReader(video) as reader:
        for i, frame in enumerate(reader):
            if max_frames and i >= max_frames:
                break
            a, _, ran = on(frame)
            b = off(frame)[1]
            runs += bool(ran)
            flicker[True].add(a * (1 / 255.0))
            flicker[False].add(b * (1 / 255.0))
            ious.append(scores(*confusion(a >= 128, b >= 128))["iou"])
    ious = np.array(ious)
    return {"clip": video.name, "threshold": on.detector.threshold, "frames": len(ious), "segmented": runs,
            "segmented_share": round(runs / len(ious), 3),
            "iou_mean": round(float(ious.mean()), 4), "iou_worst": round(float(ious.min()), 4),
            "flicker_skip": round(flicker[True].value, 5), "flicker_every_frame": round(flicker[False].value, 5)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("videos", nargs="+", type=Path)
    p.add_argument("--model", default="auto", help="as goselfies webcam (default: the live default)")
    p.add_argument("--size", type=int, help="network input size (default: the model's)")
    p.add_argument("--frames", type=int, default=0, help="at most this many frames per clip (default all)")
    p.add_argument("--thresholds", default="",
                   help="comma-separated change thresholds to sweep (default: change.THRESHOLD alone)")
    p.add_argument("--json", type=Path, help="also write the rows here")
    args = p.parse_args(argv)

    def run() -> int:
        from goselfies.engine.segmenter import Segmenter, SegmenterConfig

        try:
            thresholds = [float(t) for t in args.thresholds.split(",") if t.strip()] or [None]
        except ValueError:
            raise GoSelfiesError(f"--thresholds must be numbers, got '{args.thresholds}'") from None
        for video in args.videos:
            if not video.is_file():
                raise GoSelfiesError(f"{video}: no such video file")
        seg = Segmenter(SegmenterConfig(model=args.model, device="cpu", size=args.size), quiet=True)
        rows = []
        for threshold in thresholds:
            for video in args.videos:
                rows.append(compare(video, seg, args.frames, threshold))
                print(" ".join(f"{k}={v}" for k, v in rows[-1].items()), flush=True)
        if args.json:
            args.json.write_text(json.dumps({"model": seg.describe(), "rows": rows}, indent=2))
        return 0

    return exit_status("benchmarks.skip", run)


if __name__ == "__main__":
    sys.exit(main())
