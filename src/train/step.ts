// One training step, the whole of LOW's data flow in one place:
//   batch -> model -> per-sample losses -> strategy (weights) -> weighted mean -> backward -> step.
// A sampling strategy (importance sampling) first picks, from a larger candidate batch, the
// samples to train on. The epoch loop, checkpoints and resume live around this function, in
// train/run.ts; data-parallel training and other model sources wrap exactly this step.
import * as torch from '../torch/index.js';
import type { Module } from '../nn/index.js';
import type { Optimizer } from '../optim/index.js';
import type { Strategy } from '../weighting/strategy.js';
import { weightedMean, weightTensor } from '../weighting/weighted-mean.js';
import type { BatchView } from '../weighting/strategy.js';
import type { BatchPart, DataParallel } from '../distributed/data-parallel.js';
import { marginsAndHits } from './margins.js';

/** A batch as the loader gives it (with a sampling strategy: the candidate batch). */
export interface StepBatch {
  /** Inputs [M, ...]. */
  x: torch.Tensor;
  /** int64 class indices [M]. */
  y: torch.Tensor;
  /** Stable sample ids (dataset order): what strategies remember samples by. */
  ids: Int32Array;
  /** Rows of the training set (after subsets, imbalance and the validation split): where the history records them. */
  rows: Int32Array;
}

/** Where the step stands in training, for strategies with schedules. */
export interface StepProgress {
  /** 0-based epoch, and the run's total. */
  epoch: number;
  epochs: number;
  /** Samples a sampling strategy picks from the candidates (the run's batch size). */
  batchSize: number;
}

/** What a step leaves behind, all of it host arrays (no tensor outlives the step). */
export interface StepResult {
  /** The weighted loss that was backpropagated, (1/M) sum_i w_i l_i. */
  loss: number;
  /** The trained samples' weights, unweighted losses, margins (assigned logit minus the largest other) and rows. */
  weights: Float64Array;
  losses: Float32Array;
  margins: Float32Array;
  rows: Int32Array;
  /** Samples the model classified correctly before the step. */
  hits: number;
}

/** The loss stopped being finite: the step was not taken. `reason` says what, e.g. "the loss of sample 3 of the batch is NaN". */
export class NonFiniteLoss extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'NonFiniteLoss';
  }
}

/**
 * One step. With `parallel` (data-parallel training) the batch is this rank's share of the global
 * batch: the per-sample quantities are gathered from every rank, the strategy weighs the global
 * batch (or, for a strategy that says so, this rank's part), the loss is this rank's part of the
 * global weighted mean, and the gradients are summed over the ranks before the step; the result
 * describes the global batch, as a single process's step would.
 */
export function trainStep(
  model: Module,
  optimizer: Optimizer,
  strategy: Strategy,
  batch: StepBatch,
  progress: StepProgress,
  parallel?: DataParallel,
): StepResult {
  return torch.tidy(() => {
    let { x, y, ids, rows } = batch;
    let pickWeights: Float64Array | null = null;
    parallel?.syncBuffers(model);
    if (strategy.sampling) {
      const candidates = torch.noGrad(() => model.forward(x));
      const picking = parallel ? localBatchSize(progress.batchSize, parallel) : progress.batchSize;
      const { picks, weights } = strategy.sampling.pick({ logits: candidates, labels: y, ids }, picking);
      const index = torch.tensor(picks).long();
      x = x.indexSelect(0, index);
      y = y.indexSelect(0, index);
      ids = picks.map((p) => ids[p]!);
      rows = picks.map((p) => rows[p]!);
      pickWeights = weights;
    }
    const logits = model.forward(x);
    const perSample = strategy.loss.perSample(logits, y);
    const losses = perSample.detach().toFloat32Array();
    const numClasses = logits.size(1);
    const part = { logits: logits.detach().toFloat32Array(), labels: Int32Array.from(y.toInt32Array()), ids, rows, losses };
    // Any rank's part of the global batch is at most this long (the all-gathers pad to it).
    const capacity = parallel ? Math.ceil(progress.batchSize / parallel.worldSize) : 0;
    const whole = parallel ? parallel.gatherBatch(part, numClasses, capacity) : part;
    // Checked before weighing: a strategy fed non-finite losses (LOW's solver, a quantile) would
    // fail with its own, less telling error. On the global batch, so that every rank stops together.
    const bad = whole.losses.findIndex((l) => !Number.isFinite(l));
    if (bad >= 0) throw new NonFiniteLoss(`the loss of sample ${bad} of the batch is ${whole.losses[bad]}`);
    const step = { model, inputs: x, lr: optimizer.lr };
    const view = { logits, labels: y, ids, perSample, epoch: progress.epoch, epochs: progress.epochs, step };
    const weighing = parallel ? (strategy.dataParallel ?? 'global') : 'local';
    if (typeof weighing === 'object') throw new RangeError(`strategy ${strategy.label}: ${weighing.unsupported}`);
    let weights: Float64Array;
    let allWeights: Float64Array;
    if (parallel && weighing === 'global') {
      // The parts were dealt out by share(), in rank order: this rank's weights are its share's.
      if (strategy.sampling) throw new RangeError(`strategy ${strategy.label}: a sampling strategy weighs each rank's part ('local')`);
      allWeights = strategy.weigh(globalView(whole, numClasses, progress));
      const [start, end] = parallel.share(allWeights.length);
      weights = allWeights.slice(start, end);
    } else {
      weights = strategy.weigh(view);
      if (pickWeights) for (let i = 0; i < weights.length; i++) weights[i]! *= pickWeights[i]!;
      allWeights = parallel ? parallel.gatherValues(weights, capacity) : weights;
    }
    // This rank's part of (1/M) sum_i w_i l_i over the global batch: summed over the ranks by the
    // gradients' all-reduce, it is the single-process loss.
    const loss = parallel
      ? perSample.mul(weightTensor(weights, perSample.dtype)).sum().div(whole.labels.length)
      : weightedMean(perSample, weights);
    const value = parallel ? meanOfProducts(allWeights, whole.losses) : loss.item();
    if (!Number.isFinite(value)) throw new NonFiniteLoss(`the loss is ${value}`);
    optimizer.zeroGrad();
    loss.backward();
    parallel?.reduceGradients(model.parameters());
    optimizer.step();
    const { margins, hits } = marginsAndHits(whole.logits, whole.labels, numClasses);
    return { loss: value, weights: allWeights, losses: whole.losses, margins, rows: whole.rows, hits };
  });
}

/** A rank's share of a global batch of `batchSize`. */
function localBatchSize(batchSize: number, parallel: DataParallel): number {
  const [start, end] = parallel.share(batchSize);
  return end - start;
}

/** The strategy's view of the gathered global batch (no autograd graph: weights are constants of the step). */
function globalView(whole: BatchPart, numClasses: number, progress: StepProgress): BatchView {
  const m = whole.labels.length;
  return {
    logits: torch.tensor(whole.logits, { shape: [m, numClasses] }),
    labels: torch.tensor(whole.labels, { dtype: 'int64' }),
    ids: whole.ids,
    perSample: torch.tensor(whole.losses),
    epoch: progress.epoch,
    epochs: progress.epochs,
  };
}

/** (1/M) sum_i w_i l_i on the host, in float64. */
function meanOfProducts(weights: Float64Array, losses: Float32Array): number {
  let s = 0;
  for (let i = 0; i < weights.length; i++) s += weights[i]! * losses[i]!;
  return s / weights.length;
}
