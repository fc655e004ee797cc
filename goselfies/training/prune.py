"""A trained network's weights as the starting point of a slimmer one of the same family (``models._slim_unet``'s
``expand`` and ``separable``): every tensor that keeps its shape is copied; each inverted-residual block keeps its
most important hidden channels (BN2's scale times the projection's column norm: how much a channel adds to the
block's output), in their order; each decoder 3x3 convolution becomes the depthwise 3x3 + pointwise 1x1 pair
nearest to it (per input channel, the kernel's best rank-1 factorisation). With ``--calibrate`` each block's
last 1x1 convolution (and each decoder pointwise one) is then refitted, in order, by ridge regression on real
pictures so that the slim network's activations follow the wide one's (channel pruning with reconstruction), and
every BatchNorm takes its input's statistics on them (the same function in eval mode; training's batch statistics
then start where they are). Then train.

    python -m goselfies.training.prune goselfies/assets/models/lite.safetensors --model lite-slim \
        --calibrate ../shared/data/eg1800/train --calibrate ../shared/data/ccp_fullbody \
        --calibrate ../shared/data/humanseg_remove_bg --holdout RUN/split.json -o INIT.safetensors
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from goselfies.errors import GoSelfiesError, exit_status
from goselfies.extras import require_extra


def importance(block):
    """Each hidden channel's weight in an inverted-residual block's output."""
    bn = block.bn2
    scale = bn.weight.detach().abs() / (bn.running_var + bn.eps).sqrt()
    return scale * block.conv_pwl.weight.detach()[:, :, 0, 0].abs().sum(0)


def _narrowed(old, new) -> bool:
    """An inverted-residual block and its narrower counterpart."""
    return hasattr(old, "conv_pwl") and hasattr(new, "conv_pwl")


def _factorised(old, new) -> bool:
    """A 3x3 convolution and the depthwise + pointwise pair that replaces it."""
    import torch

    return isinstance(new, torch.nn.Sequential) and len(new) == 2 and getattr(old, "kernel_size", None) == (3, 3)


def _inputs_of(net, modules, images) -> dict:
    """What each of ``modules`` receives when ``net`` runs on ``images``: one forward pass."""
    import torch

    seen = {}
    hooks = [m.register_forward_pre_hook(lambda m, args: seen.__setitem__(m, args[0])) for m in modules]
    try:
        with torch.no_grad():
            net(images)
    finally:
        for h in hooks:
            h.remove()
    return seen


def _lstsq(features, target, samples: int = 40000, ridge: float = 1e-3):
    """W with W @ features ~ target over pixels (both (N, C, H, W)), on a sample of ``samples`` pixels; ridge
    regression (``ridge`` times the features' mean energy), as near-duplicate channels make plain least squares
    blow up."""
    import torch

    f = features.permute(1, 0, 2, 3).flatten(1)
    t = target.permute(1, 0, 2, 3).flatten(1)
    pick = torch.randperm(f.shape[1], generator=torch.Generator().manual_seed(0))[:samples]
    f, t = f[:, pick].double(), t[:, pick].double()
    gram = f @ f.T
    gram += ridge * gram.trace() / len(gram) * torch.eye(len(gram), dtype=gram.dtype)
    return torch.linalg.solve(gram, f @ t.T).T.float()


def refit(old, new, images) -> None:
    """Refit the slim network's last 1x1 convolutions in order, so that its activations on ``images`` follow
    ``old``'s: each narrowed block's projection, each separable convolution's pointwise half. The wide network
    runs once; the slim one again before each refit, as the refits before it change what it computes."""
    import torch

    old.eval(), new.eval()
    new_modules = dict(new.named_modules())
    pairs = [(om, new_modules.get(name)) for name, om in old.named_modules()]
    pairs = [(om, nm) for om, nm in pairs if _narrowed(om, nm) or _factorised(om, nm)]
    wide = _inputs_of(old, [om for om, _ in pairs], images)
    with torch.no_grad():
        for om, nm in pairs:
            x_old = wide.pop(om)
            if _narrowed(om, nm):
                x_new = _inputs_of(new, [nm], images)[nm]
                target = om.conv_pwl(_hidden(om, x_old))
                if om.has_skip:  # bn3 is a per-channel affine map: carry the drift of the block's input over
                    bn = om.bn3  # (a channel bn3 zeroes ignores its input: no drift to carry)
                    gain = torch.where(bn.weight != 0, (bn.running_var + bn.eps).sqrt() / bn.weight, 0.0)
                    target += (x_old - x_new) * gain[None, :, None, None]
                nm.conv_pwl.weight.copy_(_lstsq(_hidden(nm, x_new), target)[:, :, None, None])
            else:
                dw, pw = nm
                x_new = _inputs_of(new, [dw], images)[dw]
                pw.weight.copy_(_lstsq(dw(x_new), om(x_old))[:, :, None, None])


def match_statistics(net, images) -> None:
    """Give every BatchNorm the mean and variance its input has on ``images`` as running statistics, with its scale
    and shift changed so that the network in eval mode computes the same function: then training's batch
    statistics start where eval's running ones are, and the first steps train the network that was fitted."""
    import torch

    norms = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    seen = _inputs_of(net.eval(), norms, images)
    with torch.no_grad():
        for m in norms:
            x = seen[m].transpose(0, 1).flatten(1)
            mean, var = x.mean(1), x.var(1, unbiased=False)  # what training normalises with
            old_std, new_std = (m.running_var + m.eps).sqrt(), (var + m.eps).sqrt()
            m.bias += m.weight * (mean - m.running_mean) / old_std
            m.weight *= new_std / old_std
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)


