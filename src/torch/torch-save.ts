// PyTorch's torch.save files, read without Python. Since PyTorch 1.6 torch.save writes a zip
// archive: `<name>/data.pkl` (a pickle of the object, tensors as persistent references to their
// storages), `<name>/data/<key>` (each storage's raw little-endian bytes) and `<name>/version`.
// libtorch's own reader (torch::jit::pickle_load) cannot be used for state dicts: in 1.13 it turns
// collections.OrderedDict, which every Module.state_dict() is, into None.
//
// The unpickler below knows the opcodes torch.save emits (protocol 2) and the few globals a file
// of tensors needs, as torch.load(weights_only=True) allows: anything else (a pickled nn.Module,
// an arbitrary class) is refused with its name, never executed.
//
// Writing goes through libtorch (torch::jit::pickle_save, native/script_module.h): a plain dict
// from name to tensor, which torch.load returns and load_state_dict takes.
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { native } from './native.js';
import type { Tensor, DType } from './tensor.js';
import { tensor } from './creation.js';
import { noGrad } from './autograd.js';
import { crc32 } from './crc32.js';

/** Thrown for a file that is not a readable torch.save file; the message names the file and the problem. */
export class TorchSaveError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'TorchSaveError';
  }
}

// ---- the zip archive ----------------------------------------------------------------------------

/** Whether these bytes start like a zip archive (a torch.save file since PyTorch 1.6, or TorchScript). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** The entries of a zip archive by name: stored entries as views of `buf`, deflated ones inflated. */
export function readZip(buf: Buffer, file: string): Map<string, Uint8Array> {
  const fail = (problem: string): never => {
    throw new TorchSaveError(file, problem);
  };
  // The end-of-central-directory record: 22 bytes plus a comment of up to 65535.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('not a complete zip archive (no end of central directory: truncated?)');
  let count = buf.readUInt16LE(eocd + 10);
  let dirOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || dirOffset === 0xffffffff) {
    // Zip64 (archives beyond 4 GiB or 65535 entries): the locator sits just before the record.
    const locator = eocd - 20;
    if (locator < 0 || buf.readUInt32LE(locator) !== 0x07064b50) fail('a zip64 archive without its zip64 locator');
    const record = Number(buf.readBigUInt64LE(locator + 8));
    if (record + 56 > buf.length || buf.readUInt32LE(record) !== 0x06064b50) fail('a damaged zip64 end of central directory');
    count = Number(buf.readBigUInt64LE(record + 32));
    dirOffset = Number(buf.readBigUInt64LE(record + 48));
  }
  const entries = new Map<string, Uint8Array>();
  let p = dirOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) fail(`zip central directory entry ${k} is damaged`);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    let compressed = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLength = buf.readUInt16LE(p + 28);
    const extraLength = buf.readUInt16LE(p + 30);
    const commentLength = buf.readUInt16LE(p + 32);
    let local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLength);
    // Zip64 sizes and offset, in that order, for each field saturated in the entry itself.
    for (let e = p + 46 + nameLength; e + 4 <= p + 46 + nameLength + extraLength; ) {
      const id = buf.readUInt16LE(e);
      const len = buf.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) {
          size = Number(buf.readBigUInt64LE(q));
          q += 8;
        }
        if (compressed === 0xffffffff) {
          compressed = Number(buf.readBigUInt64LE(q));
          q += 8;
        }
        if (local === 0xffffffff) local = Number(buf.readBigUInt64LE(q));
      }
      e += 4 + len;
    }
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== 0x04034b50) fail(`zip entry ${name} is damaged (no local header)`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    if (start + compressed > buf.length) fail(`zip entry ${name} runs past the end of the file (truncated?)`);
    const raw = buf.subarray(start, start + compressed);
    let data: Uint8Array = raw;
    if (method === 8) data = inflateRawSync(raw);
    else if (method !== 0) fail(`zip entry ${name} uses compression method ${method} (expected stored or deflated)`);
    // The archive's own checksum: a flipped byte in a weight is caught here, not trained on.
    if (crc32(data) !== crc) fail(`zip entry ${name} is damaged (its CRC-32 does not match)`);
    entries.set(name, data);
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

// ---- the pickle -----------------------------------------------------------------------------------

/** A reference to a storage in the archive: ('storage', torch.FloatStorage, key, location, numel). */
interface StorageRef {
  kind: 'storage';
  dtype: DType;
  key: string;
  numel: number;
}
/** What torch._utils._rebuild_tensor_v2 describes: a view of a storage. */
export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  size: number[];
  stride: number[];
}
type Global = { kind: 'global'; name: string };
type Mark = { kind: 'mark' };
const MARK: Mark = { kind: 'mark' };
type Value = null | boolean | number | bigint | string | Uint8Array | Value[] | Map<Value, Value> | StorageRef | TensorRef | Global | Mark;

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};
const ELEMENT_BYTES: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};
/** The globals a file of tensors may name; what each builds is done in `reduce`. */
const ALLOWED_GLOBALS = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch.nn.parameter.Parameter',
  // libtorch's pickler (torch::jit::pickle_save) tags a typed dict: restore_type_tag(dict, 'Dict[str, Tensor]').
  'torch.jit._pickle.restore_type_tag',
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
]);

