"""The torch backend on a CUDA device: everything between the uint8 frame and the mask stays on the GPU.

Why each piece: frames go up as uint8 (a quarter of float's traffic) from pinned host memory without
blocking the CPU; resize, normalisation, padding and mask upsampling run
on the GPU, so only the finished mask comes back; the network runs fp16 + channels_last
(tensor cores); cuDNN picks its kernels by its heuristics, not by a timed search per input shape
(``CUDNN_BENCHMARK``); and at batch 1 a CUDA graph per input shape replays the whole network with one
launch, removing Python and kernel launch overhead, which dominates small models at high frame rates.
A capture that fails (an unsupported op, a driver without graphs) falls back to eager, once, with a note.
"""
from __future__ import annotations

import sys
from typing import Callable

import numpy as np

from ..networks import create_model
from ..prep import Prep, padded
from .base import ModelFile, OrtOptions

_MISSING = object()
# No timed kernel search (cudnn.benchmark): it is paid on the first call of every input shape, and the second pass,
# photos of many sizes and the live look-closer bring new shapes, and on a lent H200 it cost seconds a shape, most
# of a short video's time (BENCHMARKS.md, run G3).
CUDNN_BENCHMARK = False
PINNED = 16  # page-locked upload buffers kept (one per frame shape and tag), a bound of their own: frames are large


