"""The frame path's pixel steps as torch ops on one device: the frame goes up once and the finished picture
comes back once.

``TorchOps`` is the frame path's engine on a CUDA GPU (``framepath.ENGINES``; the same code runs on a CPU in
the tests, where it is held to the numpy engine): the pyramid, the network (``engine.runners.cuda.CudaEngine``: fp16,
channels_last, CUDA graphs), flip averaging, the second pass's crop and paste, the guided-filter refine,
tails, threshold and feather, the enlargement, every background and the auto-frame warp are torch ops on
the device. What comes back to the host besides the output is small: the person's pixels of the network's
answer (where the second pass looks), the small matte (the auto-framer's) and the change detector's thumbnail.

Each op follows its OpenCV twin's arithmetic (halvings rounded as INTER_AREA's, bilinear with half-pixel
centres, box and Gaussian filters over mirrored borders, uint8 rounding), so the two engines agree within
a grey level or two: ``tests/test_devicepath.py`` measures it on the shared clips.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..engine.networks import create_model
from ..engine.prep import fit
from ..engine.pyramid import box_level, halvings
from ..engine.runners.cuda import CudaEngine
from ..engine.segmenter import gpu_failures, with_context
from ..io.fitting import cover_fit
from .autoframe import Crop
from .backgrounds import Blur, Color, Image, Mask, Transparent, Video, blur_level
from .postprocess import PostProcess
from .secondpass import plan_closer


def _u8(x):
    """Round to whole grey levels in [0, 255] (kept as float: the next op computes in float)."""
    return x.round().clamp_(0.0, 255.0)


class DevicePyramid:
    """``Pyramid`` on the device: ``at(width, height)`` and ``level(k)`` of one frame, each made once, as
    (1, C, H, W) float tensors. ``rounded``: the levels of a uint8 image are whole grey levels, as OpenCV's."""

    def __init__(self, frame, filters: Filters, rounded: bool = True):
        self.frame = frame
        self.filters = filters
        self.rounded = rounded
        self.levels = [frame]
        self._sized: dict[tuple[int, int], object] = {}

    @property
    def size(self) -> tuple[int, int]:
        return int(self.frame.shape[-1]), int(self.frame.shape[-2])

    def host_frame(self) -> np.ndarray:
        return host_image(self.frame)

    def level(self, k: int):
        while len(self.levels) <= k:
            img = self.levels[-1]
            h, w = img.shape[-2:]
            img = F.avg_pool2d(img[..., : h - h % 2, : w - w % 2], 2)
            # INTER_AREA's exact halving of uint8: (a + b + c + d + 2) >> 2
            self.levels.append(img.add_(0.5).floor_() if self.rounded else img)
        return self.levels[k]

    def at(self, width: int, height: int):
        got = self._sized.get((width, height))
        if got is not None:
            return got
        img = self.level(halvings(*self.size, width, height))
        if img.shape[-1] != width or img.shape[-2] != height:
            img = self.filters.linear_u8(img, width, height) if self.rounded else bilinear(img, width, height)
        self._sized[(width, height)] = img
        return img

    def region(self, box: tuple[int, int, int, int], width: int, height: int, halved: bool = True):
        """``Pyramid.region`` on the device."""
        k, (x0, y0, x1, y1) = box_level(box, width, height, halved)
        return self.filters.area_u8(self.level(k)[..., y0:y1, x0:x1], width, height)


def host_image(x) -> np.ndarray:
    """A (1, C, H, W) picture of whole grey levels on the host, as an (H, W, C) uint8 image."""
    return x[0].permute(1, 2, 0).to("cpu", torch.uint8).numpy()


class HostView:
    """What the auto-framer's face search reads: small copies of the frame, as uint8 images on the host."""

    def __init__(self, pyramid: DevicePyramid):
        self.pyramid = pyramid
        self.size = pyramid.size

    def at(self, width: int, height: int) -> np.ndarray:
        return host_image(self.pyramid.at(width, height))


def bilinear(x, width: int, height: int):
    """cv2.INTER_LINEAR: bilinear with half-pixel centres, no anti-aliasing."""
    return F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)


