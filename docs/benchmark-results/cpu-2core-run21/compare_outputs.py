"""Run 21: two video outputs of the same clip compared frame by frame: frames, timestamps, the mean absolute difference
in grey levels over all frames and the largest frame's mean.

    python docs/benchmark-results/cpu-2core-run21/compare_outputs.py A.mp4 B.mp4
"""
import sys

import av
import numpy as np

with av.open(sys.argv[1]) as a, av.open(sys.argv[2]) as b:
    diffs, same_times = [], True
    for fa, fb in zip(a.decode(video=0), b.decode(video=0)):
        same_times &= fa.pts == fb.pts
        diffs.append(np.abs(fa.to_ndarray(format="rgb24").astype(np.int16) - fb.to_ndarray(format="rgb24")).mean())
    counts = (a.streams.video[0].frames, b.streams.video[0].frames)
print(f"frames {counts}, timestamps equal: {same_times}, mean |difference| {np.mean(diffs):.3f} grey levels, "
      f"largest frame's {np.max(diffs):.3f}")
