"""goselfies webcam: live background removal from a webcam (or a video played as one) to a window,
a virtual camera and/or a recording; prints frames in/out, drops and per-stage timings at exit."""
from __future__ import annotations

import contextlib
import signal
import sys
import threading

from ..options import OPTIONS
from .common import add_frame_arguments, add_segmenter_arguments, frame_zoom_from_args


def add_arguments(p) -> None:
    g = p.add_argument_group("input")
    g.add_argument("--camera", metavar="N|PATH", help="webcam index or device path (default 0)")
    g.add_argument("--source", metavar="VIDEO", help="play a video file as a live source, paced at its fps (loops)")
    g.add_argument("--once", action="store_true", help="with --source: stop at the end of the video instead of looping")
    for name in ("width", "height", "fps"):
        OPTIONS[name].add(g)
    g.add_argument("--mirror", action="store_true", help="flip left-right, like a mirror")
    add_segmenter_arguments(p)
    g = p.add_argument_group("live")
    for name in ("smoothing", "look_closer", "skip"):
        OPTIONS[name].add(g)
    add_frame_arguments(g)
    g.add_argument("--virtual-camera", action="store_true", help="send the output to a virtual camera (pyvirtualcam)")
    g.add_argument("--virtual-camera-device", metavar="DEV", help="which virtual camera, e.g. /dev/video10")
    g.add_argument("--no-window", action="store_true", help="no preview window (headless)")
    OPTIONS["frames"].add(g)
    g.add_argument("--record", metavar="PATH", help="also write the composited stream to a video file (.mp4, .mov, "
                   ".mkv, .webm; with -b transparent .webm or .mov keep the alpha)")


def run(args) -> int:
    from ..errors import GoSelfiesError
    from ..frame.backgrounds import parse_background
    from ..io.sinks import ensure_display
    from ..live.session import build_session

    if args.camera is not None and args.source:
        raise GoSelfiesError("use either --camera or --source, not both")
    for name in ("frames", "size", "smoothing", "width", "height", "fps"):
        setattr(args, name, OPTIONS[name].check(getattr(args, name)))  # one line for a value out of its range
    if args.once and not args.source:
        raise GoSelfiesError("--once only applies to --source VIDEO")
    frame_zoom_from_args(args)
    if not args.no_window:
        ensure_display("add --no-window to run headless (the virtual camera and --record still work)")
    parse_background(args.background)  # a bad spec fails before the camera light goes on
    settings = settings_from_args(args)

    def explain(exc: GoSelfiesError) -> GoSelfiesError:
        if args.source:
            return exc
        which = "no camera found" if args.camera is None else f"cannot open camera {args.camera}"
        detail = str(exc)
        said = detail if detail.startswith(which) else f"{which} ({detail})"  # never the same words twice
        return GoSelfiesError(f"{said}; plug one in, pick another with --camera N|PATH, "
                              "or play a video file with --source VIDEO")

    session = build_session(settings, quiet=False, explain=explain)
    pipeline = session.pipeline
    try:
        if args.no_window:
            with stop_on_ctrl_c(pipeline) as interrupted:
                stats = pipeline.run()
            if interrupted:
                print("stopped (Ctrl-C)", file=sys.stderr)
        else:
            stats = args.window(session)  # the gui front end's preview, handed over by the dispatcher (cli)
    except KeyboardInterrupt:
        stats = pipeline.stats()  # Ctrl-C ends a live session: everything is already released
        print("stopped (Ctrl-C)", file=sys.stderr)
    print(stats.summary())  # its first line is stats.summary_line(), which the window prints at its close
    if args.record and stats.frames_out:
        print(f"recorded {stats.frames_out} frames to {args.record}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def stop_on_ctrl_c(pipeline):
    """Ctrl-C stops the loop between frames, and the session closes as at its end (the recording finished).
    Yields a list that is non-empty once Ctrl-C came. Raising KeyboardInterrupt instead could land inside a
    ``with condition:``, whose release then fails on Python 3.13 with a traceback."""
    came: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield came
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, _frame):
        came.append(signum)
        pipeline.stop()

    signal.signal(signal.SIGINT, handler)
    try:
        yield came
    finally:
        signal.signal(signal.SIGINT, previous)


def settings_from_args(args):
    """The session's settings from the command line (the window's hotkeys change them from there)."""
    from ..frame.postprocess import PostProcess
    from ..live.settings import LiveSettings

    PostProcess(threshold=args.threshold, feather=args.feather, refine=args.refine)  # range errors now
    s = LiveSettings(camera="0" if args.camera is None else str(args.camera), source=args.source or "",
                     loop=not args.once, width=args.width, height=args.height, fps=args.fps, mirror=args.mirror,
                     model=args.model, weights=str(args.weights or ""), device=args.device, backend=args.backend,
                     size=args.size or 0, flip=args.flip, threshold=args.threshold, feather=args.feather, refine=args.refine,
                     smoothing=args.smoothing, skip=args.skip, look_closer=args.look_closer,
                     auto_frame=args.auto_frame,
                     frame_zoom=frame_zoom_from_args(args), virtual_camera=args.virtual_camera,
                     virtual_camera_device=args.virtual_camera_device or "", record=args.record or "",
                     frames=args.frames or 0)
    s.set_background(args.background)
    return s
