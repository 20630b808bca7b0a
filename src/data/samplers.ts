/**
 * Samplers: what an epoch visits when a strategy chooses its samples instead of the shuffled
 * order (importance sampling's presampling draws its rows with weightedSampler).
 */
import { checkInteger } from './checks.js';
import type { SeededRandom } from '../util/seeded-random.js';

/** Chooses the dataset rows an epoch visits, in order (repetitions allowed). */
export type Sampler = (epoch: number) => ArrayLike<number>;

/**
 * `count` dataset rows drawn with replacement, row i with probability
 * weights[i] / sum(weights) (a sampler for strategies that sample by importance). Draws
 * `count` numbers from `rng`, in order.
 */
export function weightedSampler(weights: ArrayLike<number>, count: number, rng: SeededRandom): Int32Array {
  checkInteger('count', count, 0);
  const n = weights.length;
  const cumulative = new Float64Array(n);
  let total = 0;
  let last = -1;
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (!Number.isFinite(w) || w < 0) throw new RangeError(`weights[${i}] = ${w}: weights must be finite and non-negative`);
    total += w;
    cumulative[i] = total;
    if (w > 0) last = i;
  }
  if (count > 0 && !(total > 0)) throw new RangeError('weights: at least one weight must be positive');
  const out = new Int32Array(count);
  for (let s = 0; s < count; s++) {
    const u = rng.next() * total;
    // The first i with cumulative[i] > u: never a zero-weight row.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    out[s] = cumulative[lo]! > u ? lo : last;
  }
  return out;
}