def torch_dtype(name: str):
    import torch

    return {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[name]


class GraphedForward:
    """``model(x)`` captured as a CUDA graph for one input shape; call with a tensor of that shape.

    The output tensor is reused by the next replay: consume (or clone) it before calling again.
    """

    def __init__(self, model, example, pool=None, warmup: int = 3):
        import torch

        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up off the capture stream, as CUDA graphs require
            for _ in range(warmup):
                model(example)
        torch.cuda.current_stream().wait_stream(side)
        self.static_in = example.clone()
        self.graph = torch.cuda.CUDAGraph()
        # thread-local: another thread's CUDA work (the frame path's compositing) may run during the capture
        with torch.cuda.graph(self.graph, pool=pool, capture_error_mode="thread_local"):
            self.static_out = model(self.static_in)

    def __call__(self, x):
        self.static_in.copy_(x)
        self.graph.replay()
        return self.static_out


class CudaEngine:
    """Frame (uint8 HxWx3, BGR or RGB) -> probabilities of the frame's size, on one CUDA device."""

    def __init__(self, model, mean, std, geometry: Callable[[int, int], tuple[int, int, int, int]],
                 precision: str = "fp16", graphs: bool = True, device: str = "cuda", max_shapes: int = 32,
                 multiple: int = 32):
        import torch

        self.torch = torch
        self.dev = torch.device(device)
        self.dtype = torch_dtype(precision)
        self.geometry = geometry
        self.multiple = multiple  # the network's input side multiple (the padding of ``run``)
        torch.backends.cudnn.benchmark = CUDNN_BENCHMARK
        self.model = model.eval().to(self.dev, self.dtype).to(memory_format=torch.channels_last)
        self.mean = torch.tensor(np.asarray(mean, np.float32), device=self.dev).view(1, 3, 1, 1)
        self.std = torch.tensor(np.asarray(std, np.float32), device=self.dev).view(1, 3, 1, 1)
        self.graphs = graphs
        # graphs share one memory pool, and a capture costs a few forward passes, so many shapes are cheap: the
        # second pass brings a handful (run G3: nine on a 273-frame clip), and past the cap a shape runs eager
        self.max_shapes = max_shapes
        self._graphs: dict[tuple[int, ...], GraphedForward | None] = {}
        self._seen: dict[tuple[int, ...], int] = {}
        self._pool = None
        self._pinned: dict[tuple, object] = {}

    # -- transfers ------------------------------------------------------------------------------

    def host_buffer(self, shape: tuple[int, ...], dtype, tag: str = "in"):
        """A reused page-locked buffer; safe to reuse because every call ends in a synchronisation."""
        key = (tuple(shape), str(dtype), tag)
        buf = self._pinned.get(key)
        if buf is None:
            if len(self._pinned) >= PINNED:
                self._pinned.clear()
            buf = self._pinned[key] = self.torch.empty(shape, dtype=dtype, pin_memory=True)
        return buf

    def upload(self, frame: np.ndarray):
        """uint8 frame -> uint8 (H,W,3) device tensor, copied from pinned memory without blocking."""
        host = self.host_buffer(frame.shape, self.torch.uint8)
        np.copyto(host.numpy(), frame)
        return host.to(self.dev, non_blocking=True)

    # -- network --------------------------------------------------------------------------------

    def _forward(self, x):
        if not self.graphs or x.shape[0] != 1:
            return self.model(x)
        key = tuple(x.shape)
        g = self._graphs.get(key, _MISSING)
        if g is _MISSING:
            # capture on a shape's second frame: video repeats its shape, a folder of photos rarely
            # does, and a capture costs a few extra forward passes
            self._seen[key] = self._seen.get(key, 0) + 1
            if self._seen[key] < 2:
                return self.model(x)
            g = self._capture(x) if len(self._graphs) < self.max_shapes else None
            self._graphs[key] = g
        return self.model(x) if g is None else g(x)

    def _capture(self, x) -> GraphedForward | None:
        torch = self.torch
        try:
            if self._pool is None:
                self._pool = torch.cuda.graph_pool_handle()  # graphs of all shapes share one pool
            return GraphedForward(self.model, x, self._pool)
        except Exception as exc:  # noqa: BLE001 - any capture failure means: run eager
            self.graphs = False
            print(f"note: CUDA graphs unavailable ({type(exc).__name__}); running eager", file=sys.stderr)
            torch.cuda.synchronize()
            return None

    # -- frames ---------------------------------------------------------------------------------

    def probabilities(self, frame: np.ndarray, rgb: bool = False):
        """(H,W) float32 probabilities on the GPU."""
        torch, F = self.torch, self.torch.nn.functional
        h, w = frame.shape[:2]
        nh, nw, ph, pw = self.geometry(h, w)
        img = self.upload(frame)
        x = img.permute(2, 0, 1)[None].float()
        if not rgb:
            x = x.flip(1)
        x = F.interpolate(x, size=(nh, nw), mode="bilinear", antialias=nh < h, align_corners=False)
        x = (x / 255.0 - self.mean) / self.std
        x = F.pad(x, (0, pw - nw, 0, ph - nh)).to(self.dtype).contiguous(memory_format=torch.channels_last)
        prob = torch.sigmoid(self._forward(x)[:, :, :nh, :nw].float())
        return F.interpolate(prob, size=(h, w), mode="bilinear", align_corners=False)[0, 0]

    def run(self, x):
        """(1, 3, h, w) BGR floats in 0-255, already at the input size and on this device -> (h, w) float32
        probabilities (the frame path's device engine, ``devicepath``)."""
        torch, F = self.torch, self.torch.nn.functional
        nh, nw = x.shape[-2:]
        ph, pw = padded(nh, self.multiple), padded(nw, self.multiple)
        x = (x.flip(1) * (1 / 255.0) - self.mean) / self.std
        x = F.pad(x, (0, pw - nw, 0, ph - nh)).to(self.dtype).contiguous(memory_format=torch.channels_last)
        return torch.sigmoid(self._forward(x)[0, 0, :nh, :nw].float())

    def mask(self, frame: np.ndarray, rgb: bool = False) -> np.ndarray:
        """Probabilities as a float32 numpy mask of the frame's size."""
        with self.torch.inference_mode():
            return self.probabilities(frame, rgb).cpu().numpy()


class CudaRunner:
    """The torch backend on CUDA: fp16 + channels_last, pinned uint8 uploads, GPU pre/post, CUDA graphs."""

    name = "torch"
    threads = None

    def __init__(self, model: ModelFile, prep: Prep, device: str = "cuda", options: OrtOptions | None = None):
        net = create_model(model.name, weights=model.path).eval()
        self.engine = CudaEngine(net, prep.mean, prep.std, prep.geometry, device=device, multiple=prep.multiple)
        self.timings: dict[str, float] = {}

    def predict(self, frame: np.ndarray, rgb: bool) -> np.ndarray:
        return self.engine.mask(frame, rgb)
