"""Run 18: CPU per frame of the live frame path (no skip, no look-closer) for two lite files and MediaPipe,
interleaved in one process, on 150 frames of a clip at a given size.

    python docs/benchmark-results/cpu-2core-run18/path_cpu.py CLIP W H OLD_LITE.onnx
"""
import os
import sys

import av
import cv2

from goselfies.engine.mediapipe_selfie import MediaPipeSelfie
from goselfies.frame.framepath import FramePath, PathConfig
from goselfies.live.session import load_segmenter
from goselfies.live.settings import LiveSettings

clip, w, h, old = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
segs = {"stage 6 (full decoder) @224": load_segmenter(LiveSettings(backend="onnx", weights=old, size=224)),
        "stage 7 (shipped) @288": load_segmenter(LiveSettings(backend="onnx")),
        "stage 7 @256": load_segmenter(LiveSettings(backend="onnx", size=256)),
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
for r in range(2):
    for name, seg in segs.items():
        path = FramePath(seg, PathConfig(background="blur", post=post, skip=False, look_closer=False))
        for f in frames[:10]:
            path(f)
        t = cpu()
        for f in frames:
            path(f)
        print(f"round {r + 1} {w}x{h} {name}: {(cpu() - t) / len(frames) * 1000:.2f} ms CPU a frame", flush=True)
