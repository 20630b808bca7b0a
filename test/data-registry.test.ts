import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DataError } from '../src/data/dataset.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../src/data/idx.js';
import { DATASET_NAMES, defaultDataDir, describeDataset, loadDataset } from '../src/data/registry.js';
import { cifarBytes, idxBytes, makeTempDir, patternBytes, writeFile } from './data-fixtures.js';

const temp = makeTempDir('registry');
after(temp.remove);

test('an unknown dataset name is a DataError listing the known ones', async () => {
  await assert.rejects(
    loadDataset('imagenet', { split: 'train' }),
    (error: unknown) =>
      error instanceof DataError &&
      error.message === 'unknown dataset "imagenet"; known datasets: fashion-mnist, mnist, cifar10, cifar100, isic2017, isic2018, folder',
  );
});

test('a missing dataset names every expected file, marks the missing ones and tells about --data-dir', async () => {
  const dir = join(temp.dir, 'mnist');
  writeFile(join(dir, 'train-labels-idx1-ubyte'), idxBytes(IDX_LABELS_MAGIC, [1], Uint8Array.of(0)));
  await assert.rejects(loadDataset('mnist', { split: 'train', dataDir: dir }), (error: unknown) => {
    assert.ok(error instanceof DataError);
    assert.match(error.message, new RegExp(`^dataset "mnist" \\(train split\\) not found in ${dir}\\. Expected:`));
    assert.match(error.message, new RegExp(`\n  ${join(dir, 'train-images-idx3-ubyte')}\\[\\.gz\\]   \\(missing\\)\n`));
    assert.match(error.message, new RegExp(`\n  ${join(dir, 'train-labels-idx1-ubyte')}\\[\\.gz\\]\n`));
    assert.match(error.message, /--data-dir <folder>/);
    return true;
  });
  await assert.rejects(
    loadDataset('isic2018', { split: 'test', dataDir: dir }),
    /ISIC2018_Task3_Training_GroundTruth\.csv {3}\(missing\)\n.*ISIC2018_Task3_Training_Input\/<image>\.jpg {3}\(missing\)/,
  );
  await assert.rejects(
    loadDataset('cifar100', { split: 'test', dataDir: dir, cifar100Labels: 'coarse' }),
    /Expected \(or in .*cifar-100-binary\/\):\n.*test\.bin {3}\(missing\)\n.*coarse_label_names\.txt {3}\(missing\)/,
  );
});

test('registry reads mnist from --data-dir and CIFAR-10 from the archive subfolder', async () => {
  const mnistDir = join(temp.dir, 'digits');
  writeFile(join(mnistDir, 't10k-images-idx3-ubyte'), idxBytes(IDX_IMAGES_MAGIC, [2, 28, 28], patternBytes(2 * 784, 1)));
  writeFile(join(mnistDir, 't10k-labels-idx1-ubyte'), idxBytes(IDX_LABELS_MAGIC, [2], Uint8Array.of(7, 2)));
  const mnist = await loadDataset('mnist', { split: 'test', dataDir: mnistDir });
  assert.equal(mnist.name, 'mnist (test)');
  assert.deepEqual(Array.from(mnist.labels), [7, 2]);

  const cifarDir = join(temp.dir, 'c10', 'cifar-10-batches-bin');
  writeFile(join(cifarDir, 'test_batch.bin'), cifarBytes([[4]], patternBytes(3072, 9)));
  writeFile(join(cifarDir, 'batches.meta.txt'), 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n');
  const cifar = await loadDataset('cifar10', { split: 'test', dataDir: join(temp.dir, 'c10') });
  assert.deepEqual(Array.from(cifar.labels), [4]);
  assert.equal(cifar.classNames[4], 'e');
});

test('every dataset has a description and a default folder', () => {
  assert.equal(defaultDataDir('fashion-mnist'), '/usr/share/datasets/fashion-mnist');
  for (const name of DATASET_NAMES) {
    assert.ok(describeDataset(name).length > 10);
    assert.ok(defaultDataDir(name).length > 0);
  }
});
