import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ByteSource, loadBytes } from './byte-source.js';
import { DataError, type ImageDataset, type Split, sequentialIds } from './dataset.js';

/** Bytes of one CIFAR image: R, G and B planes of 32 x 32, already channel-first. */
const IMAGE_BYTES = 3 * 32 * 32;

/** Which label a CIFAR binary file carries and which one to keep. */
export type CifarLabelKind = 'cifar10' | 'cifar100-fine' | 'cifar100-coarse';

/** Images and labels of one or more CIFAR binary files. */
export interface CifarRecords {
  /** N x 3 x 32 x 32 bytes. */
  images: Uint8Array;
  labels: Int32Array;
}

interface RecordLayout {
  /** Label bytes before the image: 1 for CIFAR-10, 2 (coarse, fine) for CIFAR-100. */
  labelBytes: number;
  /** Which label byte to keep. */
  keep: number;
  /** Name and class count of each label byte, for range checks. */
  labels: { name: string; classes: number }[];
}

const LAYOUTS: Record<CifarLabelKind, RecordLayout> = {
  cifar10: { labelBytes: 1, keep: 0, labels: [{ name: 'label', classes: 10 }] },
  'cifar100-coarse': {
    labelBytes: 2,
    keep: 0,
    labels: [
      { name: 'coarse label', classes: 20 },
      { name: 'fine label', classes: 100 },
    ],
  },
  'cifar100-fine': {
    labelBytes: 2,
    keep: 1,
    labels: [
      { name: 'coarse label', classes: 20 },
      { name: 'fine label', classes: 100 },
    ],
  },
};

/**
 * Reads a CIFAR binary file: records of label byte(s) followed by 3072 image bytes.
 * Every label byte is range-checked, also the one not kept, since either being out of
 * range means the file is not what it claims to be.
 */
export function readCifarRecords(src: ByteSource, kind: CifarLabelKind): CifarRecords {
  const { bytes, source } = loadBytes(src);
  const layout = LAYOUTS[kind];
  const recordBytes = layout.labelBytes + IMAGE_BYTES;
  const count = Math.floor(bytes.length / recordBytes);
  if (bytes.length === 0 || bytes.length % recordBytes !== 0) {
    throw new DataError(
      `${source}: ${bytes.length} bytes is not a whole, non-zero number of ${recordBytes}-byte records ` +
        `(${layout.labelBytes} label byte(s) + ${IMAGE_BYTES} image bytes); ` +
        `${count} records and ${bytes.length % recordBytes} bytes left over`,
    );
  }
  const images = new Uint8Array(count * IMAGE_BYTES);
  const labels = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    const start = r * recordBytes;
    layout.labels.forEach(({ name, classes }, b) => {
      const value = bytes[start + b]!; // the file's length is a whole number of records
      if (value >= classes) {
        throw new DataError(`${source}: record ${r} (offset ${start + b}): ${name} ${value}, expected 0..${classes - 1}`);
      }
    });
    labels[r] = bytes[start + layout.keep]!;
    images.set(bytes.subarray(start + layout.labelBytes, start + recordBytes), r * IMAGE_BYTES);
  }
  return { images, labels };
}

/** Files of a CIFAR-10 split, as in the official binary tarball's `cifar-10-batches-bin/`. */
export function cifar10FileNames(split: Split): { batches: string[]; classNames: string } {
  const batches = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  return { batches, classNames: 'batches.meta.txt' };
}

/** Files of a CIFAR-100 split, as in the official binary tarball's `cifar-100-binary/`. */
export function cifar100FileNames(split: Split, labels: 'fine' | 'coarse'): { batches: string[]; classNames: string } {
  return { batches: [`${split}.bin`], classNames: `${labels}_label_names.txt` };
}

/**
 * Reads CIFAR-10 from `dir` (training: data_batch_1..5.bin in that order, which sets the
 * sample ids; test: test_batch.bin; class names from batches.meta.txt).
 */
export function readCifar10(dir: string, split: Split): ImageDataset {
  const files = cifar10FileNames(split);
  return readCifar(dir, files, 'cifar10', `cifar10 (${split})`, 10);
}

/**
 * Reads CIFAR-100 from `dir` (train.bin or test.bin) with its fine (100 classes) or
 * coarse (20 superclasses) labels; names from fine_label_names.txt or coarse_label_names.txt.
 */
export function readCifar100(dir: string, split: Split, labels: 'fine' | 'coarse' = 'fine'): ImageDataset {
  const files = cifar100FileNames(split, labels);
  const kind: CifarLabelKind = labels === 'fine' ? 'cifar100-fine' : 'cifar100-coarse';
  return readCifar(dir, files, kind, `cifar100-${labels} (${split})`, labels === 'fine' ? 100 : 20);
}

/**
 * Reads a class-name file of the CIFAR tarballs: one name per line; blank lines (the
 * official batches.meta.txt ends with some) are ignored. Exactly `expected` names.
 */
export function readClassNamesFile(path: string, expected: number): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(
      `${path}: ${code === 'ENOENT' ? 'file not found' : `cannot read file (${code})`} (expected ${expected} class names, one a line)`,
    );
  }
  const names = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (names.length !== expected) {
    throw new DataError(`${path}: ${names.length} class names, expected ${expected} (one a line)`);
  }
  return names;
}

function readCifar(
  dir: string,
  files: { batches: string[]; classNames: string },
  kind: CifarLabelKind,
  name: string,
  classes: number,
): ImageDataset {
  const classNames = readClassNamesFile(join(dir, files.classNames), classes);
  const parts = files.batches.map((file) => readCifarRecords(join(dir, file), kind));
  const total = parts.reduce((sum, part) => sum + part.labels.length, 0);
  const images = new Uint8Array(total * IMAGE_BYTES);
  const labels = new Int32Array(total);
  let offset = 0;
  for (const part of parts) {
    images.set(part.images, offset * IMAGE_BYTES);
    labels.set(part.labels, offset);
    offset += part.labels.length;
  }
  return { name, images, shape: [3, 32, 32], labels, ids: sequentialIds(total), classNames };
}
