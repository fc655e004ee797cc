"""goselfies video INPUT -o OUTPUT: H.264 with the sound kept (VP9 in .webm), real alpha for
-b transparent (.webm, .mov, PNG sequences), steady masks; the output appears only when complete."""
from __future__ import annotations

import sys

from ..options import OPTIONS
from .common import (
    add_frame_arguments,
    add_segmenter_arguments,
    make_segmenter,
    post_from_args,
)


def add_arguments(p) -> None:
    p.add_argument("input", metavar="INPUT", help="a video file")
    p.add_argument("-o", "--output", required=True,
                   help="output: .mp4, .mov, .mkv (H.264), .webm (VP9); with -b transparent .webm or .mov; "
                        "or a PNG sequence (a folder or NAME_%%05d.png)")
    add_segmenter_arguments(p, second_pass=True)
    g = p.add_argument_group("video")
    OPTIONS["smoothing"].add(g)
    OPTIONS["lookahead"].add(g)
    g.add_argument("--no-audio", action="store_true", help="drop the sound (default: keep it)")
    add_frame_arguments(g)


def run(args) -> int:
    from tqdm import tqdm

    from ..errors import GoSelfiesError
    from ..frame.videofile import VideoJob
    from ..io.media import StillImageError

    try:
        job = VideoJob(args.input, args.output, background=args.background, smoothing=args.smoothing,
                       lookahead=args.lookahead, audio=not args.no_audio, auto_frame=args.auto_frame,
                       frame_zoom=args.frame_zoom, second_pass=args.second_pass)  # VideoJob checks it (one line for a bad value)
    except StillImageError as exc:
        raise GoSelfiesError(f"{exc}; for images use `goselfies photo`") from None
    with job:
        seg = make_segmenter(args, realtime=False)
        post = post_from_args(args)
        bar = lambda frames: tqdm(frames, total=job.frame_count or None, unit="frame", desc="video",  # noqa: E731
                                  file=sys.stderr, disable=None)  # None: quiet when stderr is not a terminal
        result = job.run(seg, post, progress=bar)
    print(result.summary(), file=sys.stderr)
    return 0
