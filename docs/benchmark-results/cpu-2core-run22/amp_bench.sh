#!/bin/bash
# One training epoch of N steps at 512 px, batch 16, on the quality network: float32 against bfloat16 autocast,
# interleaved, on the real training folders (no validation). Prints each run's seconds from its log.csv.
cd "$(dirname "$0")/../../.."
D=../shared/data
STEPS=${1:-4}
for round in 1 2; do
  for amp in --no-amp --amp; do
    out=${OUT:-/tmp/run22}/$round$amp
    rm -rf $out
    .venv/bin/goselfies train --data $D/eg1800/train --data $D/humanseg_remove_bg --data $D/ccp_fullbody \
      --model quality --size 512 --epochs 1 --batch 16 --lr 3e-5 --val-fraction 0 --max-steps $STEPS \
      --init-weights goselfies/assets/models/quality.safetensors $amp --out $out > /dev/null 2>&1
    python3 -c "import csv,sys; r=list(csv.DictReader(open('$out/log.csv')))[-1]; print('$round $amp', $STEPS, 'steps', round(float(r['seconds']),1), 's', round(float(r['seconds'])/$STEPS,1), 's/step', 'loss', r['train_loss'])"
  done
done
