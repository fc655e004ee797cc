"""Run 20: CPU per frame of the live frame path (no skip, no look-closer, blur) with lite's int8 file on ONNX Runtime
and with MediaPipe, the segmenter alone and the whole path, on 150 frames of a clip resized to W x H, then each path's
cProfile (the 14 largest own times).

    python docs/benchmark-results/cpu-2core-run20/path_cpu.py CLIP W H [MODEL BACKEND]

MODEL BACKEND: another live model in place of lite on onnx-int8 (run 24: ``tiny onnx``).
"""
import cProfile
import os
import pstats
import sys

import av
import cv2

from goselfies.engine.mediapipe_selfie import MediaPipeSelfie
from goselfies.frame.framepath import FramePath, PathConfig
from goselfies.live.session import load_segmenter
from goselfies.live.settings import LiveSettings

clip, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
model, backend = sys.argv[4:6] if len(sys.argv) > 5 else ("lite", "onnx-int8")
segs = {f"{model} {backend}": load_segmenter(LiveSettings(model=model, backend=backend)),
        "MediaPipe": MediaPipeSelfie("general")}
frames = []
with av.open(clip) as c:
    for f in c.decode(video=0):
        frames.append(cv2.resize(f.to_ndarray(format="bgr24"), (w, h), interpolation=cv2.INTER_AREA))
        if len(frames) == 150:
            break


def cpu() -> float:
    t = os.times()
    return t.user + t.system


post = LiveSettings().post()
for name, seg in segs.items():
    path = FramePath(seg, PathConfig(background="blur", post=post, skip=False, look_closer=False))
    for f in frames[:10]:
        path(f)
    t = cpu()
    for f in frames:
        seg(f)
    alone = cpu() - t
    t = cpu()
    for f in frames:
        path(f)
    whole = cpu() - t
    n = len(frames)
    print(f"{name}: segmenter alone {alone / n * 1000:.2f} ms, frame path {whole / n * 1000:.2f} ms CPU a frame", flush=True)
    profile = cProfile.Profile()
    profile.enable()
    for f in frames:
        path(f)
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(14)
