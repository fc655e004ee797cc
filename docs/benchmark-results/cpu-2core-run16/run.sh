#!/usr/bin/env bash
# before (7700fcd, /tmp/before) against after (main's working tree), interleaved, nothing else running
set -u
PY=/work/main/.venv/bin/python
DATA=/work/shared/data
cd /tmp/bench
export OMP_NUM_THREADS=
for round in 1 2; do
  for v in before after; do
    if [ $v = before ]; then PP=/tmp/before; else PP=/work/main; fi
    echo "== round $round $v live"
    PYTHONPATH=$PP $PY -m goselfies benchmark-fps live --video $DATA/videos/webcam_gestures_640x480.mp4 --resolutions 640x480 --backends onnx --seconds 20 --rounds 1 --mediapipe off -o live-$v-$round > live-$v-$round.log 2>&1
    grep -E "^\| |lite|cores" live-$v-$round.log | head -12
    echo "== round $round $v video"
    rm -f out-$v.mp4
    PYTHONPATH=$PP /usr/bin/time -f "video: %U user %S sys %e wall" $PY -m goselfies video $DATA/videos/desk_960x540.mp4 -o out-$v-$round.mp4 2>&1 | grep -E "video:|frames"
  done
done
for v in before after; do
  if [ $v = before ]; then PP=/tmp/before; else PP=/work/main; fi
  rm -rf demo-$v; PYTHONPATH=$PP $PY -m goselfies demo -o demo-$v > /dev/null 2>&1
done
echo "== demo"; diff -r demo-before demo-after && echo "demo outputs identical ($(ls demo-after | wc -l) files)"
