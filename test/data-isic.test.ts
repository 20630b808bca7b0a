import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { classCounts, DataError, imageAt } from '../src/data/dataset.js';
import { ISIC2017_CLASS_NAMES, ISIC2018_CLASS_NAMES, readIsic2017, readIsic2018, readIsic2017Labels } from '../src/data/isic.js';
import { channelMeans, makeTempDir, writeFile, writeSolidJpeg } from './data-fixtures.js';

const temp = makeTempDir('isic');
after(temp.remove);

const size = { width: 8, height: 6 };
// One colour per class, far apart, so a decoded image tells which file it came from.
const COLOURS: [number, number, number][] = [
  [200, 30, 40],
  [30, 180, 60],
  [40, 50, 210],
  [220, 220, 30],
  [30, 200, 200],
  [200, 40, 200],
  [120, 120, 120],
];

function assertColour(image: Uint8Array, expected: [number, number, number]): void {
  // JPEG is lossy: a solid colour comes back within a few levels.
  channelMeans(image).forEach((mean, c) => assert.ok(Math.abs(mean - expected[c]!) <= 4, `channel ${c}: ${mean} vs ${expected[c]}`));
}

const dir2017 = join(temp.dir, '2017');
const dir2018 = join(temp.dir, '2018');

before(async () => {
  await Promise.all([0, 1, 2].map((label) => writeSolidJpeg(join(dir2017, 'images', `ISIC_000000${label}.jpg`), COLOURS[label]!)));
  const rows2018: string[] = [];
  const writes: Promise<void>[] = [];
  for (let label = 0; label < 7; label++) {
    for (let copy = 0; copy < 2; copy++) {
      const image = `ISIC_${label}${copy}`;
      const oneHot = ISIC2018_CLASS_NAMES.map((_, c) => (c === label ? '1.0' : '0.0'));
      rows2018.push(`${image},${oneHot.join(',')}`);
      writes.push(writeSolidJpeg(join(dir2018, 'images', `${image}.jpg`), COLOURS[label]!));
    }
  }
  await Promise.all(writes);
  writeFile(join(dir2018, 'gt.csv'), `image,${ISIC2018_CLASS_NAMES.join(',')}\r\n${rows2018.join('\r\n')}\r\n`);
});

test('ISIC 2017: 0/1 columns (also written 0.0/1.0) give nevus, melanoma, keratosis; JPEGs decode to their colour', async () => {
  const csvPath = join(dir2017, 'gt.csv');
  writeFile(csvPath, 'image_id,melanoma,seborrheic_keratosis\nISIC_0000000,0.0,0.0\nISIC_0000001,1.0,0.0\nISIC_0000002,0,1\n');
  const ds = await readIsic2017({ csvPath, imageDir: join(dir2017, 'images'), size });
  assert.deepEqual(Array.from(ds.labels), [0, 1, 2]);
  assert.deepEqual(ds.classNames, ISIC2017_CLASS_NAMES);
  assert.deepEqual(ds.shape, [3, 6, 8]);
  assert.equal(ds.images.length, 3 * 3 * 6 * 8);
  for (let i = 0; i < 3; i++) assertColour(imageAt(ds, i), COLOURS[i]!);
});

test('ISIC 2017: a row with both columns 1 is a DataError naming the row', () => {
  const csvPath = join(dir2017, 'both.csv');
  writeFile(csvPath, 'image_id,melanoma,seborrheic_keratosis\nISIC_0000000,0,0\nISIC_0000001,1.0,1.0\n');
  assert.throws(
    () => readIsic2017Labels(csvPath, join(dir2017, 'images')),
    (error: unknown) =>
      error instanceof DataError &&
      error.message ===
        `${csvPath} line 3 (image ISIC_0000001): melanoma = 1 and seborrheic_keratosis = 1, expected at most one of them to be 1`,
  );
  writeFile(csvPath, 'image_id,melanoma,seborrheic_keratosis\nISIC_0000000,2,0\n');
  assert.throws(() => readIsic2017Labels(csvPath, dir2017), /both\.csv line 2: melanoma = "2", expected 0 or 1/);
  writeFile(csvPath, 'image_id,melanoma\nISIC_0000000,0\n');
  assert.throws(() => readIsic2017Labels(csvPath, dir2017), /both\.csv line 1: no column "seborrheic_keratosis"/);
});