def _mirror(n: int, pad: int) -> np.ndarray:
    """Indices of 0..n-1 padded by ``pad`` on each side, mirrored about the edge pixels (BORDER_REFLECT_101)."""
    i = np.arange(-pad, n + pad)
    if n == 1:
        return np.zeros_like(i)
    period = 2 * (n - 1)
    i = np.mod(i, period)
    return np.where(i >= n, period - i, i)


def _taps(n: int, m: int, area: bool) -> tuple[np.ndarray, np.ndarray]:
    """cv::resize's two taps for m outputs from n inputs: the first source index and the second's weight (the
    first's is 1 minus it), in float32 as OpenCV computes them. Bilinear with half-pixel centres; ``area``:
    INTER_AREA outside its shrink path, the source pixel under the output's left edge, blended with the next only
    across the fraction of a source pixel the output overlaps."""
    dst = np.arange(m)
    if area:
        s = np.floor(dst * (n / m)).astype(np.int64)
        f = ((dst + 1) - (s + 1) * (m / n)).astype(np.float32)
        f = np.where(f <= 0, np.float32(0), f - np.floor(f)).astype(np.float32)
    else:
        f = ((dst + 0.5) * (1 / (m / n)) - 0.5).astype(np.float32)
        s = np.floor(f).astype(np.int64)
        f -= s.astype(np.float32)
    f[s < 0], s[s < 0] = 0.0, 0
    f[s >= n - 1], s[s >= n - 1] = 0.0, n - 1
    return s, f


class Filters:
    """Box, Gaussian and area filters over OpenCV's default border, their index and weight tables kept on
    the device (made once per size)."""

    def __init__(self, device):
        self.dev = device
        self._index: dict[tuple[int, int], object] = {}
        self._gauss: dict[tuple[int, float], object] = {}
        self._area: dict[tuple[int, int], object] = {}
        self._linear: dict[tuple[int, int], tuple] = {}

    def pad(self, x, py: int, px: int):
        h, w = x.shape[-2:]
        for dim, n, p in ((-2, h, py), (-1, w, px)):
            if p:
                idx = self._index.get((n, p))
                if idx is None:
                    idx = self._index[(n, p)] = torch.from_numpy(_mirror(n, p)).to(self.dev)
                x = x.index_select(dim, idx)
        return x

    def box(self, x, radius: int):
        """cv2.boxFilter (normalised) with a (2 radius + 1) square window."""
        return F.avg_pool2d(self.pad(x, radius, radius), 2 * radius + 1, stride=1)

    def gaussian(self, x, sigma: float):
        """cv2.GaussianBlur(x, (0, 0), sigma) of a float image: the same kernel (4 sigma each side)."""
        ksize = int(round(sigma * 8 + 1)) | 1
        key = (ksize, float(sigma))
        k = self._gauss.get(key)
        if k is None:
            k = self._gauss[key] = torch.from_numpy(
                cv2.getGaussianKernel(ksize, sigma, cv2.CV_32F).ravel()).to(self.dev)
        c, r = x.shape[1], ksize // 2
        x = self.pad(x, r, r)
        x = F.conv2d(x, k.view(1, 1, ksize, 1).expand(c, 1, ksize, 1), groups=c)
        return F.conv2d(x, k.view(1, 1, 1, ksize).expand(c, 1, 1, ksize), groups=c)

    def linear_u8(self, x, width: int, height: int, area: bool = False):
        """cv2.INTER_LINEAR of an image of whole grey levels, as OpenCV computes it for uint8: 11-bit
        weights, one axis then the other in integers, rounded as its vector code does. ``area``: the weights
        cv2.INTER_AREA takes where the picture grows (``_linear_table``)."""
        h, w = x.shape[-2:]
        (x0, x1, a0, a1), (y0, y1, b0, b1) = self._linear_table(w, width, area), self._linear_table(h, height, area)
        i = x.to(torch.int32)
        d = i.index_select(-1, x0) * a0 + i.index_select(-1, x1) * a1
        b0, b1 = b0.view(-1, 1), b1.view(-1, 1)
        out = ((d.index_select(-2, y0) >> 4) * b0 >> 16) + ((d.index_select(-2, y1) >> 4) * b1 >> 16)
        return ((out + 2) >> 2).float()

    def _linear_table(self, n: int, m: int, area: bool = False) -> tuple:
        """(first source index, second, their weights in 1/2048) for each of m outputs from n inputs (``_taps``)."""
        got = self._linear.get((n, m, area))
        if got is None:
            s, f = _taps(n, m, area)
            one, scale = np.float32(1), np.float32(2048)
            parts = (s, np.minimum(s + 1, n - 1), np.rint((one - f) * scale), np.rint(f * scale))
            got = self._linear[(n, m, area)] = tuple(torch.from_numpy(p.astype(np.int64 if k < 2 else np.int32)).to(self.dev)
                                                     for k, p in enumerate(parts))
        return got

    def area(self, x, width: int, height: int):
        """cv2.INTER_AREA of a float image: a shrink averages the source pixels each output pixel covers (by the
        area covered, as one matrix per axis); where either axis grows, the enlargement's weights on both."""
        h, w = x.shape[-2:]
        grows = width > w or height > h
        return self._matrix(h, height, grows) @ x @ self._matrix(w, width, grows).T

    def area_u8(self, x, width: int, height: int):
        """cv2.INTER_AREA of an image of whole grey levels, rounded to whole levels as OpenCV's uint8 result."""
        if width > x.shape[-1] or height > x.shape[-2]:
            return self.linear_u8(x, width, height, area=True)
        return self.area(x, width, height).add_(0.5).floor_()

    def _matrix(self, n: int, m: int, grows: bool):
        got = self._area.get((n, m, grows))
        if got is None:
            if grows:
                src, f = _taps(n, m, area=True)
                matrix = np.zeros((m, n), np.float32)
                np.add.at(matrix, (np.arange(m), src), 1 - f)
                np.add.at(matrix, (np.arange(m), np.minimum(src + 1, n - 1)), f)
            else:
                scale = n / m
                edges = np.arange(m + 1) * scale
                src = np.arange(n)
                cover = np.clip(np.minimum(edges[1:, None], src + 1) - np.maximum(edges[:-1, None], src), 0, None)
                matrix = (cover / scale).astype(np.float32)
            got = self._area[(n, m, grows)] = torch.from_numpy(matrix).to(self.dev)
        return got


