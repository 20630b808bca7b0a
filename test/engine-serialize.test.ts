// .lowt files: CRC-32 checksums over the header and each tensor, checks of every header entry,
// version 1 files (before the checksums) still readable, and the cleanup of temporary files a
// killed save leaves behind. Files are built byte by byte here, from the format's description.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';

import * as torch from '../src/torch/index.js';
import { TensorFileError } from '../src/torch/index.js';
import { crc32, crc32Table } from '../src/torch/crc32.js';
import { makeTempDir } from './data-fixtures.js';
import { rng } from './engine-helpers.js';

torch.setNumThreads(1);
const temp = makeTempDir('lowt');
after(temp.remove);

// zlib's CRC-32 (Node's bundled C implementation), where this Node has it: an independent reference.
const zlibCrc = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;

const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** A .lowt file: version 1 has a 12-byte prefix, version 2 adds the header's CRC-32 (computed here by `headerCrc`). */
function lowtFile(version: number, header: unknown, data: Buffer, headerCrc = (b: Buffer) => crc32Table(b)): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(version === 1 ? 12 : 16);
  prefix.write('LOWT', 0, 'latin1');
  prefix.writeUInt32LE(version, 4);
  prefix.writeUInt32LE(json.length, 8);
  if (version !== 1) prefix.writeUInt32LE(headerCrc(json), 12);
  return Buffer.concat([prefix, json, data]);
}

function write(name: string, content: Buffer): string {
  const file = join(temp.dir, name);
  writeFileSync(file, content);
  return file;
}

function refused(file: string, message: RegExp): void {
  assert.throws(
    () => torch.loadTensors(file),
    (e: unknown) => {
      assert.ok(e instanceof TensorFileError, `expected a TensorFileError, got ${String(e)}`);
      assert.equal(e.file, file);
      assert.ok(e.message.startsWith(`${file}: `), e.message);
      assert.match(e.message, message);
      return true;
    },
  );
}

test('crc32 gives the standard check value and agrees with zlib on random data', () => {
  const check = Buffer.from('123456789', 'latin1');
  assert.equal(crc32Table(check), 0xcbf43926);
  assert.equal(crc32(check), 0xcbf43926);
  assert.equal(crc32Table(new Uint8Array(0)), 0);
  // Continuing from the CRC of a prefix gives the CRC of the whole.
  assert.equal(crc32Table(check.subarray(4), crc32Table(check.subarray(0, 4))), 0xcbf43926);
  const r = rng(3);
  const data = Uint8Array.from({ length: 100_003 }, () => Math.floor(r() * 256));
  if (zlibCrc) assert.equal(crc32Table(data), zlibCrc(data) >>> 0);
  assert.equal(crc32(data), crc32Table(data));
});

test('saveTensors writes version 2 with the CRC-32 of the header and of each tensor', () => {
  const file = join(temp.dir, 'v2.lowt');
  const w = Float32Array.of(1.5, -2, 3.25, 0);
  const n = BigInt64Array.of(7n, -1n);
  torch.tidy(() => torch.saveTensors(file, { w: torch.tensor(w, { shape: [2, 2] }), n: torch.tensor(n) }, { note: 'x' }));
  const buf = readFileSync(file);
  assert.equal(buf.toString('latin1', 0, 4), 'LOWT');
  assert.equal(buf.readUInt32LE(4), 2);
  const length = buf.readUInt32LE(8);
  const json = buf.subarray(16, 16 + length);
  assert.equal(buf.readUInt32LE(12), crc32Table(json));
  const header = JSON.parse(json.toString('utf8')) as {
    tensors: { name: string; offset: number; bytes: number; crc32: number }[];
    metadata: unknown;
  };
  assert.deepEqual(header.metadata, { note: 'x' });
  assert.deepEqual(
    header.tensors.map((e) => [e.name, e.offset, e.bytes, e.crc32]),
    [
      ['w', 0, 16, crc32Table(bytesOf(w))],
      ['n', 16, 16, crc32Table(bytesOf(n))],
    ],
  );
  assert.deepEqual(buf.subarray(16 + length), Buffer.concat([bytesOf(w), bytesOf(n)]));
  const { tensors, metadata } = torch.loadTensors(file);
  assert.deepEqual(metadata, { note: 'x' });
  assert.deepEqual(tensors.get('w')!.toNumbers(), [1.5, -2, 3.25, 0]);
  assert.deepEqual(tensors.get('n')!.toNumbers(), [7, -1]);
  for (const t of tensors.values()) t.dispose();
  assert.deepEqual(
    readdirSync(temp.dir).filter((f) => f.includes('.tmp-')),
    [],
  );
});

