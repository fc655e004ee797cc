"""ONNX Runtime on the int8 model (shipped for the package's weights, else made and cached by ``quantize.py``): the
same pre/post-processing as ``onnx``, a quantised network, faster on CPUs with VNNI."""
from __future__ import annotations

from pathlib import Path

from ...errors import GoSelfiesError
from ..onnx_file import is_onnx
from ..quantize import cached_int8
from .base import ModelFile
from .onnx import OnnxRunner


class OnnxInt8Runner(OnnxRunner):
    name = "onnx-int8"

    def model_path(self, model: ModelFile) -> Path:
        if is_onnx(model.path):
            raise GoSelfiesError("--backend onnx-int8 takes .safetensors weights; to run a quantised "
                                 "file, pass it with --backend onnx")
        return cached_int8(model.name, model.path)
