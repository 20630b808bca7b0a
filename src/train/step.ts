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
import type { BatchPart, DataParallel, WeighedPart } from '../distributed/data-parallel.js';
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
 * batch, and the step is {@link dataParallelStep}'s.
 */
export function trainStep(
  model: Module,
  optimizer: Optimizer,
  strategy: Strategy,
  batch: StepBatch,
  progress: StepProgress,
  parallel?: DataParallel,
): StepResult {
  if (parallel) return dataParallelStep(model, optimizer, strategy, batch, progress, parallel);
  return torch.tidy(() => {
    const { x, y, ids, rows, pickWeights } = sampled(model, strategy, batch, progress.batchSize);
    const logits = model.forward(x);
    const perSample = strategy.loss.perSample(logits, y);
    const losses = perSample.detach().toFloat32Array();
    // Checked before weighing: a strategy fed non-finite losses (LOW's solver, a quantile) would
    // fail with its own, less telling error.
    checkFinite(losses);
    const weights = weighLocally(strategy, { model, optimizer, x, y, ids, logits, perSample }, progress, pickWeights);
    const loss = weightedMean(perSample, weights);
    const value = loss.item();
    if (!Number.isFinite(value)) throw new NonFiniteLoss(`the loss is ${value}`);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    const labels = Int32Array.from(y.toInt32Array());
    const { margins, hits } = marginsAndHits(logits.detach().toFloat32Array(), labels, logits.size(1));
    return { loss: value, weights, losses, margins, rows, hits };
  });
}

/**
 * The step of one rank of a data-parallel run: the strategy weighs the global batch, gathered
 * from every rank first, on every rank alike (or, for a strategy that says so, this rank's part,
 * which needs no gathering: 'per-sample' weights are the same either way); the loss is this
 * rank's part of the global weighted mean, and the gradients are summed over the ranks before the
 * step (DataParallel.reduceStep, which also brings every rank's part of the batch where it was not
 * gathered before). The result describes the global batch, as a single process's step would.
 */
export function dataParallelStep(
  model: Module,
  optimizer: Optimizer,
  strategy: Strategy,
  batch: StepBatch,
  progress: StepProgress,
  parallel: DataParallel,
): StepResult {
  return torch.tidy(() => {
    const [first, last] = parallel.share(progress.batchSize);
    const { x, y, ids, rows, pickWeights } = sampled(model, strategy, batch, last - first);
    const logits = model.forward(x);
    const perSample = strategy.loss.perSample(logits, y);
    const losses = perSample.detach().toFloat32Array();
    const numClasses = logits.size(1);
    const part = { logits: logits.detach().toFloat32Array(), labels: Int32Array.from(y.toInt32Array()), ids, rows, losses };
    // Any rank's part of the global batch is at most this long (the gathers pad to it).
    const capacity = Math.ceil(progress.batchSize / parallel.worldSize);
    const weighing = strategy.dataParallel ?? 'global';
    if (typeof weighing === 'object') throw new RangeError(`strategy ${strategy.label}: ${weighing.unsupported}`);
    let whole: WeighedPart | null = null;
    let weights: Float64Array;
    if (weighing === 'global') {
      if (strategy.sampling) throw new RangeError(`strategy ${strategy.label}: a sampling strategy weighs each rank's part ('local')`);
      const gathered = parallel.gatherBatch(part, numClasses, capacity);
      // On the global batch, so that every rank stops together.
      checkFinite(gathered.losses);
      whole = { ...gathered, weights: strategy.weigh(globalView(gathered, numClasses, progress)) };
      // The parts were dealt out by share(), in rank order: this rank's weights are its share's.
      const [start, end] = parallel.share(whole.weights.length);
      weights = whole.weights.slice(start, end);
    } else {
      // A rank whose part has a non-finite loss does not weigh it but still joins the step's
      // all-reduce, which tells every rank (the check on the global batch below).
      weights = losses.every(Number.isFinite)
        ? weighLocally(strategy, { model, optimizer, x, y, ids, logits, perSample }, progress, pickWeights)
        : new Float64Array(losses.length);
    }
    // This rank's part of (1/M) sum_i w_i l_i over the global batch: summed over the ranks by the
    // gradients' all-reduce, it is the single-process loss. Where the batch was not gathered first,
    // M (the global batch's size) is known only after the all-reduce, which divides the sum then.
    const loss = perSample
      .mul(weightTensor(weights, perSample))
      .sum()
      .div(whole ? whole.labels.length : 1);
    optimizer.zeroGrad();
    loss.backward();
    if (!whole) {
      const gathered = parallel.reduceStep(model, { part: { ...part, weights }, capacity, numClasses })!;
      checkFinite(gathered.losses);
      torch.noGrad(() => {
        for (const p of model.parameters()) p.grad?.div_(gathered.labels.length);
      });
      whole = gathered;
    } else {
      parallel.reduceStep(model);
    }
    const value = meanOfProducts(whole.weights, whole.losses);
    if (!Number.isFinite(value)) throw new NonFiniteLoss(`the loss is ${value}`);
    optimizer.step();
    const { margins, hits } = marginsAndHits(whole.logits, whole.labels, numClasses);
    return { loss: value, weights: whole.weights, losses: whole.losses, margins, rows: whole.rows, hits };
  });
}

/**
 * What a sampling strategy trains on: its picks from the candidate batch (with their weights);
 * otherwise the batch itself. On the model's device (the loader makes batches on the CPU).
 */
function sampled(model: Module, strategy: Strategy, input: StepBatch, picking: number): StepBatch & { pickWeights: Float64Array | null } {
  const device = model.device;
  const batch = input.x.device === device ? input : { ...input, x: input.x.to({ device }), y: input.y.to({ device }) };
  if (!strategy.sampling) return { ...batch, pickWeights: null };
  const candidates = torch.noGrad(() => model.forward(batch.x));
  const { picks, weights } = strategy.sampling.pick({ logits: candidates, labels: batch.y, ids: batch.ids }, picking);
  const index = torch.tensor(picks, { device: batch.x.device }).long();
  return {
    x: batch.x.indexSelect(0, index),
    y: batch.y.indexSelect(0, index),
    ids: picks.map((p) => batch.ids[p]!),
    rows: picks.map((p) => batch.rows[p]!),
    pickWeights: weights,
  };
}

/** The strategy's weights for the batch it sees (with a sampling strategy, times each pick's weight). */
function weighLocally(
  strategy: Strategy,
  b: {
    model: Module;
    optimizer: Optimizer;
    x: torch.Tensor;
    y: torch.Tensor;
    ids: Int32Array;
    logits: torch.Tensor;
    perSample: torch.Tensor;
  },
  progress: StepProgress,
  pickWeights: Float64Array | null,
): Float64Array {
  const weights = strategy.weigh({
    logits: b.logits,
    labels: b.y,
    ids: b.ids,
    perSample: b.perSample,
    epoch: progress.epoch,
    epochs: progress.epochs,
    step: { model: b.model, inputs: b.x, lr: b.optimizer.lr },
  });
  if (pickWeights) for (let i = 0; i < weights.length; i++) weights[i]! *= pickWeights[i]!;
  return weights;
}

/** Refuses a batch with a non-finite loss: the step is not taken. */
function checkFinite(losses: Float32Array): void {
  const bad = losses.findIndex((l) => !Number.isFinite(l));
  if (bad >= 0) throw new NonFiniteLoss(`the loss of sample ${bad} of the batch is ${losses[bad]}`);
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