test('flipped bytes in a tensor or in the header are caught at load, naming the file and the tensor', () => {
  const file = join(temp.dir, 'flip.lowt');
  const r = rng(11);
  const values = Float32Array.from({ length: 1000 }, () => r());
  torch.tidy(() => torch.saveTensors(file, { a: torch.tensor(Float32Array.of(1, 2)), weights: torch.tensor(values) }, { epoch: 3 }));
  const good = readFileSync(file);
  const dataStart = 16 + good.readUInt32LE(8);
  const weightsStart = dataStart + 8;
  // 400 bytes of the 4000 of 'weights' flipped, as a damaged disk or a bad copy would.
  const flipped = Buffer.from(good);
  for (let i = 0; i < 400; i++) flipped[weightsStart + 10 * i]! ^= 0xff;
  const expected = crc32Table(bytesOf(values));
  const actual = crc32Table(flipped.subarray(weightsStart, weightsStart + 4000));
  const hex = (c: number) => c.toString(16).padStart(8, '0');
  refused(
    write('flipped-data.lowt', flipped),
    new RegExp(`: tensor 'weights' is corrupt \\(CRC32 mismatch: stored ${hex(expected)}, computed ${hex(actual)}\\)$`),
  );
  // One bit of the metadata ("epoch":3 becomes "epoch":2) would still be valid JSON.
  const metaAt = good.indexOf('"epoch":3');
  const oneBit = Buffer.from(good);
  oneBit[metaAt + 8]! ^= 0x01;
  refused(write('flipped-header.lowt', oneBit), /: header is corrupt \(CRC32 mismatch: stored [0-9a-f]{8}, computed [0-9a-f]{8}\)$/);
  // The stored header checksum itself damaged.
  const badSum = Buffer.from(good);
  badSum[12]! ^= 0x10;
  refused(write('flipped-sum.lowt', badSum), /: header is corrupt \(CRC32 mismatch/);
  // The file as saved still loads.
  const { tensors } = torch.loadTensors(file);
  assert.deepEqual(Array.from(tensors.get('weights')!.toFloat32Array()), Array.from(values));
  for (const t of tensors.values()) t.dispose();
});

test('version 1 files, written before the checksums, still load', () => {
  const a = Float64Array.of(0.1, -1e-300, 42);
  const b = Uint8Array.of(0, 1, 255);
  // An odd offset for b: entries need not be aligned.
  const file = write(
    'v1.lowt',
    lowtFile(
      1,
      {
        tensors: [
          { name: 'a', dtype: 'float64', shape: [3], offset: 0, bytes: 24 },
          { name: 'b', dtype: 'uint8', shape: [1, 3], offset: 24, bytes: 3 },
          { name: 'mask', dtype: 'bool', shape: [2], offset: 27, bytes: 8 },
        ],
        metadata: { from: 'an older build' },
      },
      Buffer.concat([bytesOf(a), bytesOf(b), bytesOf(Float32Array.of(1, 0))]),
    ),
  );
  const { tensors, metadata } = torch.loadTensors(file);
  assert.deepEqual(metadata, { from: 'an older build' });
  assert.deepEqual(tensors.get('a')!.toNumbers(), [0.1, -1e-300, 42]);
  assert.deepEqual(tensors.get('b')!.shape, [1, 3]);
  assert.deepEqual(tensors.get('b')!.toNumbers(), [0, 1, 255]);
  assert.equal(tensors.get('mask')!.dtype, 'bool');
  assert.deepEqual(tensors.get('mask')!.toNumbers(), [1, 0]);
  for (const t of tensors.values()) t.dispose();
  refused(
    write('v3.lowt', lowtFile(3, { tensors: [], metadata: null }, Buffer.alloc(0))),
    /: format version 3, this build reads versions 1 and 2$/,
  );
});

test('loadTensors refuses malformed entries, naming the file and the entry', () => {
  const data = Buffer.alloc(16);
  const crc = crc32Table(data.subarray(0, 8));
  const entry = (over: Record<string, unknown>) => ({ name: 'x', dtype: 'float32', shape: [2], offset: 0, bytes: 8, crc32: crc, ...over });
  const cases: [string, unknown[], RegExp][] = [
    [
      'negative dimension',
      [entry({ shape: [-2, -1] })],
      /corrupt entry for tensor 'x': shape \[-2,-1\] is not a list of non-negative integers$/,
    ],
    ['fractional dimension', [entry({ shape: [1.5] })], /tensor 'x': shape \[1\.5\] is not a list/],
    ['shape not a list', [entry({ shape: '2' })], /tensor 'x': shape "2" is not a list/],
    ['negative offset', [entry({ offset: -8 })], /tensor 'x': offset -8 is not a non-negative integer$/],
    ['fractional offset', [entry({ offset: 0.5 })], /tensor 'x': offset 0\.5 is not/],
    ['length a string', [entry({ bytes: '8' })], /tensor 'x': length "8" is not a non-negative integer$/],
    ['length not the shape', [entry({ bytes: 12 })], /tensor 'x': dtype float32 and shape \[2\] need 8 bytes, the entry says 12$/],
    ['unknown dtype', [entry({ dtype: 'float99' })], /tensor 'x': unknown dtype "float99" \(expected one of float32, /],
    ['no dtype', [entry({ dtype: undefined })], /tensor 'x': unknown dtype undefined/],
    ['beyond the file', [entry({ offset: 12 })], /truncated: tensor 'x' needs bytes 12 to 20 of the data, the file holds 16$/],
    [
      'overlapping',
      [entry({}), entry({ name: 'y', offset: 4 })],
      /corrupt header: tensor 'y' \(bytes 4 to 12\) overlaps tensor 'x' \(bytes 0 to 8\)$/,
    ],
    ['listed twice', [entry({}), entry({ offset: 8 })], /corrupt header: tensor 'x' is listed twice$/],
    ['not an object', [entry({}), 7], /corrupt header: entry 1 is not an object$/],
    ['no name', [{ ...entry({}), name: 3 }], /corrupt header: entry 0 has no name$/],
    ['no checksum', [entry({ crc32: undefined })], /tensor 'x': CRC32 undefined is not a 32-bit unsigned integer$/],
    ['checksum out of range', [entry({ crc32: 2 ** 32 })], /tensor 'x': CRC32 4294967296 is not a 32-bit unsigned integer$/],
  ];
  for (const [name, tensors, message] of cases) {
    refused(write(`${name.replace(/ /g, '-')}.lowt`, lowtFile(2, { tensors, metadata: null }, data)), message);
  }
  // The same entries, well formed, load: two tensors side by side, and an empty one anywhere.
  const ok = write(
    'ok.lowt',
    lowtFile(
      2,
      {
        tensors: [entry({}), entry({ name: 'y', offset: 8 }), entry({ name: 'z', shape: [0], bytes: 0, offset: 4, crc32: 0 })],
        metadata: null,
      },
      data,
    ),
  );
  const { tensors } = torch.loadTensors(ok);
  assert.deepEqual([...tensors.keys()], ['x', 'y', 'z']);
  assert.deepEqual(tensors.get('z')!.shape, [0]);
  for (const t of tensors.values()) t.dispose();
});

test('a save that fails leaves no temporary file and the old file in place', () => {
  // The target is a directory, so the final rename fails after the temporary file was written.
  const target = join(temp.dir, 'occupied.lowt');
  mkdirSync(target);
  assert.throws(
    () => torch.tidy(() => torch.saveTensors(target, { a: torch.zeros([3]) })),
    /EISDIR|ENOTEMPTY|EEXIST|illegal operation on a directory/,
  );
  assert.deepEqual(
    readdirSync(temp.dir).filter((f) => f.startsWith('occupied.lowt.tmp-')),
    [],
  );
});

test('removeStaleTempFiles deletes the temporary files of processes that are gone, and nothing else', () => {
  const dir = join(temp.dir, 'run');
  mkdirSync(dir);
  // A process that has exited: its pid is free (until the system hands it out again).
  const gone = spawnSync(process.execPath, ['-e', '']).pid!;
  const files = {
    stale: `checkpoint.lowt.tmp-${gone}`,
    staleSamples: `samples.lowt.tmp-${gone}`,
    ours: `model.lowt.tmp-${process.pid}`,
    checkpoint: 'checkpoint.lowt',
    unrelated: 'notes.tmp-abc',
  };
  for (const f of Object.values(files)) writeFileSync(join(dir, f), 'x');
  mkdirSync(join(dir, `folder.tmp-${gone}`));
  const removed = torch.removeStaleTempFiles(dir);
  assert.deepEqual(removed.sort(), [join(dir, files.staleSamples), join(dir, files.stale)].sort());
  assert.deepEqual(readdirSync(dir).sort(), [files.checkpoint, `folder.tmp-${gone}`, files.ours, files.unrelated].sort());
  assert.deepEqual(torch.removeStaleTempFiles(dir), []);
  assert.ok(existsSync(join(dir, files.ours)));
});
