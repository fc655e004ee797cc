"""goselfies export --format onnx -o PATH: a self-describing ONNX file with dynamic batch/height/width.

The file takes a normalised RGB batch ``image`` (N,3,H,W; H and W multiples of 32) and returns
``mask`` (N,1,H,W) probabilities. Use it with ``--weights PATH.onnx --backend onnx`` or any ONNX runtime.
"""
from __future__ import annotations

import sys

from ..engine.models import MODELS


def add_arguments(p) -> None:
    p.add_argument("--format", default="onnx", choices=["onnx"], help="export format (default onnx)")
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="the file to write (.onnx)")
    p.add_argument("--model", default="auto", help=f"model name ({', '.join(sorted(MODELS))}); auto: the shipped one")
    p.add_argument("--weights", metavar="PATH", help="a .safetensors weights file (default: the shipped weights)")
    p.add_argument("--opset", type=int, default=None, metavar="N", help="ONNX opset (default 17)")
    p.add_argument("--int8", action="store_true",
                   help="quantise to int8 (static, calibrated on the shipped sample photos): much faster on CPUs with VNNI")
    p.add_argument("--fp16-weights", action="store_true",
                   help="store the weights as float16 behind Casts: half the file, float32 compute (the shipped files)")
    p.add_argument("--no-check", action="store_true",
                   help="skip the check that ONNX Runtime gives the same mask as PyTorch")


def run(args) -> int:
    from pathlib import Path

    from ..engine.onnx_file import OPSET, export_weights, is_onnx
    from ..engine.segmenter import resolve_weights
    from ..errors import GoSelfiesError

    out = Path(args.output)
    if out.suffix.lower() != ".onnx":
        raise GoSelfiesError(f"{out}: the output name must end in .onnx")
    if args.weights and is_onnx(args.weights):
        raise GoSelfiesError("--weights must be a .safetensors file (it is already ONNX)")
    if args.weights and out.resolve() == Path(args.weights).resolve():
        raise GoSelfiesError("output would overwrite the weights")
    model, weights, _ = resolve_weights(args.model, args.weights, "cpu")
    if args.int8:
        import tempfile

        from ..engine.quantize import quantize_file

        with tempfile.TemporaryDirectory() as tmp:
            fp32 = export_weights(model, weights, Path(tmp) / "fp32.onnx", opset=args.opset or OPSET)
            quantize_file(fp32, out)
    else:
        export_weights(model, weights, out, opset=args.opset or OPSET, fp16_weights=args.fp16_weights)
    size_mb = out.stat().st_size / 1e6
    kind = "int8, " if args.int8 else "float16 weights, " if args.fp16_weights else ""
    print(f"wrote {out} ({model}, {kind}{size_mb:.1f} MB, dynamic batch/height/width)", file=sys.stderr)
    if not args.no_check:
        worst, mean = difference(model, weights, out)
        print(f"check on a sample photo: ONNX Runtime vs PyTorch mask, max |difference| {worst:.2e}, "
              f"mean {mean:.2e}", file=sys.stderr)
        # fp32 must agree to rounding; int8 moves edge probabilities a little, a broken file far more
        if (mean > 0.02) if args.int8 else (worst > 1e-3):
            raise GoSelfiesError(f"the exported model disagrees with PyTorch (max {worst:.3g}, mean {mean:.3g})")
    return 0


def difference(model_name: str, weights, onnx_path) -> tuple[float, float]:
    """Max and mean absolute difference between PyTorch and ONNX Runtime probabilities on a shipped
    sample photo (a real image: int8 ranges are calibrated for images, not noise)."""
    import numpy as np
    import torch

    from ..engine.networks import create_model
    from ..engine.quantize import calibration_batches
    from ..engine.runners.onnx import make_session
    from ..engine.weights import input_spec, read_metadata

    spec = input_spec(read_metadata(weights))
    x = next(calibration_batches(spec.mean, spec.std, 224))["image"]
    net = create_model(model_name, weights=weights).eval()
    with torch.inference_mode():
        ref = torch.sigmoid(net(torch.from_numpy(x))).numpy()
    got = make_session(onnx_path).run(None, {"image": x})[0]
    diff = np.abs(ref - got)
    return float(diff.max()), float(diff.mean())
