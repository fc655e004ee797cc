"""Image/mask folder pairs, validated up front, cached small in memory, augmented jointly.

Augmentation follows the paper (rotations of +-30/+-60 degrees, horizontal and vertical
flips, brightness variations of 0.2/0.4/0.6/0.8) plus random resized crops, all through
torchvision.transforms.v2 so image and mask always get the same geometry.
"""
from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from goselfies._compat import patch_torchvision
from goselfies.engine.models import ModelInfo
from goselfies.errors import GoSelfiesError
from goselfies.io.media import IMAGE_EXTS

patch_torchvision()
import torch  # noqa: E402
from torchvision import tv_tensors  # noqa: E402
from torchvision.transforms import v2  # noqa: E402


@dataclass(frozen=True)
class Pair:
    image: Path
    mask: Path


def find_pairs(folder: str | Path, check: bool = True) -> list[Pair]:
    """Pairs of ``folder/images/X.*`` and ``folder/masks/X.png``; every mismatch is an error."""
    folder = Path(folder)
    img_dir, mask_dir = folder / "images", folder / "masks"
    if not img_dir.is_dir() or not mask_dir.is_dir():
        raise GoSelfiesError(f"{folder}: expected folders 'images/' and 'masks/' inside")
    images = {p.stem: p for p in sorted(img_dir.iterdir()) if p.suffix.lower() in IMAGE_EXTS}
    masks = {p.stem: p for p in sorted(mask_dir.iterdir()) if p.suffix.lower() in IMAGE_EXTS}
    if not images and not masks:
        raise GoSelfiesError(f"{folder}: no images found in images/")
    problems = [f"{images[s]}: no mask in {mask_dir}" for s in sorted(images.keys() - masks.keys())]
    problems += [f"{masks[s]}: mask without image in {img_dir}" for s in sorted(masks.keys() - images.keys())]
    if problems:
        raise GoSelfiesError(problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    pairs = [Pair(images[s], masks[s]) for s in sorted(images)]
    if check:
        for p in pairs:
            check_mask(p)
    return pairs


def check_mask(pair: Pair) -> None:
    """A mask must be single-valued {0,255} (or {0,1}) and the image's size."""
    mask = cv2.imread(str(pair.mask), cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise GoSelfiesError(f"{pair.mask}: cannot decode mask")
    if mask.ndim != 2:
        raise GoSelfiesError(f"{pair.mask}: mask must be single-channel, got {mask.shape[2]} channels")
    values = np.unique(mask)
    if not (set(values.tolist()) <= {0, 255} or set(values.tolist()) <= {0, 1}):
        raise GoSelfiesError(f"{pair.mask}: mask is not binary (values {values[:6].tolist()}...)")
    img = cv2.imread(str(pair.image), cv2.IMREAD_UNCHANGED)
    if img is not None and img.shape[:2] != mask.shape:
        raise GoSelfiesError(
            f"{pair.mask}: mask is {mask.shape[1]}x{mask.shape[0]} but image is {img.shape[1]}x{img.shape[0]}"
        )


def split(pairs: list[Pair], val_fraction: float, seed: int, fold: int | None = None, k: int = 5):
    """Train/validation split; with ``fold`` set, fold ``fold`` of a k-fold cross-validation."""
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    if fold is not None:
        if not 0 <= fold < k:
            raise GoSelfiesError(f"fold must be in 0..{k - 1}")
        val_idx = set(order[fold::k])
    else:
        n_val = max(1, round(len(pairs) * val_fraction)) if val_fraction > 0 else 0
        val_idx = set(order[:n_val])
    train = [pairs[i] for i in order if i not in val_idx]
    val = [pairs[i] for i in sorted(val_idx)]
    return train, val


def brightness_choices() -> list[float]:
    """The paper's four intensity variations, darker and lighter: 1 -+ 0.2/0.4/0.6/0.8."""
    return [1 + s * d for d in (0.2, 0.4, 0.6, 0.8) for s in (-1, 1)]


IGNORE = 255  # mask value of pixels the augmentation made up (zoom-out border, rotation corners): no loss


def train_transform(size: int, mean: tuple[float, ...]) -> v2.Transform:
    bright = [v2.Lambda(lambda img, f=f: v2.functional.adjust_brightness(img, f), tv_tensors.Image) for f in brightness_choices()]
    pad_rgb = tuple(round(255 * m) for m in mean)  # zero after normalisation
    # Made-up pixels are IGNORE, not background: labelled 0, a body cut by the zoom-out border taught the
    # network that a person ends at a frame edge, and it dropped shoulders and clothes at the bottom edge
    # of portraits (EG1800 test 00065, 01118), where the ground truth runs to the edge.
    fill = {tv_tensors.Image: pad_rgb, tv_tensors.Mask: IGNORE}
    return v2.Compose([
        # Zoom out first: at inference the whole frame is fitted into ``size``, so people appear smaller
        # than in any crop of the image; the fill is the mean colour, as the Segmenter's padding. Up to 3x,
        # so that a full-body person (already most of a photo's height) also appears at a third of it,
        # as someone standing back from the camera does (ccp_fullbody, davis_people).
        v2.RandomZoomOut(fill=fill, side_range=(1.0, 3.0), p=0.5),
        v2.RandomResizedCrop(size, scale=(0.4, 1.0), ratio=(0.6, 1.6), antialias=True),
        v2.RandomHorizontalFlip(0.5),
        v2.RandomVerticalFlip(0.05),
        v2.RandomApply([v2.RandomChoice([v2.RandomRotation((a, a), fill=fill) for a in (-60, -30, 30, 60)])], p=0.25),
        v2.RandomApply([v2.RandomChoice(bright)], p=0.4),
    ])


def eval_transform(size: int) -> v2.Transform:
    return v2.Resize((size, size), antialias=True)


class PairDataset(torch.utils.data.Dataset):
    """Decodes each pair once, resized so its longer side is ``cache_side``, and keeps it in RAM.

    A pair that fails to decode is reported once on stderr and replaced by the next good one,
    so a corrupt file mid-epoch does not stop training.
    """

    def __init__(self, pairs: list[Pair], size: int, augment: bool, model: ModelInfo, cache_side: int | None = None,
                 indexed: bool = False):
        self.pairs = pairs
        self.indexed = indexed  # items are (x, y, index of the pair they came from): per-pair teachers
        self.size = size
        self.mean, self.std = list(model.mean), list(model.std)  # the model's own normalisation
        self.transform = train_transform(size, model.mean) if augment else eval_transform(size)
        self.cache_side = cache_side or int(size * 1.5)
        self._cache: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}
        self.skipped: set[Path] = set()

    def __len__(self) -> int:
        return len(self.pairs)

    def _load(self, i: int):
        if i not in self._cache:
            p = self.pairs[i]
            img = cv2.imread(str(p.image), cv2.IMREAD_COLOR)
            mask = cv2.imread(str(p.mask), cv2.IMREAD_GRAYSCALE)
            if img is None or mask is None or img.shape[:2] != mask.shape:
                print(f"skipping {p.image}: cannot decode image or mask", file=sys.stderr)
                self.skipped.add(p.image)
                self._cache[i] = None
            else:
                h, w = mask.shape
                scale = self.cache_side / max(h, w)
                if scale < 1:
                    img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
                    mask = cv2.resize(mask, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_AREA)
                self._cache[i] = (np.ascontiguousarray(img[:, :, ::-1]), (mask > 127).astype(np.uint8))
        return self._cache[i]

    def __getitem__(self, i: int):
        for j in range(len(self.pairs)):
            used = (i + j) % len(self.pairs)
            item = self._load(used)
            if item is not None:
                break
        else:
            raise GoSelfiesError("no readable image/mask pair left")
        img, mask = item
        img_t = tv_tensors.Image(torch.from_numpy(img).permute(2, 0, 1))
        mask_t = tv_tensors.Mask(torch.from_numpy(mask)[None])
        img_t, mask_t = self.transform(img_t, mask_t)
        x = v2.functional.normalize(img_t.float() / 255.0, self.mean, self.std)
        x, y = x.as_subclass(torch.Tensor), mask_t.float().as_subclass(torch.Tensor)  # y: 0, 1 or IGNORE
        return (x, y, used) if self.indexed else (x, y)

