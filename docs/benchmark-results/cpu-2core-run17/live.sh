#!/bin/bash
# The live session, old tree against new, interleaved, 30 s a row. Usage: live.sh OLD_TREE NEW_TREE [DATA]
# (run from anywhere; DATA defaults to ../shared/data beside the new tree; writes under /tmp/live17)
old=$1 new=$2 D=${3:-$(realpath "$2/../shared/data")}/videos
for v in old new; do d=$new; [ $v = old ] && d=$old
  for res in 640x480 1280x720; do clip=$D/webcam_gestures_640x480.mp4; [ $res = 1280x720 ] && clip=$D/desk_960x540.mp4
    (cd "$d" && PYTHONPATH=$d python -m goselfies benchmark-fps live --video "$clip" --resolutions $res --seconds 30 \
      --rounds 1 --mediapipe off -o /tmp/live17/$v-$res 2>&1 | grep -E "^\|" | sed "s/^/$v /")
  done
done
