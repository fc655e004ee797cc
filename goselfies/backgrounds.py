"""Background registry: one spec string -> an object that composites a frame with its mask.

Specs: ``blur[:STRENGTH]``, ``color:#RRGGBB`` or ``color:NAME`` (or just ``NAME``),
``image:PATH`` (cover-fit, never stretched), ``video:PATH`` (loops), ``transparent``
(BGRA), ``mask`` (8-bit grayscale). All maths is vectorised OpenCV/numpy.
"""
from __future__ import annotations

from typing import Callable, Protocol

import cv2
import numpy as np

from .errors import GoSelfiesError

COLORS = {
    "blue": "#438edb",  # the ID-photo blue of the paper's example
    "white": "#ffffff",
    "black": "#000000",
    "gray": "#808080",
    "grey": "#808080",
    "red": "#d0312d",
    "green": "#00ff00",  # chroma-key green
}


# Every background kind, with the name the window shows for it. "green" is the chroma-key colour as a
# kind of its own (a hotkey away in the window); "mask" writes the matte itself and is not a live look.
KINDS: dict[str, str] = {"blur": "Blur", "color": "Colour", "image": "Image", "video": "Video",
                         "transparent": "Transparent", "green": "Green screen", "mask": "Mask"}
LIVE_KINDS = tuple(k for k in KINDS if k != "mask")  # what the window offers and ``b`` cycles through


class Background(Protocol):
    spec: str

    def composite(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """frame: uint8 BGR (H,W,3); mask: float32 (H,W) in [0,1], 1 = person."""


BACKGROUNDS: dict[str, Callable[[str | None], Background]] = {}


def register(name: str):
    def wrap(factory):
        BACKGROUNDS[name] = factory
        return factory
    return wrap


def split_spec(spec: str) -> tuple[str, str | None]:
    """``'blur:20'`` -> ``('blur', '20')``; a bare colour (``'blue'``, ``'#ff0000'``) -> ``('color', it)``."""
    name, _, arg = spec.partition(":")
    name = name.strip().lower()
    if name in COLORS or name.startswith("#"):
        name, arg = "color", name
    return name, arg or None


def parse_background(spec: str) -> Background:
    """Build a background from its spec; an unknown spec lists the valid forms."""
    name, arg = split_spec(spec)
    factory = BACKGROUNDS.get(name)
    if factory is None:
        raise GoSelfiesError(
            f"unknown background '{spec}'; use one of: blur[:STRENGTH], color:#RRGGBB, "
            f"color:NAME ({', '.join(sorted(set(COLORS)))}), image:PATH, video:PATH, transparent, mask"
        )
    bg = factory(arg)
    bg.spec = spec
    return bg


def blend(frame: np.ndarray, background: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """frame * mask + background * (1 - mask), one vectorised OpenCV call."""
    mask = np.ascontiguousarray(mask, dtype=np.float32)
    return cv2.blendLinear(frame, background, mask, 1.0 - mask)


def cover_fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to cover width x height keeping aspect, then centre-crop: never stretched."""
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    nw, nh = max(width, round(w * scale)), max(height, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (nw, nh), interpolation=interp)
    x, y = (nw - width) // 2, (nh - height) // 2
    return np.ascontiguousarray(resized[y:y + height, x:x + width])


@register("blur")
class Blur:
    """Blurs only the background: the person is masked out before blurring, so no halo."""

    def __init__(self, arg: str | None):
        try:
            self.strength = float(arg) if arg else 15.0
        except ValueError:
            raise GoSelfiesError(f"blur strength must be a number, got '{arg}'") from None
        if not 0 < self.strength <= 200:
            raise GoSelfiesError(f"blur strength must be in (0, 200], got {arg}")

    def composite(self, frame, mask):
        h, w = mask.shape
        s = 4 if min(h, w) >= 128 else 1  # blur at 1/4 size: same look, far less work
        small = cv2.resize(frame, (w // s, h // s), interpolation=cv2.INTER_AREA).astype(np.float32)
        weight = 1.0 - cv2.resize(mask, (w // s, h // s), interpolation=cv2.INTER_AREA)
        sigma = max(0.5, self.strength / s)
        blurred = cv2.GaussianBlur(small * weight[..., None], (0, 0), sigma)
        norm = cv2.GaussianBlur(weight, (0, 0), sigma)
        bg = blurred / np.maximum(norm, 1e-3)[..., None]
        # where the whole neighbourhood is person there is nothing to borrow: use a plain blur
        plain = cv2.GaussianBlur(small, (0, 0), sigma)
        bg = np.where((norm < 0.02)[..., None], plain, bg)
        bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
        return blend(frame, np.clip(bg, 0, 255).astype(np.uint8), mask)


def parse_color(text: str | None) -> tuple[int, int, int]:
    """'#RRGGBB', 'RRGGBB' or a colour name -> BGR tuple."""
    value = COLORS.get((text or "").lower(), text or "")
    hexa = value.lstrip("#")
    if len(hexa) != 6 or any(c not in "0123456789abcdefABCDEF" for c in hexa):
        raise GoSelfiesError(f"bad colour '{text}': use #RRGGBB or one of {', '.join(sorted(set(COLORS)))}")
    r, g, b = (int(hexa[i:i + 2], 16) for i in (0, 2, 4))
    return b, g, r


@register("color")
class Color:
    def __init__(self, arg: str | None):
        self.bgr = parse_color(arg)
        self._bg: np.ndarray | None = None

    def composite(self, frame, mask):
        if self._bg is None or self._bg.shape != frame.shape:
            self._bg = np.empty_like(frame)
            self._bg[:] = self.bgr
        return blend(frame, self._bg, mask)


@register("image")
class Image:
    def __init__(self, arg: str | None):
        from .media import read_image

        if not arg:
            raise GoSelfiesError("image background needs a path: image:PATH")
        self.image = read_image(arg)
        self._fitted: np.ndarray | None = None

    def composite(self, frame, mask):
        h, w = mask.shape
        if self._fitted is None or self._fitted.shape[:2] != (h, w):
            self._fitted = cover_fit(self.image, w, h)
        return blend(frame, self._fitted, mask)


@register("video")
class Video:
    """A looping video background; each composite takes the next frame."""

    def __init__(self, arg: str | None):
        from .media import StillImageError, VideoReader

        if not arg:
            raise GoSelfiesError("video background needs a path: video:PATH")
        try:
            self._frames = iter(VideoReader(arg, loop=True))  # fails now, with a clear message, if unreadable
        except StillImageError as exc:
            raise GoSelfiesError(f"{exc}; for a photo use image:PATH") from None

    def composite(self, frame, mask):
        h, w = mask.shape
        return blend(frame, cover_fit(next(self._frames), w, h), mask)


@register("transparent")
class Transparent:
    alpha = True  # BGRA out: writers keep the alpha (or refuse a format that cannot)

    def __init__(self, arg: str | None):
        pass

    def composite(self, frame, mask):
        alpha = np.clip(mask * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.dstack([frame, alpha])


@register("mask")
class Mask:
    def __init__(self, arg: str | None):
        pass

    def composite(self, frame, mask):
        return np.clip(mask * 255.0 + 0.5, 0, 255).astype(np.uint8)
