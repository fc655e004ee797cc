"""Run 19: CPU per frame of the live frame path (no skip, no look-closer, blur, ONNX Runtime) with the network's input
padded as before (``prep.SHRINK = 0``) and fitted onto a multiple of 32 (``prep.network_fit``, the default), and
MediaPipe in the same pipeline, interleaved in one process, on 150 frames of a clip resized to W x H.

    python docs/benchmark-results/cpu-2core-run19/path_cpu.py CLIP W H
"""
import os
import sys

import av
import cv2

from goselfies.engine import prep
from goselfies.engine.mediapipe_selfie import MediaPipeSelfie
from goselfies.frame.framepath import FramePath, PathConfig
from goselfies.live.session import load_segmenter
from goselfies.live.settings import LiveSettings

clip, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lite = load_segmenter(LiveSettings(backend="onnx"))
configs = {"lite, padded (before)": (lite, 0.0), "lite, network_fit": (lite, prep.SHRINK),
           "MediaPipe": (MediaPipeSelfie("general"), prep.SHRINK)}
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
    for name, (seg, shrink) in configs.items():
        prep.SHRINK = shrink
        path = FramePath(seg, PathConfig(background="blur", post=post, skip=False, look_closer=False))
        for f in frames[:10]:
            path(f)
        t = cpu()
        for f in frames:
            path(f)
        nh, nw, ph, pw = lite.geometry(h, w)
        shape = f" (network {nw}x{nh} padded to {pw}x{ph})" if seg is lite else ""
        print(f"round {r + 1} {w}x{h} {name}{shape}: {(cpu() - t) / len(frames) * 1000:.2f} ms CPU a frame", flush=True)
