"""Arguments shared by every command that segments: model, weights, device, size, post-processing."""
from __future__ import annotations

import argparse
import sys


def add_segmenter_arguments(p: argparse.ArgumentParser, background: str | None = "blur", flip: bool = False,
                            second_pass: bool | None = None) -> None:
    """``second_pass``: offer --second-pass with this default (None: not offered; live sessions)."""
    from ..engine.models import MODELS

    g = p.add_argument_group("model")
    g.add_argument("--model", default="auto", help=f"model name ({', '.join(sorted(MODELS))}); auto: lite live on a "
                   "CPU, quality on a GPU and for photos and video files")
    g.add_argument("--weights", metavar="PATH", help="a .safetensors weights file (default: the shipped weights)")
    g.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to run (default auto)")
    g.add_argument("--backend", default="auto", help="inference backend: auto (on a CPU: openvino live where the openvino extra is installed, else onnx; torch on CUDA), torch (gpu extra), onnx, openvino, or onnx-int8 (CPU, quantised; train extra)")
    g.add_argument("--size", type=int, metavar="N", help="network input size, longer side (default: the weights' own, their measured best)")
    g = p.add_argument_group("mask")
    g.add_argument("--threshold", type=float, metavar="T", help="hard mask at T in (0,1) (default: soft mask)")
    g.add_argument("--feather", type=float, default=0.0, metavar="PX", help="soften the mask edge by PX pixels")
    g.add_argument("--refine", action=argparse.BooleanOptionalAction, default=True,
                   help="lay the mask edge onto the image's edges (colour guided filter; default on)")
    g.add_argument("--flip", action=argparse.BooleanOptionalAction, default=flip,
                   help=f"average with the mirrored image's mask: cleaner edges, twice the time (default {'on' if flip else 'off'})")
    if second_pass is not None:
        g.add_argument("--second-pass", action=argparse.BooleanOptionalAction, default=second_pass,
                       help="run the network again, closer, on a person small in the frame (standing back, full "
                            f"body): up to twice the time on such images (default {'on' if second_pass else 'off'})")
    if background is not None:
        p.add_argument("--background", "-b", default=background, metavar="SPEC",
                       help="blur[:STRENGTH], color:#RRGGBB or a name (blue, white, green...), image:PATH, "
                            f"video:PATH, transparent, mask (default {background})")


def add_frame_arguments(g) -> None:
    """--auto-frame and --frame-zoom (``goselfies webcam`` and ``goselfies video``), into an argument group."""
    from ..frame.autoframe import ZOOM

    g.add_argument("--auto-frame", action="store_true",
                   help="crop the picture to follow the person (centred, head room kept), scaled back to the "
                        "output size")
    g.add_argument("--frame-zoom", default=str(ZOOM), metavar="Z",
                   help=f"with --auto-frame: the narrowest crop as a fraction of the frame's width, in (0, 1] "
                        f"(default {ZOOM:g}: never more than 2x zoom)")


def frame_zoom_from_args(args) -> float:
    """--frame-zoom checked: a number in (0, 1], else one line of error."""
    from ..frame.autoframe import parse_zoom

    return parse_zoom(args.frame_zoom)


def post_from_args(args):
    """The mask options as post-processing (range errors are one line, before any work)."""
    from ..frame.postprocess import PostProcess

    return PostProcess(threshold=args.threshold, feather=args.feather, refine=args.refine)


def make_segmenter(args, quiet: bool = False, realtime: bool = True):
    """``realtime=False`` (photos, video files): ``--model auto`` takes the quality tier."""
    from ..engine.segmenter import Segmenter, SegmenterConfig

    post_from_args(args)  # a bad --threshold fails before the model loads
    seg = Segmenter(SegmenterConfig(model=args.model, weights=args.weights, device=args.device,
                                    size=args.size, backend=args.backend, realtime=realtime,
                                    flip=args.flip), quiet=quiet)
    if not quiet:
        print(f"model: {seg.describe()}" + (", refined" if args.refine else ""), file=sys.stderr)
    return seg


def make_path(args, seg, background: str | None = None):
    """The frame path for one photo at a time: no smoothing, no change detection."""
    from ..frame.framepath import FramePath, PathConfig

    return FramePath(seg, PathConfig(background=background or getattr(args, "background", "blur"),
                                     post=post_from_args(args), smoothing=0.0, skip=False,
                                     second_pass=getattr(args, "second_pass", False)))
