"""The "torch+gpu-composite" benchmark row: composite on the GPU too, so only the finished frame
comes back. Measured against the app's path (mask down, composite on the CPU); the app does not use it."""
from __future__ import annotations

import numpy as np


class GpuComposite:
    """``GpuComposite(engine)(frame, background)``: frame * mask + background * (1 - mask) on the GPU.

    ``background``: a colour tuple in the frame's channel order, or a uint8 image of its shape."""

    def __init__(self, engine):
        self.engine = engine
        self._cache: tuple[object, tuple[int, ...], object] | None = None

    def _background(self, background, shape: tuple[int, ...]):
        """The background as a float device tensor, cached (an image by identity, a colour by value)."""
        torch, dev = self.engine.torch, self.engine.dev
        if isinstance(background, np.ndarray):
            if background.shape != shape or background.dtype != np.uint8:
                raise ValueError("a background image must be uint8 and of the frame's shape")
            key = background  # the cache keeps it alive; compared by identity
        else:
            key = tuple(int(c) for c in background)
        cached = self._cache
        if cached is not None and isinstance(key, np.ndarray):
            same = cached[0] is key
        else:
            same = cached is not None and isinstance(cached[0], tuple) and cached[0] == key
        if same and cached[1] == shape:
            return cached[2]
        if isinstance(background, np.ndarray):
            t = torch.from_numpy(np.ascontiguousarray(background)).to(dev).float()
        else:
            t = torch.tensor([float(c) for c in background], device=dev).view(1, 1, 3).expand(*shape).contiguous()
        self._cache = (key, shape, t)
        return t

    def __call__(self, frame: np.ndarray, background, rgb: bool = False) -> np.ndarray:
        eng = self.engine
        torch = eng.torch
        with torch.inference_mode():
            img = eng.upload(frame)
            m = eng.probabilities(frame, rgb, image=img)[..., None]
            bg = self._background(background, frame.shape)
            out = torch.addcmul(bg, img.float() - bg, m).add_(0.5).clamp_(0, 255).to(torch.uint8)
            host = eng.host_buffer(frame.shape, torch.uint8, tag="out")
            host.copy_(out, non_blocking=True)
            torch.cuda.current_stream(eng.dev).synchronize()
            return host.numpy().copy()  # the pinned buffer is reused by the next call
