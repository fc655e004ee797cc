#!/bin/bash
# goselfies video, 1080p desk clip x4 (1092 frames), old tree (7cba2f9: the GPU issue's "today") against new,
# interleaved; wall and CPU from /usr/bin/time. Usage: video.sh OLD_TREE NEW_TREE CLIP ROUNDS
old=$1 new=$2 clip=$3
for r in $(seq 1 ${4:-2}); do for v in old new; do d=$new; [ $v = old ] && d=$old
  (cd $d && PYTHONPATH=$d /usr/bin/time -f "$v round $r: user %U s, sys %S s, wall %e s" python -m goselfies video $clip -o /tmp/run17_$v.mp4 2>&1 | grep -E "^wrote|round")
done; done