test('ISIC: a row whose image is missing is a DataError naming the row and the expected path', async () => {
  const csvPath = join(dir2017, 'missing.csv');
  writeFile(csvPath, 'image_id,melanoma,seborrheic_keratosis\nISIC_0000000,0,0\nISIC_0000009,1,0\nISIC_0000008,0,0\n');
  const imageDir = join(dir2017, 'images');
  await assert.rejects(
    readIsic2017({ csvPath, imageDir, size }),
    (error: unknown) =>
      error instanceof DataError &&
      error.message ===
        `${csvPath} line 3: image file ${join(imageDir, 'ISIC_0000009.jpg')} not found ` +
          `(expected ISIC_0000009.jpg in ${imageDir}) (and 1 more rows with missing images)`,
  );
});

test('ISIC 2018: one-hot rows, stratified seeded 80/20 split, parts disjoint and complete', async () => {
  const files = { csvPath: join(dir2018, 'gt.csv'), imageDir: join(dir2018, 'images'), size };
  const train = await readIsic2018({ ...files, split: 'train', seed: 3 });
  const testSet = await readIsic2018({ ...files, split: 'test', seed: 3 });
  // 14 images, 2 per class: round(0.2 * 14) = 3 held out, at most one per class.
  assert.equal(testSet.labels.length, 3);
  assert.equal(train.labels.length, 11);
  assert.ok(classCounts(testSet).every((n) => n <= 1));
  const allIds = [...train.ids, ...testSet.ids].sort((a, b) => a - b);
  assert.deepEqual(
    allIds,
    Array.from({ length: 14 }, (_, i) => i),
  );
  assert.deepEqual(train.classNames, ISIC2018_CLASS_NAMES);
  // CSV row i holds class floor(i / 2): the label follows the id, and the pixels follow the label.
  for (const ds of [train, testSet]) {
    ds.ids.forEach((id, i) => {
      assert.equal(ds.labels[i], Math.floor(id / 2));
      assertColour(imageAt(ds, i), COLOURS[ds.labels[i]]!);
    });
  }
  const again = await readIsic2018({ ...files, split: 'test', seed: 3 });
  assert.deepEqual(again.ids, testSet.ids);
});

test('ISIC 2018: a row that is not one-hot is a DataError naming the row', async () => {
  const csvPath = join(dir2018, 'bad.csv');
  writeFile(csvPath, `image,${ISIC2018_CLASS_NAMES.join(',')}\nISIC_00,1.0,0,0,0,0,0,0\nISIC_01,1.0,1.0,0,0,0,0,0\n`);
  await assert.rejects(
    readIsic2018({ csvPath, imageDir: join(dir2018, 'images'), split: 'train', size }),
    (error: unknown) =>
      error instanceof DataError &&
      error.message === `${csvPath} line 3 (image ISIC_01): MEL,NV,BCC,AKIEC,BKL,DF,VASC = 1,1,0,0,0,0,0, expected exactly one 1 (one-hot)`,
  );
  writeFile(csvPath, `image,${ISIC2018_CLASS_NAMES.join(',')}\nISIC_00,0.0,0.0,0.0,0.0,0.0,0.0,0.0\n`);
  await assert.rejects(
    readIsic2018({ csvPath, imageDir: join(dir2018, 'images'), split: 'train', size }),
    /bad\.csv line 2 \(image ISIC_00\): .* = 0,0,0,0,0,0,0, expected exactly one 1/,
  );
});

test('an undecodable image is a DataError naming the file', async () => {
  const csvPath = join(dir2017, 'corrupt.csv');
  writeFile(join(dir2017, 'corrupt', 'ISIC_1.jpg'), 'not a jpeg');
  writeFile(csvPath, 'image_id,melanoma,seborrheic_keratosis\nISIC_1,0,0\n');
  await assert.rejects(
    readIsic2017({ csvPath, imageDir: join(dir2017, 'corrupt'), size }),
    (error: unknown) =>
      error instanceof DataError && error.message.startsWith(`${join(dir2017, 'corrupt', 'ISIC_1.jpg')}: cannot decode image`),
  );
});
