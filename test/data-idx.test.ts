import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError, imageAt } from '../src/data/dataset.js';
import {
  DIGIT_CLASS_NAMES,
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  readIdxDataset,
  readIdxImages,
  readIdxLabels,
  readIdxPair,
} from '../src/data/idx.js';
import { idxBytes, makeTempDir, patternBytes, writeFile } from './data-fixtures.js';

const temp = makeTempDir('idx');
after(temp.remove);

const count = 5;
const rows = 4;
const cols = 3;
const pixels = patternBytes(count * rows * cols, 7);
const labelValues = Uint8Array.from([3, 0, 9, 1, 3]);
const imagesFile = idxBytes(IDX_IMAGES_MAGIC, [count, rows, cols], pixels);
const labelsFile = idxBytes(IDX_LABELS_MAGIC, [count], labelValues);

test('IDX images and labels round-trip from raw and gzip buffers', () => {
  for (const encode of [(b: Buffer) => b, (b: Buffer) => gzipSync(b)]) {
    const images = readIdxImages({ bytes: encode(imagesFile), source: 'images' });
    assert.deepEqual([images.count, images.rows, images.cols], [count, rows, cols]);
    assert.deepEqual(images.pixels, pixels);
    assert.deepEqual(readIdxLabels({ bytes: encode(labelsFile), source: 'labels' }), labelValues);
  }
});

test('readIdxDataset reads the MNIST file names, gzip in one split and raw in the other', () => {
  writeFile(join(temp.dir, 'train-images-idx3-ubyte.gz'), gzipSync(imagesFile));
  writeFile(join(temp.dir, 'train-labels-idx1-ubyte.gz'), gzipSync(labelsFile));
  writeFile(join(temp.dir, 't10k-images-idx3-ubyte'), imagesFile);
  writeFile(join(temp.dir, 't10k-labels-idx1-ubyte'), labelsFile);
  for (const split of ['train', 'test'] as const) {
    const ds = readIdxDataset(temp.dir, split, 'digits');
    assert.equal(ds.name, `digits (${split})`);
    assert.deepEqual(ds.shape, [1, rows, cols]);
    assert.deepEqual(ds.images, pixels);
    assert.deepEqual(Array.from(ds.labels), Array.from(labelValues));
    assert.deepEqual(Array.from(ds.ids), [0, 1, 2, 3, 4]);
    assert.deepEqual(ds.classNames, DIGIT_CLASS_NAMES);
    assert.deepEqual(imageAt(ds, 2), pixels.subarray(2 * rows * cols, 3 * rows * cols));
  }
});

test('a wrong magic number is a DataError naming the file, the magic found and the one expected', () => {
  assert.throws(
    () => readIdxImages({ bytes: labelsFile, source: 'swapped.idx' }),
    (error: unknown) =>
      error instanceof DataError && /^swapped\.idx: magic number 0x00000801 at offset 0, expected 0x00000803/.test(error.message),
  );
  assert.throws(() => readIdxLabels({ bytes: imagesFile, source: 'l.idx' }), DataError);
});

test('a truncated or over-long IDX file is a DataError giving the size found and expected', () => {
  const truncated = imagesFile.subarray(0, imagesFile.length - 1);
  assert.throws(
    () => readIdxImages({ bytes: truncated, source: 'cut.idx' }),
    (error: unknown) => error instanceof DataError && /^cut\.idx: 75 bytes, expected 76 .*truncated/.test(error.message),
  );
  assert.throws(() => readIdxImages({ bytes: gzipSync(truncated), source: 'cut.idx.gz' }), /cut\.idx\.gz: 75 bytes, expected 76/);
  assert.throws(
    () => readIdxLabels({ bytes: Buffer.concat([labelsFile, Buffer.from([0])]), source: 'long.idx' }),
    /long\.idx: 14 bytes, expected 13 .*trailing bytes/,
  );
  assert.throws(
    () => readIdxImages({ bytes: imagesFile.subarray(0, 10), source: 'h.idx' }),
    /h\.idx: 10 bytes, too short for the IDX header \(expected 16 bytes/,
  );
  assert.throws(
    () => readIdxImages({ bytes: gzipSync(imagesFile).subarray(0, 20), source: 'bad.gz' }),
    /bad\.gz: starts like gzip .* does not decompress/,
  );
});

test('labels out of range and count mismatches are DataErrors naming the file and offset', () => {
  const badLabels = idxBytes(IDX_LABELS_MAGIC, [count], Uint8Array.from([0, 1, 10, 2, 3]));
  assert.throws(
    () => readIdxPair({ bytes: imagesFile, source: 'img' }, { bytes: badLabels, source: 'lab' }, 'x', DIGIT_CLASS_NAMES),
    (error: unknown) => error instanceof DataError && error.message === 'lab: label 10 at offset 10 (sample 2), expected 0..9',
  );
  const fewer = idxBytes(IDX_LABELS_MAGIC, [4], labelValues.subarray(0, 4));
  assert.throws(
    () => readIdxPair({ bytes: imagesFile, source: 'img' }, { bytes: fewer, source: 'lab' }, 'x', DIGIT_CLASS_NAMES),
    /img has 5 images but lab has 4 labels; expected the same count/,
  );
});

test('a missing IDX file is a DataError naming the path with and without .gz', () => {
  const empty = makeTempDir('idx-empty');
  try {
    assert.throws(
      () => readIdxDataset(empty.dir, 'train', 'mnist'),
      (error: unknown) =>
        error instanceof DataError && error.message.includes(`${join(empty.dir, 'train-images-idx3-ubyte')}[.gz]: file not found`),
    );
  } finally {
    empty.remove();
  }
});
