"""Cold against warm: goselfies video's job three times in one process on a 1080p clip (273 frames), CUDA.
Round 1 (cold) times each network input shape's first calls (synchronised); rounds 2-3 run untouched."""
import os, sys, time
from pathlib import Path

import cv2
from goselfies.benchmarks.device import make_clip
from goselfies.engine.segmenter import Segmenter, SegmenterConfig
from goselfies.frame.postprocess import PostProcess
from goselfies.frame.videofile import VideoJob

out, device = Path(sys.argv[1]), sys.argv[2]
size = (1920, 1080) if device == "cuda" else (320, 180)
out.mkdir(parents=True, exist_ok=True)
clip = make_clip(Path(".dev/data/videos/desk_960x540.mp4"), out / "clip.mp4", 1, size)
import torch
print("torch threads", torch.get_num_threads(), "cv2 threads", cv2.getNumThreads(), "cpus", os.cpu_count(), flush=True)
t0 = time.perf_counter()
seg = Segmenter(SegmenterConfig(device=device, realtime=False))
print(f"model {seg.describe()} loaded in {time.perf_counter() - t0:.1f} s", flush=True)
eng = getattr(seg.runner, "engine", None)
orig = eng._forward if eng else None
seen = {}
def timed(x):
    key = tuple(x.shape)
    n = seen[key] = seen.get(key, 0) + 1
    if n > 3:
        return orig(x)
    torch.cuda.synchronize(); t = time.perf_counter()
    y = orig(x)
    torch.cuda.synchronize()
    print(f"  shape {key} call {n}: {(time.perf_counter() - t) * 1000:.1f} ms", flush=True)
    return y

def cpu():
    t = os.times(); return t.user + t.system

for r, (pipelined, instrument) in enumerate([(True, True), (True, False), (False, False), (True, False)], 1):
    if eng:
        eng._forward = timed if instrument else orig
    t, c = time.perf_counter(), cpu()
    with VideoJob(clip, out / "o.mp4", second_pass=True) as job:
        res = job.run(seg, PostProcess(), pipelined=pipelined)
    wall, cp = time.perf_counter() - t, cpu() - c
    print(f"round {r} {'pipelined' if pipelined else 'serial'}{' (cold, first calls timed)' if instrument else ''}: "
          f"{res.frames} frames {wall:.1f} s = {res.frames / wall:.1f} fps, {cp / wall:.2f} cores, "
          f"{cp / res.frames * 1000:.0f} ms CPU a frame", flush=True)
print("shapes:", len(seen), sorted(seen.items()))