class DeviceNet:
    """The segmenter's network on the device: a (1, 3, h, w) BGR frame of 0-255 floats at the input size ->
    (h, w) probabilities. The model is the runner's where it already is on this device (the CUDA runner),
    else the segmenter's weights loaded here."""

    def __init__(self, segment, device: str, filters: Filters):
        self.segment, self.filters = segment, filters
        engine = getattr(segment.runner, "engine", None)
        if not isinstance(engine, CudaEngine) or engine.dev != torch.device(device):
            cuda = device.startswith("cuda")
            model = create_model(segment.model_name, weights=segment.weights_path)
            engine = CudaEngine(model, segment.prep.mean, segment.prep.std, segment.prep.geometry,
                                precision="fp16" if cuda else "fp32", graphs=cuda, device=device,
                                multiple=segment.prep.multiple)
        self.engine, self.flip = engine, bool(segment.config.flip)

    def __call__(self, x):
        prob = self._run(x)
        side = self.segment.context_side()
        if side:  # ``Segmenter``'s context pass: the input shrunk as its Prep does, the answer enlarged back
            nh, nw = x.shape[-2:]
            with self.segment.sized(side):
                ch, cw = self.segment.geometry(nh, nw)[:2]
            context = self._run(DevicePyramid(x, self.filters).at(cw, ch))
            prob = with_context(prob, bilinear(context[None, None], nw, nh)[0, 0])
        return prob

    def _run(self, x):
        prob = self.engine.run(x)
        if self.flip:  # the mirrored frame too, averaged
            prob = (prob + self.engine.run(x.flip(-1)).flip(-1)) * 0.5
        return prob


