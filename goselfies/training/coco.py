"""COCO person importer with the paper's selection rules (section IV-A).

Keeps images that have person labels, 1 or 2 people, and a person foreground covering at least
30 % of the image; the mask is the union of the person annotations (polygons or RLE). A small
RLE codec of our own avoids depending on pycocotools, which often has no wheel.
"""
from __future__ import annotations

import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from goselfies.errors import GoSelfiesError
from goselfies.io.media import read_json_object
from goselfies.paths import atomic_path


@dataclass(frozen=True)
class Selection:
    """The paper's rules; the defaults are its numbers."""
    min_people: int = 1
    max_people: int = 2
    min_foreground: float = 0.30
    category: str = "person"


@dataclass
class ImportReport:
    """What the importer did, so a user can see why images were dropped."""
    considered: int = 0
    kept: list[str] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)  # reason -> count

    def summary(self) -> str:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(self.dropped.items())) or "none"
        return f"{len(self.kept)} of {self.considered} images kept; dropped: {reasons}"


# ---------------------------------------------------------------- RLE codec
def rle_decode(rle: dict[str, Any]) -> np.ndarray:
    """Binary mask (H, W) uint8 from a COCO RLE (counts as a list or a compressed string).

    COCO run lengths alternate background/foreground starting with background and run down
    the columns (Fortran order).
    """
    try:
        h, w = (int(v) for v in rle["size"])
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError):
        raise GoSelfiesError("RLE segmentation needs 'size' [h, w] and 'counts'") from None
    if isinstance(counts, (str, bytes)):
        counts = _counts_from_string(counts.decode() if isinstance(counts, bytes) else counts)
    counts = [int(c) for c in counts]
    if any(c < 0 for c in counts) or sum(counts) != h * w:
        raise GoSelfiesError(f"RLE counts cover {sum(counts)} pixels, but the mask has {h * w}")
    values = np.zeros(len(counts), np.uint8)
    values[1::2] = 1
    flat = np.repeat(values, counts)
    return flat.reshape((w, h)).T.copy()


def rle_encode(mask: np.ndarray) -> dict[str, Any]:
    """Compressed COCO RLE of a binary mask (the inverse of :func:`rle_decode`)."""
    mask = np.asarray(mask, bool)
    h, w = mask.shape
    flat = mask.T.reshape(-1)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts  # runs start with background
    return {"size": [h, w], "counts": _counts_to_string(counts)}


def _counts_from_string(s: str) -> list[int]:
    # Each count is a little-endian run of 5-bit groups in chars offset by 48; bit 0x20 means
    # "more groups follow", bit 0x10 of the last group is the sign. From the third count on,
    # a count is stored as the difference to the count two before it.
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            if p >= len(s):
                raise GoSelfiesError("truncated compressed RLE string")
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x -= 1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def _counts_to_string(counts: list[int]) -> str:
    out = []
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        while True:
            group = x & 0x1F
            x >>= 5
            more = not ((x == 0 and not group & 0x10) or (x == -1 and group & 0x10))
            out.append(chr(group + (0x20 if more else 0) + 48))
            if not more:
                break
    return "".join(out)


# ---------------------------------------------------------------- masks
def annotation_mask(segmentation: Any, height: int, width: int) -> np.ndarray:
    """Rasterise one annotation's segmentation (polygons or RLE) to a (H, W) uint8 {0,1} mask."""
    if isinstance(segmentation, list):
        mask = np.zeros((height, width), np.uint8)
        polys = []
        for poly in segmentation:
            try:
                pts = np.asarray(poly, np.float64).reshape(-1, 2)
            except (TypeError, ValueError):
                raise GoSelfiesError("a polygon must be a flat list of x, y numbers") from None
            if len(pts) >= 3:
                polys.append(np.round(pts).astype(np.int32))
        if polys:
            cv2.fillPoly(mask, polys, 1)
        return mask
    if isinstance(segmentation, dict):
        mask = rle_decode(segmentation)
        if mask.shape != (height, width):
            raise GoSelfiesError(f"RLE size {mask.shape[::-1]} differs from the image's {width}x{height}")
        return mask
    raise GoSelfiesError(f"unsupported segmentation type {type(segmentation).__name__}")