function reduce(file: string, fn: Value, args: Value): Value {
  const name = (fn as Global).name;
  const a = args as Value[];
  if (name === 'collections.OrderedDict') return new Map();
  if (name === 'torch._utils._rebuild_tensor_v2') {
    const [storage, offset, size, stride] = a;
    if ((storage as StorageRef)?.kind !== 'storage') throw new TorchSaveError(file, '_rebuild_tensor_v2 without a storage');
    const ints = (v: Value): number[] => (v as Value[]).map((x) => Number(x));
    return {
      kind: 'tensor',
      storage: storage as StorageRef,
      offset: Number(offset),
      size: ints(size as Value),
      stride: ints(stride as Value),
    };
  }
  // A Parameter is its tensor (requires_grad does not matter to a state dict).
  if (name === 'torch._utils._rebuild_parameter' || name === 'torch.nn.parameter.Parameter') return a[0] ?? null;
  if (name === 'torch.jit._pickle.restore_type_tag') return a[0] ?? null;
  throw new TorchSaveError(file, `cannot build ${name}`);
}

/** The object pickled in `bytes`, with persistent references resolved to storages. */
export function unpickle(bytes: Uint8Array, file: string): Value {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: Value[] = [];
  const memo = new Map<number, Value>();
  let p = 0;
  const fail = (problem: string): never => {
    throw new TorchSaveError(file, `data.pkl at byte ${p}: ${problem}`);
  };
  const need = (n: number): void => {
    if (p + n > buf.length) fail('the pickle ends early (truncated?)');
  };
  const pop = (): Value => (stack.length ? (stack.pop() as Value) : fail('stack underflow'));
  const popMark = (): Value[] => {
    const out: Value[] = [];
    for (;;) {
      const v = pop();
      if (v === MARK) return out.reverse();
      out.push(v);
    }
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, p);
    if (end < 0) fail('unterminated line');
    const s = buf.toString('latin1', p, end);
    p = end + 1;
    return s;
  };
  const string = (n: number): string => {
    need(n);
    const s = buf.toString('utf8', p, p + n);
    p += n;
    return s;
  };
  const setItems = (target: Value, items: Value[]): void => {
    if (!(target instanceof Map)) fail('items set on something other than a dict');
    for (let i = 0; i + 1 < items.length; i += 2) (target as Map<Value, Value>).set(items[i] as Value, items[i + 1] as Value);
  };
  for (;;) {
    need(1);
    const op = buf[p++] as number;
    switch (op) {
      case 0x80: // PROTO
        need(1);
        p += 1;
        break;
      case 0x95: // FRAME (protocol 4)
        need(8);
        p += 8;
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        need(1);
        stack.push(buf.readUInt8(p));
        p += 1;
        break;
      case 0x4d: // BININT2
        need(2);
        stack.push(buf.readUInt16LE(p));
        p += 2;
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(buf.readInt32LE(p));
        p += 4;
        break;
      case 0x8a: {
        // LONG1: a little-endian two's-complement integer of n bytes
        need(1);
        const n = buf.readUInt8(p++);
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[p + i] as number);
        if (n > 0 && ((buf[p + n - 1] as number) & 0x80) !== 0) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(buf.readDoubleBE(p));
        p += 8;
        break;
      case 0x58: // BINUNICODE
        need(4);
        p += 4;
        stack.push(string(buf.readUInt32LE(p - 4)));
        break;
      case 0x8c: // SHORT_BINUNICODE
        need(1);
        p += 1;
        stack.push(string(buf.readUInt8(p - 1)));
        break;
      case 0x55: // SHORT_BINSTRING
        need(1);
        p += 1;
        stack.push(string(buf.readUInt8(p - 1)));
        break;
      case 0x43: {
        // SHORT_BINBYTES
        need(1);
        const n = buf.readUInt8(p++);
        need(n);
        stack.push(buf.subarray(p, p + n));
        p += n;
        break;
      }
      case 0x42: {
        // BINBYTES
        need(4);
        const n = buf.readUInt32LE(p);
        p += 4;
        need(n);
        stack.push(buf.subarray(p, p + n));
        p += n;
        break;
      }
      case 0x29: // EMPTY_TUPLE
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x74: // TUPLE
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const m = new Map<Value, Value>();
        setItems(m, popMark());
        stack.push(m);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const list = stack[stack.length - 1];
        if (!Array.isArray(list)) fail('append to something other than a list');
        (list as Value[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = stack[stack.length - 1];
        if (!Array.isArray(list)) fail('append to something other than a list');
        (list as Value[]).push(...items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(stack[stack.length - 1] ?? null, [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(stack[stack.length - 1] ?? null, items);
        break;
      }
      case 0x71: // BINPUT
        need(1);
        memo.set(buf.readUInt8(p++), stack[stack.length - 1] ?? null);
        break;
      case 0x72: // LONG_BINPUT
        need(4);
        memo.set(buf.readUInt32LE(p), stack[stack.length - 1] ?? null);
        p += 4;
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, stack[stack.length - 1] ?? null);
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const long = op === 0x6a;
        need(long ? 4 : 1);
        const i = long ? buf.readUInt32LE(p) : buf.readUInt8(p);
        p += long ? 4 : 1;
        if (!memo.has(i)) fail(`memo entry ${i} read before it was written`);
        stack.push(memo.get(i) as Value);
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const name = `${line()}.${line()}`;
        if (!ALLOWED_GLOBALS.has(name))
          fail(
            `it holds a Python object of class ${name}; low-ts reads files of tensors only (a state dict: torch.save(model.state_dict(), path))`,
          );
        stack.push({ kind: 'global', name });
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const cls = pop();
        const module = pop();
        const name = `${String(module)}.${String(cls)}`;
        if (!ALLOWED_GLOBALS.has(name))
          fail(
            `it holds a Python object of class ${name}; low-ts reads files of tensors only (a state dict: torch.save(model.state_dict(), path))`,
          );
        stack.push({ kind: 'global', name });
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if ((fn as Global)?.kind !== 'global') fail('a call of something other than a known function');
        stack.push(reduce(file, fn, args));
        break;
      }
      case 0x62: // BUILD: an object's state (an OrderedDict's _metadata); a file of tensors needs none of it
        pop();
        break;
      case 0x51: {
        // BINPERSID: ('storage', storage type, key, location, numel)
        const pid = pop();
        const t = Array.isArray(pid) ? pid : [];
        const type = t[1] as Global | undefined;
        const dtype = type?.kind === 'global' ? STORAGE_DTYPES[type.name.replace(/^torch\./, '')] : undefined;
        if (t[0] !== 'storage' || !dtype) fail('a persistent reference that is not a tensor storage');
        stack.push({ kind: 'storage', dtype: dtype as DType, key: String(t[2]), numel: Number(t[4]) });
        break;
      }
      default:
        fail(`pickle opcode 0x${op.toString(16)} is not one torch.save writes for tensors`);
    }
  }
}

// ---- tensors --------------------------------------------------------------------------------------

/** The float32 values of IEEE half-precision or bfloat16 bit patterns. */
function widen(bits: Uint16Array, dtype: 'float16' | 'bfloat16'): Float32Array {
  const out = new Float32Array(bits.length);
  const view = new DataView(out.buffer);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i] as number;
    if (dtype === 'bfloat16') {
      view.setUint32(i * 4, h << 16, true);
      continue;
    }
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    out[i] =
      exp === 0
        ? sign * 2 ** -14 * (frac / 1024)
        : exp === 31
          ? frac
            ? Number.NaN
            : sign * Infinity
          : sign * 2 ** (exp - 15) * (1 + frac / 1024);
  }
  return out;
}

