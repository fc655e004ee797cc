"""``goselfies video``'s job, serial against pipelined, interleaved in one run: frames a second and CPU.

    python -m goselfies.benchmarks.filejob VIDEO [--rounds N] [--device auto|cpu|cuda]

Both run the command's defaults (the quality tier on a CPU, refine, smoothing with look-ahead, blur, the second
pass); ``serial`` is the job with every stage in one thread, one after another, ``pipelined`` what ``goselfies
video`` runs (decoding on a thread of its own, compositing and encoding on another). A first job, not timed, runs the clip once so that
neither mode pays the first calls of each network input shape (on a GPU they cost the most; BENCHMARKS.md, run G3),
and the order of the two alternates by round. Writes to a temporary folder. On Linux each job's CPU is also split by
thread (``ThreadCPU``): the network's (the caller's), the encoder's (compositing and encoding), decoding, and the
native threads of the libraries (x264, ONNX Runtime, PyTorch, OpenCV), which all carry the process's name.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from goselfies.engine.segmenter import Segmenter, SegmenterConfig
from goselfies.errors import exit_status
from goselfies.frame.postprocess import PostProcess
from goselfies.frame.videofile import VideoJob


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


class ThreadCPU:
    """CPU seconds by thread over a block (Linux, ``/proc/self/task``; elsewhere empty), sampled every 0.2 s so that
    threads which end inside the block (the encoder's own) still count."""

    def __init__(self):
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.start: dict[str, float] = {}
        self.seen: dict[str, tuple[str, float]] = {}  # tid -> (name, CPU seconds)
        self._stop = threading.Event()

    def sample(self) -> dict[str, tuple[str, float]]:
        names = {str(t.native_id): t.name for t in threading.enumerate()}
        got = {}
        for task in Path(f"/proc/{os.getpid()}/task").glob("*"):
            try:
                stat = (task / "stat").read_text()
            except OSError:  # ended since the listing
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            got[task.name] = (names.get(task.name, f"native ({comm})"), (int(fields[11]) + int(fields[12])) / self.tick)
        return got

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            self.seen.update(self.sample())

    def __enter__(self) -> "ThreadCPU":
        self.start = {tid: cpu for tid, (_, cpu) in self.sample().items()}
        self._thread = threading.Thread(target=self._poll, name="thread-cpu", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.seen.update(self.sample())

    def line(self, frames: int) -> str:
        """'name ms, ...' of CPU a frame, largest first; native threads each on their own, the top few."""
        used = [(name, cpu - self.start.get(tid, 0.0)) for tid, (name, cpu) in self.seen.items() if name != "thread-cpu"]
        named: dict[str, float] = {}
        for name, cpu in used:
            if not name.startswith("native"):
                named[name] = named.get(name, 0.0) + cpu
        native = sorted((cpu for name, cpu in used if name.startswith("native")), reverse=True)
        parts = [f"{name} {cpu / frames * 1000:.1f}" for name, cpu in sorted(named.items(), key=lambda x: -x[1])]
        parts.append(f"{len(native)} native threads {sum(native) / frames * 1000:.1f} (the most: "
                     + ", ".join(f"{cpu / frames * 1000:.1f}" for cpu in native[:6]) + ")")
        return "ms CPU a frame by thread: " + ", ".join(parts)


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
                    with ThreadCPU() as threads, VideoJob(args.video, Path(tmp) / "out.mp4", second_pass=True) as job:
                        res = job.run(seg, PostProcess(), pipelined=pipelined)
                    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
                    print(f"round {r + 1} {'pipelined' if pipelined else 'serial':9}: {res.frames} frames in "
                          f"{wall:.1f} s = {res.frames / wall:.1f} fps, {cpu / wall:.2f} cores, "
                          f"{cpu / res.frames * 1000:.0f} ms CPU a frame", flush=True)
                    if threads.seen:
                        print(f"    {threads.line(res.frames)}", flush=True)
        return 0

    return exit_status("filejob", run)


if __name__ == "__main__":
    sys.exit(main())
