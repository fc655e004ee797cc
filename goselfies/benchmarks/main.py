"""benchmark-fps: how fast Go-selfies runs here, the network alone and the whole video pipeline.

Also ``goselfies benchmark-fps``. Heavy imports (torch, onnxruntime, mediapipe) wait until run().
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from goselfies.errors import GoSelfiesError, exit_status
from goselfies.options import FPS

DESCRIPTION = "Measure frames per second: the network alone (model) and decode -> segment -> composite -> encode (pipeline)."
EPILOG = """\
modes:
  model     the network alone on a random (batch, 3, size, size) input: no pre/post-processing.
  pipeline  a video file (or --camera) frame by frame: decode (+ --resize) -> segment (resize, normalise, network,
            mask upsampling, as the app does) -> composite (--background) -> encode (MP4, discarded).
            Batch 1, as in a live call. The network input is --size on the frame's longer side
            (640x480 at 256 -> 256x192). Per-stage medians are reported; for the onnx backend the
            segment stage is also split into pre / infer / post.
  all       both (default).

sweeps: every combination of --models x --sizes x --precisions x --backends x --batch-sizes runs
(batch sizes in model mode only). Combinations that cannot run here are listed as skipped with the
reason (fp16 on a CPU, CUDA graphs without a GPU, ...). Backends:
  torch      PyTorch eager (on CUDA: fp16/bf16 + channels_last)
  compile    torch.compile (CUDA: mode reduce-overhead, i.e. CUDA graphs); compile time is warm-up
  cudagraph  our CUDA-graph capture of the network, batch 1 (CUDA only)
  onnx       ONNX Runtime (the app's CPU backend); the export is cached by weights hash
  onnx-int8  ONNX Runtime on the int8 (static QDQ) model; shown as precision int8
In pipeline mode only torch, onnx and onnx-int8 apply (the app's runners; on CUDA the torch runner uses CUDA graphs).
On CUDA the torch rows run the whole frame path on the GPU (the device engine: only the finished frame is
downloaded); a "torch+host-path" row runs the network there and every other step on the CPU, as before it.

timing: --warmup untimed calls first; then --iters timed calls (model) or --frames timed frames
(pipeline) per configuration, with device synchronisation around each timer on CUDA. Pipeline
configurations are interleaved in --rounds round-robin chunks so that changing machine load hits
all alike. Reported: median, p90, p99 ms and FPS (batch / median); machine, cores, library versions
and the load average before/after are in the JSON.

MediaPipe reference: when mediapipe is installed (pip install mediapipe==0.10.14), its selfie
segmenter (bundled model, nothing downloaded) runs on the same frames in the same run, and the
"x MP" column gives each row's time per frame as a multiple of MediaPipe's (2.0 = twice as slow).
In model mode MediaPipe's time includes its own pre/post-processing (it has no model-only API).

weights: shipped weights (goselfies/assets/models/NAME.safetensors) are used when present, else a
randomly initialised model (seed 0) with a note: speed does not depend on the weight values.
--random-weights forces random init; --weights NAME=PATH picks a file.

outputs (in --out): results.json, results.csv, chart.png, and the table on the terminal.

examples:
  benchmark-fps --quick
  benchmark-fps pipeline --video ../shared/data/videos/desk_960x540.mp4 --resize 640x480 --sizes 160,256
  benchmark-fps model --device cuda --models resunet34 --sizes 512 --precisions fp16 --backends torch,cudagraph
"""


def _csv(kind):
    def parse(text: str):
        try:
            return [kind(x.strip()) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a comma-separated list of {kind.__name__}: {text}") from None
    return parse


def _sizes(text: str) -> list[int]:
    """Comma-separated sizes; "default" (0 here) is what the app would use for that model."""
    out = []
    for tok in (t.strip().lower() for t in text.split(",") if t.strip()):
        if tok == "default":
            out.append(0)
        elif tok.isdigit():
            out.append(int(tok))
        else:
            raise argparse.ArgumentTypeError(f"--sizes takes numbers or 'default', got {tok}")
    return out


def default_size(weights: Path, device: str) -> int:
    """The app's size: the size the weights were trained at, as Segmenter does (on any device)."""
    from goselfies.engine.onnx_file import model_metadata
    from goselfies.engine.weights import input_spec

    return input_spec(model_metadata(weights)).size


def _wxh(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x480, got {text}") from None
    if w < 32 or h < 32:
        raise argparse.ArgumentTypeError("--resize must be at least 32x32")
    return w, h


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = DESCRIPTION
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("mode", nargs="?", default="all", choices=["model", "pipeline", "live", "all"],
                   help="what to time (default all: model and pipeline)")
    g = p.add_argument_group("sweep (comma-separated lists)")
    g.add_argument("--models", type=_csv(str), metavar="LIST", help="default: lite,resunet34 (--quick: lite)")
    g.add_argument("--sizes", type=_sizes, metavar="LIST",
                   help="network input side (model mode: a square, multiple of 32; pipeline: the frame's longer side); "
                        "'default' = the app's size, the weights' training size (default: default; --quick: 128)")
    g.add_argument("--precisions", type=_csv(str), metavar="LIST", help="fp32, fp16, bf16 (default: fp32 on CPU, fp16,fp32 on CUDA)")
    g.add_argument("--backends", type=_csv(str), metavar="LIST",
                   help="torch, compile, cudagraph, onnx, onnx-int8 (default: torch,onnx,onnx-int8 on CPU; torch,cudagraph on CUDA)")
    g.add_argument("--batch-sizes", type=_csv(int), metavar="LIST", help="model mode batch sizes (default: 1 on CPU, 1,8 on CUDA)")
    g.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="default auto (CUDA if present)")
    g.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch and ONNX Runtime (default: all usable cores)")
    g = p.add_argument_group("timing")
    g.add_argument("--iters", type=int, metavar="N", help="timed calls per model-mode configuration (default 30; --quick 3)")
    g.add_argument("--frames", type=int, metavar="N", help="timed frames per pipeline configuration (default 120; --quick 6)")
    g.add_argument("--warmup", type=int, metavar="N", help="untimed calls/frames first (default 5; --quick 1)")
    g.add_argument("--rounds", type=int, metavar="N", help="pipeline interleaving rounds (default 4; --quick 1)")
    g.add_argument("--quick", action="store_true", help="CI scale: lite only, small input, a few iterations (seconds, not minutes)")
    g = p.add_argument_group("pipeline")
    g.add_argument("--video", type=Path, metavar="PATH", help="input video (default: synthetic frames, a moving shape over a gradient)")
    g.add_argument("--camera", type=int, metavar="INDEX",
                   help="read a camera instead of a video file; decode then includes waiting for the camera's next frame")
    g.add_argument("--resize", type=_wxh, metavar="WxH", help="resize decoded frames, e.g. 640x480 (timed as part of decode)")
    g.add_argument("--background", default="blur", metavar="SPEC", help="composite background spec, as in goselfies video (default blur)")
    g.add_argument("--sink", default="mp4", choices=["mp4", "null"], help="encode to MP4 (discarded) or drop frames (default mp4)")
    g = p.add_argument_group("weights and reference")
    g.add_argument("--random-weights", action="store_true", help="randomly initialised models even when weights are shipped")
    g.add_argument("--weights", action="append", default=[], metavar="NAME=PATH", help="weights file for a model (repeatable)")
    g.add_argument("--mediapipe", default="auto", choices=["auto", "off", "general", "landscape"],
                   help="reference: auto = MediaPipe's general selfie model if installed (default auto)")
    g = p.add_argument_group("live mode")
    g.add_argument("--seconds", type=float, metavar="S", help="measured seconds per configuration and clip (default 60; --quick 3)")
    g.add_argument("--resolutions", type=_csv(_wxh), metavar="LIST", help="clip sizes (default 640x480,1280x720)")
    g.add_argument("--fps", type=float, default=FPS, help=f"clip frame rate (default {FPS:g})")
    g.add_argument("--ort-threads", type=_csv(int), metavar="LIST", help="ONNX Runtime threads to compare, e.g. 1,2 (default: the app's)")
    p.add_argument("-o", "--out", type=Path, default=Path("benchmark-out"), metavar="DIR", help="output folder (default benchmark-out)")


@dataclass
class Plan:
    mode: str
    device: str
    models: list[str]
    sizes: list[int]
    precisions: list[str]
    backends: list[str]
    batch_sizes: list[int]
    iters: int
    frames: int
    warmup: int
    rounds: int
    threads: int | None
    video: str | None
    camera: int | None
    resize: tuple[int, int] | None
    background: str
    sink: str
    mediapipe: str
    quick: bool


def make_plan(args, device: str) -> Plan:
    cuda = device.startswith("cuda")
    q = args.quick
    video = args.video
    if video is None and args.camera is None and args.mode != "model":
        print("note: no --video or --camera given; pipeline mode times synthetic frames", file=sys.stderr)
    if video is not None and not Path(video).is_file():
        raise GoSelfiesError(f"{video}: no such video file")
    plan = Plan(
        mode=args.mode, device=device,
        models=args.models or (["lite"] if q else ["lite", "resunet34"]),
        sizes=args.sizes or ([128] if q else [0]),
        precisions=args.precisions or (["fp16", "fp32"] if cuda else ["fp32"]),
        backends=args.backends or (["torch", "cudagraph"] if cuda else default_cpu_backends()),
        batch_sizes=args.batch_sizes or ([1] if q or not cuda else [1, 8]),
        iters=args.iters or (3 if q else 30), frames=args.frames or (6 if q else 120),
        warmup=args.warmup if args.warmup is not None else (1 if q else 5),
        rounds=args.rounds or (1 if q else 4), threads=args.threads,
        video=str(video) if video else None, camera=args.camera, resize=args.resize, background=args.background,
        sink=args.sink, mediapipe=args.mediapipe, quick=q,
    )
    from goselfies.engine.models import model_info

    from .engines import MODEL_BACKENDS, PRECISIONS

    for m in plan.models:
        model_info(m)
    for name, values, valid in (("backend", plan.backends, MODEL_BACKENDS), ("precision", plan.precisions, PRECISIONS)):
        bad = [v for v in values if v not in valid]
        if bad:
            raise GoSelfiesError(f"unknown {name} {', '.join(bad)}; valid: {', '.join(valid)}")
    if any(0 < s < 32 for s in plan.sizes) or any(b < 1 for b in plan.batch_sizes):
        raise GoSelfiesError("--sizes must be at least 32 and --batch-sizes at least 1")
    if min(plan.iters, plan.frames) < 1 or plan.warmup < 0:
        raise GoSelfiesError("--iters and --frames must be at least 1, --warmup at least 0")
    return plan


def default_cpu_backends() -> list[str]:
    """torch, onnx and onnx-int8, less those whose extra is not installed (torch: gpu; int8's quantiser: onnx)."""
    from goselfies.extras import available

    return [b for b, module in (("torch", "torch"), ("onnx", "onnxruntime"), ("onnx-int8", "onnx")) if available(module)]


def explicit_weights(explicit: list[str]) -> dict[str, Path]:
    """--weights NAME=PATH items -> model -> file, each checked to hold that model's weights."""
    from goselfies.engine.weights import read_metadata

    chosen: dict[str, Path] = {}
    for item in explicit:
        name, sep, path = item.partition("=")
        if not sep:
            raise GoSelfiesError(f"--weights takes NAME=PATH, got {item}")
        if not path.endswith(".safetensors"):
            raise GoSelfiesError(f"--weights {item}: give a .safetensors file (the onnx backend exports it itself)")
        arch = read_metadata(path).get("arch")
        if arch != name:
            raise GoSelfiesError(f"{path}: weights are for '{arch}', not '{name}'")
        chosen[name] = Path(path)
    return chosen


def resolve_weights(models: list[str], random: bool, explicit: list[str]) -> dict[str, tuple[Path, str]]:
    """model -> (weights path, what it is). Random init is cached so its ONNX export is reused."""
    from goselfies.engine.weights import shipped_weights

    chosen = {m: (path, f"weights {path}") for m, path in explicit_weights(explicit).items()}
    for m in models:
        if m in chosen:
            continue
        shipped = None if random else shipped_weights(m)
        chosen[m] = (shipped, "shipped weights") if shipped else (random_weights(m), "random init (seed 0)")
    return chosen


def random_weights(model: str) -> Path:
    import torch

    from goselfies.engine.networks import create_model
    from goselfies.engine.onnx_file import cache_dir
    from goselfies.engine.weights import save_weights

    path = cache_dir().parent / "random" / f"{model}-seed0.safetensors"
    if not path.is_file():
        with torch.random.fork_rng():
            torch.manual_seed(0)
            net = create_model(model)
        save_weights(net, path, model, {"note": "random init, for speed benchmarks"})
    return path


def _progress(quiet: bool):
    def say(text: str) -> None:
        if not quiet:
            print(f"  {text}", file=sys.stderr, flush=True)
    return say


def run_model_mode(plan: Plan, weights: dict[str, tuple[Path, str]], say) -> list[dict]:
    from .engines import EngineSpec, Skip, build_engine
    from .report import make_row
    from .stats import summarize, time_calls

    rows = []
    for model in plan.models:
        for size in dict.fromkeys(s or default_size(weights[model][0], plan.device) for s in plan.sizes):
            for precision in plan.precisions:
                for backend in plan.backends:
                    for batch in plan.batch_sizes:
                        spec = EngineSpec(model, size, precision, backend, batch, plan.device)
                        net_in = f"{size}x{size}"
                        say(f"model: {model} {backend} {precision} {net_in} batch {batch}")
                        try:
                            eng = build_engine(spec, weights[model][0])
                        except Skip as why:
                            rows.append(make_row("model", model, backend, precision, plan.device, net_in, batch, None,
                                                 skipped=str(why)))
                            continue
                        t0 = time.perf_counter()
                        s = time_calls(eng.run, plan.iters, plan.warmup, eng.sync)
                        setup = eng.setup_s + (time.perf_counter() - t0 - sum(s.total))
                        rows.append(make_row("model", model, backend, eng.precision or precision, plan.device, net_in,
                                             batch, summarize(s, batch), setup_s=setup, note=eng.note))
                        del eng
    return rows


def model_mode_reference(plan: Plan, frame, say) -> list[dict]:
    from ..engine.mediapipe_selfie import MediaPipeSelfie
    from .report import make_row
    from .stats import summarize, time_calls

    variant = _mediapipe_variant(plan)
    if variant is None:
        return []
    say(f"model: mediapipe {variant}")
    ref = MediaPipeSelfie(variant)
    s = time_calls(lambda: ref(frame), plan.iters, plan.warmup)
    ref.close()
    frame_size = f"{frame.shape[1]}x{frame.shape[0]}"
    return [make_row("model", "mediapipe", variant, "fp32", "cpu", _mp_input(variant), 1, summarize(s), frame=frame_size,
                     note=f"mediapipe {ref.version}; includes its pre/post on a {frame_size} frame")]


def _mp_input(variant: str) -> str:
    return "256x256" if variant == "general" else "256x144"


def _mediapipe_variant(plan: Plan) -> str | None:
    from ..engine.mediapipe_selfie import mediapipe_available

    if plan.mediapipe == "off":
        return None
    if plan.mediapipe == "auto":
        return "general" if mediapipe_available() else None
    return plan.mediapipe


def run_pipeline_mode(plan: Plan, weights: dict[str, tuple[Path, str]], out: Path, say) -> list[dict]:
    from goselfies.engine.segmenter import Segmenter, SegmenterConfig

    from .pipeline_bench import ClipSource, PipelineRun, PipelineSpec, run_interleaved
    from .report import make_row
    from .stats import summarize

    video = Path(plan.video) if plan.video else None
    # one camera can be opened once: configurations then share it (and its live frames)
    shared = ClipSource(None, plan.resize, plan.camera) if plan.camera is not None else None
    runs: list[PipelineRun] = []
    rows: list[dict] = []
    backends = [b for b in plan.backends if b in ("torch", "onnx", "onnx-int8")]
    for model in plan.models:
        for size in dict.fromkeys(s or default_size(weights[model][0], plan.device) for s in plan.sizes):
            for backend in backends:
                try:
                    seg = Segmenter(SegmenterConfig(model=model, weights=weights[model][0], device=plan.device, size=size,
                                                    backend=backend), quiet=True)
                except GoSelfiesError as exc:
                    rows.append(make_row("pipeline", model, backend, "-", plan.device, "-", 1, None, skipped=str(exc)))
                    continue
                cuda_torch = seg.device.startswith("cuda") and backend == "torch"
                precision = "int8" if backend == "onnx-int8" else "fp16" if cuda_torch else "fp32"
                runner = seg.runner
                timings = (lambda r=runner: r.timings) if runner.name.startswith("onnx") else None
                runs.append(PipelineRun(PipelineSpec(model, size, backend, plan.device, precision), seg,
                                        shared or ClipSource(video, plan.resize), plan.background, plan.sink, out, timings,
                                        describe=seg.describe()))
                if cuda_torch:  # the same network with the frame path's steps on the CPU: the device engine's gain
                    runs.append(PipelineRun(
                        PipelineSpec(model, size, "torch+host-path", plan.device, precision), seg,
                        shared or ClipSource(video, plan.resize), plan.background, plan.sink, out,
                        describe=seg.describe() + ", frame path on the CPU", engine="numpy"))
    variant = _mediapipe_variant(plan)
    if variant:
        from ..engine.mediapipe_selfie import MediaPipeSelfie

        ref = MediaPipeSelfie(variant)
        runs.append(PipelineRun(PipelineSpec("mediapipe", 256, variant, "cpu", "fp32"), ref, shared or ClipSource(video, plan.resize),
                                plan.background, plan.sink, out, describe=f"mediapipe {variant} {ref.version}"))
    try:
        run_interleaved(runs, plan.frames, plan.warmup, plan.rounds, say)
    finally:
        for run in runs:
            run.close()
    for run in runs:
        sp = run.spec
        h, w = run.frame_shape[:2]
        if sp.model == "mediapipe":
            net_in, note = _mp_input(sp.backend), run.describe
        else:
            seg = run.segment
            nh, nw, ph, pw = seg.geometry(h, w)
            net_in, note = f"{pw}x{ph}", weights[sp.model][1]
            if seg.runner.threads:
                note += f"; ORT {seg.runner.threads} threads"
        rows.append(make_row("pipeline", sp.model, sp.backend, sp.precision, sp.device, net_in, 1,
                             summarize(run.samples), frame=f"{w}x{h}", note=note))
    return rows


def run(args) -> int:
    if args.mode == "live":
        return run_live_mode(args)
    from goselfies.engine.segmenter import resolve_device
    from goselfies.extras import available

    from .machine import describe, load_average, machine_info
    from .report import add_ratios, format_table, write_chart, write_csv, write_json

    device = resolve_device(args.device, quiet=True)
    plan = make_plan(args, device)
    if plan.threads:
        import os

        if available("torch"):
            import torch

            torch.set_num_threads(plan.threads)
        os.environ["GOSELFIES_ORT_THREADS"] = str(plan.threads)
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GoSelfiesError(f"cannot create {out} ({exc.strerror or exc})") from None
    machine = machine_info(device)
    print(f"benchmark-fps on {describe(machine)}", file=sys.stderr)
    weights = resolve_weights(plan.models, args.random_weights, args.weights)
    for m, (path, what) in weights.items():
        if what.startswith("random"):
            print(f"note: {m}: no shipped weights used, timing a randomly initialised model "
                  "(speed does not depend on the weight values)", file=sys.stderr)
    say = _progress(quiet=False)
    t0 = time.perf_counter()
    rows: list[dict] = []
    if plan.mode in ("model", "all"):
        rows += run_model_mode(plan, weights, say)
        rows += model_mode_reference(plan, _reference_frame(plan), say)
    if plan.mode in ("pipeline", "all"):
        rows += run_pipeline_mode(plan, weights, out, say)
    add_ratios(rows)
    machine["load_average_end"] = load_average()
    machine["wall_s"] = round(time.perf_counter() - t0, 1)
    config = {**asdict(plan), "argv": getattr(args, "_argv", sys.argv[1:]), "weights": {m: str(p) for m, (p, _) in weights.items()}}
    write_json(out / "results.json", machine, config, rows)
    write_csv(out / "results.csv", rows)
    hw = machine.get("gpu") or f"{machine['cpu']}, {machine['usable_cores']} cores"
    written = [out / "results.json", out / "results.csv"]
    if available("matplotlib"):
        write_chart(out / "chart.png", rows, f"Go-selfies benchmark-fps on {hw} (load avg {machine['load_average_start'][0] if machine['load_average_start'] else '?'})")
        written.append(out / "chart.png")
    else:
        print("note: no chart.png without matplotlib (pip install \"goselfies[train]\")", file=sys.stderr)
    print(format_table(rows))
    print(f"wrote {', '.join(map(str, written))} ({machine['wall_s']} s)", file=sys.stderr)
    return 0


def run_live_mode(args) -> int:
    import json

    from ..engine.mediapipe_selfie import mediapipe_available
    from .live_bench import default_configs, format_rows, make_clip, run_live
    from .machine import describe, machine_info

    if not args.video or not Path(args.video).is_file():
        raise GoSelfiesError("live mode plays a video as the camera: give --video PATH (a clip of a person)")
    q = args.quick
    seconds = args.seconds or (3.0 if q else 60.0)
    resolutions = args.resolutions or ([(320, 240)] if q else [(640, 480), (1280, 720)])
    rounds = args.rounds or (1 if q else 2)
    warmup = 1.0 if q else 3.0
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    machine = machine_info(args.device)
    print(f"benchmark-fps live on {describe(machine)}", file=sys.stderr)
    say = _progress(quiet=False)
    clips = [(f"{w}x{h}@{args.fps:g}", make_clip(Path(args.video), w, h, args.fps, out / "clips", seconds + 10))
             for w, h in resolutions]
    mediapipe = args.mediapipe != "off" and mediapipe_available()
    models = args.models or ["lite"]
    weights = {m: str(path) for m, path in explicit_weights(args.weights).items()}
    configs = default_configs(models, args.sizes or [0], args.backends or ["auto"],
                              args.ort_threads or [None], mediapipe, args.device, weights)
    rows = run_live(configs, clips, seconds, warmup, rounds, say)
    table = format_rows(rows)
    print(table)
    (out / "live.md").write_text(table + "\n")
    (out / "live.json").write_text(json.dumps({"machine": machine, "argv": getattr(args, "_argv", sys.argv[1:]),
                                               "rows": rows}, indent=2, default=lambda o: o.item()))
    print(f"wrote {out / 'live.json'} and {out / 'live.md'}", file=sys.stderr)
    return 0


def _reference_frame(plan: Plan):
    from .pipeline_bench import ClipSource

    src = ClipSource(Path(plan.video) if plan.video else None, plan.resize, plan.camera)
    try:
        return src.next()
    finally:
        src.close()


def main(argv: list[str] | None = None) -> int:
    """The ``benchmark-fps`` console script (same as ``goselfies benchmark-fps``)."""
    parser = argparse.ArgumentParser(prog="benchmark-fps")
    add_arguments(parser)
    args = parser.parse_args(argv)
    args._argv = list(sys.argv[1:] if argv is None else argv)
    return exit_status("benchmark-fps", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