/** A storage's bytes as a 1-d tensor (16-bit floats widened to float32, bool as bool). */
function storageTensor(ref: StorageRef, bytes: Uint8Array, file: string): Tensor {
  const expected = ref.numel * (ELEMENT_BYTES[ref.dtype] as number);
  if (bytes.length < expected)
    throw new TorchSaveError(file, `storage ${ref.key} has ${bytes.length} bytes, expected ${expected} (truncated?)`);
  // Copied to a fresh, aligned buffer: zip entries sit at any offset.
  const copy = new Uint8Array(bytes.subarray(0, expected)).buffer;
  switch (ref.dtype) {
    case 'float32':
      return tensor(new Float32Array(copy), { shape: [ref.numel] });
    case 'float64':
      return tensor(new Float64Array(copy), { shape: [ref.numel] });
    case 'float16':
    case 'bfloat16':
      return tensor(widen(new Uint16Array(copy), ref.dtype), { shape: [ref.numel] });
    case 'int64':
      return tensor(new BigInt64Array(copy), { shape: [ref.numel] });
    case 'int32':
      return tensor(new Int32Array(copy), { shape: [ref.numel] });
    case 'int16':
      return tensor(new Int16Array(copy), { shape: [ref.numel] });
    case 'int8':
      return tensor(new Int8Array(copy), { shape: [ref.numel] });
    case 'uint8':
      return tensor(new Uint8Array(copy), { shape: [ref.numel] });
    case 'bool':
      return noGrad(() => tensor(new Uint8Array(copy), { shape: [ref.numel] }).to('bool'));
  }
}

