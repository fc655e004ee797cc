"""goselfies photo INPUT... -o OUTDIR: one PNG per image, bad inputs reported and skipped."""
from __future__ import annotations

import sys

from .common import add_segmenter_arguments, make_path, make_segmenter


def add_arguments(p) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders of images")
    p.add_argument("-o", "--outdir", default="goselfies-out", help="output folder (default goselfies-out)")
    add_segmenter_arguments(p, still=True, second_pass=True)  # a photo is not real time: the cleaner edge, the closer look


def run(args) -> int:
    from ..errors import GoSelfiesError
    from ..frame.backgrounds import parse_background
    from ..io.media import list_images, read_image, write_image
    from ..paths import check_output_folder

    background = parse_background(args.background)
    images, errors = list_images(args.inputs)
    for e in errors:
        print(f"goselfies photo: error: {e}", file=sys.stderr)
    if not images:
        print("goselfies photo: error: no images to process", file=sys.stderr)
        return 1
    outdir = check_output_folder(args.outdir)  # one line now, before the model loads, if nothing can be written there
    inputs = {p.resolve() for p in images}
    seg = make_segmenter(args, realtime=False)
    frame_path = make_path(args, seg, background)
    done, failed = 0, len(errors)
    for path in images:
        out = outdir / f"{path.stem}.png"
        try:
            if out.resolve() in inputs:
                raise GoSelfiesError(f"{out}: would overwrite an input; choose another --outdir")
            frame = read_image(path)
            write_image(out, frame_path(frame)[0])
            done += 1
        except GoSelfiesError as exc:
            print(f"goselfies photo: error: {exc}", file=sys.stderr)
            failed += 1
    print(f"wrote {done} image(s) to {outdir}" + (f", {failed} failed" if failed else ""), file=sys.stderr)
    return 1 if failed else 0
