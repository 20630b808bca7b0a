// The data of a run is checked before its first step: empty splits, a test split of another image
// size, a model that cannot take the images, a batch or a history too large for memory. Each
// message names the dataset's folder and what was expected. Data: tiny MNIST-format IDX files and
// image folders written here.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkModelFitsData, prepareData, MAX_BATCH_BYTES, MAX_HISTORY_ENTRIES } from '../src/train/prepare-data.js';
import { trainRun } from '../src/train/run.js';
import { DEFAULT_CONFIG, type RunConfig } from '../src/train/config.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../src/data/idx.js';
import type { ImageDataset } from '../src/data/dataset.js';
import { idxBytes, makeTempDir, patternBytes, writeFile } from './data-fixtures.js';
import { makeImageFolder } from './report-fixtures.js';

const temp = makeTempDir('prepare');
after(temp.remove);

/** MNIST-format files: `train` and `test` images of size x size, labels cycling through the 10 classes. */
function mnist(name: string, o: { train: number; test: number; size?: number; testSize?: number }): string {
  const dir = join(temp.dir, name);
  const write = (prefix: string, n: number, size: number) => {
    writeFile(join(dir, `${prefix}-images-idx3-ubyte`), idxBytes(IDX_IMAGES_MAGIC, [n, size, size], patternBytes(n * size * size, n)));
    writeFile(
      join(dir, `${prefix}-labels-idx1-ubyte`),
      idxBytes(
        IDX_LABELS_MAGIC,
        [n],
        Uint8Array.from({ length: n }, (_, i) => i % 10),
      ),
    );
  };
  write('train', o.train, o.size ?? 28);
  write('t10k', o.test, o.testSize ?? o.size ?? 28);
  return dir;
}

const config = (dataDir: string, over: Partial<RunConfig> = {}): RunConfig => ({
  ...DEFAULT_CONFIG,
  dataset: 'mnist',
  dataDir,
  epochs: 1,
  batchSize: 10,
  ...over,
});

const rejectsWith = (p: Promise<unknown>, message: string | RegExp) =>
  assert.rejects(p, (e: Error) => {
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });

test('an empty test split, or one of another image size, is refused before the first step, naming the folder', async () => {
  const empty = mnist('empty-test', { train: 20, test: 0 });
  await rejectsWith(
    prepareData(config(empty)),
    `mnist (test split) in ${empty} (t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte): no test images, ` +
      'expected at least one (the test split is evaluated after every epoch)',
  );
  const out = join(temp.dir, 'out-empty-test');
  await rejectsWith(trainRun(config(empty), { out }), /no test images/);
  assert.equal(existsSync(out), false, 'a refused start leaves no folder behind (not even config.json)');

  const other = mnist('other-size', { train: 20, test: 10, testSize: 32 });
  await rejectsWith(
    prepareData(config(other)),
    `mnist (test split) in ${other} (t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte): images of 1 x 32 x 32 (channels x height x width), ` +
      "but the training split's are 1 x 28 x 28, expected the same size",
  );
  // Without the test split (tuning runs never load it) the training split alone is fine.
  const data = await prepareData(config(other, { evaluateTest: false, valFraction: 0.5 }));
  assert.equal(data.test, null);
  assert.equal(data.train.labels.length + data.val!.labels.length, 20);
});

test('an empty training split, or one emptied by the validation hold-out, is refused', async () => {
  const empty = mnist('empty-train', { train: 0, test: 5 });
  await rejectsWith(
    prepareData(config(empty)),
    `mnist (train split) in ${empty} (train-images-idx3-ubyte, train-labels-idx1-ubyte): no training images, expected at least one`,
  );
  const tiny = mnist('tiny', { train: 4, test: 5 });
  // 5 % of 4 samples rounds to none: a validation split of nothing would score NaN.
  await rejectsWith(
    prepareData(config(tiny, { valFraction: 0.05 })),
    `mnist (train split) in ${tiny}: --val-fraction 0.05 holds out no sample of the 4 training samples, ` +
      'expected a validation split of at least one',
  );
});

test('a batch larger than memory, and a history larger than memory, are refused with the largest value that fits', async () => {
  const dir = mnist('bounds', { train: 20, test: 5 });
  // One 28 x 28 image is 784 values, 3136 bytes as 32-bit floats; 2 GiB holds 684784 of them.
  assert.equal(MAX_BATCH_BYTES, 2 ** 31);
  await rejectsWith(
    prepareData(config(dir, { batchSize: 1_000_000 })),
    'batch size 1000000 (--batch-size): a batch of images of 1 x 28 x 28 would take 2.9 GiB as 32-bit floats, ' +
      'expected at most 684784 images (2 GiB); the training set has 20 samples',
  );
  assert.equal((await prepareData(config(dir, { batchSize: 684784 }))).train.labels.length, 20, 'the largest batch that fits is accepted');
  // 20 samples: 2^30 / 20 = 53687091 epochs fit in the history.
  assert.equal(MAX_HISTORY_ENTRIES, 2 ** 30);
  await rejectsWith(
    prepareData(config(dir, { epochs: 53687092 })),
    new RegExp(
      '^epochs 53687092 \\(--epochs\\) x 20 training samples: the per-sample history .* ' +
        'would take 12\\.0 GiB, expected at most 53687091 epochs for this training set',
    ),
  );
  await prepareData(config(dir, { epochs: 53687091 }));
});

const fake = (shape: [number, number, number]) => ({ train: { shape } as ImageDataset });

