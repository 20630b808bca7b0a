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
  const N = checkClassCounts('classBalancedWeights', classCounts);
  const w = new Float64Array(C);
  for (let c = 0; c < C; c++) w[c] = classCounts[c]! > 0 ? N / (C * classCounts[c]!) : 0;
  return w;
}

/**
 * Per-class training counts checked (non-negative integers, not all 0), naming the caller and the
 * class; returns their total.
 */
export function checkClassCounts(what: string, classCounts: ArrayLike<number>): number {
  if (classCounts.length === 0) throw new RangeError(`${what}: classCounts is empty, expected one count per class`);
  let total = 0;
  for (let c = 0; c < classCounts.length; c++) {
    const n = classCounts[c]!;
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`${what}: class ${c} has count ${n}, expected a non-negative integer`);
    total += n;
  }
  if (total === 0) throw new RangeError(`${what}: every class count is 0`);
  return total;
}

/**
 * A per-sample loss with each sample scaled by a constant weight of its class. The gradient at the
 * logits is w_y times the base loss's, so its squared norm is w_y^2 times the base's (no closed
 * form when the base has none: LOW then takes the norms by autograd).
 */
export function classWeightedLoss(
  name: string,
  base: PerSampleLoss,
  weights: Float64Array,
): PerSampleLoss & { classWeights: Float64Array } {
  const perClass = keep(tensor(Float32Array.from(weights)));
  const baseGradNormSq = base.gradNormSq;
  return {
    name,
    classWeights: weights,
    perSample: (logits, labels) => base.perSample(logits, labels).mul(perClass.indexSelect(0, labels).to(logits.dtype)),
    gradNormSq: baseGradNormSq
      ? (logits, labels) => {
          const g2 = baseGradNormSq(logits, labels);
          const y = labels.toInt32Array();
          for (let i = 0; i < g2.length; i++) g2[i]! *= weights[y[i]!]! ** 2;
          return g2;
        }
      : undefined,
  };
}

/** Cross-entropy with each sample scaled by its class's weight (see classBalancedWeights). */
export function classBalancedLoss(classCounts: ArrayLike<number>): PerSampleLoss & { classWeights: Float64Array } {
  return classWeightedLoss('bce', crossEntropyLoss(), classBalancedWeights(classCounts));
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
