"""Evaluation on a folder of images/ + masks/: the paper's metrics, mean per image at 0.5; for a clip (its frames
in name order) also how the mattes change from frame to frame against the truth."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from ..errors import GoSelfiesError
from ..io.media import IMAGE_EXTS, read_image
from .metrics import (
    EDGE_KEYS,
    KEYS,
    TEMPORAL_KEYS,
    MeanScores,
    TemporalScores,
    edge_scores,
)

PER_IMAGE = ("iou", "boundary_iou")  # the scores kept for each image


def data_folders(paths: list[str | Path]) -> list[Path]:
    """Each ``--data`` path as folders of images/ + masks/: the folder itself, or, for a folder of sequences
    (``davis_people/``), each subfolder that holds images/ and masks/."""
    folders: list[Path] = []
    for path in map(Path, paths):
        if (path / "images").is_dir() or not path.is_dir():
            folders.append(path)  # pairs() reports what is wrong with it
            continue
        subs = sorted(p for p in path.iterdir() if (p / "images").is_dir() and (p / "masks").is_dir())
        folders.extend(subs or [path])
    return folders


def pairs(data: str | Path) -> Iterator[tuple[Path, Path | None]]:
    data = Path(data)
    img_dir, mask_dir = data / "images", data / "masks"
    if not img_dir.is_dir() or not mask_dir.is_dir():
        raise GoSelfiesError(f"{data}: expected folders 'images/' and 'masks/' inside")
    images = sorted(p for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_EXTS)
    if not images:
        raise GoSelfiesError(f"{img_dir}: no images")
    for img in images:
        yield img, next((m for m in (mask_dir / f"{img.stem}{e}" for e in (".png", ".jpg", ".bmp")) if m.exists()), None)


def evaluate(data: str | Path, predict: Callable[[np.ndarray], np.ndarray], on_error=None, progress=None,
             clip: bool = False, reset: Callable[[], None] | None = None) -> dict:
    """``predict(frame) -> prob mask``; returns mean scores (``KEYS`` at 0.5, ``EDGE_KEYS`` of the soft mask), ``n``
    and ``per_image`` (each image's IoU and boundary IoU by file name, for paired comparisons:
    ``python -m goselfies.benchmarks.compare``); bad pairs go to ``on_error``. ``clip``: the pictures are a clip's frames, given to
    ``predict`` in name order; the result also has ``TEMPORAL_KEYS`` (``metrics.TemporalScores``). ``reset``: makes
    ``predict`` forget the frames before (``FramePath.reset``): before each picture, or with ``clip`` once, before the
    first frame."""
    scores, temporal = MeanScores(), TemporalScores() if clip else None
    edges = dict.fromkeys(EDGE_KEYS, 0.0)
    per_image: dict[str, dict[str, float]] = {}
    errors = []
    items = list(pairs(data))
    if reset and clip:
        reset()
    for img_path, mask_path in (progress(items) if progress else items):
        try:
            if mask_path is None:
                raise GoSelfiesError(f"{img_path}: no mask for this image")
            truth = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
            if truth is None:
                raise GoSelfiesError(f"{mask_path}: cannot decode mask")
            frame = read_image(img_path)
            if frame.shape[:2] != truth.shape:
                raise GoSelfiesError(
                    f"{mask_path}: mask is {truth.shape[1]}x{truth.shape[0]}, image is {frame.shape[1]}x{frame.shape[0]}"
                )
            if reset and not clip:
                reset()
            matte, person = predict(frame), truth > 127
            one = scores.add(matte >= 0.5, person)
            for k, v in edge_scores(matte, person).items():
                edges[k] += v
            if temporal:
                temporal.add(matte, person)
            per_image[img_path.name] = {k: one[k] for k in PER_IMAGE}
        except GoSelfiesError as exc:
            if temporal:
                temporal.gap()
            errors.append(str(exc))
            if on_error:
                on_error(str(exc))
    means = scores.result()
    edges = {k: v / means["n"] if means["n"] else float("nan") for k, v in edges.items()}
    return {**means, **edges, **(temporal.result() if temporal else {}), "errors": errors, "per_image": per_image}


def report(results: list[dict]) -> tuple[dict, str]:
    """``evaluate``'s results for one or more folders as (the JSON report, the text to print): one folder as
    ``key value`` lines; several as a Markdown table with the mean of the sets."""
    keys = KEYS + EDGE_KEYS + tuple(k for k in TEMPORAL_KEYS if all(k in r for r in results))
    if len(results) == 1:
        return results[0], "\n".join([*(f"{k:12s} {results[0][k]:.4f}" for k in keys), f"{'n':12s} {results[0]['n']}"])
    mean = {k: sum(r[k] for r in results) / len(results) for k in keys}
    lines = ["| data | n | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    lines += [f"| {r['data']} | {r['n']} | " + " | ".join(f"{r[k]:.4f}" for k in keys) + " |" for r in results]
    lines.append(f"| mean of the {len(results)} sets | | " + " | ".join(f"{mean[k]:.4f}" for k in keys) + " |")
    return {"sets": results, "mean_of_sets": mean}, "\n".join(lines)
