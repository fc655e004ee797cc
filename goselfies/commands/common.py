"""Arguments shared by every command that segments: model, weights, device, size, post-processing."""
from __future__ import annotations

import argparse
import sys

from ..options import OPTIONS


def add_segmenter_arguments(p: argparse.ArgumentParser, background: str | None = "blur", still: bool = False,
                            second_pass: bool = False) -> None:
    """``still``: a photo, not real time (the options' ``still`` defaults: --flip on); ``second_pass``: offer
    --second-pass (live sessions look closer instead)."""
    from ..engine.models import MODELS

    g = p.add_argument_group("model")
    g.add_argument("--model", default="auto", help=f"model name ({', '.join(sorted(MODELS))}); auto: tiny live on a "
                   "CPU, quality on a GPU and for photos and video files")
    g.add_argument("--weights", metavar="PATH", help="a .safetensors weights file (default: the shipped weights)")
    g.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to run (default auto)")
    g.add_argument("--backend", default="auto", help="inference backend: auto (on a CPU: live, openvino where the openvino extra is installed; else onnx-int8 where the CPU has VNNI and the model ships an int8 file, else onnx; torch on CUDA), torch (gpu extra), onnx, openvino, or onnx-int8 (CPU, quantised: shipped for lite and quality, else the train extra)")
    OPTIONS["size"].add(g)
    g = p.add_argument_group("mask")
    for name in ("threshold", "feather", "refine", "flip") + (("second_pass",) if second_pass else ()):
        OPTIONS[name].add(g, still=still)
    if background is not None:
        p.add_argument("--background", "-b", default=background, metavar="SPEC",
                       help="blur[:STRENGTH], color:#RRGGBB or a name (blue, white, green...), image:PATH, "
                            f"video:PATH, transparent, mask (default {background})")


def add_frame_arguments(g) -> None:
    """--auto-frame and --frame-zoom (``goselfies webcam`` and ``goselfies video``), into an argument group."""
    OPTIONS["auto_frame"].add(g)
    OPTIONS["frame_zoom"].add(g)


def frame_zoom_from_args(args) -> float:
    """--frame-zoom checked: a number in its range, else one line of error."""
    return OPTIONS["frame_zoom"].check(args.frame_zoom)


def post_from_args(args):
    """The mask options as post-processing (range errors are one line, before any work)."""
    from ..frame.postprocess import PostProcess

    return PostProcess(threshold=OPTIONS["threshold"].check(args.threshold), feather=OPTIONS["feather"].check(args.feather),
                       refine=args.refine)


def make_segmenter(args, quiet: bool = False, realtime: bool = True):
    """``realtime=False`` (photos, video files): ``--model auto`` takes the quality tier."""
    from ..engine.segmenter import Segmenter, SegmenterConfig

    post_from_args(args)  # a bad --threshold fails before the model loads
    seg = Segmenter(SegmenterConfig(model=args.model, weights=args.weights, device=args.device,
                                    size=OPTIONS["size"].check(args.size), backend=args.backend, realtime=realtime,
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
