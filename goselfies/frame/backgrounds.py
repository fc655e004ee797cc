"""Background registry: one spec string -> an object that composites a frame with its mask.

Specs: ``blur[:STRENGTH]``, ``color:#RRGGBB`` or ``color:NAME`` (or just ``NAME``),
``image:PATH`` (cover-fit, never stretched), ``video:PATH`` (loops), ``transparent``
(BGRA), ``mask`` (8-bit grayscale). All maths is vectorised OpenCV/numpy.
"""
from __future__ import annotations

from typing import Callable, Protocol

import cv2
import numpy as np

from ..engine.pyramid import Pyramid
from ..errors import GoSelfiesError
from ..io.fitting import cover_fit
from ..options import DEFAULT_COLOR, OPTIONS
from .compositing import Tiles, paste

BLUR_STRENGTH = OPTIONS["blur_strength"].default  # blur[:STRENGTH]

COLORS = {
    "blue": DEFAULT_COLOR,  # the ID-photo blue of the paper's example
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
    alpha: bool  # BGRA out (writers keep the alpha, or refuse a format that cannot)
    channels: int  # of the output: 3 (BGR), 4 (BGRA) or 1 (the matte)

    def composite(self, frame: np.ndarray, mask: np.ndarray, out: np.ndarray | None = None,
                  pyramid: Pyramid | None = None, small: np.ndarray | None = None) -> np.ndarray:
        """frame: uint8 BGR (H,W,3); mask: the matte at the frame's size, uint8 alpha (255 = person)
        or float32 in [0,1]; out: a buffer to write into (else a new array); pyramid: the frame's;
        small: the uint8 matte ``mask`` was enlarged from (bilinear), if it was."""


def to_alpha(mask: np.ndarray) -> np.ndarray:
    """A float [0,1] mask as uint8 alpha (rounded); a uint8 alpha as it is."""
    if mask.dtype == np.uint8:
        return mask
    return cv2.convertScaleAbs(mask, alpha=255.0, beta=0.0)


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
    """frame * mask + background * (1 - mask) in float: the reference the uint8 compositing is held to."""
    mask = np.ascontiguousarray(mask, dtype=np.float32)
    return cv2.blendLinear(frame, background, mask, 1.0 - mask)


class Blended:
    """A background picture under the person: ``fill`` puts it into the output, ``compositing.paste`` pastes
    the person over it (uint8, only the edge band blended)."""

    alpha = False
    channels = 3
    _tiles: Tiles | None = None  # the last matte's (an unchanged picture composites with the same matte)

    def composite(self, frame, mask, out=None, pyramid=None, small=None):
        alpha = to_alpha(mask)
        small = alpha if small is None else small
        if out is None:
            out = np.empty_like(frame)
        self.fill(out, pyramid or Pyramid(frame), small)
        h, w = alpha.shape
        tiles = self._tiles = self._tiles.for_matte(small, w, h) if self._tiles else Tiles(small, w, h)
        paste(out, frame, alpha, tiles)
        return out

    def fill(self, out: np.ndarray, pyramid: Pyramid, small: np.ndarray) -> None:
        raise NotImplementedError


class Blur(Blended):
    """Blurs only the background: the person is masked out before blurring, so no halo. At down to an
    eighth of the frame's size (from its pyramid), then enlarged once in uint8: the same look, far less work."""

    def __init__(self, arg: str | None):
        self.strength = OPTIONS["blur_strength"].check(arg) if arg else BLUR_STRENGTH

    floor = 1e-3  # the weight of the person's pixels in the blur (below)

    def fill(self, out, pyramid, small):
        w, h = pyramid.size
        img = pyramid.level(blur_level(self.strength, w, h))
        sh, sw = img.shape[:2]
        # Normalised convolution: the background's pixels weigh 1, the person's FLOOR, so where the whole
        # neighbourhood is person the plain blur remains (nothing to borrow) and elsewhere the person
        # adds next to nothing to the background: no halo, and one blur less than a separate fallback.
        # the person grown by one small pixel: the pixels the shrinking mixed with the person weigh little too
        weight = cv2.dilate(cv2.resize(small, (sw, sh), interpolation=cv2.INTER_LINEAR), _GROW).astype(np.float32)
        weight *= -(1.0 - self.floor) / 255.0
        weight += 1.0
        sigma = max(0.5, self.strength / (w / sw))
        blurred = cv2.GaussianBlur(img.astype(np.float32) * weight[..., None], (0, 0), sigma)
        blurred /= cv2.GaussianBlur(weight, (0, 0), sigma)[..., None]
        cv2.resize(cv2.convertScaleAbs(blurred), (w, h), dst=out, interpolation=cv2.INTER_LINEAR)


def blur_level(strength: float, width: int, height: int) -> int:
    """The pyramid level a blur of this strength works at: as small as the blur allows, down to an eighth,
    keeping sigma at least 1.5 px there."""
    k = 0
    while k < 3 and min(height, width) >> (k + 1) >= 32 and strength / 2 ** (k + 1) >= 1.5:
        k += 1
    return k


_GROW = np.ones((3, 3), np.uint8)


def parse_color(text: str | None) -> tuple[int, int, int]:
    """'#RRGGBB', 'RRGGBB' or a colour name -> BGR tuple."""
    value = COLORS.get((text or "").lower(), text or "")
    hexa = value.lstrip("#")
    if len(hexa) != 6 or any(c not in "0123456789abcdefABCDEF" for c in hexa):
        raise GoSelfiesError(f"bad colour '{text}': use #RRGGBB or one of {', '.join(sorted(set(COLORS)))}")
    r, g, b = (int(hexa[i:i + 2], 16) for i in (0, 2, 4))
    return b, g, r


class Color(Blended):
    def __init__(self, arg: str | None):
        self.bgr = parse_color(arg)

    def fill(self, out, pyramid, small):
        out[:] = self.bgr


class Image(Blended):
    def __init__(self, arg: str | None):
        from ..io.media import read_image

        if not arg:
            raise GoSelfiesError("image background needs a path: image:PATH")
        self.image = read_image(arg)
        self._fitted: np.ndarray | None = None

    def fill(self, out, pyramid, small):
        w, h = pyramid.size
        if self._fitted is None or self._fitted.shape[:2] != (h, w):
            self._fitted = cover_fit(self.image, w, h)
        out[:] = self._fitted


class Video(Blended):
    """A looping video background; each composite takes the next frame."""

    def __init__(self, arg: str | None):
        from ..io.media import StillImageError, VideoReader

        if not arg:
            raise GoSelfiesError("video background needs a path: video:PATH")
        try:
            self._frames = iter(VideoReader(arg, loop=True))  # fails now, with a clear message, if unreadable
        except StillImageError as exc:
            raise GoSelfiesError(f"{exc}; for a photo use image:PATH") from None

    def next_frame(self) -> np.ndarray:
        return next(self._frames)

    def fill(self, out, pyramid, small):
        out[:] = cover_fit(self.next_frame(), *pyramid.size)


class Transparent:
    alpha = True  # BGRA out: writers keep the alpha (or refuse a format that cannot)
    channels = 4

    def __init__(self, arg: str | None):
        pass

    def composite(self, frame, mask, out=None, pyramid=None, small=None):
        return cv2.merge([*cv2.split(frame), to_alpha(mask)], dst=out)


class Mask:
    alpha = False
    channels = 1

    def __init__(self, arg: str | None):
        pass

    def composite(self, frame, mask, out=None, pyramid=None, small=None):
        alpha = to_alpha(mask)
        if out is None:
            return alpha.copy()
        out[:] = alpha
        return out


# name -> the class made from a spec's argument (``parse_background``)
BACKGROUNDS: dict[str, Callable[[str | None], Background]] = {
    "blur": Blur, "color": Color, "image": Image, "video": Video, "transparent": Transparent, "mask": Mask,
}
