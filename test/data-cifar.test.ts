import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readCifar10, readCifar100, readCifarRecords } from '../src/data/cifar.js';
import { DataError, imageAt } from '../src/data/dataset.js';
import { cifarBytes, makeTempDir, patternBytes, writeFile } from './data-fixtures.js';

const temp = makeTempDir('cifar');
after(temp.remove);

const CIFAR10_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

test('CIFAR-10: five training batches concatenate in order, planes stay R, G, B', () => {
  const dir = join(temp.dir, 'c10');
  // Two records per batch, labels 0..9 across the five batches.
  const images = patternBytes(10 * 3072, 3);
  for (let b = 0; b < 5; b++) {
    const records = cifarBytes([[2 * b], [2 * b + 1]], images.subarray(2 * b * 3072, (2 * b + 2) * 3072));
    writeFile(join(dir, `data_batch_${b + 1}.bin`), records);
  }
  // The official batches.meta.txt ends with blank lines.
  writeFile(join(dir, 'batches.meta.txt'), `${CIFAR10_NAMES.join('\n')}\n\n\n`);
  const ds = readCifar10(dir, 'train');
  assert.deepEqual(ds.shape, [3, 32, 32]);
  assert.deepEqual(Array.from(ds.labels), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(Array.from(ds.ids), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(ds.classNames, CIFAR10_NAMES);
  assert.deepEqual(ds.images, images);
  // First byte of the G plane of sample 7 is record byte 1 + 1024.
  assert.equal(imageAt(ds, 7)[1024], images[7 * 3072 + 1024]);

  writeFile(join(dir, 'test_batch.bin'), cifarBytes([[9]], images.subarray(0, 3072)));
  const testSet = readCifar10(dir, 'test');
  assert.deepEqual(Array.from(testSet.labels), [9]);
  assert.deepEqual(testSet.images, images.subarray(0, 3072));
});

test('CIFAR-100: fine or coarse labels from the same records', () => {
  const dir = join(temp.dir, 'c100');
  const images = patternBytes(3 * 3072, 5);
  const labels = [
    [19, 99],
    [0, 0],
    [7, 42],
  ]; // [coarse, fine]
  writeFile(join(dir, 'train.bin'), cifarBytes(labels, images));
  writeFile(join(dir, 'fine_label_names.txt'), Array.from({ length: 100 }, (_, i) => `fine${i}`).join('\n'));
  writeFile(join(dir, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, i) => `coarse${i}`).join('\n'));
  const fine = readCifar100(dir, 'train', 'fine');
  assert.deepEqual(Array.from(fine.labels), [99, 0, 42]);
  assert.equal(fine.classNames.length, 100);
  assert.equal(fine.classNames[42], 'fine42');
  assert.deepEqual(fine.images, images);
  const coarse = readCifar100(dir, 'train', 'coarse');
  assert.deepEqual(Array.from(coarse.labels), [19, 0, 7]);
  assert.equal(coarse.classNames.length, 20);
  assert.deepEqual(coarse.images, images);
});

test('a CIFAR file that is not a whole number of records is a DataError giving the size and record length', () => {
  const records = cifarBytes([[1], [2]], patternBytes(2 * 3072, 1));
  assert.throws(
    () => readCifarRecords({ bytes: records.subarray(0, 6000), source: 'data_batch_1.bin' }, 'cifar10'),
    (error: unknown) =>
      error instanceof DataError &&
      /^data_batch_1\.bin: 6000 bytes is not a whole, non-zero number of 3073-byte records .*1 records and 2927 bytes left over/.test(
        error.message,
      ),
  );
  assert.throws(
    () => readCifarRecords({ bytes: records, source: 'train.bin' }, 'cifar100-fine'),
    /train\.bin: 6146 bytes .* 3074-byte records/,
  );
  assert.throws(() => readCifarRecords({ bytes: new Uint8Array(0), source: 'empty.bin' }, 'cifar10'), /empty\.bin: 0 bytes/);
});

test('CIFAR labels out of range are DataErrors naming the file, record and offset', () => {
  const image = patternBytes(3072, 2);
  const twoRecords = Buffer.concat([cifarBytes([[3]], image), cifarBytes([[10]], image)]);
  assert.throws(
    () => readCifarRecords({ bytes: twoRecords, source: 'b.bin' }, 'cifar10'),
    (error: unknown) => error instanceof DataError && error.message === 'b.bin: record 1 (offset 3073): label 10, expected 0..9',
  );
  // The coarse byte is checked even when the fine labels are kept.
  const badCoarse = cifarBytes([[20, 5]], image);
  assert.throws(
    () => readCifarRecords({ bytes: badCoarse, source: 'c.bin' }, 'cifar100-fine'),
    /c\.bin: record 0 \(offset 0\): coarse label 20, expected 0\.\.19/,
  );
  const badFine = cifarBytes([[1, 100]], image);
  assert.throws(
    () => readCifarRecords({ bytes: badFine, source: 'f.bin' }, 'cifar100-coarse'),
    /f\.bin: record 0 \(offset 1\): fine label 100, expected 0\.\.99/,
  );
});

test('a class-name file with the wrong number of names, or a missing batch, is a DataError naming the file', () => {
  const dir = join(temp.dir, 'c10-bad');
  writeFile(join(dir, 'batches.meta.txt'), 'airplane\nautomobile\n');
  assert.throws(() => readCifar10(dir, 'test'), new RegExp(`${join(dir, 'batches.meta.txt')}: 2 class names, expected 10`));
  writeFile(join(dir, 'batches.meta.txt'), CIFAR10_NAMES.join('\n'));
  assert.throws(() => readCifar10(dir, 'test'), new RegExp(`${join(dir, 'test_batch.bin')}: file not found`));
});
