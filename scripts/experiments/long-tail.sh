#!/usr/bin/env bash
# The long-tail study of RESULTS.md (part 5), resumable: run it again after an interruption, or on
# another day, and finished runs are skipped (a run folder is keyed by its whole configuration, so
# adding a strategy to a list later trains only that strategy's runs).
#
#   bash scripts/experiments/long-tail.sh                          # everything, into results/long-tail
#   OUT=/data/lt ONLY=lt100 JOBS=2 bash scripts/experiments/long-tail.sh
#   STRATEGIES="normal;balanced-softmax" ONLY=lt100 bash scripts/experiments/long-tail.sh
#
# Imbalanced Fashion-MNIST, LeNet-5 (the paper's MNIST setup: --preset mnist-lenet5), 5 seeds; every
# strategy tuned first per family on the validation split (learning rate and its own options, 30
# epochs, on 3 seeds so that a rate that collapses on one seed is not chosen), then 5 seeds at the
# chosen settings; Acc, BAcc, mAUC, mF1 and paired tests in each summary.md:
#   lt100    the long-tail benchmarks' exponential profile at imbalance ratio 100 (CIFAR-10-LT's);
#   paper    the LOW paper's profile, class k keeps NC/2^k samples;
#   lt100-cosine  LDAM-DRW with the cosine classifier its authors pair it with (--head cosine);
#   meta-N   Learning to Reweight and Meta-Weight-Net on lt100 with N meta samples per class
#            instead of 10 (N = 2 and 50): where the meta set's size matters;
#   lt100-cosine-lambda  LOW on LDAM at s 30 by the paper's rule with lambda's grid times s^2 = 900:
#            the weights of the gradient norms at the scaled logits s (z - m) (README: with the
#            paper's grid the rule puts g^2 900 times higher against lambda and nothing trains).
#   l2rw-clip  Learning to Reweight and Normal on lt100 with --clip-grad-norm 10 (after paper).
set -euo pipefail
cd "$(dirname "$0")/../.."

# results/long-tail keeps each finished run's configuration and outcome in git (its .gitignore says
# which files), so that the study, hours of compute, resumes across machines and sittings: commit
# that folder, and the next sitting skips every run recorded there.
OUT=${OUT:-results/long-tail}
JOBS=${JOBS:-2}
THREADS=${THREADS:-1}
ONLY=${ONLY:-}
LAMBDAS=1,0.5,0.1,0.01
# The existing strategies, the long-tail losses, the meta-learning reweighters, and LOW on top of
# the long-tail losses. LOW's combinations keep the paper's per-sample scaling: `scale=sample` is
# written out, which fixes it, so that tuning searches lambda, not the scaling too (the released
# code's batch-mean scaling makes the weights practically uniform: plain LOW's two rows show it);
# low:base=X takes the gradient norms of loss X (the paper's rule, eq. 8), low:base=X,norms=ce
# those of plain CE (ours). Balanced Softmax has the gradients of logit-adjust at tau 1, so LOW on
# it would repeat low:base=logit-adjust. LDAM on this linear head needs s=1, and so does LOW on it.
STRATEGIES=${STRATEGIES:-"normal;low:scale=sample;low:scale=batch-mean;bce;focal;is;\
logit-adjust;posthoc-la;balanced-softmax;ldam:s=1;cb;l2rw;mwn;\
low:base=bce,norms=ce,scale=sample;low:base=logit-adjust,scale=sample;low:base=logit-adjust,norms=ce,scale=sample;\
low:base=cb,norms=ce,scale=sample;low:base=ldam,s=1,scale=sample"}
# LDAM as its authors run it: s = 30 on a cosine classifier (with a linear one s = 30 diverges, so
# the main list has ldam:s=1), against Normal on the same classifier, and LOW on the LDAM loss.
# Plain CE on cosine logits in [-1, 1] cannot grow confident, so Normal there is a weak baseline:
# ldam:m=0,drw=1 is CE on the same 30 x cosine without margins or re-weighting, the fair one.
COSINE_STRATEGIES="normal;ldam:m=0,drw=1;ldam;low:base=ldam,scale=sample;low:base=ldam,norms=ce,scale=sample"
META_STRATEGIES="l2rw;mwn"

low() { node bin/low.js "$@"; }
wanted() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }
mkdir -p "$OUT"

common=(--preset mnist-lenet5 --lambdas "$LAMBDAS" --select bacc --seeds 5
  --tune --tune-lrs 0.001,0.01,0.1 --tune-seeds 3 --tune-epochs 30
  --jobs "$JOBS" --threads "$THREADS")

# A run that diverges is an outcome (diverged.json), reported in the summary. A run that fails
# otherwise fails its compare at the end, after every other run; the next experiment still starts,
# and the script's exit status says so.
status=0
experiment() {
  local name=$1
  shift
  wanted "$name" || return 0
  local code=0
  low compare "${common[@]}" "$@" --out "$OUT/$name" || code=$?
  # 130: interrupted (Ctrl-C); its runs are checkpointed and the whole script resumes when run again.
  if [ $code -eq 130 ]; then exit 130; fi
  if [ $code -ne 0 ]; then echo "long-tail: $name had failed runs (see above)" >&2; status=1; fi
  low report "$OUT/$name" --out "$OUT/$name/report.html" || status=1
}
experiment lt100 --strategies "$STRATEGIES" --imbalance long-tail:100
experiment lt100-cosine --strategies "$COSINE_STRATEGIES" --imbalance long-tail:100 --head cosine
experiment meta-2 --strategies "$META_STRATEGIES" --imbalance long-tail:100 --meta-per-class 2
experiment meta-50 --strategies "$META_STRATEGIES" --imbalance long-tail:100 --meta-per-class 50
experiment lt100-cosine-lambda --strategies "low:base=ldam,scale=sample" --imbalance long-tail:100 --head cosine \
  --lambdas 900,450,90,9
# The paper profile: the longest (as long as lt100, about 4 hours on 2 cores), and resumable.
experiment paper --strategies "$STRATEGIES" --imbalance paper
# Learning to Reweight with the gradients' norm clipped to 10 (--clip-grad-norm): in lt100 and
# meta-50 one seed in five collapses late, after its gradient norms spike (median 4 to 7 over
# training, then 100 to 400 as it collapses); Normal beside it, clipped the same.
experiment l2rw-clip --strategies "normal;l2rw" --imbalance long-tail:100 --clip-grad-norm 10
exit $status
