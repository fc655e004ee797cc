"""goselfies webcam: live background removal from a webcam (or a video played as one) to a window,
a virtual camera and/or a recording; prints frames in/out, drops and per-stage timings at exit."""
from __future__ import annotations

import sys

from .common import add_segmenter_arguments, make_segmenter


def add_arguments(p) -> None:
    g = p.add_argument_group("input")
    g.add_argument("--camera", metavar="N|PATH", help="webcam index or device path (default 0)")
    g.add_argument("--source", metavar="VIDEO", help="play a video file as a live source, paced at its fps (loops)")
    g.add_argument("--once", action="store_true", help="with --source: stop at the end of the video instead of looping")
    g.add_argument("--width", type=int, default=1280, help="camera width to request (default 1280)")
    g.add_argument("--height", type=int, default=720, help="camera height to request (default 720)")
    g.add_argument("--fps", type=float, default=30.0, help="camera frame rate to request (default 30)")
    g.add_argument("--mirror", action="store_true", help="flip left-right, like a mirror")
    add_segmenter_arguments(p)
    g = p.add_argument_group("live")
    g.add_argument("--smoothing", type=float, default=0.6, metavar="S",
                   help="temporal mask smoothing against edge flicker, 0 (off) to 0.95 (default 0.6)")
    g.add_argument("--virtual-camera", action="store_true", help="send the output to a virtual camera (pyvirtualcam)")
    g.add_argument("--virtual-camera-device", metavar="DEV", help="which virtual camera, e.g. /dev/video10")
    g.add_argument("--no-window", action="store_true", help="no preview window (headless)")
    g.add_argument("--frames", type=int, metavar="N", help="stop after N output frames")
    g.add_argument("--record", metavar="PATH", help="also write the composited stream to a video file (.mp4, .mov, "
                   ".mkv, .webm; with -b transparent .webm or .mov keep the alpha)")


def run(args) -> int:
    from ..backgrounds import parse_background
    from ..capture import Capture, make_source
    from ..errors import GoSelfiesError
    from ..pipeline import Pipeline, PipelineConfig, detach_post
    from ..sinks import make_sink

    if args.camera is not None and args.source:
        raise GoSelfiesError("use either --camera or --source, not both")
    if args.frames is not None and args.frames < 1:
        raise GoSelfiesError(f"--frames must be at least 1, got {args.frames}")
    if not 0.0 <= args.smoothing < 1.0:
        raise GoSelfiesError(f"--smoothing must be in [0, 1), got {args.smoothing}")
    if args.once and not args.source:
        raise GoSelfiesError("--once only applies to --source VIDEO")
    if not args.no_window:
        from goselfies.gui.app import ensure_display

        ensure_display("add --no-window to run headless (the virtual camera and --record still work)")
    # a bad spec fails before the camera light goes on; a transparent one is recorded with its alpha
    alpha = bool(getattr(parse_background(args.background), "alpha", False))

    source = make_source(args.camera, args.source, width=args.width, height=args.height, fps=args.fps,
                         loop=not args.once)
    capture = Capture(source, mirror=args.mirror)
    try:
        capture.open()
    except GoSelfiesError as exc:
        if args.source:
            raise
        which = "no camera found" if args.camera is None else f"cannot open camera {args.camera}"
        raise GoSelfiesError(f"{which} ({exc}); plug one in, pick another with --camera N|PATH, "
                             "or play a video file with --source VIDEO") from None
    try:
        seg = make_segmenter(args)
        post = detach_post(seg)
        print(source.describe(), file=sys.stderr)
        config = PipelineConfig(background=args.background, post=post, smoothing=args.smoothing,
                                max_frames=args.frames)
        pipeline = Pipeline(capture, seg, config)
        if args.record:
            pipeline.add_sink(make_sink("record", path=args.record, fps=capture.fps, alpha=alpha))
        if args.virtual_camera:
            pipeline.add_sink(make_sink("virtualcam", fps=capture.fps, device=args.virtual_camera_device,
                                        on_message=lambda m: print(m, file=sys.stderr)))
    except BaseException:
        capture.stop()
        raise

    try:
        if args.no_window:
            stats = pipeline.run()
        else:
            from goselfies.gui.app import run_preview

            stats = run_preview(pipeline, _settings_for_window(args))
    except KeyboardInterrupt:
        stats = pipeline.stats()  # Ctrl-C ends a live session: everything is already released
        print("stopped (Ctrl-C)", file=sys.stderr)
    print(stats.summary())
    if args.record and stats.frames_out:
        print(f"recorded {stats.frames_out} frames to {args.record}", file=sys.stderr)
    return 0


def _settings_for_window(args):
    """The window's state (for its hotkeys), from the command line."""
    from ..backgrounds import COLORS
    from ..settings import LiveSettings

    s = LiveSettings(mirror=args.mirror, smoothing=args.smoothing, feather=args.feather,
                     threshold=args.threshold or 0.0)
    spec = args.background.strip().lower()
    kind, _, arg = spec.partition(":")
    if kind == "blur":
        s.blur_strength = float(arg) if arg else 15.0
    elif kind == "green" or (kind == "color" and arg == "green"):
        s.background = "green"
    elif kind == "color" or kind in COLORS or kind.startswith("#"):
        s.background, s.color = "color", COLORS.get(arg or kind, arg or kind)
    elif kind in ("image", "video"):
        s.background = kind
        setattr(s, kind, args.background.split(":", 1)[1])
    elif kind == "transparent":
        s.background = "transparent"
    return s
