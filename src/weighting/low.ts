// LOW as a strategy: weights from the exact solution of the paper's QP (eq. 9) on the per-sample
// gradient norms at the logits of the strategy's base loss (CE, class-balanced CE or focal).
import { lowWeights } from './low-weights.js';
import { gradNormSq, type GradScale } from './grad-norms.js';
import type { PerSampleLoss } from './losses.js';
import type { BatchView, Strategy } from './strategy.js';
import { describeValue } from '../torch/describe.js';

export interface LowStrategyOptions {
  lambda: number;
  gradScale?: GradScale;
  /**
   * The loss whose per-sample gradient norms set the weights; default the base loss, as in the
   * paper. Plain cross-entropy here, with class-balanced CE as the base, keeps the class weights
   * (up to ~100 on long-tailed data) out of the norms: squared, they would swamp the QP at the
   * paper's lambda grid and hand a rare class's few samples the whole batch's weight.
   */
  normsFrom?: PerSampleLoss;
}

export function lowStrategy(base: PerSampleLoss, o: LowStrategyOptions, label?: string): Strategy {
  checkLoss(base, 'base');
  if (typeof o !== 'object' || o === null) throw new TypeError(`lowStrategy: options must be an object with lambda, got ${describeValue(o)}`);
  if (!(typeof o.lambda === 'number' && Number.isFinite(o.lambda) && o.lambda > 0)) throw new RangeError(`lowStrategy: options.lambda = ${String(o.lambda)}, expected a finite number > 0`);
  if (o.gradScale !== undefined && o.gradScale !== 'sample' && o.gradScale !== 'batch-mean') {
    throw new RangeError(`lowStrategy: options.gradScale is ${describeValue(o.gradScale)}; expected 'sample' or 'batch-mean'`);
  }
  if (o.normsFrom !== undefined) checkLoss(o.normsFrom, 'options.normsFrom');
  if (label !== undefined && typeof label !== 'string') throw new TypeError(`lowStrategy: label must be a string, got ${describeValue(label)}`);
  const scale = o.gradScale ?? 'sample';
  return {
    label: label ?? `low${base.name === 'ce' ? '' : `+${base.name}`}(lambda=${o.lambda}${scale === 'sample' ? '' : `,${scale}`})`,
    loss: base,
    weigh: (b: BatchView) => lowWeights(gradNormSq(o.normsFrom ?? base, b.logits, b.labels, scale), { lambda: o.lambda }),
  };
}

function checkLoss(loss: unknown, arg: string): void {
  const ok = typeof loss === 'object' && loss !== null && typeof (loss as PerSampleLoss).name === 'string' && typeof (loss as PerSampleLoss).perSample === 'function';
  if (!ok) throw new TypeError(`lowStrategy: ${arg} must be a per-sample loss (an object with a name and perSample(logits, labels)), got ${describeValue(loss)}`);
}
