// Importance sampling (Katharopoulos & Fleuret 2018, "Not all samples are created equal").
// Each step looks at B = presample * b candidates, scores each by the upper bound of its gradient
// norm (the norm of the loss gradient at the logits, the same quantity LOW uses), and trains on b
// of them drawn with probability p_i proportional to the score, each weighted 1 / (B p_i) so the
// gradient stays unbiased. Sampling is switched on only once the estimated variance reduction,
// smoothed over steps, exceeds tau_th = (B + 3b) / (3b) (their eq. 29); until then b candidates
// are drawn uniformly with weight 1. The authors warn that batch norm and dropout disturb the scores.
import { gradNormSq } from './grad-norms.js';
import { crossEntropyLoss, type PerSampleLoss } from './losses.js';
import { uniformWeights, type BatchView, type Strategy } from './strategy.js';
import { SeededRandom } from '../util/seeded-random.js';
import type { Tensor } from '../torch/index.js';
import { numberOption, type StrategyDefinition } from './strategy-definition.js';

export interface ImportanceSamplingOptions {
  /** B / b, the candidate batch's size relative to the batch (default 3). */
  presample?: number;
  /** Smoothing of the variance-reduction estimate over steps (default 0.9). */
  momentum?: number;
  /** Threshold on the smoothed variance reduction; default (B + 3b) / (3b). */
  tauThreshold?: number;
  seed?: number;
}

/**
 * 1 / sqrt(1 - ||g - u||^2 / ||g||^2), g the normalised scores, u uniform: how much the gradient
 * variance would shrink (as a batch-size multiple) by sampling proportionally to the scores.
 */
export function varianceReduction(scores: Float64Array): number {
  const n = scores.length;
  const total = scores.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return 1;
  const u = 1 / n;
  let dev = 0;
  let sq = 0;
  for (const s of scores) {
    const g = s / total;
    dev += (g - u) ** 2;
    sq += g * g;
  }
  const ratio = dev / sq;
  return ratio >= 1 ? Infinity : 1 / Math.sqrt(1 - ratio);
}

export function importanceSamplingStrategy(o: ImportanceSamplingOptions = {}, loss: PerSampleLoss = crossEntropyLoss()): Strategy {
  const presample = o.presample ?? 3;
  const momentum = o.momentum ?? 0.9;
  if (!(Number.isInteger(presample) && presample >= 1)) throw new RangeError(`is: presample = ${presample}, expected an integer >= 1`);
  if (!(momentum >= 0 && momentum < 1)) throw new RangeError(`is: momentum = ${momentum}, expected a number in [0, 1)`);
  let tau = 0;
  let rng = new SeededRandom(o.seed ?? 0, 'importance-sampling');
  let active = false;
  let steps = 0;
  return {
    label: `is(presample=${presample})`,
    // Each process picks its share of the batch from its own candidates: the global pick would move samples between processes.
    dataParallel: 'local',
    loss,
    weigh: (b: BatchView) => uniformWeights(b.ids.length),
    sampling: {
      presample,
      // Each epoch visits `presample` seeded permutations back to back, so an epoch still has N / b
      // steps while every step sees presample * b candidates. (With presample 1 the loader's own
      // shuffled order serves.)
      candidateOrder: presample > 1 ? (epoch, n) => candidateOrder(n, presample, o.seed ?? 0, epoch) : undefined,
      pick: ({ logits, labels }, b) => pick(logits, labels, b),
    },
    state: () => ({ tau, steps, rng: rng.saveState() }),
    loadState(s) {
      const st = s as { tau: number; steps: number; rng: number };
      tau = st.tau;
      steps = st.steps;
      rng = SeededRandom.fromState(st.rng);
    },
  };

  function pick(logits: Tensor, labels: Tensor, b: number): { picks: Int32Array; weights: Float64Array } {
    const B = logits.size(0);
    const scores = gradNormSq(loss, logits, labels).map(Math.sqrt);
    const threshold = o.tauThreshold ?? (B + 3 * b) / (3 * b);
    tau = momentum * tau + (1 - momentum) * varianceReduction(scores);
    active = tau > threshold;
    steps++;
    const picks = new Int32Array(Math.min(b, B));
    const weights = new Float64Array(picks.length);
    if (!active) {
      const order = rng.permutation(B);
      for (let i = 0; i < picks.length; i++) {
        picks[i] = order[i]!;
        weights[i] = 1;
      }
      return { picks, weights };
    }
    const total = scores.reduce((a, s) => a + s, 0);
    const cumulative = new Float64Array(B);
    let acc = 0;
    for (let i = 0; i < B; i++) cumulative[i] = acc += scores[i]! / total;
    for (let k = 0; k < picks.length; k++) {
      const r = rng.next();
      let lo = 0;
      let hi = B - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid]! > r) hi = mid;
        else lo = mid + 1;
      }
      picks[k] = lo;
      weights[k] = 1 / (B * (scores[lo]! / total));
    }
    return { picks, weights };
  }
}

/** `presample` seeded permutations of the n training rows, back to back: an epoch's candidate order. */
export function candidateOrder(n: number, presample: number, seed: number, epoch: number): Int32Array {
  const order = new Int32Array(n * presample);
  for (let k = 0; k < presample; k++) order.set(new SeededRandom(seed, `presample-${epoch}-${k}`).permutation(n), k * n);
  return order;
}

export const importanceSamplingDefinition: StrategyDefinition = {
  name: 'is',
  role: 'baseline',
  help:
    'importance sampling (Katharopoulos & Fleuret 2018): presample presample*b, ' +
    'pick b by gradient-norm bound with unbiased weights 1/(B p), once the variance reduction passes (B+3b)/(3b)',
  options: {
    presample: {
      type: 'number',
      default: 3,
      range: { min: 1, integer: true },
      expected: 'an integer >= 1',
      help: 'candidates per trained sample (B / b)',
    },
    tau: {
      type: 'number',
      range: { min: 0, minOpen: true },
      expected: 'a finite number > 0',
      help: 'variance-reduction threshold; default (B + 3b) / (3b)',
    },
  },
  tuningGrid: { presample: [2, 3, 5] },
  create: (options, _info, { label, seed }) => ({
    ...importanceSamplingStrategy({
      presample: numberOption(importanceSamplingDefinition, options, 'presample'),
      tauThreshold: numberOption(importanceSamplingDefinition, options, 'tau'),
      seed,
    }),
    label,
  }),
};
