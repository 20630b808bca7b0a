// Broken dataset files, reader by reader, given to `low train` as a user would: each must be refused
// with a message naming the file (and the row, record or offset) and what was expected, before the
// first training step, and the dataset's files must stay as they were.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../src/data/idx.js';
import { ISIC2018_CLASS_NAMES } from '../src/data/isic.js';
import { badInputSuite, cliCase, copyFixture, libraryCase, mentions, writeIdxSplit, type BadInputCase } from './bad-input-harness.js';
import { cifarBytes, idxBytes, patternBytes, writeFile, writeSolidJpeg } from './data-fixtures.js';

const TRAIN_IMAGES = 'train-images-idx3-ubyte';
const TRAIN_LABELS = 'train-labels-idx1-ubyte';
const TEST_IMAGES = 't10k-images-idx3-ubyte';
const TEST_LABELS = 't10k-labels-idx1-ubyte';

const ISIC2017_TRAIN_CSV = 'ISIC-2017_Training_Part3_GroundTruth.csv';
const ISIC2017_TEST_CSV = 'ISIC-2017_Test_v2_Part3_GroundTruth.csv';
const ISIC2018_CSV = 'ISIC2018_Task3_Training_GroundTruth.csv';

/** CIFAR records with labels cycling over `classes` (one label byte, or coarse and fine). */
function cifarFile(records: number, labelBytes: 1 | 2, seed: number): Buffer {
  const labels = Array.from({ length: records }, (_, r) => (labelBytes === 1 ? [r % 10] : [r % 20, r % 100]));
  return cifarBytes(labels, patternBytes(records * 3072, seed));
}

/** An 8 x 8 PNG of one grey level. */
function pngBytes(level: number, size = 8): Promise<Buffer> {
  return sharp(Buffer.alloc(size * size, level), { raw: { width: size, height: size, channels: 1 } })
    .png()
    .toBuffer();
}

