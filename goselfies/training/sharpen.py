"""A trained network's logits multiplied by a factor: its last convolution's weight and bias scaled, so the mask at
0.5 stays and its probabilities get crisper (a temperature). ``tiny`` learns from a teacher whose logits were divided
by 32 (``from_tflite.LOGIT_SCALE``) and comes out as soft as it; choose the factor on validation pairs (tiny.md).

    python -m goselfies.training.sharpen WEIGHTS.safetensors --factor 8 -o OUT.safetensors
"""
from __future__ import annotations

import argparse
import sys

from goselfies.errors import GoSelfiesError, exit_status
from goselfies.extras import require_extra


def last_convolution(model):
    """The network's last convolution (the one that makes its logits): the last registered."""
    from torch import nn

    convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    if not convs:
        raise GoSelfiesError("the network has no convolution")
    return convs[-1]


def sharpen(source: str, factor: float, out: str) -> None:
    if factor <= 0:
        raise GoSelfiesError(f"--factor must be above 0, got {factor:g}")
    from goselfies.engine.networks import create_model
    from goselfies.engine.weights import read_metadata, save_weights

    meta = read_metadata(source)
    arch = meta.get("arch", "")
    model = create_model(arch, weights=source)
    conv = last_convolution(model)
    conv.weight.data *= factor
    if conv.bias is not None:
        conv.bias.data *= factor
    keep = {k: v for k, v in meta.items() if k not in ("arch", "mean", "std")}
    try:
        save_weights(model, out, arch, {**keep, "sharpened": factor * float(meta.get("sharpened", 1))})
    except OSError as exc:
        raise GoSelfiesError(f"{out}: cannot write ({exc.strerror or exc})") from None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m goselfies.training.sharpen", description=__doc__.split("\n\n")[0])
    p.add_argument("weights", help="trained weights (safetensors)")
    p.add_argument("--factor", type=float, required=True, help="multiply the logits by this")
    p.add_argument("-o", "--out", required=True, help="output safetensors")
    args = p.parse_args(argv)

    def run() -> None:
        require_extra("gpu", p.prog)
        sharpen(args.weights, args.factor, args.out)
        print(f"wrote {args.out}", file=sys.stderr)

    return exit_status(p.prog, run)


if __name__ == "__main__":
    sys.exit(main())