test('checkModelFitsData: LeNet-5 takes square images of an even size up to 32, MLP square ones, the others any', () => {
  const fits = (model: string, shape: [number, number, number]) => {
    try {
      checkModelFitsData({ ...DEFAULT_CONFIG, model }, fake(shape));
      return true;
    } catch {
      return false;
    }
  };
  assert.ok(fits('lenet5', [1, 28, 28]));
  assert.ok(fits('lenet5', [3, 32, 32]));
  assert.ok(fits('lenet5', [1, 8, 8]));
  assert.ok(!fits('lenet5', [1, 27, 27]), 'odd: the padding to 32 would not be even');
  assert.ok(!fits('lenet5', [3, 64, 64]));
  assert.ok(!fits('lenet5', [1, 28, 32]));
  assert.ok(fits('mlp', [3, 300, 300]));
  assert.ok(!fits('mlp', [1, 28, 32]));
  for (const model of ['wrn-28-2', 'densenet-bc', 'resnet18', 'resnet18-cifar', 'densenet161', 'wrn-16-8'])
    assert.ok(fits(model, [3, 300, 300]), model);
});

const largeImagesDefaultModelTitle =
  'a folder of 300 x 300 images with the default model: the message names the model, how it was chosen, what it takes and what fits';
test(largeImagesDefaultModelTitle, async () => {
  const dir = await makeImageFolder(join(temp.dir, 'images'), 2);
  const folder = { ...DEFAULT_CONFIG, dataset: 'folder', dataDir: dir, epochs: 1 };
  await rejectsWith(
    prepareData(folder),
    `${join(dir, 'train')}: images of 3 x 300 x 300 (channels x height x width), ` +
      'but model lenet5 (the default when neither --model nor --preset names one) ' +
      'takes square images of an even size up to 32 x 32 pixels (28 x 28 as MNIST, or 32 x 32); ' +
      'expected a model that takes them, chosen with --model: ' +
      'wrn-28-2, densenet-bc, densenet161, resnet18, resnet18-cifar, mlp. ' +
      'low-ts has no option to resize images (the folder dataset decodes every image at 300 x 300).',
  );
  assert.equal((await prepareData({ ...folder, model: 'wrn-28-2' })).train.shape.join('x'), '3x300x300');
});

const low = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });

test('low train: the data and strategy errors reach the terminal once, prefixed "low: " once', () => {
  const dir = mnist('cli', { train: 20, test: 0 });
  const testSplit = low(['train', '--dataset', 'mnist', '--data-dir', dir, '--epochs', '1', '--out', join(temp.dir, 'cli-1'), '--quiet']);
  assert.equal(testSplit.status, 1);
  assert.equal(
    testSplit.stderr.trim(),
    `low: mnist (test split) in ${dir} (t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte): no test images, ` +
      'expected at least one (the test split is evaluated after every epoch)',
  );
  const good = mnist('cli-good', { train: 20, test: 5 });
  const lambda = low([
    'train',
    '--dataset',
    'mnist',
    '--data-dir',
    good,
    '--strategy',
    'low:lambda=0',
    '--epochs',
    '1',
    '--out',
    join(temp.dir, 'cli-2'),
    '--quiet',
  ]);
  assert.equal(lambda.status, 1);
  assert.equal(lambda.stderr.trim(), "low: strategy 'low:lambda=0': lambda must be a finite number > 0, got 0");
  assert.ok(!existsSync(join(temp.dir, 'cli-2', 'checkpoint.lowt')));
});

test('the meta set of l2rw and mwn: from the training split only, disjoint from the samples trained and validated on, in samples.lowt', async () => {
  const dir = mnist('meta', { train: 120, test: 30 });
  const { loadDataset } = await import('../src/data/registry.js');
  const split = await loadDataset('mnist', { split: 'train', dataDir: dir });
  const check = async (over: Partial<RunConfig>) => {
    const d = await prepareData(config(dir, { strategy: 'l2rw', metaPerClass: 2, valFraction: 0.2, ...over }));
    assert.ok(d.meta);
    assert.deepEqual(
      Array.from({ length: 10 }, (_, c) => Array.from(d.meta!.labels).filter((l) => l === c).length),
      Array(10).fill(2),
    );
    const used = new Set([...d.train.ids, ...d.val!.ids]);
    for (const id of d.meta.ids) assert.ok(!used.has(id), `meta sample ${id} is not trained or validated on`);
    // Each meta sample is the training split's sample of that id (its image and label), never a test one.
    const size = 28 * 28;
    d.meta.ids.forEach((id, i) => {
      assert.equal(d.meta!.labels[i], split.labels[id]);
      assert.deepEqual(d.meta!.images.subarray(i * size, (i + 1) * size), split.images.subarray(id * size, (id + 1) * size));
    });
    return { d, total: d.train.labels.length + d.val!.labels.length + d.meta.labels.length };
  };
  // All 120 in use: the meta set comes out of training (20 fewer trained on).
  const all = await check({});
  assert.equal(all.total, 120);
  // With --train-limit 60 the meta set comes from the samples left out: training is as without it.
  const limited = await check({ trainLimit: 60 });
  const plain = await prepareData(config(dir, { trainLimit: 60, valFraction: 0.2 }));
  assert.deepEqual(Array.from(limited.d.train.ids), Array.from(plain.train.ids));
  assert.equal(plain.meta, null, 'no meta set for a strategy without one');
  // A meta set that would take a class's last training sample is refused, naming the option.
  await rejectsWith(
    prepareData(config(dir, { strategy: 'l2rw', metaPerClass: 12 })),
    /meta set: class 0 \('0'\) has 12 training samples; --meta-per-class 12 needs 12 of them and at least one left to train on/,
  );
});
