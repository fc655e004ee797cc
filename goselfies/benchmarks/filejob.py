"""``goselfies video``'s job, serial against pipelined, interleaved in one run: frames a second and CPU.

    python -m goselfies.benchmarks.filejob VIDEO [--rounds N] [--device auto|cpu|cuda]

Both run the command's defaults (the quality tier on a CPU, refine, smoothing with look-ahead, blur, the second
pass); ``serial`` is the job with every stage in one thread, one after another, ``pipelined`` what ``goselfies
video`` runs (decoding and encoding on threads of their own). A first job, not timed, runs the clip once so that
neither mode pays the first calls of each network input shape (on a GPU they cost the most; BENCHMARKS.md, run G3),
and the order of the two alternates by round. Writes to a temporary folder.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from goselfies.engine.segmenter import Segmenter, SegmenterConfig
from goselfies.errors import exit_status
from goselfies.frame.postprocess import PostProcess
from goselfies.frame.videofile import VideoJob


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m goselfies.benchmarks.filejob", description=__doc__.split("\n")[0])
    p.add_argument("video")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    args = p.parse_args(argv)

    def run() -> int:
        seg = Segmenter(SegmenterConfig(device=args.device, realtime=False))
        print(f"model: {seg.describe()}, refined; {sys.platform}, {os.cpu_count()} cores", file=sys.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            with VideoJob(args.video, Path(tmp) / "out.mp4", second_pass=True) as job:
                job.run(seg, PostProcess())
            for r in range(args.rounds):
                for pipelined in ((False, True) if r % 2 == 0 else (True, False)):
                    t0, c0 = time.perf_counter(), cpu_seconds()
                    with VideoJob(args.video, Path(tmp) / "out.mp4", second_pass=True) as job:
                        res = job.run(seg, PostProcess(), pipelined=pipelined)
                    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
                    print(f"round {r + 1} {'pipelined' if pipelined else 'serial':9}: {res.frames} frames in "
                          f"{wall:.1f} s = {res.frames / wall:.1f} fps, {cpu / wall:.2f} cores, "
                          f"{cpu / res.frames * 1000:.0f} ms CPU a frame", flush=True)
        return 0

    return exit_status("filejob", run)


if __name__ == "__main__":
    sys.exit(main())
