// Per-sample gradient norms at the logits, the quantity LOW's weights are built from (paper eq. 8
// with the Katharopoulos & Fleuret bound, section 3.2).
//
// Since loss_i depends only on logits_i, one backward pass of sum_i loss_i through a *detached*
// copy of the logits gives every row d loss_i / d logits_i at once, without touching the model's
// parameter gradients.
import { Tensor, grad, enableGrad } from '../torch/index.js';
import type { PerSampleLoss } from './losses.js';

/**
 * How g_i is scaled. 'sample' is the paper's eq. 8: the gradient of sample i's own loss.
 * 'batch-mean' is what the authors' released code computes, the gradient of the batch *mean*
 * loss, i.e. the paper's g_i divided by M (so g_i^2 by M^2); at the paper's lambda grid it makes
 * the weights practically uniform (see README).
 */
export type GradScale = 'sample' | 'batch-mean';

/** ||d loss_i / d logits_i||^2 through autograd, for any per-sample loss. Returns [N]. */
export function gradNormSqAutograd(loss: PerSampleLoss, logits: Tensor, labels: Tensor): Tensor {
  return enableGrad(() => {
    const z = logits.detach().requiresGrad_(true);
    const perSample = loss.perSample(z, labels);
    const [g] = grad(perSample.sum(), z);
    return g!.square().sum(1);
  });
}

/** g_i^2 for each sample, from the loss's closed form when it has one, scaled as asked. Returns [N]. */
export function gradNormSq(loss: PerSampleLoss, logits: Tensor, labels: Tensor, scale: GradScale = 'sample'): Tensor {
  const g2 = loss.gradNormSq ? loss.gradNormSq(logits.detach(), labels) : gradNormSqAutograd(loss, logits, labels);
  if (scale === 'sample') return g2;
  if (scale === 'batch-mean') return g2.div(logits.size(0) ** 2);
  throw new RangeError(`gradScale '${scale as string}': expected 'sample' or 'batch-mean'`);
}
