import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageDataset } from '../src/data/dataset.js';
import { addLabelNoise } from '../src/data/label-noise.js';

function dataset(classes: number, n: number): ImageDataset {
  return {
    name: 'toy',
    images: new Uint8Array(n),
    shape: [1, 1, 1],
    labels: Int32Array.from({ length: n }, (_, i) => (i * 7) % classes),
    ids: Int32Array.from({ length: n }, (_, i) => i),
    classNames: Array.from({ length: classes }, (_, c) => `c${c}`),
  };
}

test('symmetric noise flips exactly round(r * N) labels, each to a different class', () => {
  const ds = dataset(10, 1001);
  for (const rate of [0, 0.2, 0.45, 1]) {
    const noisy = addLabelNoise(ds, { kind: 'symmetric', rate, seed: 3 });
    const expected = Math.floor(rate * 1001 + 0.5);
    assert.equal(noisy.flipped, expected);
    assert.equal(
      noisy.isNoisy.reduce((a, b) => a + b, 0),
      expected,
    );
    assert.deepEqual(noisy.cleanLabels, ds.labels);
    noisy.dataset.labels.forEach((label, i) => {
      assert.equal(label !== noisy.cleanLabels[i], noisy.isNoisy[i] === 1);
      assert.ok(label >= 0 && label < 10);
    });
    assert.equal(noisy.dataset.images, ds.images);
    assert.deepEqual(noisy.dataset.ids, ds.ids);
  }
  // The source dataset is left untouched.
  assert.deepEqual(ds.labels, dataset(10, 1001).labels);
});

test('symmetric noise reaches every other class, and the same seed gives the same noise', () => {
  const ds = dataset(4, 400);
  const a = addLabelNoise(ds, { kind: 'symmetric', rate: 1, seed: 11 });
  const targets = new Set(Array.from(a.dataset.labels).filter((_, i) => a.cleanLabels[i] === 0));
  assert.deepEqual([...targets].sort(), [1, 2, 3]);
  const b = addLabelNoise(ds, { kind: 'symmetric', rate: 0.3, seed: 11 });
  const c = addLabelNoise(ds, { kind: 'symmetric', rate: 0.3, seed: 11 });
  const d = addLabelNoise(ds, { kind: 'symmetric', rate: 0.3, seed: 12 });
  assert.deepEqual(b.dataset.labels, c.dataset.labels);
  assert.notDeepEqual(b.isNoisy, d.isNoisy);
});

test('pair noise sends class c to (c + 1) mod C, or to a given map, at the exact rate', () => {
  const ds = dataset(5, 500);
  const noisy = addLabelNoise(ds, { kind: 'pair', rate: 0.25, seed: 1 });
  assert.equal(noisy.flipped, 125);
  noisy.isNoisy.forEach((flag, i) => {
    if (flag) assert.equal(noisy.dataset.labels[i], (noisy.cleanLabels[i]! + 1) % 5);
    else assert.equal(noisy.dataset.labels[i], noisy.cleanLabels[i]);
  });
  // Classes mapped to themselves stay clean; the rate applies to the others (here 200 samples).
  const pairs = [1, 0, 2, 3, 4];
  const partial = addLabelNoise(ds, { kind: 'pair', rate: 0.5, seed: 1, pairs });
  assert.equal(partial.flipped, 100);
  partial.isNoisy.forEach((flag, i) => {
    if (flag) assert.equal(partial.dataset.labels[i], pairs[partial.cleanLabels[i]!]);
    if (partial.cleanLabels[i]! >= 2) assert.equal(flag, 0);
  });
  assert.throws(() => addLabelNoise(ds, { kind: 'pair', rate: 0.5, seed: 1, pairs: [1, 0] }), RangeError);
  assert.throws(() => addLabelNoise(ds, { kind: 'symmetric', rate: 1.5, seed: 1 }), RangeError);
});