def one_line(step):
    """A ``TorchOps`` step whose GPU failure (out of memory, a driver's error) becomes one line with what to try
    (``gpu_failures``): the frame path's full-size steps can run out of memory as well as the network."""
    @functools.wraps(step)
    def run(self, *args, **kwargs):
        with gpu_failures(str(self.dev), self.size):
            return step(self, *args, **kwargs)
    return run


class TorchOps:
    """The frame path's engine on a torch device (see the module's docstring). One per ``FramePath``."""

    name = "torch"

    def __init__(self, segment, device: str, ring: int):
        self.dev = torch.device(device)
        self.cuda = self.dev.type == "cuda"
        self.size = segment.size  # the network's input size, for a failure's message
        self.filters = Filters(self.dev)
        self.net = DeviceNet(segment, device, self.filters)
        self.ring = ring
        self._host: dict[tuple, tuple[list, list[int]]] = {}  # (shape, tag) -> (buffers, [the last one's index])
        self._picture: tuple = (None, None, None)  # (background, size, its picture on the device)
        self._uploads: dict[int, object] = {}  # pinned buffer -> the event after its last copy to the device

    # -- to and from the device --------------------------------------------------------------------
    @one_line
    def pyramid(self, frame: np.ndarray) -> DevicePyramid:
        """The uint8 (H, W, 3) frame uploaded once (pinned, without blocking on CUDA)."""
        t = torch.from_numpy(np.ascontiguousarray(frame))
        if self.cuda:
            pinned = self._buffer(frame.shape, "up")
            done = self._uploads.get(pinned.data_ptr())
            if done is not None:
                done.synchronize()  # the copy that last read this buffer has finished
            pinned.copy_(t)
            t = pinned.to(self.dev, non_blocking=True)
            self._uploads[pinned.data_ptr()] = event = torch.cuda.Event()
            event.record()
        return DevicePyramid(t.permute(2, 0, 1)[None].float(), self.filters)

    @one_line
    def adopt(self, pyramid, small=None):
        """A pyramid and small matte the numpy engine made (a model switched between the CPU and the GPU while
        frames were in flight), as this engine's."""
        if not isinstance(pyramid, DevicePyramid):
            pyramid = self.pyramid(pyramid.frame)
        if small is not None and not isinstance(small, torch.Tensor):
            small = torch.from_numpy(small).to(self.dev)
        return pyramid, small

    def _buffer(self, shape: tuple[int, ...], tag: str):
        """The next of ``ring`` reused host buffers of this shape (pinned on CUDA)."""
        key = (tuple(shape), tag)
        got = self._host.get(key)
        if got is None:
            if len(self._host) > 8:
                self._host.clear()
                self._uploads.clear()  # the events of the buffers just let go
            got = self._host[key] = ([torch.empty(shape, dtype=torch.uint8, pin_memory=self.cuda)
                                      for _ in range(self.ring)], [0])
        bufs, turn = got
        turn[0] = (turn[0] + 1) % len(bufs)
        return bufs[turn[0]]

    @one_line
    def host(self, x, tag: str = "out") -> np.ndarray:
        """A (1, C, H, W) picture or (H, W) matte of whole grey levels -> uint8 numpy, in a reused buffer (a ring
        per ``tag``: the output and the matte each keep theirs)."""
        x = x.to(torch.uint8)
        if x.dim() == 4:
            x = x[0].permute(1, 2, 0) if x.shape[1] > 1 else x[0, 0]
        buf = self._buffer(tuple(x.shape), tag)
        buf.copy_(x, non_blocking=self.cuda)
        if self.cuda:
            torch.cuda.current_stream(self.dev).synchronize()
        return buf.numpy()

    def host_view(self, pyramid: DevicePyramid) -> HostView:
        return HostView(pyramid)

    @one_line
    def small(self, small) -> np.ndarray:
        """The small matte on the host (the auto-framer's)."""
        return small.to("cpu", torch.uint8).numpy()

    # -- the steps ---------------------------------------------------------------------------------
    @one_line
    def probabilities(self, segment, pyramid: DevicePyramid, nw: int, nh: int, live_side: int | None,
                      second: bool):
        with torch.inference_mode():
            prob = self.net(pyramid.at(nw, nh))
            return self.look_closer(pyramid, prob, live_side) if second else prob

    def look_closer(self, pyramid: DevicePyramid, prob, live_side: int | None):
        """``secondpass.look_closer`` on the device: only the person's pixels go to the host, for the plan."""
        plan = plan_closer((prob >= 0.5).to("cpu").numpy(), pyramid.size, self.net.engine.multiple, live_side)
        if plan is None:
            return prob
        (x0, y0, x1, y1), (nh, nw) = plan.box, plan.size
        with self.net.segment.sized(plan.side):  # the call's size and crop, as ``secondpass.look_closer``'s
            closer = self.net(pyramid.region(plan.crop, nw, nh, halved=live_side is not None))
        out = prob.clone()
        out[y0:y1, x0:x1] = self.filters.area(closer[None, None], x1 - x0, y1 - y0)[0, 0]
        return out

    @one_line
    def unsure(self, prob) -> float:
        return float(((prob > 0.2) & (prob < 0.8)).sum()) / max(float((prob >= 0.5).sum()), 0.01 * prob.numel())

    @one_line
    def finish(self, post: PostProcess, prob, pyramid: DevicePyramid, settle=None):
        """``PostProcess.matte``, ``settle`` (a ``MaskSmoother``, or None), then rounding to the uint8 matte (still
        small)."""
        fw, fh = pyramid.size
        if not post.changes_mask:
            return _u8(prob * 255.0).to(torch.uint8)
        if post.refine:
            eh, ew = fit(fh, fw, min(4 * post.refine_grid, max(fw, fh)))
            mask = self.guided_filter(pyramid, prob, post.refine_radius, post.refine_eps, post.refine_grid, ew, eh)
        else:
            mask = prob.clone()
        lo, hi = post.tails
        if (lo, hi) != (0.0, 1.0):
            mask = (mask - lo) * (1.0 / (hi - lo))
        if post.threshold is not None:
            mask = (mask >= post.threshold).float()
        if post.feather > 0:
            mask = self.filters.gaussian(mask[None, None], post.feather * mask.shape[1] / fw)[0, 0]
        mask = mask.clamp(0.0, 1.0)
        if settle is not None:
            mask = settle(mask)
        return _u8(mask * 255.0).to(torch.uint8)

    def guided_filter(self, pyramid: DevicePyramid, prob, radius: int, eps: float, grid: int, width: int, height: int):
        """``postprocess.guided_filter`` on the device: the coefficients on the grid, applied at (width, height)."""
        fw, fh = pyramid.size
        gh, gw = fit(fh, fw, grid)
        guide = pyramid.at(gw, gh) * (1 / 255.0)  # (1, 3, gh, gw)
        p = DevicePyramid(prob[None, None], self.filters, rounded=False).at(gw, gh)
        box = self.filters.box
        mean, mean_p = box(guide, radius), box(p, radius)
        cov = box(guide * p, radius) - mean * mean_p
        g = [guide[:, i:i + 1] for i in range(3)]
        m = [mean[:, i:i + 1] for i in range(3)]
        s00, s01, s02, s11, s12, s22 = (box(g[a] * g[b], radius) - m[a] * m[b] + (eps if a == b else 0.0)
                                        for a, b in ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)))
        c00, c01, c02 = s11 * s22 - s12 * s12, s02 * s12 - s01 * s22, s01 * s12 - s02 * s11
        c11, c12, c22 = s00 * s22 - s02 * s02, s01 * s02 - s00 * s12, s00 * s11 - s01 * s01
        inv_det = 1.0 / (s00 * c00 + s01 * c01 + s02 * c02)
        cv = [cov[:, i:i + 1] for i in range(3)]
        a = torch.cat([(c00 * cv[0] + c01 * cv[1] + c02 * cv[2]) * inv_det,
                            (c01 * cv[0] + c11 * cv[1] + c12 * cv[2]) * inv_det,
                            (c02 * cv[0] + c12 * cv[1] + c22 * cv[2]) * inv_det], 1)
        b = mean_p - (a * mean).sum(1, keepdim=True)
        out = bilinear(box(b, radius), width, height)
        terms = bilinear(box(a, radius) * (1 / 255.0), width, height) * pyramid.at(width, height)
        return (out + terms.sum(1, keepdim=True))[0, 0]

    @one_line
    def enlarge(self, small, width: int, height: int, hard: bool):
        """The small uint8 matte at (width, height), bilinear, in whole grey levels; ``hard``: 0 or 255."""
        alpha = small.float()[None, None]
        if alpha.shape[-2:] != (height, width):
            alpha = self.filters.linear_u8(alpha, width, height)
        if hard:
            alpha = (alpha > 127).float() * 255.0
        return alpha  # (1, 1, H, W)

    @one_line
    def composite(self, bg, pyramid: DevicePyramid, alpha, small):
        """The output on the device: (1, C, H, W) whole grey levels."""
        frame = pyramid.frame
        if isinstance(bg, Transparent):
            return torch.cat([frame, alpha], 1)
        if isinstance(bg, Mask):
            return alpha
        fill = FILLS[type(bg)](self, bg, pyramid, small)
        # background + round((frame - background) * alpha / 255), as compositing.blend_u8
        return ((frame - fill) * alpha).mul_(1 / 255.0).round_().add_(fill)

    def picture(self, bg, pyramid: DevicePyramid, make):
        """A still background's picture at the frame's size (``make(width, height)``), uploaded once."""
        size = pyramid.size
        if self._picture[0] is not bg or self._picture[1] != size:
            self._picture = (bg, size, self.pyramid(make(*size)).frame)
        return self._picture[2]

    @one_line
    def crop_to(self, image, crop: Crop):
        """``autoframe.crop_to`` on the device: the crop scaled back to the image's size, bilinear, with
        the edge pixels repeated (one axis after the other)."""
        h, w = image.shape[-2:]
        for dim, n, start, extent in ((-1, w, crop.x, crop.w), (-2, h, crop.y, crop.h)):
            s = extent / n
            pos = torch.arange(n, device=self.dev, dtype=torch.float32) * s + (start + 0.5 * s - 0.5)
            pos = pos.clamp_(0, n - 1)
            i0 = pos.floor().long().clamp_(max=n - 2) if n > 1 else pos.long()
            f = pos - i0
            i1 = (i0 + 1).clamp_(max=n - 1)
            shape = (n, 1) if dim == -2 else (n,)
            f = f.view(shape)
            image = image.index_select(dim, i0) * (1 - f) + image.index_select(dim, i1) * f
        return _u8(image)