def _hidden(block, x):
    """An inverted-residual block's hidden activations, before its projection."""
    return block.se(block.aa(block.bn2(block.conv_dw(block.bn1(block.conv_pw(x))))))


def calibration_images(folders, holdout: str | None, size: int, mean, std, count: int = 96):
    """``count`` pictures spread over the training pairs of ``folders`` (none of ``holdout``'s validation pairs),
    each resized onto ``size`` x ``size`` as training and validation see them, normalised."""
    import cv2
    import numpy as np
    import torch

    from goselfies.engine.prep import normalize_into
    from goselfies.training.data import find_pairs
    from goselfies.training.holdout import validation_images

    held = {Path(v).resolve() for v in validation_images(holdout)} if holdout else set()
    found = [p for f in folders for p in find_pairs(f, check=False)]
    pairs = [p for p in found if p.image.resolve() not in held]
    if holdout and len(pairs) == len(found):
        raise GoSelfiesError(f"{holdout}: none of its validation pictures is in the --calibrate folders")
    if not pairs:
        raise GoSelfiesError("no calibration pictures")
    x = np.empty((min(count, len(pairs)), 3, size, size), np.float32)
    mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
    for i, k in enumerate(np.linspace(0, len(pairs) - 1, len(x)).round().astype(int)):
        img = cv2.imread(str(pairs[k].image), cv2.IMREAD_COLOR)
        if img is None:
            raise GoSelfiesError(f"{pairs[k].image}: cannot decode")
        normalize_into(x[i:i + 1], cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA), False, mean, std)
    return torch.from_numpy(x)


def prune(source: str, model: str, out: str, calibrate=(), holdout: str | None = None) -> None:
    require_extra("train", "python -m goselfies.training.prune")
    import torch

    from goselfies.engine.models import model_info
    from goselfies.engine.networks import create_model
    from goselfies.engine.weights import read_metadata, save_weights

    meta = read_metadata(source)
    old = create_model(meta.get("arch", ""), weights=source)
    new = create_model(model)
    old_state, state = old.state_dict(), new.state_dict()
    filled = {k: old_state[k].clone() for k, t in state.items() if k in old_state and old_state[k].shape == t.shape}
    new_blocks = dict(new.named_modules())
    for name, block in old.named_modules():
        nb = new_blocks.get(name)
        if _narrowed(block, nb):  # an inverted residual: its most important hidden channels
            keep = torch.sort(torch.argsort(importance(block), descending=True)[:nb.conv_pw.out_channels]).values
            for key, t in old_state.items():
                if key.startswith(f"{name}.conv_pwl."):
                    filled[key] = t[:, keep].clone()
                elif key.startswith(tuple(f"{name}.{m}." for m in ("conv_pw", "bn1", "conv_dw", "bn2"))):
                    filled[key] = t[keep].clone() if t.dim() else t.clone()
        elif _factorised(block, nb):  # per input channel, the kernel's best rank-1 factors
            w = block.weight.detach().permute(1, 0, 2, 3).flatten(2)  # (in, out, 9)
            u, sv, vh = torch.linalg.svd(w, full_matrices=False)
            root = sv[:, 0].sqrt()
            filled[f"{name}.0.weight"] = (vh[:, 0] * root[:, None]).reshape(-1, 1, 3, 3)
            filled[f"{name}.1.weight"] = (u[:, :, 0] * root[:, None]).T[:, :, None, None].contiguous()
    missing = [k for k, t in state.items() if k not in filled or filled[k].shape != t.shape]
    if missing:
        raise GoSelfiesError(f"'{model}' is not a slimmer '{meta.get('arch')}': {source} has no tensor for {missing[0]}")
    new.load_state_dict(filled)
    if calibrate:
        info = model_info(model)
        images = calibration_images(calibrate, holdout, meta.get("size", info.size), info.mean, info.std)
        refit(old, new, images)
        match_statistics(new, images)
    keep_meta = {k: meta[k] for k in ("size", "train_size") if k in meta}
    save_weights(new, out, model, {**keep_meta, "pruned_from": str(source)})


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m goselfies.training.prune", description=__doc__.split("\n\n")[0])
    p.add_argument("source", help="trained weights (safetensors) of the wider network")
    p.add_argument("--model", required=True, help="the slimmer registry model to start")
    p.add_argument("--calibrate", action="append", default=[], metavar="DIR",
                   help="a folder of images/ + masks/ whose pictures refit the slim network (repeatable)")
    p.add_argument("--holdout", metavar="SPLIT.json", help="a run's split.json: its validation pictures are not used")
    p.add_argument("-o", "--out", required=True, help="output safetensors")
    args = p.parse_args(argv)
    if args.holdout and not args.calibrate:
        p.error("--holdout names the pictures --calibrate must not use; give --calibrate too")

    def run() -> None:
        try:
            prune(args.source, args.model, args.out, args.calibrate, args.holdout)
        except OSError as exc:  # the output (save_weights writes atomically: nothing half-written)
            raise GoSelfiesError(f"{args.out}: cannot write ({exc.strerror or exc})") from None
        print(f"wrote {args.out}", file=sys.stderr)

    return exit_status(p.prog, run)


if __name__ == "__main__":
    sys.exit(main())
