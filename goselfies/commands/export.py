"""goselfies export --format onnx -o PATH: a self-describing ONNX file with dynamic batch/height/width.

The file takes a normalised RGB batch ``image`` (N,3,H,W; H and W multiples of 32) and returns
``mask`` (N,1,H,W) probabilities. Use it with ``--weights PATH.onnx --backend onnx`` or any ONNX runtime.
"""
from __future__ import annotations

import sys


def add_arguments(p) -> None:
    p.add_argument("--format", default="onnx", choices=["onnx"], help="export format (default onnx)")
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="the file to write (.onnx)")
    p.add_argument("--model", default="auto", help="model name (resunet34, vgunet16, lite); auto: the shipped one")
    p.add_argument("--weights", metavar="PATH", help="a .safetensors weights file (default: the shipped weights)")
    p.add_argument("--opset", type=int, default=None, metavar="N", help="ONNX opset (default 17)")
    p.add_argument("--no-check", action="store_true",
                   help="skip the check that ONNX Runtime gives the same mask as PyTorch")


def run(args) -> int:
    from pathlib import Path

    from ..errors import GoSelfiesError
    from ..onnx_backend import OPSET, export_weights, is_onnx, onnxruntime_available
    from ..segmenter import resolve_weights

    out = Path(args.output)
    if out.suffix.lower() != ".onnx":
        raise GoSelfiesError(f"{out}: the output name must end in .onnx")
    if args.weights and is_onnx(args.weights):
        raise GoSelfiesError("--weights must be a .safetensors file (it is already ONNX)")
    if args.weights and out.resolve() == Path(args.weights).resolve():
        raise GoSelfiesError("output would overwrite the weights")
    model, weights, _ = resolve_weights(args.model, args.weights, "cpu")
    export_weights(model, weights, out, opset=args.opset or OPSET)
    size_mb = out.stat().st_size / 1e6
    print(f"wrote {out} ({model}, {size_mb:.1f} MB, dynamic batch/height/width)", file=sys.stderr)
    if not args.no_check and onnxruntime_available():
        err = max_difference(model, weights, out)
        print(f"check: ONNX Runtime vs PyTorch, max |mask difference| = {err:.2e}", file=sys.stderr)
        if err > 1e-3:
            raise GoSelfiesError(f"the exported model disagrees with PyTorch (max difference {err:.3g})")
    return 0


def max_difference(model_name: str, weights, onnx_path, shape=(1, 3, 224, 160)) -> float:
    """Largest absolute difference between PyTorch and ONNX Runtime probabilities on one input."""
    import numpy as np
    import torch

    from ..models import create_model
    from ..onnx_backend import make_session

    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    net = create_model(model_name, weights=weights).eval()
    with torch.inference_mode():
        ref = torch.sigmoid(net(torch.from_numpy(x))).numpy()
    got = make_session(onnx_path).run(None, {"image": x})[0]
    return float(np.abs(ref - got).max())
