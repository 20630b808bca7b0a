import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classCounts, type ImageDataset } from '../src/data/dataset.js';
import { splitDataset, stratifiedSplit } from '../src/data/split.js';

test('stratified split: exact total, every class within one sample of its share, disjoint and complete', () => {
  // Class sizes 7, 13, 1, 29 (50 samples), interleaved.
  const sizes = [7, 13, 1, 29];
  const labels: number[] = [];
  sizes.forEach((size, c) => labels.push(...new Array(size).fill(c)));
  const shuffledLabels = labels
    .map((label, i) => ({ label, key: (i * 37) % 50 }))
    .sort((a, b) => a.key - b.key)
    .map((x) => x.label);

  const { kept, heldOut } = stratifiedSplit(shuffledLabels, 0.2, 5);
  assert.equal(heldOut.length, 10);
  assert.equal(kept.length, 40);
  assert.deepEqual(
    [...kept, ...heldOut].sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i),
  );
  for (const part of [kept, heldOut]) for (let i = 1; i < part.length; i++) assert.ok(part[i]! > part[i - 1]!);
  sizes.forEach((size, c) => {
    const held = Array.from(heldOut).filter((i) => shuffledLabels[i] === c).length;
    assert.ok(Math.abs(held - 0.2 * size) < 1, `class ${c}: ${held} held out of ${size}`);
  });

  assert.deepEqual(stratifiedSplit(shuffledLabels, 0.2, 5), { kept, heldOut });
  assert.notDeepEqual(stratifiedSplit(shuffledLabels, 0.2, 6).heldOut, heldOut);
  assert.equal(stratifiedSplit(shuffledLabels, 0, 1).heldOut.length, 0);
  assert.equal(stratifiedSplit(shuffledLabels, 1, 1).kept.length, 0);
  assert.throws(() => stratifiedSplit(shuffledLabels, 1.2, 1), RangeError);
});

test('splitDataset carves a validation set keeping the original ids', () => {
  const ds: ImageDataset = {
    name: 'toy',
    images: Uint8Array.from({ length: 40 }, (_, i) => i),
    shape: [1, 1, 1],
    labels: Int32Array.from({ length: 40 }, (_, i) => i % 4),
    ids: Int32Array.from({ length: 40 }, (_, i) => 100 + i),
    classNames: ['a', 'b', 'c', 'd'],
  };
  const { kept, heldOut } = splitDataset(ds, 0.25, 0);
  // 2.5 per class: two each, and the two left over go to the first classes among equal remainders.
  assert.deepEqual(classCounts(heldOut), [3, 3, 2, 2]);
  assert.equal(heldOut.labels.length, 10);
  assert.equal(kept.labels.length, 30);
  for (const part of [kept, heldOut]) {
    part.ids.forEach((id, i) => {
      assert.equal(part.images[i], id - 100);
      assert.equal(part.labels[i], (id - 100) % 4);
    });
  }
});
