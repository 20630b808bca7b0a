// LOW as a strategy: weights from the exact solution of the paper's QP (eq. 9) on the per-sample
// gradient norms at the logits of the strategy's base loss (CE, class-balanced CE or focal).
import { lowWeights } from './low-weights.js';
import { gradNormSq, type GradScale } from './grad-norms.js';
import type { PerSampleLoss } from './losses.js';
import type { BatchView, Strategy } from './strategy.js';

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
  if (!(Number.isFinite(o.lambda) && o.lambda > 0)) throw new RangeError(`strategy low: lambda = ${o.lambda}, expected a finite number > 0`);
  const scale = o.gradScale ?? 'sample';
  return {
    label: label ?? `low${base.name === 'ce' ? '' : `+${base.name}`}(lambda=${o.lambda}${scale === 'sample' ? '' : `,${scale}`})`,
    loss: base,
    weigh: (b: BatchView) => lowWeights(gradNormSq(o.normsFrom ?? base, b.logits, b.labels, scale), { lambda: o.lambda }),
  };
}
