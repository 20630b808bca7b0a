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
import { SeededRandom } from '../data/random.js';

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
    loss,
    presample,
    weigh: (b: BatchView) => uniformWeights(b.ids.length),
    select({ logits, labels }, b) {
      const B = logits.size(0);
      const scores = gradNormSq(loss, logits, labels).map(Math.sqrt);
      const threshold = o.tauThreshold ?? (B + 3 * b) / (3 * b);
      tau = momentum * tau + (1 - momentum) * varianceReduction(scores);
      active = tau > threshold;
      steps++;
      const positions = new Int32Array(Math.min(b, B));
      const weights = new Float64Array(positions.length);
      if (!active) {
        const order = rng.permutation(B);
        for (let i = 0; i < positions.length; i++) {
          positions[i] = order[i]!;
          weights[i] = 1;
        }
        return { positions, weights };
      }
      const total = scores.reduce((a, s) => a + s, 0);
      const cumulative = new Float64Array(B);
      let acc = 0;
      for (let i = 0; i < B; i++) cumulative[i] = acc += scores[i]! / total;
      for (let k = 0; k < positions.length; k++) {
        const r = rng.next();
        let lo = 0;
        let hi = B - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cumulative[mid]! > r) hi = mid;
          else lo = mid + 1;
        }
        positions[k] = lo;
        weights[k] = 1 / (B * (scores[lo]! / total));
      }
      return { positions, weights };
    },
    state: () => ({ tau, steps, rng: rng.saveState() }),
    loadState(s) {
      const st = s as { tau: number; steps: number; rng: number };
      tau = st.tau;
      steps = st.steps;
      rng = SeededRandom.fromState(st.rng);
    },
  };
}
