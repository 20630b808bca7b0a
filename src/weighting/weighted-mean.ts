// The loss every strategy backpropagates: (1/M) sum_i w_i loss_i, the weights constants of the
// step (no gradient flows into them). LOW's own drop-in loss and the trainer both build it here.
import { tensor, type Tensor } from '../torch/index.js';

/** (1/M) sum_i w_i perSample_i, attached to perSample's graph. */
export function weightedMean(perSample: Tensor, weights: Float64Array): Tensor {
  if (weights.length !== perSample.numel()) {
    throw new RangeError(`weightedMean: ${weights.length} weights for ${perSample.numel()} per-sample losses`);
  }
  return perSample.mul(weightTensor(weights, perSample)).mean();
}

/** Weights as a tensor of the losses' dtype and device, made in one copy when that is float32 (the usual case). */
export function weightTensor(weights: Float64Array, like: Tensor): Tensor {
  const device = like.device;
  return like.dtype === 'float32' ? tensor(Float32Array.from(weights), { device }) : tensor(weights, { dtype: like.dtype, device });
}
