"""goselfies demo: before/after of the shipped sample photos; works with no camera and no GPU."""
from __future__ import annotations

import sys

from ..paths import SAMPLES
from .common import add_segmenter_arguments, make_path, make_segmenter


def add_arguments(p) -> None:
    p.add_argument("-o", "--outdir", default="goselfies-demo", help="output folder (default goselfies-demo)")
    add_segmenter_arguments(p, background=None, still=True, second_pass=True)


def run(args) -> int:
    import numpy as np

    from ..frame.backgrounds import parse_background
    from ..io.media import list_images, read_image, write_image
    from ..paths import check_output_folder

    out = check_output_folder(args.outdir)
    seg = make_segmenter(args, realtime=False)
    frame_path = make_path(args, seg)
    images, _ = list_images([SAMPLES])
    looks = [parse_background(s) for s in ("blur:25", "color:blue", "transparent")]
    for path in images:
        frame = read_image(path)
        blur, blue, cutout = frame_path.looks(frame, looks)
        write_image(out / f"{path.stem}_before_after.jpg", np.hstack([frame, blur, blue]))
        write_image(out / f"{path.stem}_cutout.png", cutout)
        print(f"{out / (path.stem + '_before_after.jpg')}: original | blurred background | ID-photo blue")
    print(f"demo done: {len(images)} photos in {out}/ (try: goselfies photo YOUR.jpg, goselfies webcam)", file=sys.stderr)
    return 0
