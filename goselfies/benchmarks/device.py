"""One command for a lent GPU: every GPU number BENCHMARKS.md asks for, in about 6 minutes on an H100/H200.

    python -m goselfies.benchmarks.device --data DATA -o OUT            # on the device (--device cuda)
    python -m goselfies.benchmarks.device --data DATA -o OUT --dry-run  # a small CPU run: what CI runs

``DATA`` holds ``videos/desk_960x540.mp4`` and ``eg1800/test`` (a few pairs are enough): the only shared files the
device needs, a few MB to carry; with ``README.md`` and ``videos/webcam_gestures_640x480.mp4`` beside them the CUDA
tests of the device path run too (``GOSELFIES_TEST_DATA``; without them they skip, saying so).

First the decode-alone and encode-alone ceilings of ``goselfies video``'s settings on a 1920x1080 clip made from
``desk_960x540.mp4`` (four times over, 1092 frames, as the first H200 run's); then the steps, each a subprocess with
its own time limit, the user's numbers first (a call cut short keeps those):

1. ``goselfies video`` on that clip with its defaults: wall time, cold (a new process, as a user runs it);
2. ``goselfies video``'s job serial against pipelined (``benchmarks.filejob``, warmed up), its CPU split by thread
   (where the CPU of run G3's warm job went is not yet located: BENCHMARKS.md, run G3);
3. live 1920x1080@30 (``benchmark-fps live``): dropped frames, p99, cores;
4. the network alone: resunet34, quality and lite at 512 px, fp16 / bf16 / fp32, batch 1 / 8 / 32;
5. the frame path's stages timed one by one on that clip (``benchmark-fps pipeline``: decode, segment, composite,
   encode; the steps a live frame takes, not the file job's look-ahead and second pass);
6. the CUDA tests (``pytest -m cuda``);
7. ``goselfies evaluate`` on the EG1800 pairs given.

Every step's output goes to ``OUT/log.txt``, and ``OUT/device.md`` gets one row per step as it ends, ready for
BENCHMARKS.md. A step that fails or runs out of time says so in its row, and the next step runs.
On the device the project needs only what the machine has plus PyAV, segmentation-models-pytorch, platformdirs
and pyvirtualcam, carried as wheels (the device tool's README says how).
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from goselfies.errors import GoSelfiesError, exit_status
from goselfies.paths import output_folder

CLIP_FRAMES = 1092  # desk_960x540.mp4 (273 frames) four times over


@dataclass(frozen=True)
class Scale:
    """How big each step is: the device run, and the CPU dry run that keeps this script from rotting."""

    device: str
    models: str
    precisions: str
    batches: str
    iters: int
    frames: int  # pipeline mode's timed frames
    loops: int  # desk_960x540.mp4 repeated this many times
    size: tuple[int, int]  # the clip's frame size
    live_seconds: float
    timeout: int  # seconds a step may take


FULL = Scale("cuda", "resunet34,quality,lite", "fp16,bf16,fp32", "1,8,32", 200, 240, 4, (1920, 1080), 15, 150)
DRY = Scale("cpu", "lite", "fp32", "1", 2, 4, 1, (320, 180), 2, 240)


def make_clip(source: Path, out: Path, loops: int, size: tuple[int, int]) -> Path:
    """``source`` enlarged to ``size`` (bilinear), ``loops`` times over, as H.264 at 30 fps (x264 ultrafast, CRF 28)."""
    import av
    import cv2

    if not source.is_file():
        raise GoSelfiesError(f"{source}: not found (give --data, the folder holding videos/desk_960x540.mp4)")
    with av.open(str(source)) as inp:
        frames = [cv2.resize(f.to_ndarray(format="bgr24"), size, interpolation=cv2.INTER_LINEAR)
                  for f in inp.decode(video=0)]
    with av.open(str(out), "w") as o:
        st = o.add_stream("libx264", rate=30, options={"crf": "28", "preset": "ultrafast"})
        st.width, st.height, st.pix_fmt = *size, "yuv420p"
        for _ in range(loops):
            for img in frames:
                for p in st.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                    o.mux(p)
        for p in st.encode():
            o.mux(p)
    return out


def ceilings(clip: Path, scratch: Path) -> str:
    """Decoding alone and encoding alone at ``goselfies video``'s settings (frames a second), the same clip."""
    from goselfies.io.media import VideoReader, VideoWriter

    t0 = time.perf_counter()
    with VideoReader(clip) as r:
        frames = [f for f in r]
        fps, size = r.fps, (r.width, r.height)
    decode = len(frames) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    with VideoWriter(scratch / "encode.mp4", fps, size) as w:
        for f in frames:
            w.write(f)
    encode = len(frames) / (time.perf_counter() - t0)
    return f"decode alone {decode:.0f} fps, encode alone {encode:.0f} fps ({len(frames)} frames)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m goselfies.benchmarks.device", description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, metavar="DIR",
                   help="a folder with videos/desk_960x540.mp4 and eg1800/test (images/, masks/)")
    p.add_argument("-o", "--out", type=Path, required=True, metavar="DIR", help="where log.txt and device.md go")
    p.add_argument("--dry-run", action="store_true", help="a small run on the CPU (what CI runs)")
    args = p.parse_args(argv)

    def run() -> int:
        scale = DRY if args.dry_run else FULL
        out = output_folder(args.out)
        log = (out / "log.txt").open("w")
        rows: list[tuple[str, str, str]] = []
        py = [sys.executable]
        clip = make_clip(args.data / "videos" / "desk_960x540.mp4", out / "clip.mp4", scale.loops, scale.size)
        eg = args.data / "eg1800" / "test"
        d = scale.device
        steps = [
            ("goselfies video, defaults", py + ["-m", "goselfies", "video", str(clip), "-o", str(out / "video.mp4"),
                                                "--device", d]),
            ("goselfies video's job, serial / pipelined", py + ["-m", "goselfies.benchmarks.filejob", str(clip),
                                                                 "--rounds", "1", "--device", d]),
            ("live at the clip's size, 30 fps", py + ["-m", "goselfies.benchmarks.main", "live", "--device", d,
                                                     "--video", str(clip), "--resolutions", "x".join(map(str, scale.size)),
                                                     "--seconds", str(scale.live_seconds), "--rounds", "1",
                                                     "--mediapipe", "off", "-o", str(out / "live")]),
            ("network alone, 512 px", py + ["-m", "goselfies.benchmarks.main", "model", "--device", d, "--models",
                                            scale.models, "--sizes", "512", "--precisions", scale.precisions,
                                            "--backends", "torch,cudagraph" if d == "cuda" else "torch",
                                            "--batch-sizes", scale.batches, "--iters", str(scale.iters),
                                            "--mediapipe", "off", "-o", str(out / "model")]),
            ("the frame path per stage (benchmark-fps pipeline)",
             py + ["-m", "goselfies.benchmarks.main", "pipeline", "--device", d, "--models", "quality", "--video",
                   str(clip), "--frames", str(scale.frames), "--mediapipe", "off", "-o", str(out / "pipe")]),
            ("CUDA tests", py + ["-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider",
                                 str(Path(__file__).resolve().parents[2] / "tests")]),
            ("evaluate, EG1800 pairs", py + ["-m", "goselfies", "evaluate", "--data", str(eg), "--device", d]),
        ]
        rows.append(("decode and encode ceilings", "(in process)", ceilings(clip, out)))
        for i, (name, cmd) in enumerate(steps, 1):
            print(f"[{i}/{len(steps)}] {name}", file=sys.stderr, flush=True)
            log.write(f"\n== {name}\n$ {shlex.join(cmd)}\n")
            log.flush()
            t0 = time.perf_counter()
            try:
                r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   timeout=scale.timeout, env={**os.environ, "QT_QPA_PLATFORM": "offscreen",
                                                           "GOSELFIES_TEST_DATA": str(args.data.resolve())})
                text, status = r.stdout, ("ok" if r.returncode == 0 else f"failed (exit {r.returncode})")
            except subprocess.TimeoutExpired as exc:
                text, status = (exc.stdout or "") if isinstance(exc.stdout, str) else "", f"out of time ({scale.timeout} s)"
            log.write(text)
            log.flush()
            tail = " / ".join(line.strip() for line in text.strip().splitlines()[-3:])
            rows.append((name, f"{status}, {time.perf_counter() - t0:.0f} s", tail.replace("|", "\\|")[:400]))
            table = ["| step | status, wall | last lines |", "|---|---|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
            (out / "device.md").write_text("\n".join(table) + "\n")  # after each step: a call cut short keeps its rows
        log.close()
        print("\n".join(table))
        return 0 if all(r[1].startswith(("ok", "(in")) for r in rows) else 1

    return exit_status("device", run)


if __name__ == "__main__":
    sys.exit(main())
