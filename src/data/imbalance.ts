import { classCounts, type ImageDataset, subset } from './dataset.js';
import { SeededRandom } from '../util/seeded-random.js';
import { indicesByClass } from './split.js';

/** An imbalanced subset and how many samples each class kept. */
export interface ImbalanceResult {
  dataset: ImageDataset;
  /** Samples kept per class, indexed by label. */
  counts: number[];
}

/** Result of {@link halvingImbalance}. */
export interface HalvingImbalanceResult extends ImbalanceResult {
  /** The exponent k of each class (indexed by label): the class keeps at most round(NC / 2^k). */
  exponents: number[];
}

/** Result of {@link longTailImbalance}. */
export interface LongTailImbalanceResult extends ImbalanceResult {
  /** Position i of each class (indexed by label) in the profile: 0 keeps the most. */
  ranks: number[];
}

/**
 * The paper's imbalance (section 4, imbalanced MNIST): every class keeps at most
 * round(NC / 2^k) samples, NC the largest class count, rounding half up
 * (6000 / 2^5 = 187.5 -> 188), with the exponents k = 0..C-1 assigned to the classes by a
 * seeded random permutation. For the paper's 10 classes that is k in {0..9}; for other class
 * counts we use the same rule (a permutation of 0..C-1), with k capped at the largest value
 * for which round(NC / 2^k) is still 1, so that every class keeps at least one sample.
 *
 * The samples kept in a class are the first ones of a seeded shuffle of that class; the
 * subset stays in file order and keeps the original sample ids.
 */
export function halvingImbalance(ds: ImageDataset, seed: number): HalvingImbalanceResult {
  const random = new SeededRandom(seed, 'halving-imbalance');
  const largest = Math.max(0, ...classCounts(ds));
  let maxExponent = 0;
  while (roundHalfUp(largest / 2 ** (maxExponent + 1)) >= 1) maxExponent++;
  const exponents = Array.from(random.permutation(ds.classNames.length), (k) => Math.min(k, maxExponent));
  const quotas = exponents.map((k) => roundHalfUp(largest / 2 ** k));
  return { ...keepPerClass(ds, quotas, random), exponents };
}

/**
 * Long-tail imbalance with an exponential profile (Cao et al. 2019, "LDAM"): the class at
 * position i of the profile keeps floor(NC * rho^(-i / (C - 1))) samples (at least one),
 * so the largest and smallest class counts differ by the imbalance ratio rho.
 * Rounding down as their released code does, so the counts match the literature's
 * (CIFAR-10, rho = 100: 5000, 2997, 1796, ..., 50).
 *
 * `order: 'class'` (default, as in their code) puts class c at position c; `'shuffled'`
 * uses a seeded permutation of the classes instead. Kept samples: the first ones of a
 * seeded shuffle of each class, as in {@link halvingImbalance}.
 */
export function longTailImbalance(
  ds: ImageDataset,
  ratio: number,
  seed: number,
  order: 'class' | 'shuffled' = 'class',
): LongTailImbalanceResult {
  if (!(ratio >= 1) || !Number.isFinite(ratio)) {
    throw new RangeError(`imbalance ratio must be a finite number >= 1, got ${ratio}`);
  }
  const random = new SeededRandom(seed, 'long-tail-imbalance');
  const classes = ds.classNames.length;
  const largest = Math.max(0, ...classCounts(ds));
  const ranks = order === 'class' ? Array.from({ length: classes }, (_, c) => c) : Array.from(random.permutation(classes));
  const quotas = ranks.map((i) => (classes === 1 ? largest : Math.max(1, Math.floor(largest * ratio ** (-i / (classes - 1))))));
  return { ...keepPerClass(ds, quotas, random), ranks };
}

/**
 * Keeps at most `quotas[c]` samples of each class c: the first ones of a seeded shuffle
 * of the class (a class with fewer samples keeps them all).
 */
function keepPerClass(ds: ImageDataset, quotas: number[], random: SeededRandom): ImbalanceResult {
  const byClass = indicesByClass(ds.labels);
  const kept: number[] = [];
  const counts = quotas.map(() => 0);
  byClass.forEach((members, c) => {
    const chosen = random.shuffle(Int32Array.from(members)).subarray(0, quotas[c]);
    counts[c] = chosen.length;
    for (const index of chosen) kept.push(index);
  });
  kept.sort((a, b) => a - b);
  return { dataset: subset(ds, kept), counts };
}

function roundHalfUp(x: number): number {
  return Math.floor(x + 0.5);
}
