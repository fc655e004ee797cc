"""A run's held-out validation pairs as an ``images/`` + ``masks/`` folder (symlinks), for ``evaluate``.

    python -m goselfies.training.holdout runs/lite/split.json --match humanseg -o /tmp/humanseg-val

So a model and MediaPipe can be scored on exactly the pairs the model never trained on.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from goselfies.errors import GoSelfiesError
from goselfies.io.media import read_json_object


def validation_images(split: str | Path) -> list[str]:
    """The image paths a run held out for validation (its ``split.json``)."""
    val = read_json_object(split, "split").get("val", [])
    if not isinstance(val, list) or not all(isinstance(v, str) for v in val):
        raise GoSelfiesError(f"{split}: 'val' must be a list of image paths, as goselfies train writes it")
    return val


def make_folder(split: Path, out: Path, match: str = "") -> int:
    """Link every validation pair whose image path contains ``match``; returns how many."""
    val = validation_images(split)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    n = 0
    for image in map(Path, val):
        if match not in str(image):
            continue
        mask = image.parent.parent / "masks" / f"{image.stem}.png"
        if not image.is_file() or not mask.is_file():
            raise GoSelfiesError(f"{image}: image or mask missing (moved since training?)")
        for src, dst in ((image, out / "images" / image.name), (mask, out / "masks" / mask.name)):
            dst.unlink(missing_ok=True)
            dst.symlink_to(src.resolve())
        n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("split", type=Path, help="RUN/split.json, written by goselfies train")
    p.add_argument("-o", "--out", type=Path, required=True)
    p.add_argument("--match", default="", help="keep only image paths containing this text (e.g. humanseg)")
    args = p.parse_args(argv)
    try:
        n = make_folder(args.split, args.out, args.match)
    except GoSelfiesError as exc:
        print(f"holdout: error: {exc}", file=sys.stderr)
        return 1
    print(f"{n} held-out pairs linked in {args.out}")
    return 0 if n else 1


if __name__ == "__main__":
    sys.exit(main())
