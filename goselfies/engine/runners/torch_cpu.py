"""PyTorch eager on the CPU, fp32 (the gpu extra)."""
from __future__ import annotations

import numpy as np

from ...extras import require
from ..networks import create_model
from ..prep import Prep
from .base import ModelFile, OrtOptions


class TorchRunner:
    name = "torch"
    threads = None

    def __init__(self, model: ModelFile, prep: Prep, device: str = "cpu", options: OrtOptions | None = None):
        require("torch", "--backend torch")
        import torch

        self.torch = torch
        self.prep = prep
        self.timings: dict[str, float] = {}
        self.model = create_model(model.name, weights=model.path).eval().to(device)

    def predict(self, frame: np.ndarray, rgb: bool) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            buf, nh, nw = self.prep.prepare(frame, rgb)
            logits = self.model(torch.from_numpy(buf))
            prob = torch.sigmoid(logits[0, 0, :nh, :nw]).numpy()
        return self.prep.restore(prob, *frame.shape[:2])
