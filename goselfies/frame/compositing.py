"""frame x alpha + background x (1 - alpha) in uint8, touching full-size pixels only where it must.

A full-frame blend is the costliest step at 720p however it is written (BENCHMARKS.md). But the matte is
exactly 0 or 255 away from the person's edge (the post-processing clamps its tails), so the output is
made in 16 px tiles: the background is already in the output buffer, tiles wholly inside the person are
copied from the frame (one masked copy), and only the tiles on the edge band are blended, in int16 with
exact rounding of (f*a + b*(255-a)) / 255. The tiles are classified on the small
matte, before it is enlarged, so the classification costs next to nothing, and an unchanged picture keeps its
classification (``Tiles``) with its matte.
"""
from __future__ import annotations

import cv2
import numpy as np

TILE = 16


def blend_u8(frame: np.ndarray, background: np.ndarray, alpha: np.ndarray, out: np.ndarray) -> None:
    """out = round((frame * alpha + background * (255 - alpha)) / 255), all uint8: frames (H, W, 3) or
    stacks of tiles (N, T, T, 3). As background + round((frame - background) * alpha / 255) in int16 with
    OpenCV (exact: the background is whole), half numpy's time."""
    shape = frame.shape
    f, b, o = (x.reshape(-1, shape[-2], 3) for x in (frame, background, out))
    a = alpha.reshape(-1, shape[-2])
    diff = cv2.subtract(f, b, dtype=cv2.CV_16S)
    cv2.multiply(diff, cv2.merge([a, a, a]), dst=diff, scale=1 / 255.0, dtype=cv2.CV_16S)
    cv2.add(b, diff, dst=o, dtype=cv2.CV_8U)


def tile_classes(alpha_small: np.ndarray, width: int, height: int, tile: int = TILE) -> tuple[np.ndarray, np.ndarray]:
    """(inside, edge) boolean grids of the (height // tile, width // tile) whole tiles of the matte
    enlarged (bilinear) to width x height: inside = every pixel 255; edge = some pixel neither 0 nor 255,
    or both occur.

    A bilinear enlargement mixes a tile's footprint in the small matte with at most one more small pixel
    on each side, so a small pixel counts as 'not 255' ('not 0') when it or a neighbour is; a tile is
    then looked up in the footprint's counts (an integral image of the small matte)."""
    gx, gy = width // tile, height // tile
    sh, sw = alpha_small.shape
    k = np.ones((3, 3), np.uint8)
    counts = [cv2.integral(cv2.dilate(m.view(np.uint8), k)) for m in (alpha_small < 255, alpha_small > 0)]
    edges_x = np.arange(gx + 1) * tile * sw / width
    edges_y = np.arange(gy + 1) * tile * sh / height
    x0, x1 = np.floor(edges_x[:-1]).astype(int), np.minimum(sw, np.ceil(edges_x[1:]).astype(int))
    y0, y1 = np.floor(edges_y[:-1]).astype(int), np.minimum(sh, np.ceil(edges_y[1:]).astype(int))
    some = [(s[y1][:, x1] - s[y0][:, x1] - s[y1][:, x0] + s[y0][:, x0]) > 0 for s in counts]
    inside = ~some[0]
    edge = some[0] & some[1]
    return inside, edge


class Tiles:
    """How a matte enlarged from ``alpha_small`` to width x height falls on the tile grid: the mask of the
    tiles wholly inside the person (at pixel resolution) and the indices of the edge tiles. An unchanged
    picture keeps its matte, and with it these (``for_matte`` returns the last ones again)."""

    def __init__(self, alpha_small: np.ndarray, width: int, height: int, t: int = TILE):
        self.source, self.size, self.t = alpha_small, (width, height), t
        self.gx, self.gy = width // t, height // t
        if self.gx == 0 or self.gy == 0:
            self.whole = self.edge = None
            return
        inside, edge = tile_classes(alpha_small, width, height, t)
        # tiles wholly inside the person: the frame itself, through the tile grid enlarged as a mask
        self.whole = cv2.resize(inside.view(np.uint8), (self.gx * t, self.gy * t), interpolation=cv2.INTER_NEAREST)
        self.edge = np.nonzero(edge)

    def for_matte(self, alpha_small: np.ndarray, width: int, height: int) -> "Tiles":
        """These tiles if they were made for this very matte at this size, else new ones."""
        if alpha_small is self.source and self.size == (width, height):
            return self
        return Tiles(alpha_small, width, height, self.t)


def paste(out: np.ndarray, frame: np.ndarray, alpha: np.ndarray, tiles: Tiles) -> None:
    """The person over the background already in ``out``, in place. ``alpha`` is the matte at the frame's
    size, ``tiles`` those of the small matte it was enlarged from (bilinear)."""
    h, w = alpha.shape
    t, gx, gy = tiles.t, tiles.gx, tiles.gy
    if tiles.whole is None:
        blend_u8(frame, out, alpha, out)
        return
    H, W = gy * t, gx * t
    cv2.copyTo(frame[:H, :W], tiles.whole, out[:H, :W])
    # tiles on the edge band: gathered, blended, scattered back in one go
    ty, tx = tiles.edge
    if ty.size:
        def grid(img):
            return img[:H, :W].reshape(gy, t, gx, t, *img.shape[2:])
        o = grid(out)
        blended = np.empty((ty.size, t, t, 3), np.uint8)
        blend_u8(grid(frame)[ty, :, tx], o[ty, :, tx], grid(alpha)[ty, :, tx], blended)
        o[ty, :, tx] = blended
    # the strips the whole tiles leave at the right and bottom: blended plainly
    for ys, xs in ((slice(0, h), slice(gx * t, w)), (slice(gy * t, h), slice(0, gx * t))):
        if out[ys, xs].size:
            blend_u8(frame[ys, xs], out[ys, xs], alpha[ys, xs], out[ys, xs])
