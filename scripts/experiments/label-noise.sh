#!/usr/bin/env bash
# The label-noise benchmark: can a run's per-sample history find the labels we flipped?
# LeNet-5 on Fashion-MNIST with symmetric label noise (10 % and 20 %), trained with Normal and
# with LOW (lambda 1, 0.1 and 0.01), one seed; then, for each noise rate, strategy and score (LOW's
# weights: later-half mean, mean, fraction above 1; baselines: mean loss, area under the margin),
# the ROC AUC of finding the flipped labels and the precision at the true noise count.
#
#   bash scripts/experiments/label-noise.sh                 # everything (about 8 min on an idle 2-core machine)
#   OUT=runs/ln EPOCHS=5 TRAIN_LIMIT=5000 bash scripts/experiments/label-noise.sh   # quicker
#
# Runs one training at a time under `nice`, with one intra-op thread (two OpenMP threads on a
# busy 2-core machine wait for each other: 10x slower); finished runs are skipped (a rerun resumes).
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=${OUT:-runs/label-noise}
EPOCHS=${EPOCHS:-15}
LR=${LR:-0.01}
TRAIN_LIMIT=${TRAIN_LIMIT:-20000}
THREADS=${THREADS:-1}
SEED=${SEED:-0}
RATES=${RATES:-"0.1 0.2"}
STRATEGIES=${STRATEGIES:-"normal low:lambda=1 low:lambda=0.1 low:lambda=0.01"}

low() { nice -n 10 node --import tsx src/cli/main.ts "$@"; }

started=$(date +%s)
for rate in $RATES; do
  for strategy in $STRATEGIES; do
    dir="$OUT/noise-$rate/${strategy//[:=,]/_}"
    if [ -f "$dir/final.json" ]; then echo "done already: $dir"; continue; fi
    echo "$(date +%T) training $strategy with symmetric:$rate noise -> $dir"
    t0=$(date +%s)
    low train --dataset fashion-mnist --model lenet5 --noise "symmetric:$rate" --strategy "$strategy" \
      --lr "$LR" --epochs "$EPOCHS" --train-limit "$TRAIN_LIMIT" --seed "$SEED" --threads "$THREADS" \
      --quiet --out "$dir"
    echo "  $(( $(date +%s) - t0 )) s"
  done
done
echo "training wall time: $(( $(date +%s) - started )) s"
echo
node --import tsx scripts/experiments/label-noise-table.ts "$OUT"
echo
echo "Per run: node --import tsx src/cli/main.ts suspects <run folder> --top 20 [--out suspects.html]"
