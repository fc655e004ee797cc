"""Run 19: the live session's frame path with its defaults (skip on, look-closer on, ONNX Runtime) with the stage-7 and
the shipped stage-8 lite weights, interleaved in one process, two rounds: CPU a frame, on how many frames the network
ran, and how many look-closer runs (160x160 inputs), on the consecutive frames of a clip resized to W x H.

    python docs/benchmark-results/cpu-2core-run19/skip_cpu.py CLIP W H STAGE7_LITE.onnx
"""
import os, sys
import av, cv2
from goselfies.frame.framepath import FramePath
from goselfies.live.session import load_segmenter, path_config
from goselfies.live.settings import LiveSettings
clip, w, h, old = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
segs = {"stage 7": load_segmenter(LiveSettings(backend="onnx", weights=old)),
        "stage 8": load_segmenter(LiveSettings(backend="onnx"))}
frames = []
with av.open(clip) as c:
    for f in c.decode(video=0):
        frames.append(cv2.resize(f.to_ndarray(format="bgr24"), (w, h), interpolation=cv2.INTER_AREA))
        if len(frames) == 300: break
class Count:
    def __init__(s, seg): s.seg, s.n = seg, []
    def __getattr__(s, k): return getattr(s.seg, k)
    def __call__(s, x, *a, **k): s.n.append(x.shape[:2]); return s.seg(x, *a, **k)
def cpu():
    t = os.times(); return t.user + t.system
for r in range(2):
    for name, seg in segs.items():
        c = Count(seg)
        path = FramePath(c, path_config(LiveSettings(backend="onnx")))
        nets = 0
        t = cpu()
        for f in frames:
            nets += bool(path(f)[2])
        closer = sum(1 for s in c.n if s == (160, 160))
        print(f"round {r+1} {w}x{h} {name}: {(cpu()-t)/len(frames)*1000:.2f} ms CPU a frame, network on {nets} of {len(frames)}, look-closer {closer}", flush=True)