/** The view a TensorRef describes, as a tensor of its own: element i at offset + sum(index_k * stride_k). */
function viewOf(ref: TensorRef, storage: Tensor, file: string): Tensor {
  const numel = ref.size.reduce((a, b) => a * b, 1);
  let contiguous = true;
  for (let d = ref.size.length - 1, step = 1; d >= 0; d--) {
    if ((ref.size[d] as number) !== 1 && ref.stride[d] !== step) contiguous = false;
    step *= ref.size[d] as number;
  }
  const last = ref.offset + ref.size.reduce((a, s, d) => a + (s > 0 ? (s - 1) * (ref.stride[d] as number) : 0), 0);
  if (numel > 0 && (ref.offset < 0 || last >= ref.storage.numel))
    throw new TorchSaveError(file, `a tensor of shape [${ref.size.join(', ')}] reaches past its storage ${ref.storage.key}`);
  return noGrad(() => {
    if (contiguous)
      return storage
        .narrow(0, ref.offset, numel)
        .reshape(...ref.size)
        .clone();
    const index = new BigInt64Array(numel);
    for (let i = 0; i < numel; i++) {
      let rest = i;
      let at = ref.offset;
      for (let d = ref.size.length - 1; d >= 0; d--) {
        const s = ref.size[d] as number;
        at += (rest % s) * (ref.stride[d] as number);
        rest = Math.floor(rest / s);
      }
      index[i] = BigInt(at);
    }
    return storage.indexSelect(0, tensor(index, { shape: [numel] })).reshape(...ref.size);
  });
}

