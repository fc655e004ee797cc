"""goselfies video INPUT -o OUTPUT: keeps fps and size; the output appears only when complete."""
from __future__ import annotations

import sys
import time

from .common import add_segmenter_arguments, make_segmenter


def add_arguments(p) -> None:
    p.add_argument("input", metavar="INPUT", help="a video file")
    p.add_argument("-o", "--output", required=True, help="output video (.mp4)")
    add_segmenter_arguments(p)


def run(args) -> int:
    from tqdm import tqdm

    from ..backgrounds import parse_background
    from ..errors import GoSelfiesError
    from ..media import VideoReader, VideoWriter
    from pathlib import Path

    background = parse_background(args.background)
    if Path(args.output).resolve() == Path(args.input).resolve():
        raise GoSelfiesError("output would overwrite the input")
    with VideoReader(args.input) as reader:
        seg = make_segmenter(args)
        t0 = time.perf_counter()
        with VideoWriter(args.output, reader.fps, (reader.width, reader.height)) as writer:
            for frame in tqdm(reader, total=reader.frame_count or None, unit="frame", desc="video", file=sys.stderr):
                writer.write(background.composite(frame, seg(frame)))
    dt = time.perf_counter() - t0
    print(f"wrote {writer.frames} frames to {args.output} ({writer.frames / dt:.1f} fps)", file=sys.stderr)
    return 0
