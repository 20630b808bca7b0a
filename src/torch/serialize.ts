// A small, self-describing file format for named tensors (state dicts, checkpoints):
//   version 2: "LOWT" | u32 2 | u32 header length | u32 CRC-32 of the header | JSON header | tensor bytes
//   version 1: "LOWT" | u32 1 | u32 header length | JSON header | tensor bytes
// All integers little-endian. The header lists each tensor's name, dtype, shape, byte range and
// (version 2) the CRC-32 of its bytes, plus free-form metadata. Checksums catch a damaged file at
// load instead of training on flipped bytes. Version 1 files (written before the checksums, and by
// by an earlier converter script) stay readable, without the check.
//
// Files are written to a temporary name (`<file>.tmp-<pid>`) and renamed, so an interrupted save
// never leaves a half-written file where a good one was; removeStaleTempFiles clears the
// temporary files that a killed process leaves behind.
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, type DType, type TypedArrayLike } from './tensor.js';
import { tensor } from './creation.js';
import { crc32 } from './crc32.js';

const MAGIC = 'LOWT';
const VERSION = 2;
const LEGACY_VERSION = 1;

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  offset: number;
  bytes: number;
  /** CRC-32 of the tensor's bytes; absent in version 1 files. */
  crc32?: number;
}
interface Header {
  tensors: Entry[];
  metadata: unknown;
}

/** Thrown for a file that is not a valid tensor file; the message names the file and the problem. */
export class TensorFileError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'TensorFileError';
  }
}