/** Where the state dict sits in a loaded object: the object itself, or a checkpoint's 'state_dict' or 'model'. */
function stateDictOf(root: Value, file: string): Map<Value, Value> {
  const isTensorDict = (v: Value): v is Map<Value, Value> =>
    v instanceof Map && v.size > 0 && [...v.values()].every((x) => (x as TensorRef)?.kind === 'tensor');
  if (isTensorDict(root)) return root;
  if (root instanceof Map) {
    for (const key of ['state_dict', 'model', 'model_state_dict']) {
      const inner = root.get(key);
      if (inner !== undefined && isTensorDict(inner)) return inner;
    }
    const keys = [...root.keys()].map(String).slice(0, 8);
    throw new TorchSaveError(
      file,
      `holds a dict (keys ${keys.join(', ')}) that is neither a state dict of tensors nor a checkpoint with one under 'state_dict' or 'model'`,
    );
  }
  throw new TorchSaveError(
    file,
    `holds a ${Array.isArray(root) ? 'list or tuple' : typeof root}, expected a state dict (a dict of tensors)`,
  );
}

/**
 * The state dict in a torch.save file (`torch.save(model.state_dict(), path)`, or a checkpoint
 * dict holding one under 'state_dict' or 'model'), as tensors by name. Refuses the pre-1.6
 * format, TorchScript files and pickles of anything but tensors, naming the file.
 */
export function loadTorchSave(file: string): Map<string, Tensor> {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new TorchSaveError(file, `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!isZip(buf)) {
    if (buf[0] === 0x80)
      throw new TorchSaveError(file, "a torch.save file in the format before PyTorch 1.6; save it again with a newer PyTorch's torch.save");
    throw new TorchSaveError(file, 'not a torch.save file (expected a zip archive holding data.pkl)');
  }
  const entries = readZip(buf, file);
  // TorchScript files hold a data.pkl too (the module object), beside constants.pkl and the code.
  if ([...entries.keys()].some((n) => /\/constants\.pkl$/.test(n)))
    throw new TorchSaveError(file, 'a TorchScript module, not a state dict: load it with models.loadTorchScript (or low train --model)');
  const pkl = [...entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pkl) throw new TorchSaveError(file, 'a zip archive without data.pkl: not a torch.save file');
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const dict = stateDictOf(unpickle(entries.get(pkl) as Uint8Array, file), file);
  const storages = new Map<string, Tensor>();
  const out = new Map<string, Tensor>();
  try {
    for (const [key, value] of dict) {
      const ref = value as TensorRef;
      let storage = storages.get(ref.storage.key);
      if (!storage) {
        const bytes = entries.get(`${prefix}data/${ref.storage.key}`);
        if (!bytes) throw new TorchSaveError(file, `storage ${ref.storage.key} of '${String(key)}' is missing from the archive`);
        storage = storageTensor(ref.storage, bytes, file);
        storages.set(ref.storage.key, storage);
      }
      out.set(String(key), viewOf(ref, storage, file));
    }
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  } finally {
    for (const t of storages.values()) t.dispose();
  }
  return out;
}

/** The bytes of a torch.save file holding `tensors` as a dict, in their order (torch.load reads it). */
export function torchSaveBytes(tensors: Map<string, Tensor>): Buffer {
  return native.saveStateDict(
    [...tensors.keys()],
    [...tensors.values()].map((t) => t.handle),
  );
}
