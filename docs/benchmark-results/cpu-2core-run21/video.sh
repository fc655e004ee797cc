#!/bin/bash
# Run 21: goselfies video (default options: quality, refine, smoothing, blur) on the 1080p desk clip x4 (1092 frames),
# ONNX Runtime fp32 against the int8 file, interleaved; wall and CPU from /usr/bin/time; the outputs compared after.
# Usage: video.sh CLIP ROUNDS   (run from the repository root)
clip=$1
for r in $(seq 1 ${2:-2}); do for b in onnx onnx-int8; do
  /usr/bin/time -f "$b round $r: user %U s, sys %S s, wall %e s" python -m goselfies video "$clip" --backend $b -o /tmp/run21_$b.mp4 2>&1 | grep -E "round|error"
done; done
