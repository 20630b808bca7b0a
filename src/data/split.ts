import { type ImageDataset, subset } from './dataset.js';
import { SeededRandom } from '../util/seeded-random.js';

/** Sample indices on each side of a split, each in ascending (file) order. */
export interface SplitIndices {
  kept: Int32Array;
  heldOut: Int32Array;
}

/**
 * Seeded stratified split: holds out `fraction` of the samples with every class
 * represented in proportion.
 *
 * Exactly round(fraction * N) samples are held out (round half up). Each class c gives
 * floor(fraction * n_c) samples, and the few left to reach the total come one each from
 * the classes with the largest remainders (ties: lower class index), so every class is
 * within one sample of its exact share. Within a class, the held-out samples are the
 * first ones of a seeded shuffle.
 */
export function stratifiedSplit(labels: ArrayLike<number>, fraction: number, seed: number): SplitIndices {
  if (!(fraction >= 0 && fraction <= 1)) {
    throw new RangeError(`split fraction must be in [0, 1], got ${fraction}`);
  }
  const byClass = indicesByClass(labels);
  const shares = byClass.map((members) => fraction * members.length);
  const quotas = shares.map(Math.floor);
  const total = Math.floor(fraction * labels.length + 0.5);
  let missing = total - quotas.reduce((a, b) => a + b, 0);
  const byRemainder = shares
    .map((share, c) => ({ c, remainder: share - quotas[c]! }))
    .filter(({ c, remainder }) => remainder > 0 && quotas[c]! < byClass[c]!.length)
    .sort((a, b) => b.remainder - a.remainder || a.c - b.c);
  for (const { c } of byRemainder) {
    if (missing <= 0) break;
    quotas[c]!++;
    missing--;
  }

  const random = new SeededRandom(seed, 'stratified-split');
  const isHeldOut = new Uint8Array(labels.length);
  byClass.forEach((members, c) => {
    const shuffled = random.shuffle(Int32Array.from(members));
    for (let i = 0; i < quotas[c]!; i++) isHeldOut[shuffled[i]!] = 1;
  });
  const kept: number[] = [];
  const heldOut: number[] = [];
  isHeldOut.forEach((held, i) => (held ? heldOut : kept).push(i));
  return { kept: Int32Array.from(kept), heldOut: Int32Array.from(heldOut) };
}

/**
 * Splits a dataset with {@link stratifiedSplit}, e.g. to carve a validation set out of
 * the training set. Both parts keep the original sample ids.
 */
export function splitDataset(ds: ImageDataset, fraction: number, seed: number): { kept: ImageDataset; heldOut: ImageDataset } {
  const { kept, heldOut } = stratifiedSplit(ds.labels, fraction, seed);
  return { kept: subset(ds, kept), heldOut: subset(ds, heldOut) };
}

/** Sample indices of every class, ascending; classes are 0..max label. */
export function indicesByClass(labels: ArrayLike<number>): number[][] {
  const byClass: number[][] = [];
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label === undefined || !Number.isInteger(label) || label < 0)
      throw new RangeError(`label ${label} of sample ${i} is not a class index`);
    while (byClass.length <= label) byClass.push([]);
    byClass[label]!.push(i);
  }
  return byClass;
}
