// One training step, the whole of LOW's data flow in one place:
//   batch -> model -> per-sample losses -> strategy (weights) -> weighted mean -> backward -> step.
// A sampling strategy (importance sampling) first picks, from a larger candidate batch, the
// samples to train on. The epoch loop, checkpoints and resume live around this function, in
// train/run.ts; data-parallel training and other model sources wrap exactly this step.
import * as torch from '../torch/index.js';
import type { Module } from '../nn/index.js';
import type { Optimizer } from '../optim/index.js';
import type { Strategy } from '../weighting/strategy.js';
import { weightedMean } from '../weighting/weighted-mean.js';
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

export function trainStep(model: Module, optimizer: Optimizer, strategy: Strategy, batch: StepBatch, progress: StepProgress): StepResult {
  return torch.tidy(() => {
    let { x, y, ids, rows } = batch;
    let pickWeights: Float64Array | null = null;
    if (strategy.sampling) {
      const candidates = torch.noGrad(() => model.forward(x));
      const { picks, weights } = strategy.sampling.pick({ logits: candidates, labels: y, ids }, progress.batchSize);
      const index = torch.tensor(picks).long();
      x = x.indexSelect(0, index);
      y = y.indexSelect(0, index);
      ids = picks.map((p) => ids[p]!);
      rows = picks.map((p) => rows[p]!);
      pickWeights = weights;
    }
    const logits = model.forward(x);
    const perSample = strategy.loss.perSample(logits, y);
    // Checked before weighing: a strategy fed non-finite losses (LOW's solver, a quantile) would
    // fail with its own, less telling error.
    const losses = perSample.detach().toFloat32Array();
    const bad = losses.findIndex((l) => !Number.isFinite(l));
    if (bad >= 0) throw new NonFiniteLoss(`the loss of sample ${bad} of the batch is ${losses[bad]}`);
    const step = { model, inputs: x, lr: optimizer.lr };
    const weights = strategy.weigh({ logits, labels: y, ids, perSample, epoch: progress.epoch, epochs: progress.epochs, step });
    if (pickWeights) for (let i = 0; i < weights.length; i++) weights[i]! *= pickWeights[i]!;
    const loss = weightedMean(perSample, weights);
    const value = loss.item();
    if (!Number.isFinite(value)) throw new NonFiniteLoss(`the loss is ${value}`);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    const { margins, hits } = marginsAndHits(logits.detach().toFloat32Array(), Int32Array.from(y.toInt32Array()), logits.size(1));
    return { loss: value, weights, losses, margins, rows, hits };
  });
}
