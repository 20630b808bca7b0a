import type { ImageDataset } from './dataset.js';
import { SeededRandom } from '../util/seeded-random.js';

/**
 * Which labels to corrupt and how.
 * - `symmetric`: a corrupted sample gets a uniformly random class other than its own.
 * - `pair` (asymmetric, class-pair noise): a corrupted sample of class c gets the fixed
 *   class `pairs[c]`, by default (c + 1) mod C. Classes mapped to themselves are left clean.
 */
export type LabelNoise =
  | { kind: 'symmetric'; rate: number; seed: number }
  | { kind: 'pair'; rate: number; seed: number; pairs?: readonly number[] };

/** A dataset with corrupted labels and the truth beside it. */
export interface NoisyDataset {
  /** Same images (shared, not copied), ids and classes; noisy labels. */
  dataset: ImageDataset;
  /** The original labels, aligned with the samples. */
  cleanLabels: Int32Array;
  /** 1 where the label was changed, aligned with the samples. */
  isNoisy: Uint8Array;
  /** How many labels were changed. */
  flipped: number;
}

/**
 * Corrupts labels at an exact rate: exactly round(rate * N) samples (round half up) get a
 * different label, chosen as the first ones of a seeded shuffle. N is the number of samples
 * that can be corrupted: all of them for symmetric noise, those of classes with a pair
 * other than themselves for pair noise. Every changed label differs from the clean one.
 */
export function addLabelNoise(ds: ImageDataset, noise: LabelNoise): NoisyDataset {
  if (!(noise.rate >= 0 && noise.rate <= 1)) {
    throw new RangeError(`noise rate must be in [0, 1], got ${noise.rate}`);
  }
  const classes = ds.classNames.length;
  const random = new SeededRandom(noise.seed, `label-noise-${noise.kind}`);
  const cleanLabels = ds.labels;
  const labels = Int32Array.from(cleanLabels);
  const isNoisy = new Uint8Array(labels.length);

  let corrupt: (clean: number) => number;
  let eligible: number[];
  if (noise.kind === 'symmetric') {
    if (classes < 2) throw new RangeError('symmetric label noise needs at least 2 classes');
    // Drawing among the C - 1 other classes keeps the new label different by construction.
    corrupt = (clean) => {
      const other = random.int(classes - 1);
      return other >= clean ? other + 1 : other;
    };
    eligible = Array.from(labels.keys());
  } else {
    const pairs = noise.pairs ?? Array.from({ length: classes }, (_, c) => (c + 1) % classes);
    checkPairs(pairs, classes);
    corrupt = (clean) => pairs[clean]!;
    eligible = Array.from(labels.keys()).filter((i) => pairs[labels[i]!] !== labels[i]);
  }

  const count = Math.floor(noise.rate * eligible.length + 0.5);
  const chosen = random.shuffle(eligible).slice(0, count);
  for (const i of chosen) {
    labels[i] = corrupt(cleanLabels[i]!);
    isNoisy[i] = 1;
  }
  return { dataset: { ...ds, labels }, cleanLabels: Int32Array.from(cleanLabels), isNoisy, flipped: count };
}

function checkPairs(pairs: readonly number[], classes: number): void {
  if (pairs.length !== classes) {
    throw new RangeError(`pair noise needs one target class per class: ${pairs.length} given, ${classes} classes`);
  }
  pairs.forEach((target, c) => {
    if (!Number.isInteger(target) || target < 0 || target >= classes) {
      throw new RangeError(`pair noise target of class ${c} is ${target}, expected a class in 0..${classes - 1}`);
    }
  });
}
