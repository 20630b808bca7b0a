import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type ByteSource, loadBytes, sourceName } from './byte-source.js';
import { DataError, type ImageDataset, type Split, sequentialIds } from './dataset.js';

/** IDX magic number of unsigned-byte data with 3 dimensions (images: count, rows, columns). */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** IDX magic number of unsigned-byte data with 1 dimension (labels: count). */
export const IDX_LABELS_MAGIC = 0x00000801;

/** Class names of MNIST: the digits. */
export const DIGIT_CLASS_NAMES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Class names of Fashion-MNIST, in label order (from the dataset's README). */
export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** Where Debian's `dataset-fashion-mnist` package installs the files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Images of an IDX image file. */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count x rows x cols bytes, row-major. */
  pixels: Uint8Array;
}

/** Reads an IDX image file (magic 0x00000803), gzip-compressed or raw. */
export function readIdxImages(src: ByteSource): IdxImages {
  const { bytes, source } = loadBytes(src);
  // the magic says 3 dimensions, checked
  const [count, rows, cols] = readIdxHeader(bytes, source, IDX_IMAGES_MAGIC, 'images') as [number, number, number];
  if (rows < 1 || cols < 1) {
    throw new DataError(`${source}: image size ${rows} x ${cols} at offset 8, expected at least 1 x 1`);
  }
  return { count, rows, cols, pixels: new Uint8Array(bytes.subarray(headerLength(3))) };
}

/** Reads an IDX label file (magic 0x00000801), gzip-compressed or raw. */
export function readIdxLabels(src: ByteSource): Uint8Array {
  const { bytes, source } = loadBytes(src);
  readIdxHeader(bytes, source, IDX_LABELS_MAGIC, 'labels');
  return new Uint8Array(bytes.subarray(headerLength(1)));
}

/**
 * Builds a dataset from an IDX image file and its IDX label file, checking that their
 * counts match and that every label indexes `classNames`.
 */
export function readIdxPair(imagesSource: ByteSource, labelsSource: ByteSource, name: string, classNames: readonly string[]): ImageDataset {
  const images = readIdxImages(imagesSource);
  const rawLabels = readIdxLabels(labelsSource);
  const labelsName = sourceName(labelsSource);
  const imagesName = sourceName(imagesSource);
  if (rawLabels.length !== images.count) {
    throw new DataError(
      `${imagesName} has ${images.count} images but ${labelsName} has ${rawLabels.length} labels; expected the same count`,
    );
  }
  const labels = new Int32Array(rawLabels.length);
  for (let i = 0; i < rawLabels.length; i++) {
    if (rawLabels[i]! >= classNames.length) {
      throw new DataError(
        `${labelsName}: label ${rawLabels[i]} at offset ${headerLength(1) + i} (sample ${i}), expected 0..${classNames.length - 1}`,
      );
    }
    labels[i] = rawLabels[i]!;
  }
  return {
    name,
    images: images.pixels,
    shape: [1, images.rows, images.cols],
    labels,
    ids: sequentialIds(labels.length),
    classNames: [...classNames],
  };
}

/** File names of a split without the optional `.gz`: `train-images-idx3-ubyte` etc. */
export function idxFileNames(split: Split): { images: string; labels: string } {
  const prefix = split === 'train' ? 'train' : 't10k';
  return { images: `${prefix}-images-idx3-ubyte`, labels: `${prefix}-labels-idx1-ubyte` };
}

/**
 * Reads the MNIST-layout files of a split from `dir` (`train-images-idx3-ubyte[.gz]`,
 * `train-labels-idx1-ubyte[.gz]`, or `t10k-...` for test); the gzip file is preferred.
 */
export function readIdxDataset(dir: string, split: Split, name: string, classNames: readonly string[] = DIGIT_CLASS_NAMES): ImageDataset {
  const files = idxFileNames(split);
  return readIdxPair(findIdxFile(dir, files.images), findIdxFile(dir, files.labels), `${name} (${split})`, classNames);
}

/** Path of `<dir>/<fileName>.gz` or `<dir>/<fileName>`, whichever exists (gzip first). */
export function findIdxFile(dir: string, fileName: string): string {
  for (const candidate of [join(dir, `${fileName}.gz`), join(dir, fileName)]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new DataError(`${join(dir, fileName)}[.gz]: file not found (expected an IDX file, gzip or raw)`);
}

function headerLength(dimensions: number): number {
  return 4 + 4 * dimensions;
}

/** Validates magic, header and exact file length; returns the dimension sizes. */
function readIdxHeader(bytes: Uint8Array, source: string, magic: number, what: string): number[] {
  const expectedMagic = `0x${magic.toString(16).padStart(8, '0')}`;
  if (bytes.length < 4) {
    throw new DataError(
      `${source}: ${bytes.length} bytes, too short for an IDX ${what} file ` +
        `(expected the magic number ${expectedMagic} in the first 4 bytes)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0, false);
  if (found !== magic) {
    throw new DataError(
      `${source}: magic number 0x${found.toString(16).padStart(8, '0')} at offset 0, ` +
        `expected ${expectedMagic} (IDX ${what}, unsigned bytes)`,
    );
  }
  const dimensions = magic & 0xff;
  const header = headerLength(dimensions);
  if (bytes.length < header) {
    throw new DataError(
      `${source}: ${bytes.length} bytes, too short for the IDX header ` +
        `(expected ${header} bytes: magic number and ${dimensions} big-endian dimension sizes)`,
    );
  }
  const dims: number[] = [];
  for (let d = 0; d < dimensions; d++) dims.push(view.getUint32(4 + 4 * d, false));
  // Products of three 32-bit sizes can exceed 2^53; the comparison stays correct
  // because such a size can never equal a real buffer length.
  const expectedLength = header + dims.reduce((product, size) => product * size, 1);
  if (bytes.length !== expectedLength) {
    const problem = bytes.length < expectedLength ? 'truncated' : 'trailing bytes';
    throw new DataError(
      `${source}: ${bytes.length} bytes, expected ${expectedLength} (${header}-byte header + ${dims.join(' x ')} data bytes): ${problem}`,
    );
  }
  return dims;
}
