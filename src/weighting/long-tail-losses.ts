// Losses for long-tailed (imbalanced) training sets, each a per-sample loss that LOW and the
// trainer weight like any other:
//   logit adjustment (Menon et al., ICLR 2021; google-research/logit_adjustment): CE(z + tau log pi),
//     pi the training class prior n_c / N; the loss variant, which changes training only;
//   Balanced Softmax (Ren et al., NeurIPS 2020): CE(z + log n_c). It is the logit-adjusted loss
//     with tau = 1 shifted by log N in every logit, which softmax ignores: the same loss and gradients;
//   class-balanced loss by effective number (Cui et al., CVPR 2019): each class weighted
//     w_c = (1 - beta) / (1 - beta^n_c), normalised so the weights sum to C, on CE or focal loss;
//   LDAM (Cao et al., NeurIPS 2019; kaidic/LDAM-DRW, losses.py): CE(s * (z - m_y e_y)), the true
//     class's logit lowered by a margin m_c proportional to n_c^(-1/4), the largest max_m.
// A class absent from the training set (n_c = 0) would get an infinitely negative adjustment or an
// infinite weight: its count is taken as 1 for the adjustments and its weight as 0.
import { F, type Tensor, keep, tensor } from '../torch/index.js';
import { checkClassCounts, classWeightedLoss, crossEntropyLoss, focalLoss, type PerSampleLoss } from './losses.js';

/** The counts checked, as numbers. */
function checkCounts(what: string, classCounts: ArrayLike<number>): number[] {
  checkClassCounts(what, classCounts);
  return Array.from(classCounts);
}

/** CE on the logits plus a constant per-class offset: the shared form of both logit-adjusted losses. */
function offsetCrossEntropy(name: string, offsets: Float64Array): PerSampleLoss {
  const offset = keep(tensor(Float32Array.from(offsets)).unsqueeze(0));
  const adjusted = (logits: Tensor) => logits.add(offset.to(logits.dtype), 1);
  return {
    name,
    perSample: (logits, labels) => F.crossEntropy(adjusted(logits), labels, { reduction: 'none' }),
    // d/dz CE(z + b) = softmax(z + b) - onehot: CE's closed form at the adjusted logits.
    gradNormSq: (logits, labels) => F.crossEntropyGradNormSq(adjusted(logits), labels),
  };
}

/** tau * log(pi_c), pi_c = n_c / N (absent classes counted once), the logit-adjusted loss's offsets. */
export function logitAdjustments(classCounts: ArrayLike<number>, tau = 1): Float64Array {
  if (!Number.isFinite(tau)) throw new RangeError(`logit adjustment: tau = ${tau}, expected a finite number`);
  const counts = checkCounts('logit adjustment', classCounts).map((n) => Math.max(n, 1));
  const total = counts.reduce((a, b) => a + b, 0);
  return Float64Array.from(counts, (n) => tau * Math.log(n / total));
}

/** The logit-adjusted loss CE(z + tau log pi) (Menon et al. 2021, their eq. 10 with the prior's log). */
export function logitAdjustedLoss(classCounts: ArrayLike<number>, tau = 1): PerSampleLoss {
  return offsetCrossEntropy('logit-adjust', logitAdjustments(classCounts, tau));
}

/** Balanced Softmax, CE(z + log n_c) (Ren et al. 2020). */
export function balancedSoftmaxLoss(classCounts: ArrayLike<number>): PerSampleLoss {
  const counts = checkCounts('balanced softmax', classCounts).map((n) => Math.max(n, 1));
  return offsetCrossEntropy('balanced-softmax', Float64Array.from(counts, Math.log));
}

/** Effective-number class weights (1 - beta) / (1 - beta^n_c), normalised to sum to the number of classes C; 0 for an absent class. */
export function effectiveNumberWeights(classCounts: ArrayLike<number>, beta = 0.9999): Float64Array {
  if (!(beta >= 0 && beta < 1)) throw new RangeError(`effective number: beta = ${beta}, expected a number in [0, 1)`);
  const counts = checkCounts('effective number', classCounts);
  const raw = Float64Array.from(counts, (n) => (n === 0 ? 0 : (1 - beta) / (1 - beta ** n)));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => (w * counts.length) / sum);
}

/** CE or focal loss with each sample scaled by its class's effective-number weight (Cui et al. 2019). */
export function effectiveNumberLoss(
  classCounts: ArrayLike<number>,
  o: { beta?: number; base?: 'ce' | 'focal'; gamma?: number } = {},
): PerSampleLoss {
  const weights = effectiveNumberWeights(classCounts, o.beta);
  return o.base === 'focal'
    ? classWeightedLoss('cb-focal', focalLoss({ gamma: o.gamma }), weights)
    : classWeightedLoss('cb', crossEntropyLoss(), weights);
}

/** LDAM's margins m_c = n_c^(-1/4), scaled so the largest is maxM (the authors' m_list); absent classes counted once. */
export function ldamMargins(classCounts: ArrayLike<number>, maxM = 0.5): Float64Array {
  if (!(Number.isFinite(maxM) && maxM >= 0)) throw new RangeError(`LDAM: max margin = ${maxM}, expected a finite number >= 0`);
  const counts = checkCounts('LDAM', classCounts).map((n) => Math.max(n, 1));
  const raw = counts.map((n) => 1 / Math.sqrt(Math.sqrt(n)));
  const largest = Math.max(...raw);
  return Float64Array.from(raw, (m) => (m * maxM) / largest);
}

/** The LDAM loss CE(s * (z - m_y e_y)) per sample (the authors' LDAMLoss without class weights: DRW weighs samples instead). */
export function ldamLoss(classCounts: ArrayLike<number>, o: { maxM?: number; s?: number } = {}): PerSampleLoss {
  const s = o.s ?? 30;
  if (!(Number.isFinite(s) && s > 0)) throw new RangeError(`LDAM: s = ${s}, expected a finite number > 0`);
  const margins = keep(tensor(Float32Array.from(ldamMargins(classCounts, o.maxM))));
  const scaled = (logits: Tensor, labels: Tensor) => {
    const m = margins.to(logits.dtype).indexSelect(0, labels).unsqueeze(1);
    return logits.sub(F.oneHot(labels, logits.size(1)).to(logits.dtype).mul(m)).mul(s);
  };
  return {
    name: 'ldam',
    perSample: (logits, labels) => F.crossEntropy(scaled(logits, labels), labels, { reduction: 'none' }),
    // d/dz CE(s (z - m_y e_y)) = s (softmax(s (z - m_y e_y)) - onehot): CE's closed form at the scaled logits, times s^2.
    gradNormSq: (logits, labels) => F.crossEntropyGradNormSq(scaled(logits, labels), labels).map((g) => g * s * s),
  };
}
