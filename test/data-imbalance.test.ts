import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classCounts, type ImageDataset } from '../src/data/dataset.js';
import { halvingImbalance, longTailImbalance } from '../src/data/imbalance.js';

/** A balanced dataset of one-byte images whose pixel is the sample's id mod 256. */
function balanced(classes: number, perClass: number): ImageDataset {
  const n = classes * perClass;
  return {
    name: 'balanced',
    images: Uint8Array.from({ length: n }, (_, i) => i % 256),
    shape: [1, 1, 1],
    labels: Int32Array.from({ length: n }, (_, i) => i % classes),
    ids: Int32Array.from({ length: n }, (_, i) => i),
    classNames: Array.from({ length: classes }, (_, c) => `class ${c}`),
  };
}

const PAPER_COUNTS = [6000, 3000, 1500, 750, 375, 188, 94, 47, 23, 12];

test('halving imbalance: class c keeps round(6000 / 2^k_c), k a permutation of 0..9, 11,989 in total', () => {
  const ds = balanced(10, 6000);
  const { dataset, counts, exponents } = halvingImbalance(ds, 42);
  assert.deepEqual(
    [...exponents].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  counts.forEach((count, c) => assert.equal(count, PAPER_COUNTS[exponents[c]!]));
  assert.deepEqual(classCounts(dataset), counts);
  assert.equal(dataset.labels.length, 11_989);
  // Kept samples stay in file order, with their original ids and pixels.
  for (let i = 1; i < dataset.ids.length; i++) assert.ok(dataset.ids[i]! > dataset.ids[i - 1]!);
  dataset.ids.forEach((id, i) => {
    assert.equal(dataset.labels[i], ds.labels[id]);
    assert.equal(dataset.images[i], ds.images[id]);
  });
});

test('halving imbalance: same seed same subset, other seeds permute the exponents', () => {
  const ds = balanced(10, 600);
  const a = halvingImbalance(ds, 7);
  const b = halvingImbalance(ds, 7);
  assert.deepEqual(a.exponents, b.exponents);
  assert.deepEqual(a.dataset.ids, b.dataset.ids);
  const others = [8, 9, 10].map((seed) => halvingImbalance(ds, seed).exponents.join(','));
  assert.ok(others.some((exponents) => exponents !== a.exponents.join(',')));
  // Same exponent, different seed: same count but a different choice of samples.
  const c = halvingImbalance(ds, 8);
  const classWithK1 = (r: typeof a) => r.exponents.indexOf(1);
  const kept = (r: typeof a) => Array.from(r.dataset.ids).filter((id) => ds.labels[id] === classWithK1(r));
  assert.equal(kept(a).length, 300);
  assert.equal(kept(c).length, 300);
  assert.notDeepEqual(
    kept(a).map((id) => Math.floor(id / 10)),
    kept(c).map((id) => Math.floor(id / 10)),
  );
});

test('halving imbalance with other class counts: k a permutation of 0..C-1, capped so every class keeps one', () => {
  const three = halvingImbalance(balanced(3, 10), 1);
  assert.deepEqual(
    [...three.counts].sort((a, b) => b - a),
    [10, 5, 3],
  ); // 10/4 = 2.5 -> 3
  const many = halvingImbalance(balanced(20, 40), 1);
  // round(40 / 2^k) >= 1 up to k = 6 (40/64 = 0.625 -> 1); larger k are capped at 6.
  // k = 5 (40/32 = 1.25) already gives 1, so classes with k = 5..19 keep one sample each.
  assert.deepEqual(
    [...many.exponents].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, ...new Array(14).fill(6)],
  );
  assert.equal(many.counts.filter((n) => n === 1).length, 15);
  assert.ok(many.counts.every((n) => n >= 1));
});

test('long-tail imbalance: exponential profile with ratio rho, as in the literature for CIFAR-10-LT', () => {
  const ds = balanced(10, 5000);
  const { counts, ranks, dataset } = longTailImbalance(ds, 100, 0);
  assert.deepEqual(counts, [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]);
  assert.deepEqual(ranks, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(
    dataset.labels.length,
    counts.reduce((a, b) => a + b),
  );
  const shuffled = longTailImbalance(ds, 100, 5, 'shuffled');
  assert.deepEqual(
    [...shuffled.ranks].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  shuffled.counts.forEach((count, c) => assert.equal(count, counts[shuffled.ranks[c]!]));
  assert.throws(() => longTailImbalance(ds, 0.5, 0), RangeError);
});
