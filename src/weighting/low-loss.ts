// The LOW objective for one mini-batch: per-sample losses, their gradient norms at the logits,
// the optimal weights (an exact projection, see low-weights.ts), and the weighted mean loss to
// backpropagate. Weights are constants for the backward pass, as in the paper.
import { Tensor } from '../torch/index.js';
import { crossEntropyLoss, type PerSampleLoss } from './losses.js';
import { gradNormSq, type GradScale } from './grad-norms.js';
import { lowWeights } from './low-weights.js';
import { weightedMean } from './weighted-mean.js';
import { describeValue } from '../util/describe-value.js';

export interface LowOptions {
  /** Strength of the pull towards uniform weights (the paper's grid: 1, 0.5, 0.1, 0.01). */
  lambda: number;
  /** The per-sample loss LOW weights; cross-entropy by default. */
  baseLoss?: PerSampleLoss;
  /** 'sample' (paper eq. 8, default) or 'batch-mean' (the released code's scaling). */
  gradScale?: GradScale;
}

export interface LowResult {
  /** (1/M) sum_i w_i loss_i, with w constant: call backward() on it. */
  loss: Tensor;
  /** The weights w (mean 1). */
  weights: Float64Array;
  /** The unweighted per-sample losses [M] (still attached to the graph). */
  perSample: Tensor;
  /** The g_i^2 the weights were computed from. */
  gradNormSq: Float64Array;
}

/**
 * LOW for one batch. Drop-in for a plain loss in any loop:
 *   const { loss, weights } = lowLoss(model.forward(x), y, { lambda: 0.1 });
 *   loss.backward();
 */
export function lowLoss(logits: Tensor, labels: Tensor, o: LowOptions): LowResult {
  checkBatch(logits, labels);
  if (typeof o !== 'object' || o === null) throw new TypeError(`lowLoss: options must be an object with lambda, got ${describeValue(o)}`);
  const base = o.baseLoss ?? crossEntropyLoss();
  const perSample = base.perSample(logits, labels);
  const g2 = gradNormSq(base, logits, labels, o.gradScale ?? 'sample');
  const weights = lowWeights(g2, { lambda: o.lambda });
  return { loss: weightedMean(perSample, weights), weights, perSample, gradNormSq: g2 };
}

/**
 * Refuses what is not one batch of logits [M, C] with int64 labels [M], naming what was given:
 * libtorch's own complaint about 1-d logits speaks of class probabilities, which misleads here.
 */
function checkBatch(logits: unknown, labels: unknown): void {
  const expected = 'lowLoss: logits must be [M, C] and labels [M] int64';
  if (!(logits instanceof Tensor)) throw new TypeError(`${expected}; got logits ${describeValue(logits)}`);
  if (!(labels instanceof Tensor)) throw new TypeError(`${expected}; got labels ${describeValue(labels)}`);
  if (logits.ndim !== 2 || labels.ndim !== 1 || labels.dtype !== 'int64' || labels.size(0) !== logits.size(0)) {
    throw new RangeError(
      `${expected}; got logits ${logits.dtype} [${logits.shape.join(', ')}] and labels ${labels.dtype} [${labels.shape.join(', ')}]`,
    );
  }
}
