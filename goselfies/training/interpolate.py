"""Weight interpolation of a fine-tuned model with the one it started from (Wortsman et al., "Robust
fine-tuning of zero-shot models", 2022: WiSE-FT): ``alpha * TUNED + (1 - alpha) * BASE``, tensor by tensor.
A fine-tune on new data (full bodies) that costs a little on the old (portraits) often keeps most of its
gain and gives back the loss somewhere between the two; choose ``alpha`` on validation pairs.

    python -m goselfies.training.interpolate TUNED.safetensors BASE.safetensors --alpha 0.7 -o OUT.safetensors
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from safetensors.numpy import load_file, save_file

from goselfies.engine.weights import read_metadata
from goselfies.errors import GoSelfiesError, exit_status
from goselfies.paths import atomic_path


def interpolate(tuned: str, base: str, alpha: float, out: str) -> None:
    if not 0.0 <= alpha <= 1.0:
        raise GoSelfiesError(f"--alpha must be in [0, 1], got {alpha}")
    meta_t, meta_b = read_metadata(tuned), read_metadata(base)
    if meta_t.get("arch") != meta_b.get("arch"):
        raise GoSelfiesError(f"{tuned} is '{meta_t.get('arch')}', {base} is '{meta_b.get('arch')}'")
    a, b = load_file(tuned), load_file(base)
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        raise GoSelfiesError(f"{tuned} and {base} do not hold the same tensors")
    state = {}
    for k, v in a.items():
        if np.issubdtype(v.dtype, np.floating):
            mixed = alpha * v.astype(np.float32) + (1.0 - alpha) * b[k].astype(np.float32)
            state[k] = mixed.astype(v.dtype)
        else:  # counters (num_batches_tracked): the tuned model's
            state[k] = v
    meta = {k: v for k, v in meta_t.items() if k != "val_metrics"}  # measured on the tuned weights, not these
    meta["interpolated"] = {"alpha": alpha, "tuned": str(tuned), "base": str(base)}
    with atomic_path(out) as tmp:
        save_file(state, str(tmp), metadata={k: json.dumps(v) for k, v in meta.items()})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m goselfies.training.interpolate", description=__doc__.split("\n\n")[0])
    p.add_argument("tuned")
    p.add_argument("base")
    p.add_argument("--alpha", type=float, required=True, help="weight of TUNED (0: BASE, 1: TUNED)")
    p.add_argument("-o", "--output", required=True)
    args = p.parse_args(argv)
    return exit_status("interpolate", lambda: interpolate(args.tuned, args.base, args.alpha, args.output))


if __name__ == "__main__":
    sys.exit(main())
