"""Synthetic training pairs: RGBA person cutouts pasted over backgrounds.

Backgrounds are photos or generated ones (smooth colour fields with blurred noise), so the
shipped demo samples contain only MIT-licensed P3M cutouts and pixels we made ourselves.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np


def synthetic_background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random room-like background: low-frequency colour noise plus a vertical gradient."""
    small = rng.integers(30, 225, size=(4, 6, 3), dtype=np.uint8)
    bg = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    noise = cv2.GaussianBlur(rng.normal(0, 18, size=(height, width)).astype(np.float32), (0, 0), 3)[..., None]
    ramp = np.linspace(0.85, 1.1, height, dtype=np.float32)[:, None, None]
    return np.clip(bg * ramp + noise, 0, 255).astype(np.uint8)


def composite(person_rgba: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(image BGR, binary mask 0/255) of the cutout over the background (cover-fitted)."""
    from goselfies.frame.backgrounds import blend
    from goselfies.io.fitting import cover_fit

    h, w = person_rgba.shape[:2]
    bg = cover_fit(background, w, h)
    alpha = person_rgba[:, :, 3].astype(np.float32) / 255.0
    image = blend(person_rgba[:, :, :3], bg, alpha)
    return image, np.where(alpha >= 0.5, 255, 0).astype(np.uint8)


def make_folder(persons: Path, out: Path, per_person: int, backgrounds: Path | None, seed: int) -> int:
    """Write out/images/*.jpg + out/masks/*.png composites; returns the number of pairs."""
    rng = np.random.default_rng(seed)
    photos = sorted(backgrounds.glob("*.jpg")) if backgrounds else []
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    n = 0
    for person in sorted(persons.glob("*.png")):
        rgba = cv2.imread(str(person), cv2.IMREAD_UNCHANGED)
        for k in range(per_person):
            h, w = rgba.shape[:2]
            if photos and k % 2:
                bg = cv2.imread(str(photos[int(rng.integers(len(photos)))]))
            else:
                bg = synthetic_background(w, h, rng)
            image, mask = composite(rgba, bg)
            cv2.imwrite(str(out / "images" / f"{person.stem}_{k}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            cv2.imwrite(str(out / "masks" / f"{person.stem}_{k}.png"), mask)
            n += 1
    return n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("persons", type=Path, help="folder of RGBA cutouts (e.g. ../shared/data/composite/persons)")
    p.add_argument("out", type=Path)
    p.add_argument("--per-person", type=int, default=4)
    p.add_argument("--backgrounds", type=Path, help="folder of background photos (default: generated only)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    print(make_folder(a.persons, a.out, a.per_person, a.backgrounds, a.seed), "pairs written to", a.out)


if __name__ == "__main__":
    main()
