// Per-sample gradient norms at the logits, the quantity LOW's weights are built from (paper eq. 8
// with the Katharopoulos & Fleuret bound, section 3.2).
//
// Since loss_i depends only on logits_i, one backward pass of sum_i loss_i through a *detached*
// copy of the logits gives every row d loss_i / d logits_i at once, without touching the model's
// parameter gradients.
import { type Tensor, grad, enableGrad, tidy } from '../torch/index.js';
import type { PerSampleLoss } from './losses.js';

/**
 * How g_i is scaled. 'sample' is the paper's eq. 8: the gradient of sample i's own loss.
 * 'batch-mean' is what the authors' released code computes, the gradient of the batch *mean*
 * loss, i.e. the paper's g_i divided by M (so g_i^2 by M^2); at the paper's lambda grid it makes
 * the weights practically uniform (see README).
 */
export type GradScale = 'sample' | 'batch-mean';

/** ||d loss_i / d logits_i||^2 through autograd, for any per-sample loss; one entry per sample. */
export function gradNormSqAutograd(loss: PerSampleLoss, logits: Tensor, labels: Tensor): Float64Array {
  return tidy(() =>
    enableGrad(() => {
      const z = logits.detach().requiresGrad_(true);
      const perSample = loss.perSample(z, labels);
      const [g] = grad(perSample.sum(), z);
      return g!.square().sum(1).toFloat64Array();
    }),
  );
}

/** g_i^2 for each sample, from the loss's closed form when it has one, scaled as asked. */
export function gradNormSq(loss: PerSampleLoss, logits: Tensor, labels: Tensor, scale: GradScale = 'sample'): Float64Array {
  if (scale !== 'sample' && scale !== 'batch-mean')
    throw new RangeError(`gradScale '${scale as string}': expected 'sample' or 'batch-mean'`);
  const g2 = loss.gradNormSq ? loss.gradNormSq(logits, labels) : gradNormSqAutograd(loss, logits, labels);
  if (scale === 'batch-mean') {
    const m2 = g2.length ** 2;
    for (let i = 0; i < g2.length; i++) g2[i]! /= m2;
  }
  return g2;
}