badInputSuite(
  'readers',
  (fx) => {
    const cases: BadInputCase[] = [];
    /**
     * `low train` on a copy of the fixture dataset `fixture`, broken by `breakIt(dataDir)`. The model is
     * given so that every run gets as far as its data: resnet18 takes the 300 x 300 images of the
     * ISIC and folder readers.
     */
    const broken = (
      name: string,
      dataset: string,
      fixture: string,
      breakIt: (data: string) => void | Promise<void>,
      message: RegExp[],
      model: string | null = 'lenet5',
    ) =>
      cases.push(
        cliCase(
          name,
          (dir) => [
            'train',
            '--dataset',
            dataset,
            '--data-dir',
            join(dir, 'data'),
            ...(model ? ['--model', model] : []),
            '--epochs',
            '1',
            '--batch-size',
            '2',
            '--threads',
            '1',
            '--quiet',
            '--out',
            join(dir, 'out'),
          ],
          {
            prepare: async (dir) => {
              copyFixture(join(fx, fixture), join(dir, 'data'));
              await breakIt(join(dir, 'data'));
            },
            message,
            // The run folder is the command's own; the dataset must come out unchanged.
            mayChange: ['out'],
          },
        ),
      );
    const idx = (name: string, breakIt: (data: string) => void | Promise<void>, message: RegExp[]) =>
      broken(name, 'mnist', 'mnist', breakIt, message);
    const cifar10 = (name: string, breakIt: (data: string) => void, message: RegExp[]) =>
      broken(name, 'cifar10', 'cifar10', breakIt, message);
    const cifar100 = (name: string, breakIt: (data: string) => void, message: RegExp[]) =>
      broken(name, 'cifar100', 'cifar100', breakIt, message);
    const isic2017 = (name: string, breakIt: (data: string) => void | Promise<void>, message: RegExp[]) =>
      broken(name, 'isic2017', 'isic2017', breakIt, message, 'resnet18');
    const isic2018 = (name: string, breakIt: (data: string) => void | Promise<void>, message: RegExp[]) =>
      broken(name, 'isic2018', 'isic2018', breakIt, message, 'resnet18');
    const folder = (name: string, breakIt: (data: string) => void | Promise<void>, message: RegExp[], model: string | null = 'resnet18') =>
      broken(name, 'folder', 'folder', breakIt, message, model);

    // ---- IDX (MNIST, Fashion-MNIST) ----
    const images = (n: number, rows = 28, cols = 28) => idxBytes(IDX_IMAGES_MAGIC, [n, rows, cols], patternBytes(n * rows * cols, 3));
    const labels = (values: number[]) => idxBytes(IDX_LABELS_MAGIC, [values.length], Uint8Array.from(values));
    const cycle = (n: number) => Array.from({ length: n }, (_, i) => i % 10);
    idx(
      'idx: images file with a wrong magic number',
      (d) => writeFile(join(d, TRAIN_IMAGES), idxBytes(0x12345678, [40, 28, 28], patternBytes(40 * 784, 3))),
      [mentions(TRAIN_IMAGES), /magic number 0x12345678/, /expected 0x00000803/],
    );
    idx(
      'idx: images file with 4 dimensions (magic 0x00000804)',
      (d) => writeFile(join(d, TRAIN_IMAGES), idxBytes(0x00000804, [40, 1, 28, 28], patternBytes(40 * 784, 3))),
      [mentions(TRAIN_IMAGES), /0x00000804/, /expected 0x00000803/],
    );
    idx('idx: labels file holding images (magic 0x00000803)', (d) => writeFile(join(d, TRAIN_LABELS), images(40)), [
      mentions(TRAIN_LABELS),
      /0x00000803/,
      /expected 0x00000801/,
    ]);
    idx('idx: images file with a truncated header', (d) => writeFile(join(d, TRAIN_IMAGES), images(40).subarray(0, 10)), [
      mentions(TRAIN_IMAGES),
      /10 bytes/,
      /header/,
    ]);
    idx('idx: empty images file', (d) => writeFile(join(d, TRAIN_IMAGES), Buffer.alloc(0)), [mentions(TRAIN_IMAGES), /0 bytes/]);
    idx(
      'idx: images file with truncated pixel data',
      (d) => writeFile(join(d, TRAIN_IMAGES), images(40).subarray(0, 16 + 39 * 784 + 100)),
      [mentions(TRAIN_IMAGES), /truncated/, /expected 31376/],
    );
    idx('idx: images file with trailing bytes', (d) => writeFile(join(d, TRAIN_IMAGES), Buffer.concat([images(40), Buffer.alloc(7)])), [
      mentions(TRAIN_IMAGES),
      /trailing bytes/,
    ]);
    idx(
      'idx: images header claiming 2^32-1 images',
      (d) => writeFile(join(d, TRAIN_IMAGES), idxBytes(IDX_IMAGES_MAGIC, [0xffffffff, 28, 28], patternBytes(784, 3))),
      [mentions(TRAIN_IMAGES), /truncated/],
    );
    idx('idx: 40 images but 39 labels', (d) => writeFile(join(d, TRAIN_LABELS), labels(cycle(39))), [
      mentions(TRAIN_IMAGES),
      mentions(TRAIN_LABELS),
      /40 images/,
      /39 labels/,
    ]);
    idx('idx: a training label 10 of 10 classes', (d) => writeFile(join(d, TRAIN_LABELS), labels([...cycle(39), 10])), [
      mentions(TRAIN_LABELS),
      /label 10/,
      /sample 39/,
      /expected 0\.\.9/,
    ]);
    idx(
      'idx: corrupt gzip',
      (d) => {
        rmSync(join(d, TRAIN_IMAGES));
        writeFile(join(d, `${TRAIN_IMAGES}.gz`), Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), patternBytes(500, 9)]));
      },
      [mentions(`${TRAIN_IMAGES}.gz`), /gzip/, /decompress/],
    );
    idx(
      'idx: test split with 0 images',
      (d) => {
        writeFile(join(d, TEST_IMAGES), images(0));
        writeFile(join(d, TEST_LABELS), labels([]));
      },
      [mentions(TEST_IMAGES), /\b0 (images|samples)|no (\w+ )?(images|samples)|empty/],
    );
    idx(
      'idx: training split with 0 images',
      (d) => {
        writeFile(join(d, TRAIN_IMAGES), images(0));
        writeFile(join(d, TRAIN_LABELS), labels([]));
      },
      [mentions(TRAIN_IMAGES), /\b0 (images|samples)|no (\w+ )?(images|samples)|empty/],
    );
    idx('idx: test images 32 x 32, training 28 x 28', (d) => writeFile(join(d, TEST_IMAGES), images(20, 32, 32)), [
      mentions(TEST_IMAGES),
      /32 ?x ?32/,
      /28 ?x ?28/,
    ]);
    idx('idx: test labels file missing', (d) => rmSync(join(d, TEST_LABELS)), [mentions(TEST_LABELS), /missing/, /--data-dir/]);
    cases.push(
      cliCase(
        'fashion-mnist: --data-dir an empty folder',
        (dir) => [
          'train',
          '--dataset',
          'fashion-mnist',
          '--data-dir',
          join(dir, 'empty'),
          '--epochs',
          '1',
          '--quiet',
          '--out',
          join(dir, 'out'),
        ],
        {
          prepare: (dir) => mkdirSync(join(dir, 'empty')),
          message: [/empty/, mentions(`${TRAIN_IMAGES}[.gz]`), mentions(`${TRAIN_LABELS}[.gz]`), /dataset-fashion-mnist/, /--data-dir/],
          mayChange: ['out'],
        },
      ),
    );

    // ---- CIFAR-10 and CIFAR-100 binary ----
    cifar10(
      'cifar10: last record truncated',
      (d) => writeFile(join(d, 'data_batch_3.bin'), cifarFile(4, 1, 5).subarray(0, 4 * 3073 - 100)),
      [/data_batch_3\.bin/, /3073-byte records/, /3 records and 2973 bytes left over/],
    );
    cifar10(
      'cifar10: file size not a multiple of the record',
      (d) => writeFile(join(d, 'data_batch_1.bin'), Buffer.concat([cifarFile(4, 1, 5), Buffer.alloc(5)])),
      [/data_batch_1\.bin/, /3073-byte records/, /5 bytes left over/],
    );
    cifar10(
      'cifar10: label 10 in record 2',
      (d) => {
        const bytes = cifarFile(4, 1, 5);
        bytes[2 * 3073] = 10;
        writeFile(join(d, 'data_batch_2.bin'), bytes);
      },
      [/data_batch_2\.bin/, /record 2/, /label 10/, /0\.\.9/],
    );
    cifar10('cifar10: data_batch_4.bin missing', (d) => rmSync(join(d, 'data_batch_4.bin')), [
      /data_batch_4\.bin\s+\(missing\)/,
      /cifar-10/,
    ]);
    cifar10('cifar10: batches.meta.txt with 9 names', (d) => writeFile(join(d, 'batches.meta.txt'), 'a\nb\nc\nd\ne\nf\ng\nh\ni\n'), [
      /batches\.meta\.txt/,
      /9 class names, expected 10/,
    ]);
    cifar100(
      'cifar100: fine label 100',
      (d) => {
        const bytes = cifarFile(4, 2, 7);
        bytes[3074 + 1] = 100;
        writeFile(join(d, 'train.bin'), bytes);
      },
      [/train\.bin/, /record 1/, /fine label 100/, /0\.\.99/],
    );
    cifar100(
      'cifar100: coarse label 20',
      (d) => {
        const bytes = cifarFile(4, 2, 7);
        bytes[2 * 3074] = 20;
        writeFile(join(d, 'test.bin'), bytes);
      },
      [/test\.bin/, /record 2/, /coarse label 20/, /0\.\.19/],
    );

    // ---- ISIC 2017 ----
    const csv2017 = (rows: string[]) => `image_id,melanoma,seborrheic_keratosis\n${rows.join('\n')}\n`;
    isic2017(
      'isic2017: no seborrheic_keratosis column',
      (d) => writeFile(join(d, ISIC2017_TRAIN_CSV), 'image_id,melanoma\nISIC_0000000,0\nISIC_0000001,1\n'),
      [mentions(ISIC2017_TRAIN_CSV), /line 1/, /seborrheic_keratosis/],
    );
    isic2017(
      'isic2017: a value 2',
      (d) => writeFile(join(d, ISIC2017_TRAIN_CSV), csv2017(['ISIC_0000000,0,0', 'ISIC_0000001,2,0', 'ISIC_0000002,0,1'])),
      [mentions(ISIC2017_TRAIN_CSV), /line 3/, /melanoma = "2"/, /expected 0 or 1/],
    );
    isic2017(
      'isic2017: melanoma and seborrheic_keratosis both 1',
      (d) => writeFile(join(d, ISIC2017_TRAIN_CSV), csv2017(['ISIC_0000000,0,0', 'ISIC_0000001,1,1', 'ISIC_0000002,0,1'])),
      [mentions(ISIC2017_TRAIN_CSV), /line 3/, /ISIC_0000001/, /at most one/],
    );
    isic2017('isic2017: a missing image', (d) => rmSync(join(d, 'ISIC-2017_Training_Data', 'ISIC_0000001.jpg')), [
      mentions(ISIC2017_TRAIN_CSV),
      /line 3/,
      /ISIC_0000001\.jpg/,
      /not found/,
    ]);
    isic2017('isic2017: a corrupt JPEG', (d) => writeFile(join(d, 'ISIC-2017_Training_Data', 'ISIC_0000001.jpg'), patternBytes(3000, 11)), [
      /ISIC_0000001\.jpg/,
      /cannot decode|corrupt|not an image/,
    ]);
    isic2017('isic2017: empty CSV', (d) => writeFile(join(d, ISIC2017_TRAIN_CSV), ''), [mentions(ISIC2017_TRAIN_CSV), /empty/, /header/]);
    isic2017(
      'isic2017: CSV with a header only',
      (d) => writeFile(join(d, ISIC2017_TRAIN_CSV), 'image_id,melanoma,seborrheic_keratosis\n'),
      [mentions(ISIC2017_TRAIN_CSV), /no (\w+ )?(images|rows|samples)|\b0 (images|rows|samples)|empty/],
    );
    isic2017('isic2017: test CSV missing', (d) => rmSync(join(d, ISIC2017_TEST_CSV)), [mentions(ISIC2017_TEST_CSV), /missing/]);

    // ---- ISIC 2018 ----
    const csv2018 = (rows: string[]) => `image,${ISIC2018_CLASS_NAMES.join(',')}\n${rows.join('\n')}\n`;
    const oneHot = (c: number) => ISIC2018_CLASS_NAMES.map((_, k) => (k === c ? '1.0' : '0.0')).join(',');
    const rows2018 = (change: (rows: string[]) => void) => {
      const rows = Array.from({ length: 14 }, (_, i) => `ISIC_00${String(i).padStart(2, '0')},${oneHot(i % 7)}`);
      change(rows);
      return csv2018(rows);
    };
    isic2018(
      'isic2018: a row with two 1s (not one-hot)',
      (d) =>
        writeFile(
          join(d, ISIC2018_CSV),
          rows2018((r) => (r[3] = 'ISIC_0003,1.0,1.0,0.0,0.0,0.0,0.0,0.0')),
        ),
      [mentions(ISIC2018_CSV), /line 5/, /ISIC_0003/, /exactly one 1|one-hot/],
    );
    isic2018(
      'isic2018: a value 0.5',
      (d) =>
        writeFile(
          join(d, ISIC2018_CSV),
          rows2018((r) => (r[1] = 'ISIC_0001,0.5,0.5,0,0,0,0,0')),
        ),
      [mentions(ISIC2018_CSV), /line 3/, /MEL = "0\.5"/, /0 or 1/],
    );
    isic2018('isic2018: unknown column set', (d) => writeFile(join(d, ISIC2018_CSV), 'image,A,B,C\nISIC_0000,1,0,0\n'), [
      mentions(ISIC2018_CSV),
      /line 1/,
      /MEL/,
      /image,A,B,C/,
    ]);
    isic2018('isic2018: a missing image', (d) => rmSync(join(d, 'ISIC2018_Task3_Training_Input', 'ISIC_0005.jpg')), [
      mentions(ISIC2018_CSV),
      /line 7/,
      /ISIC_0005\.jpg/,
      /not found/,
    ]);

    // ---- folder datasets ----
    folder(
      'folder: an empty class folder',
      (d) => {
        rmSync(join(d, 'train', 'bee'), { recursive: true });
        mkdirSync(join(d, 'train', 'bee'));
      },
      [/train\/bee/, /no image files/],
    );
    folder(
      'folder: a class folder holding only a text file',
      (d) => {
        rmSync(join(d, 'train', 'bee'), { recursive: true });
        writeFile(join(d, 'train', 'bee', 'notes.txt'), 'a bee\n');
      },
      [/train\/bee/, /no image files/, /\.png/],
    );
    folder('folder: a text file named .png', (d) => writeFile(join(d, 'train', 'ant', 'a1.png'), 'not an image\n'), [
      /train\/ant\/a1\.png/,
      /cannot decode|not an image|unsupported/,
    ]);
    folder('folder: no test folder', (d) => rmSync(join(d, 'test'), { recursive: true }), [/test\/<class>\/<image>/, /missing/]);
    folder(
      'folder: a test class the training split lacks',
      (d) => writeFile(join(d, 'test', 'cat', 'c0.png'), readFileSync(join(d, 'test', 'ant', 'a0.png'))),
      [/test\/cat/, /"cat"/, /ant, bee/],
    );
    folder(
      'folder: test classes with no images (0 test images)',
      (d) => {
        for (const c of ['ant', 'bee']) {
          rmSync(join(d, 'test', c), { recursive: true });
          mkdirSync(join(d, 'test', c));
        }
      },
      [/data\/test/, /\b0 (images|samples)|no (\w+ )?(images|image files|samples)|empty/],
    );
    folder('folder: 300 x 300 images with the default model', () => {}, [/lenet5/, /default/, /--model/, /300/], null);
    cases.push(
      libraryCase(
        'folder: images of different sizes are all resized',
        `const ds = await low.data.readImageFolder(path.join(dir, 'mixed'), { size: { width: 8, height: 8 } });
       return { shape: ds.shape, count: ds.labels.length, bytes: ds.images.length };`,
        {
          prepare: async (dir) => {
            const sizes = [4, 8, 13, 30];
            for (const [i, size] of sizes.entries())
              writeFile(join(dir, 'mixed', i % 2 ? 'b' : 'a', `${i}.png`), await pngBytes(60 * i, size));
          },
          returns: (v) => JSON.stringify(v) === JSON.stringify({ shape: [3, 8, 8], count: 4, bytes: 4 * 3 * 64 }),
        },
      ),
    );
    return cases;
  },
  async (root) => {
    // The valid datasets each case breaks a copy of.
    const mnist = join(root, 'mnist');
    writeIdxSplit(mnist, 'train', 40);
    writeIdxSplit(mnist, 'test', 20);

    const cifar10 = join(root, 'cifar10');
    for (let b = 1; b <= 5; b++) writeFile(join(cifar10, `data_batch_${b}.bin`), cifarFile(4, 1, b));
    writeFile(join(cifar10, 'test_batch.bin'), cifarFile(4, 1, 9));
    writeFile(join(cifar10, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
    const cifar100 = join(root, 'cifar100');
    writeFile(join(cifar100, 'train.bin'), cifarFile(6, 2, 1));
    writeFile(join(cifar100, 'test.bin'), cifarFile(4, 2, 2));
    writeFile(join(cifar100, 'fine_label_names.txt'), Array.from({ length: 100 }, (_, i) => `class${i}`).join('\n'));

    const isic2017 = join(root, 'isic2017');
    const jpeg = (path: string, c: number) => writeSolidJpeg(path, [40 + 70 * c, 200 - 60 * c, 90], 24, 16);
    const rows2017 = ['0,0', '1,0', '0,1'];
    writeFile(
      join(isic2017, ISIC2017_TRAIN_CSV),
      `image_id,melanoma,seborrheic_keratosis\n${rows2017.map((r, i) => `ISIC_000000${i},${r}`).join('\n')}\n`,
    );
    writeFile(
      join(isic2017, ISIC2017_TEST_CSV),
      `image_id,melanoma,seborrheic_keratosis\n${rows2017.map((r, i) => `ISIC_00000${10 + i},${r}`).join('\n')}\n`,
    );
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 3; i++) {
      writes.push(jpeg(join(isic2017, 'ISIC-2017_Training_Data', `ISIC_000000${i}.jpg`), i));
      writes.push(jpeg(join(isic2017, 'ISIC-2017_Test_v2_Data', `ISIC_00000${10 + i}.jpg`), i));
    }
    const isic2018 = join(root, 'isic2018');
    const rows2018 = Array.from(
      { length: 14 },
      (_, i) => `ISIC_00${String(i).padStart(2, '0')},${ISIC2018_CLASS_NAMES.map((_, k) => (k === i % 7 ? '1.0' : '0.0')).join(',')}`,
    );
    writeFile(join(isic2018, ISIC2018_CSV), `image,${ISIC2018_CLASS_NAMES.join(',')}\n${rows2018.join('\n')}\n`);
    for (let i = 0; i < 14; i++)
      writes.push(jpeg(join(isic2018, 'ISIC2018_Task3_Training_Input', `ISIC_00${String(i).padStart(2, '0')}.jpg`), i % 3));

    const folder = join(root, 'folder');
    for (const [c, name] of ['ant', 'bee'].entries()) {
      for (let k = 0; k < 2; k++) writeFile(join(folder, 'train', name, `${name[0]}${k}.png`), await pngBytes(50 + 100 * c + 10 * k));
      writeFile(join(folder, 'test', name, `${name[0]}0.png`), await pngBytes(55 + 100 * c));
    }
    await Promise.all(writes);
  },
);
