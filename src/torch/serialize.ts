// A small, self-describing file format for named tensors (state dicts, checkpoints):
//   "LOWT" | u32 version | u32 header length | JSON header | raw little-endian tensor bytes
// The header lists each tensor's name, dtype, shape and byte range, plus free-form metadata.
// Files are written to a temporary name and renamed, so an interrupted save never leaves a
// half-written file where a good one was.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { Tensor, type DType, type TypedArrayLike } from './tensor.js';
import { tensor } from './creation.js';

const MAGIC = 'LOWT';
const VERSION = 1;

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  offset: number;
  bytes: number;
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
    throw new RangeError(`saveTensors: '${name}' holds a ${h.data.constructor.name} of ${h.data.length} elements; dtype ${h.dtype} and shape [${h.shape.join(', ')}] need ${count} elements of that dtype`);
  }
  return new Uint8Array(h.data.buffer, h.data.byteOffset, h.data.byteLength);
}

const storedDtype = (d: DType): DType => (d === 'bool' || d === 'float16' || d === 'bfloat16' ? 'float32' : d);

export function saveTensors(file: string, tensors: Map<string, Tensor | HostTensor> | Record<string, Tensor | HostTensor>, metadata: unknown = null): void {
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
    header.tensors.push({ name, dtype: t.dtype, shape: [...t.shape], offset, bytes: b.byteLength });
    blobs.push(b);
    offset += b.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(12);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(VERSION, 4);
  prefix.writeUInt32LE(json.length, 8);
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, prefix);
    writeSync(fd, json);
    for (const b of blobs) writeSync(fd, b);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
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

export function loadTensors(file: string): { tensors: Map<string, Tensor>; metadata: unknown } {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new TensorFileError(file, `cannot read (${(e as Error).message})`);
  }
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== MAGIC) throw new TensorFileError(file, 'not a low-ts tensor file (expected it to start with "LOWT")');
  const version = buf.readUInt32LE(4);
  if (version !== VERSION) throw new TensorFileError(file, `format version ${version}, this build reads version ${VERSION}`);
  const headerLength = buf.readUInt32LE(8);
  if (12 + headerLength > buf.length) throw new TensorFileError(file, `truncated: header needs ${headerLength} bytes, file has ${buf.length - 12}`);
  let header: Header;
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + headerLength)) as Header;
  } catch {
    throw new TensorFileError(file, 'corrupt header (not valid JSON)');
  }
  if (!header || !Array.isArray(header.tensors)) throw new TensorFileError(file, 'corrupt header (no tensor list)');
  const base = 12 + headerLength;
  const tensors = new Map<string, Tensor>();
  for (const e of header.tensors) {
    const Ctor = arrayTypes[storedDtype(e.dtype)];
    const count = Array.isArray(e.shape) ? e.shape.reduce((a, b) => a * b, 1) : NaN;
    if (!Ctor || !Number.isInteger(count) || count * Ctor.BYTES_PER_ELEMENT !== e.bytes) {
      throw new TensorFileError(file, `corrupt entry for tensor '${e.name}' (dtype ${e.dtype}, shape ${JSON.stringify(e.shape)}, ${e.bytes} bytes)`);
    }
    if (base + e.offset + e.bytes > buf.length) {
      throw new TensorFileError(file, `truncated: tensor '${e.name}' needs bytes up to ${base + e.offset + e.bytes}, file has ${buf.length}`);
    }
    // Copy into an aligned buffer: the file's byte offsets need not be multiples of the element size.
    const copy = new Uint8Array(e.bytes);
    copy.set(buf.subarray(base + e.offset, base + e.offset + e.bytes));
    const data = new Ctor(copy.buffer, 0, count);
    tensors.set(e.name, tensor(data as never, { shape: e.shape, dtype: e.dtype }));
  }
  return { tensors, metadata: header.metadata };
}
