// Per-sample losses (reduction 'none') that LOW and the baselines weight: cross-entropy,
// class-balanced cross-entropy and focal loss. Each maps logits [N, C] and int64 labels [N] to
// a loss per sample [N], differentiable with respect to the logits.
import { type Tensor, F, tensor, keep } from '../torch/index.js';

export interface PerSampleLoss {
  /** A short name for logs and configs: 'ce', 'bce' or 'focal'. */
  readonly name: string;
  /** The loss of each sample, [N]. */
  perSample(logits: Tensor, labels: Tensor): Tensor;
  /**
   * ||d loss_i / d logits_i||^2 per sample in closed form, when the loss has one; LOW falls back
   * to autograd otherwise. Never touches the autograd graph.
   */
  gradNormSq?(logits: Tensor, labels: Tensor): Float64Array;
}

/** Softmax cross-entropy. Its gradient at the logits is softmax(z) - onehot(y). */
export function crossEntropyLoss(): PerSampleLoss {
  return {
    name: 'ce',
    perSample: (logits, labels) => F.crossEntropy(logits, labels, { reduction: 'none' }),
    gradNormSq: (logits, labels) => F.crossEntropyGradNormSq(logits, labels),
  };
}

/**
 * Class weights inversely proportional to class frequency, w_c = N / (C n_c), so that the weights
 * average 1 over the training samples (sum_c n_c w_c = N) and the effective learning rate stays
 * that of plain cross-entropy. Classes absent from the training set get weight 0.
 */
export function classBalancedWeights(classCounts: ArrayLike<number>): Float64Array {
  const C = classCounts.length;
  let N = 0;
  for (let c = 0; c < C; c++) {
    const n = classCounts[c]!;
    if (!(Number.isInteger(n) && n >= 0))
      throw new RangeError(`classBalancedWeights: class ${c} has count ${n}, expected a non-negative integer`);
    N += n;
  }
  if (N === 0) throw new RangeError('classBalancedWeights: every class count is 0');
  const w = new Float64Array(C);
  for (let c = 0; c < C; c++) w[c] = classCounts[c]! > 0 ? N / (C * classCounts[c]!) : 0;
  return w;
}

/** Cross-entropy with each sample scaled by its class's weight (see classBalancedWeights). */
export function classBalancedLoss(classCounts: ArrayLike<number>): PerSampleLoss & { classWeights: Float64Array } {
  const weights = classBalancedWeights(classCounts);
  const perClass = keep(tensor(Float32Array.from(weights)));
  const sampleWeights = (labels: Tensor) => perClass.indexSelect(0, labels);
  return {
    name: 'bce',
    classWeights: weights,
    perSample: (logits, labels) => F.crossEntropy(logits, labels, { reduction: 'none' }).mul(sampleWeights(labels).to(logits.dtype)),
    // The gradient is w_y (softmax - onehot), so its squared norm is w_y^2 times CE's.
    gradNormSq: (logits, labels) => {
      const g2 = F.crossEntropyGradNormSq(logits, labels);
      const y = labels.toInt32Array();
      for (let i = 0; i < g2.length; i++) g2[i]! *= weights[y[i]!]! ** 2;
      return g2;
    },
  };
}

export interface FocalOptions {
  /** Focusing parameter; 0 gives cross-entropy. Default 2 (Lin et al. 2017). */
  gamma?: number;
  /** Per-class balance factors alpha_c (length C); none means 1 for every class. */
  alpha?: ArrayLike<number>;
}

/** Focal loss, -alpha_y (1 - p_y)^gamma log p_y (Lin et al. 2017), per sample. */
export function focalLoss(o: FocalOptions = {}): PerSampleLoss {
  const gamma = o.gamma ?? 2;
  if (!(Number.isFinite(gamma) && gamma >= 0)) throw new RangeError(`focal loss: gamma = ${gamma}, expected a finite number >= 0`);
  const alpha = o.alpha ? keep(tensor(Float32Array.from(o.alpha))) : null;
  const perSample = (logits: Tensor, labels: Tensor): Tensor => {
    const logp = F.logSoftmax(logits, 1).gather(1, labels.unsqueeze(1)).squeeze(1);
    const modulation = gamma === 0 ? null : logp.exp().rsub(1).clamp(0).pow(gamma);
    let l = modulation ? logp.mul(modulation).neg() : logp.neg();
    if (alpha) l = l.mul(alpha.indexSelect(0, labels).to(logits.dtype));
    return l;
  };
  return { name: 'focal', perSample };
}
