"""MediaPipe's selfie-segmenter weights (the ``selfie_segmentation.tflite`` inside the mediapipe wheel, Apache-2.0)
as a ``tiny`` safetensors file: the start of ``tiny``'s training (tiny.md).

    python -m goselfies.training.from_tflite [MODEL.tflite] -o INIT.safetensors

Without MODEL.tflite it reads the one the installed mediapipe package ships. Needs the ``tflite`` package (the
flatbuffer schema, in the ``train`` extra); float16 and float32 tensors only.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from goselfies.errors import GoSelfiesError, exit_status
from goselfies.extras import require_extra

DTYPES = {0: "float32", 1: "float16"}  # tflite.TensorType
# MediaPipe's logits run to hundreds (a nearly binary mask): BCE makes each pixel it gets wrong a loss in the
# hundreds, and the first steps of training tore the network down (every held-out set lower after one epoch at a
# learning rate of 3e-5). The last layer divided by this keeps the mask (the logits' signs) and makes it trainable.
LOGIT_SCALE = 32


def shipped_tflite() -> Path:
    """The general (256x256) model of the installed mediapipe wheel."""
    import importlib.util

    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise GoSelfiesError("mediapipe is not installed: give the .tflite file")
    return Path(spec.submodule_search_locations[0]) / "modules" / "selfie_segmentation" / "selfie_segmentation.tflite"


def read_tensors(path: str | Path) -> dict:
    """Every constant tensor of a .tflite file by name, as float32 numpy arrays in TFLite's layout."""
    import numpy as np
    import tflite

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise GoSelfiesError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) < 8 or not tflite.Model.ModelBufferHasIdentifier(data, 0):
        raise GoSelfiesError(f"{path}: not a TFLite model")
    model = tflite.Model.GetRootAsModel(data, 0)
    graph = model.Subgraphs(0)
    out = {}
    for i in range(graph.TensorsLength()):
        t = graph.Tensors(i)
        raw = model.Buffers(t.Buffer()).DataAsNumpy()
        if isinstance(raw, int) or t.Type() not in DTYPES:  # no data: an activation, not a weight
            continue
        values = np.frombuffer(raw.tobytes(), DTYPES[t.Type()]).reshape(t.ShapeAsNumpy())
        out[t.Name().decode()] = values.astype("float32")
    return out


def to_tiny(tensors: dict):
    """A ``tiny`` network holding the tensors of MediaPipe's selfie segmenter."""
    import torch

    from goselfies.engine.networks import create_model
    from goselfies.engine.tiny import LAYERS

    net = create_model("tiny")
    modules = dict(net.named_modules())
    count = {False: 0, True: 0}  # conv2d_N, depthwise_conv2d_N
    state = {}
    for name in LAYERS:
        depthwise = modules[name].groups > 1
        n = count[depthwise]
        count[depthwise] += 1
        prefix = ("depthwise_conv2d" if depthwise else "conv2d") + (f"_{n}" if n else "")
        try:
            kernel, bias = tensors[f"{prefix}/Kernel"], tensors[f"{prefix}/Bias"]
        except KeyError:
            raise GoSelfiesError(f"not MediaPipe's selfie segmenter: no tensor {prefix}/Kernel") from None
        # TFLite: (out, kh, kw, in) and depthwise (1, kh, kw, channels); torch: (out, in, kh, kw)
        state[f"{name}.weight"] = torch.from_numpy(kernel).permute(*((3, 0, 1, 2) if depthwise else (0, 3, 1, 2)))
        state[f"{name}.bias"] = torch.from_numpy(bias)
    # the 2x2 transposed convolution: TFLite (out, kh, kw, in), torch (in, out, kh, kw)
    state["out.weight"] = torch.from_numpy(tensors["segment/Kernel"]).permute(3, 0, 1, 2) / LOGIT_SCALE
    state["out.bias"] = torch.from_numpy(tensors["segment/Bias"]) / LOGIT_SCALE
    wrong = [k for k, v in net.state_dict().items() if k not in state or state[k].shape != v.shape]
    if wrong:
        raise GoSelfiesError(f"not MediaPipe's selfie segmenter: {wrong[0]} does not fit")
    net.load_state_dict(state)
    return net


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m goselfies.training.from_tflite", description=__doc__.split("\n\n")[0])
    p.add_argument("tflite", nargs="?", help="MediaPipe's selfie_segmentation.tflite (default: the installed wheel's)")
    p.add_argument("-o", "--out", required=True, help="output safetensors")
    args = p.parse_args(argv)

    def run() -> None:
        require_extra("train", p.prog)
        from goselfies.engine.models import model_info
        from goselfies.engine.weights import save_weights

        source = args.tflite or shipped_tflite()
        net = to_tiny(read_tensors(source))
        try:
            save_weights(net, args.out, "tiny", {"size": model_info("tiny").size, "converted_from": Path(source).name})
        except OSError as exc:
            raise GoSelfiesError(f"{args.out}: cannot write ({exc.strerror or exc})") from None
        print(f"wrote {args.out}", file=sys.stderr)

    return exit_status(p.prog, run)


if __name__ == "__main__":
    sys.exit(main())
