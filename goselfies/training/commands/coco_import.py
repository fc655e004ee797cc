"""goselfies coco-import: person masks from COCO annotations with the paper's selection rules."""
from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("annotations", metavar="ANNOTATIONS.json", help="COCO instances file (e.g. instances_train2017.json)")
    p.add_argument("images", metavar="IMAGES_DIR", help="folder holding the images named in the annotations")
    p.add_argument("out", metavar="OUT", help="output folder; gets images/ and masks/ (0/255 PNG)")
    p.add_argument("--min-people", type=int, default=1, help="fewest people in an image (default 1)")
    p.add_argument("--max-people", type=int, default=2, help="most people in an image (default 2, as in the paper)")
    p.add_argument("--min-foreground", type=float, default=0.30,
                   help="least share of the image covered by people (default 0.30, as in the paper)")
    p.add_argument("--limit", type=int, metavar="N", help="stop after N kept images")


def run(args) -> int:
    from goselfies.errors import GoSelfiesError
    from goselfies.training.coco import Selection, import_coco

    if not 0 < args.min_people <= args.max_people:
        raise GoSelfiesError("need 1 <= --min-people <= --max-people")
    if not 0 <= args.min_foreground < 1:
        raise GoSelfiesError("--min-foreground must be in [0, 1)")
    rules = Selection(args.min_people, args.max_people, args.min_foreground)
    report = import_coco(args.annotations, args.images, args.out, rules, args.limit)
    print(report.summary())
    if not report.kept:
        raise GoSelfiesError("no image met the selection rules; nothing written")
    print(f"written to {args.out}/images and {args.out}/masks")
    return 0
