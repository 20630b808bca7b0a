// The real Fashion-MNIST of Debian's dataset-fashion-mnist package, read through the registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { classCounts, imageAt } from '../src/data/dataset.js';
import { DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_CLASS_NAMES } from '../src/data/idx.js';
import { halvingImbalance } from '../src/data/imbalance.js';
import { loadDataset } from '../src/data/registry.js';

const skip = existsSync(DEBIAN_FASHION_MNIST_DIR) ? false : `${DEBIAN_FASHION_MNIST_DIR} absent (apt-get install dataset-fashion-mnist)`;

// Obtained independently of this code, in the shell:
//   zcat /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz | tail -c +17 | head -c 784 | sha256sum
const FIRST_TRAIN_IMAGE_SHA256 = '5bd44e331a6d6998daf675700cd0c13dcd7af8ab954b7585124124da61459e7b';
// zcat .../train-labels-idx1-ubyte.gz | tail -c +9 | head -c 10 | od -An -tu1
const FIRST_TRAIN_LABELS = [9, 0, 0, 3, 0, 2, 7, 2, 5, 5];

test('Fashion-MNIST train: 60,000 images of 28x28, 6,000 per class, first image and labels as in the files', { skip }, async () => {
  const train = await loadDataset('fashion-mnist', { split: 'train' });
  assert.equal(train.labels.length, 60_000);
  assert.equal(train.images.length, 60_000 * 784);
  assert.deepEqual(train.shape, [1, 28, 28]);
  assert.deepEqual(train.classNames, FASHION_MNIST_CLASS_NAMES);
  assert.deepEqual(classCounts(train), new Array(10).fill(6000));
  assert.equal(createHash('sha256').update(imageAt(train, 0)).digest('hex'), FIRST_TRAIN_IMAGE_SHA256);
  assert.deepEqual(Array.from(train.labels.subarray(0, 10)), FIRST_TRAIN_LABELS);

  // The paper's imbalance on 6,000 per class: 6000 + 3000 + ... + 23 + 12 = 11,989.
  const imbalanced = halvingImbalance(train, 1);
  assert.equal(imbalanced.dataset.labels.length, 11_989);
  assert.deepEqual(
    [...imbalanced.counts].sort((a, b) => b - a),
    [6000, 3000, 1500, 750, 375, 188, 94, 47, 23, 12],
  );
});

test('Fashion-MNIST test: 10,000 images, 1,000 per class', { skip }, async () => {
  const testSet = await loadDataset('fashion-mnist', { split: 'test' });
  assert.equal(testSet.labels.length, 10_000);
  assert.deepEqual(classCounts(testSet), new Array(10).fill(1000));
});
