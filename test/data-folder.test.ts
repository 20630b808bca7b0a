import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import sharp from 'sharp';
import { DataError, imageAt } from '../src/data/dataset.js';
import { listImageFolder, readImageFolder } from '../src/data/folder.js';
import { loadDataset } from '../src/data/registry.js';
import { channelMeans, makeTempDir, writeFile, writeSolidJpeg } from './data-fixtures.js';

const temp = makeTempDir('folder');
after(temp.remove);
const size = { width: 5, height: 7 };

before(async () => {
  const train = join(temp.dir, 'train');
  await writeSolidJpeg(join(train, 'zebra', 'b.jpg'), [250, 250, 250]);
  await writeSolidJpeg(join(train, 'zebra', 'a.JPG'), [10, 10, 10]);
  await writeSolidJpeg(join(train, 'apple', 'x.jpeg'), [200, 20, 20]);
  // A grey PNG with alpha: expanded to RGB, alpha dropped.
  await sharp({ create: { width: 3, height: 3, channels: 4, background: { r: 90, g: 90, b: 90, alpha: 1 } } })
    .png()
    .toFile(join(train, 'apple', 'y.png'));
  writeFile(join(train, 'apple', 'notes.txt'), 'not an image, skipped');
  writeFile(join(train, '.hidden', 'z.jpg'), 'hidden folders are skipped');
  // The test split lacks "apple": labels must still follow the training classes.
  await writeSolidJpeg(join(temp.dir, 'test', 'zebra', 'c.jpg'), [250, 250, 250]);
});

test('image folder: classes are the sorted subfolders, files sorted, images decoded to RGB at the size asked', async () => {
  const ds = await readImageFolder(join(temp.dir, 'train'), { size });
  assert.deepEqual(ds.classNames, ['apple', 'zebra']);
  assert.deepEqual(Array.from(ds.labels), [0, 0, 1, 1]);
  assert.deepEqual(Array.from(ds.ids), [0, 1, 2, 3]);
  assert.deepEqual(ds.shape, [3, 7, 5]);
  const expected = [
    [200, 20, 20],
    [90, 90, 90],
    [10, 10, 10],
    [250, 250, 250],
  ];
  expected.forEach((rgb, i) => channelMeans(imageAt(ds, i)).forEach((mean, c) => assert.ok(Math.abs(mean - rgb[c]!) <= 4)));
});

test('registry "folder": the test split takes the training classes', async () => {
  const testSet = await loadDataset('folder', { split: 'test', dataDir: temp.dir, imageSize: size });
  assert.deepEqual(testSet.classNames, ['apple', 'zebra']);
  assert.deepEqual(Array.from(testSet.labels), [1]);
});

test('image folder errors name the folder and what was expected', () => {
  assert.throws(
    () => listImageFolder(join(temp.dir, 'nope')),
    (error: unknown) =>
      error instanceof DataError &&
      error.message.includes(`${join(temp.dir, 'nope')}: folder not found, expected a folder with one subfolder per class`),
  );
  assert.throws(() => listImageFolder(join(temp.dir, 'train'), ['apple']), /zebra: class "zebra" is not among the expected classes apple/);
  writeFile(join(temp.dir, 'empty-class', 'a', 'readme.txt'), 'no images here');
  assert.throws(() => listImageFolder(join(temp.dir, 'empty-class')), /empty-class\/a: no image files, expected \.jpg/);
});