# ---------------------------------------------------------------- import
def load_annotations(path: str | Path) -> dict:
    data = read_json_object(path, "COCO annotations")
    if not all(k in data for k in ("images", "annotations", "categories")):
        raise GoSelfiesError(f"{path}: not COCO format (needs 'images', 'annotations' and 'categories')")
    return data


def select(data: dict, rules: Selection = Selection()) -> tuple[list[tuple[dict, np.ndarray]], ImportReport]:
    """Apply the selection rules; returns [(image record, mask 0/255)] and a report."""
    cat_ids = {c["id"] for c in data["categories"] if c.get("name") == rules.category}
    if not cat_ids:
        raise GoSelfiesError(f"no '{rules.category}' category in the annotations")
    people: dict[Any, list[dict]] = defaultdict(list)
    for ann in data["annotations"]:
        if ann.get("category_id") in cat_ids:
            if "image_id" not in ann or "segmentation" not in ann:
                raise GoSelfiesError(f"annotation {ann.get('id')}: needs 'image_id' and 'segmentation'")
            people[ann["image_id"]].append(ann)
    report = ImportReport()
    chosen = []
    for img in data["images"]:
        if not all(k in img for k in ("id", "file_name", "width", "height")):
            raise GoSelfiesError(f"image record {img.get('id')}: needs 'id', 'file_name', 'width' and 'height'")
        report.considered += 1
        anns = people.get(img["id"], [])
        if not anns:
            report.dropped["without people"] += 1
            continue
        # A crowd annotation stands for many people at once: never "1 or 2 people".
        n = sum(1 for a in anns if not a.get("iscrowd"))
        if any(a.get("iscrowd") for a in anns) or n > rules.max_people:
            report.dropped["with too many people"] += 1
            continue
        if n < rules.min_people:
            report.dropped["with too few people"] += 1
            continue
        h, w = int(img["height"]), int(img["width"])
        mask = np.zeros((h, w), np.uint8)
        try:
            for a in anns:
                mask |= annotation_mask(a["segmentation"], h, w)
        except GoSelfiesError:
            report.dropped["with an unusable segmentation"] += 1
            continue
        if mask.mean() < rules.min_foreground:
            report.dropped["with foreground under {:.0%}".format(rules.min_foreground)] += 1
            continue
        chosen.append((img, mask * 255))
    return chosen, report


def import_coco(annotations: str | Path, images_dir: str | Path, out: str | Path,
                rules: Selection = Selection(), limit: int | None = None) -> ImportReport:
    """Write ``out/images/<stem>`` (original bytes) + ``out/masks/<stem>.png`` for selected images."""
    data = load_annotations(annotations)
    images_dir, out = Path(images_dir), Path(out)
    if not images_dir.is_dir():
        raise GoSelfiesError(f"{images_dir}: no such images folder")
    chosen, report = select(data, rules)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    for img, mask in chosen:
        if limit is not None and len(report.kept) >= limit:
            report.dropped["over --limit"] += 1
            continue
        src = images_dir / img["file_name"]
        pixels = cv2.imread(str(src), cv2.IMREAD_COLOR) if src.is_file() else None
        if pixels is None:
            report.dropped["missing or unreadable image file"] += 1
            continue
        if pixels.shape[:2] != mask.shape:
            report.dropped["whose file size differs from the annotation"] += 1
            continue
        stem = Path(img["file_name"]).stem
        _atomic_copy(src, out / "images" / f"{stem}{src.suffix.lower()}")
        ok, png = cv2.imencode(".png", mask)
        _atomic_write(out / "masks" / f"{stem}.png", png.tobytes())
        report.kept.append(stem)
    return report


def _atomic_copy(src: Path, dst: Path) -> None:
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def _atomic_write(dst: Path, data: bytes) -> None:
    with atomic_path(dst) as tmp:
        tmp.write_bytes(data)