def _blur(ops: TorchOps, bg: Blur, pyramid: DevicePyramid, small):
    """``backgrounds.Blur.fill``: the background blurred without the person, at a small level, enlarged."""
    w, h = pyramid.size
    img = pyramid.level(blur_level(bg.strength, w, h))
    sh, sw = img.shape[-2:]
    near = ops.filters.linear_u8(small.float()[None, None], sw, sh)
    weight = 1.0 - F.max_pool2d(near, 3, 1, 1) * ((1.0 - bg.floor) / 255.0)
    sigma = max(0.5, bg.strength / (w / sw))
    blurred = ops.filters.gaussian(img * weight, sigma) / ops.filters.gaussian(weight, sigma)
    return ops.filters.linear_u8(_u8(blurred), w, h)


def _color(ops: TorchOps, bg: Color, pyramid: DevicePyramid, small):
    return ops.picture(bg, pyramid, lambda w, h: np.full((h, w, 3), bg.bgr, np.uint8))


def _image(ops: TorchOps, bg: Image, pyramid: DevicePyramid, small):
    return ops.picture(bg, pyramid, lambda w, h: cover_fit(bg.image, w, h))


def _video(ops: TorchOps, bg: Video, pyramid: DevicePyramid, small):
    return ops.pyramid(cover_fit(bg.next_frame(), *pyramid.size)).frame


FILLS = {Blur: _blur, Color: _color, Image: _image, Video: _video}  # the backgrounds.Blended kinds, on the device
