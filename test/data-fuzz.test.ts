// Every binary reader, fed random and damaged buffers, either returns or throws a DataError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { readCifarRecords, type CifarLabelKind } from '../src/data/cifar.js';
import { DataError } from '../src/data/dataset.js';
import { DIGIT_CLASS_NAMES, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, readIdxImages, readIdxLabels, readIdxPair } from '../src/data/idx.js';
import { SeededRandom } from '../src/util/seeded-random.js';
import { cifarBytes, idxBytes, patternBytes } from './data-fixtures.js';

const random = new SeededRandom(20240501, 'fuzz');

function randomBytes(length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => random.int(256)));
}

/** A buffer of one of several kinds: noise, a damaged valid file, a lying header, gzip of those. */
function fuzzBuffer(valid: Buffer[]): Buffer {
  const base = valid[random.int(valid.length)]!;
  let bytes: Buffer;
  switch (random.int(7)) {
    case 0:
      bytes = randomBytes(random.int(64));
      break;
    case 1: // truncated valid file
      bytes = base.subarray(0, random.int(base.length));
      break;
    case 2: // valid file with a few bytes overwritten, header included
      bytes = Buffer.from(base);
      for (let k = 0; k < 1 + random.int(4); k++) bytes[random.int(Math.min(bytes.length, 24))] = random.int(256);
      break;
    case 3: // a real magic number followed by random dimension sizes and data
      bytes = Buffer.concat([
        idxBytes(random.int(2) ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC, [], new Uint8Array()),
        randomBytes(random.int(40)),
      ]);
      break;
    case 4: // valid file with trailing bytes
      bytes = Buffer.concat([base, randomBytes(1 + random.int(8))]);
      break;
    case 5: // valid start, random rest (image sizes or labels may then be off)
      bytes = Buffer.concat([base.subarray(0, 8), randomBytes(base.length - 8)]);
      break;
    default: // gzip magic followed by garbage
      bytes = Buffer.concat([Buffer.from([0x1f, 0x8b]), randomBytes(random.int(40))]);
  }
  return random.int(4) === 0 ? gzipSync(bytes) : bytes;
}

/** Outcomes seen, to check that the fuzzing reaches both the success and the error paths. */
const outcomes = { returned: 0, rejected: 0 };

function returnsOrThrowsDataError(read: () => unknown, what: string): void {
  try {
    read();
    outcomes.returned++;
  } catch (error) {
    assert.ok(error instanceof DataError, `${what}: threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`);
    outcomes.rejected++;
  }
}

function expectBothOutcomes(): void {
  assert.ok(outcomes.returned > 10 && outcomes.rejected > 10, JSON.stringify(outcomes));
  outcomes.returned = 0;
  outcomes.rejected = 0;
}

test('IDX readers return or throw DataError on 300 random and damaged buffers', () => {
  const images = idxBytes(IDX_IMAGES_MAGIC, [10, 2, 2], patternBytes(40, 1));
  const labels = idxBytes(IDX_LABELS_MAGIC, [10], Uint8Array.of(1, 2, 9, 0, 0, 3, 4, 5, 6, 7));
  const valid = [images, labels];
  for (let i = 0; i < 300; i++) {
    const bytes = fuzzBuffer(valid);
    const source = { bytes, source: `fuzz ${i}` };
    returnsOrThrowsDataError(() => readIdxImages(source), `images ${i}`);
    returnsOrThrowsDataError(() => readIdxLabels(source), `labels ${i}`);
    const other = { bytes: fuzzBuffer(valid), source: `fuzz ${i}b` };
    returnsOrThrowsDataError(() => readIdxPair(source, other, 'fuzz', DIGIT_CLASS_NAMES), `pair ${i}`);
    returnsOrThrowsDataError(() => readIdxPair({ bytes: images, source: 'images' }, source, 'fuzz', DIGIT_CLASS_NAMES), `labels pair ${i}`);
  }
  expectBothOutcomes();
});

test('CIFAR reader returns or throws DataError on 300 random and damaged buffers', () => {
  const pixels = patternBytes(2 * 3072, 2);
  const valid = [
    cifarBytes([[3], [9]], pixels),
    cifarBytes(
      [
        [4, 50],
        [19, 99],
      ],
      pixels,
    ),
  ];
  const kinds: CifarLabelKind[] = ['cifar10', 'cifar100-fine', 'cifar100-coarse'];
  for (let i = 0; i < 300; i++) {
    const source = { bytes: fuzzBuffer(valid), source: `fuzz ${i}` };
    for (const kind of kinds) returnsOrThrowsDataError(() => readCifarRecords(source, kind), `${kind} ${i}`);
  }
  expectBothOutcomes();
});
