"""goselfies evaluate --data DIR [--data DIR...]: Dice, IoU, accuracy, sensitivity, specificity, boundary IoU (mean per
image), for each folder, and their mean when there are several; with --clips also flicker and temporal error."""
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
    p.add_argument("--clips", action="store_true",
                   help="each folder is a clip, its pictures the frames in name order: the frame path keeps its past "
                        "from frame to frame (with --live: smoothing and skipping unchanged frames, as a session does), "
                        "and the scores add flicker (mean change of the matte from frame to frame), the truth's own "
                        "change, and the temporal error (mean |change of the matte - change of the truth|)")
    add_segmenter_arguments(p, background=None, second_pass=True)
    g = p.add_argument_group("the live session's own settings (with --live; what --clips sees change)")
    for name in ("smoothing", "skip"):
        OPTIONS[name].add(g)


def run(args) -> int:
    from tqdm import tqdm

    from ..engine.scoring import data_folders, evaluate, report
    from ..paths import atomic_path

    if args.live:
        from ..live.session import live_path
        from ..live.settings import LiveSettings

        post = post_from_args(args)  # a bad --threshold fails before the model loads
        for name in ("size", "smoothing"):
            OPTIONS[name].check(getattr(args, name))
        seg, path = live_path(LiveSettings(model=args.model, weights=str(args.weights or ""), device=args.device,
                                           backend=args.backend, size=args.size or 0, flip=False,
                                           threshold=post.threshold or 0.0, feather=post.feather,
                                           refine=post.refine, look_closer=args.second_pass,
                                           smoothing=args.smoothing, skip=args.skip))
        print(f"model: {seg.describe()}, as a live session runs it", file=sys.stderr)
    else:
        seg = make_segmenter(args)
        path = make_path(args, seg, background="mask")

    results = []
    for folder in data_folders(args.data):
        result = evaluate(
            folder, path.mask,
            on_error=lambda e: print(f"goselfies evaluate: error: {e}", file=sys.stderr),
            # disable=None: quiet when stderr is not a terminal (a log gets no bar)
            progress=lambda items: tqdm(items, unit="img", desc=folder.name, file=sys.stderr, disable=None),
            clip=args.clips, reset=path.reset,  # each picture a scene of its own, or each clip
        )
        result["data"] = str(folder)
        result["engine"] = seg.describe()  # model, backend, device and size, as the startup line says
        result["model"] = seg.model_name
        result["size"] = seg.size
        result["live"] = bool(args.live)
        results.append(result)
    report_json, text = report(results)
    print(text)
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(report_json, indent=2))
    return 1 if any(r["errors"] for r in results) else 0
