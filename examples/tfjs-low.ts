import * as tf from '@tensorflow/tfjs';
import { crossEntropyGradNormSq, lowWeights } from '../src/core/index.js'; // in your project: from 'low-ts/core'

/**
 * One LOW-weighted training step of a TensorFlow.js classifier: each sample's squared gradient
 * norm at the logits, ||softmax(z) - onehot(y)||^2 (no autograd needed), LOW's exact weights from
 * it, and the weighted mean of the per-sample cross-entropies, minimised by the optimizer.
 */
export function lowStep(
  model: tf.Sequential,
  optimizer: tf.Optimizer,
  x: tf.Tensor2D,
  labels: Int32Array,
  numClasses: number,
  lambda = 0.1,
): { loss: number; weights: Float64Array } {
  const logits = tf.tidy(() => (model.predict(x) as tf.Tensor2D).dataSync());
  const weights = lowWeights(crossEntropyGradNormSq(logits, labels, numClasses), { lambda });
  const loss = tf.tidy(() => {
    const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses);
    const w = tf.tensor1d(Float32Array.from(weights));
    const value = optimizer.minimize(() => {
      const perSample = tf.losses.softmaxCrossEntropy(onehot, model.apply(x) as tf.Tensor2D, undefined, undefined, tf.Reduction.NONE);
      return perSample.mul(w).mean() as tf.Scalar;
    }, true);
    return value!.dataSync()[0]!;
  });
  return { loss, weights };
}