function bytesOf(t: Tensor): Uint8Array {
  // bool and 16-bit floats are stored through types the addon can copy out.
  const arr = t.dtype === 'bool' || t.dtype === 'float16' || t.dtype === 'bfloat16' ? t.to('float32').toArray() : t.toArray();
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

/**
 * An array in JavaScript memory, written as a tensor of that dtype and shape without passing
 * through libtorch: a checkpoint's per-sample history (tens of MB on a large dataset) would
 * otherwise be copied into a tensor and back out on every save.
 */
export interface HostTensor {
  /** A dtype stored as itself (bool and 16-bit floats are stored as float32, from tensors only). */
  dtype: Exclude<DType, 'bool' | 'float16' | 'bfloat16'>;
  shape: number[];
  data: TypedArrayLike;
}

function hostBytes(name: string, h: HostTensor): Uint8Array {
  const Ctor = arrayTypes[h.dtype]!;
  const count = h.shape.reduce((a, b) => a * b, 1);
  if (!(h.data instanceof Ctor) || h.data.length !== count) {
    throw new RangeError(
      `saveTensors: '${name}' holds a ${h.data.constructor.name} of ${h.data.length} elements; ` +
        `dtype ${h.dtype} and shape [${h.shape.join(', ')}] need ${count} elements of that dtype`,
    );
  }
  return new Uint8Array(h.data.buffer, h.data.byteOffset, h.data.byteLength);
}

const storedDtype = (d: DType): DType => (d === 'bool' || d === 'float16' || d === 'bfloat16' ? 'float32' : d);

/** The temporary file saveTensors writes before renaming it to `file`. */
const tempFileOf = (file: string): string => `${file}.tmp-${process.pid}`;
const TEMP_FILE = /\.tmp-(\d+)$/;

export function saveTensors(
  file: string,
  tensors: Map<string, Tensor | HostTensor> | Record<string, Tensor | HostTensor>,
  metadata: unknown = null,
): void {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const blobs: Uint8Array[] = [];
  const header: Header = { tensors: [], metadata };
  let offset = 0;
  for (const [name, t] of entries) {
    let b: Uint8Array;
    if (t instanceof Tensor) {
      const cpu = t.device === 'cpu' ? t : t.to({ device: 'cpu' });
      b = bytesOf(cpu);
      if (cpu !== t) cpu.dispose();
    } else {
      b = hostBytes(name, t);
    }
    header.tensors.push({ name, dtype: t.dtype, shape: [...t.shape], offset, bytes: b.byteLength, crc32: crc32(b) });
    blobs.push(b);
    offset += b.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(16);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(VERSION, 4);
  prefix.writeUInt32LE(json.length, 8);
  prefix.writeUInt32LE(crc32(json), 12);
  const tmp = tempFileOf(file);
  const fd = openSync(tmp, 'w');
  try {
    try {
      writeSync(fd, prefix);
      writeSync(fd, json);
      for (const b of blobs) writeSync(fd, b);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    // A failed write (a full disk) leaves nothing behind; the file it was to replace is untouched.
    rmSync(tmp, { force: true });
    throw e;
  }
}

const arrayTypes: Partial<Record<DType, { new (b: ArrayBuffer, o: number, n: number): ArrayBufferView; BYTES_PER_ELEMENT: number }>> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
};
const DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const hex = (crc: number): string => crc.toString(16).padStart(8, '0');

/**
 * Checks one header entry against the format and the file's size, throwing a TensorFileError that
 * names the entry and what is wrong with it; returns its element count.
 */
function checkEntry(file: string, e: unknown, index: number, version: number, dataBytes: number): number {
  if (typeof e !== 'object' || e === null) throw new TensorFileError(file, `corrupt header: entry ${index} is not an object`);
  const { name, dtype, shape, offset, bytes } = e as Partial<Entry>;
  if (typeof name !== 'string') throw new TensorFileError(file, `corrupt header: entry ${index} has no name`);
  const what = `corrupt entry for tensor '${name}'`;
  if (typeof dtype !== 'string' || !DTYPES.includes(dtype))
    throw new TensorFileError(file, `${what}: unknown dtype ${JSON.stringify(dtype)} (expected one of ${DTYPES.join(', ')})`);
  if (!Array.isArray(shape) || !shape.every(isCount))
    throw new TensorFileError(file, `${what}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  if (!isCount(offset)) throw new TensorFileError(file, `${what}: offset ${JSON.stringify(offset)} is not a non-negative integer`);
  if (!isCount(bytes)) throw new TensorFileError(file, `${what}: length ${JSON.stringify(bytes)} is not a non-negative integer`);
  const count = shape.reduce((a, b) => a * b, 1);
  const size = arrayTypes[storedDtype(dtype)]!.BYTES_PER_ELEMENT;
  if (count * size !== bytes)
    throw new TensorFileError(
      file,
      `${what}: dtype ${dtype} and shape [${shape.join(', ')}] need ${count * size} bytes, the entry says ${bytes}`,
    );
  if (offset + bytes > dataBytes) {
    throw new TensorFileError(
      file,
      `truncated: tensor '${name}' needs bytes ${offset} to ${offset + bytes} of the data, the file holds ${dataBytes}`,
    );
  }
  const stored = (e as Entry).crc32;
  if (version >= 2 && !(Number.isInteger(stored) && stored! >= 0 && stored! <= 0xffffffff)) {
    throw new TensorFileError(file, `${what}: CRC32 ${JSON.stringify(stored)} is not a 32-bit unsigned integer`);
  }
  return count;
}

export function loadTensors(file: string): { tensors: Map<string, Tensor>; metadata: unknown } {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new TensorFileError(file, `cannot read (${(e as Error).message})`);
  }
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== MAGIC)
    throw new TensorFileError(file, 'not a low-ts tensor file (expected it to start with "LOWT")');
  const version = buf.readUInt32LE(4);
  if (version !== VERSION && version !== LEGACY_VERSION)
    throw new TensorFileError(file, `format version ${version}, this build reads versions ${LEGACY_VERSION} and ${VERSION}`);
  const headerStart = version === LEGACY_VERSION ? 12 : 16;
  const headerLength = buf.readUInt32LE(8);
  if (headerStart + headerLength > buf.length)
    throw new TensorFileError(file, `truncated: header needs ${headerLength} bytes, file has ${Math.max(0, buf.length - headerStart)}`);
  const headerBytes = buf.subarray(headerStart, headerStart + headerLength);
  if (version >= 2) {
    const stored = buf.readUInt32LE(12);
    const actual = crc32(headerBytes);
    if (stored !== actual)
      throw new TensorFileError(file, `header is corrupt (CRC32 mismatch: stored ${hex(stored)}, computed ${hex(actual)})`);
  }
  let header: Header;
  try {
    header = JSON.parse(headerBytes.toString('utf8')) as Header;
  } catch {
    throw new TensorFileError(file, 'corrupt header (not valid JSON)');
  }
  if (!header || !Array.isArray(header.tensors)) throw new TensorFileError(file, 'corrupt header (no tensor list)');
  const base = headerStart + headerLength;
  const counts = header.tensors.map((e, i) => checkEntry(file, e, i, version, buf.length - base));

  // Each byte of the data belongs to one tensor at most, and each name to one tensor.
  const byOffset = [...header.tensors].filter((e) => e.bytes > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const [prev, e] = [byOffset[i - 1]!, byOffset[i]!];
    if (e.offset < prev.offset + prev.bytes) {
      throw new TensorFileError(
        file,
        `corrupt header: tensor '${e.name}' (bytes ${e.offset} to ${e.offset + e.bytes}) ` +
          `overlaps tensor '${prev.name}' (bytes ${prev.offset} to ${prev.offset + prev.bytes})`,
      );
    }
  }
  const names = new Set<string>();
  for (const e of header.tensors) {
    if (names.has(e.name)) throw new TensorFileError(file, `corrupt header: tensor '${e.name}' is listed twice`);
    names.add(e.name);
  }

  // Every entry is checked before the first tensor exists, so a bad file leaves nothing to free.
  const sums = header.tensors.map((e) => (version >= 2 ? crc32(buf.subarray(base + e.offset, base + e.offset + e.bytes)) : undefined));
  header.tensors.forEach((e, i) => {
    if (sums[i] !== undefined && sums[i] !== e.crc32) {
      throw new TensorFileError(file, `tensor '${e.name}' is corrupt (CRC32 mismatch: stored ${hex(e.crc32!)}, computed ${hex(sums[i]!)})`);
    }
  });
  const tensors = new Map<string, Tensor>();
  header.tensors.forEach((e, i) => {
    // Copy into an aligned buffer: the file's byte offsets need not be multiples of the element size.
    const copy = new Uint8Array(e.bytes);
    copy.set(buf.subarray(base + e.offset, base + e.offset + e.bytes));
    const data = new arrayTypes[storedDtype(e.dtype)]!(copy.buffer, 0, counts[i]!);
    tensors.set(e.name, tensor(data as never, { shape: e.shape, dtype: e.dtype }));
  });
  return { tensors, metadata: header.metadata };
}

function processIsRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes the temporary files (`<name>.tmp-<pid>`) that saveTensors left in `dir` when its
 * process was killed mid-write, those whose process is no longer running, and returns their paths.
 * Files of a running process (a save under way) are kept. Call it where a run folder is opened;
 * the pid test is only meaningful for writers on this machine, which a folder lock ensures.
 */
export function removeStaleTempFiles(dir: string): string[] {
  const removed: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const m = TEMP_FILE.exec(entry.name);
    if (!m || !entry.isFile() || processIsRunning(Number(m[1]))) continue;
    const path = join(dir, entry.name);
    rmSync(path, { force: true });
    removed.push(path);
  }
  return removed;
}
