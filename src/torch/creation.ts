// Making tensors: from JavaScript data, and the usual factories (seeded by manualSeed).
import { native } from './native.js';
import { describeValue } from '../util/describe-value.js';
import { type Tensor, handleOf, handlesOf, wrap, type DType, type Device, type TypedArrayLike } from './tensor.js';
import { defaultDevice } from './device.js';

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

type Nested = number | boolean | Nested[];

function finish(t: Tensor, o: TensorOptions): Tensor {
  if (o.requiresGrad) t.requiresGrad = true;
  return t;
}

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let level: Nested = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as Nested;
  }
  return shape;
}

function flattenNested(data: Nested, shape: number[], depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new RangeError(`tensor(): ragged nested array (too deep at depth ${depth})`);
    if (typeof data !== 'number' && typeof data !== 'boolean') {
      throw new TypeError(`tensor(): element ${out.length} is ${describeValue(data)}, expected a number or a boolean`);
    }
    out.push(typeof data === 'boolean' ? Number(data) : data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new RangeError(`tensor(): ragged nested array: expected length ${shape[depth]} at depth ${depth}`);
  }
  for (const v of data) flattenNested(v, shape, depth + 1, out);
}

const defaultDtypeOf: Record<string, DType> = {
  Float32Array: 'float32',
  Float64Array: 'float64',
  Int32Array: 'int32',
  BigInt64Array: 'int64',
  Uint8Array: 'uint8',
  Int8Array: 'int8',
  Int16Array: 'int16',
};

/**
 * A tensor holding a copy of `data`: a typed array (give `shape`, default 1-d) or nested number
 * arrays (shape inferred; dtype float32 unless given).
 */
export function tensor(data: TypedArrayLike | Nested, options: TensorOptions & { shape?: number[] } = {}): Tensor {
  let array: TypedArrayLike;
  let shape: number[];
  if (ArrayBuffer.isView(data)) {
    array = data;
    shape = options.shape ?? [data.length];
  } else {
    if (!Array.isArray(data) && typeof data !== 'number' && typeof data !== 'boolean') {
      throw new TypeError(`tensor(): data must be a typed array, a number or a nested array of numbers, got ${describeValue(data)}`);
    }
    shape = options.shape ?? inferShape(data);
    const flat: number[] = [];
    flattenNested(data, inferShape(data), 0, flat);
    // Through float64 unless float32 is wanted: a float32 detour would round integers above 2^24.
    array = options.dtype === undefined || options.dtype === 'float32' ? Float32Array.from(flat) : Float64Array.from(flat);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== array.length) {
    throw new RangeError(`tensor(): shape [${shape.join(', ')}] has ${count} elements but the data has ${array.length}`);
  }
  let t = wrap(native.fromArray(array, shape));
  const wanted = options.dtype ?? (ArrayBuffer.isView(data) ? defaultDtypeOf[data.constructor.name] : 'float32');
  if (wanted && wanted !== t.dtype) {
    const converted = t.to(wanted);
    t.dispose();
    t = converted;
  }
  const device = options.device ?? defaultDevice();
  if (device !== 'cpu') {
    const moved = t.to({ device });
    t.dispose();
    t = moved;
  }
  return finish(t, options);
}

/** A shape is an array of non-negative integers: refused here with the function's name, before libtorch's own wording. */
function checkShape(fn: string, shape: unknown): void {
  if (!Array.isArray(shape)) throw new TypeError(`${fn}: shape must be an array of integers, got ${describeValue(shape)}`);
  shape.forEach((d, i) => {
    if (!(Number.isSafeInteger(d) && (d as number) >= 0))
      throw new RangeError(`${fn}: shape[${i}] is ${describeValue(d)}, expected an integer >= 0`);
  });
}

const dt = (o: TensorOptions): DType => o.dtype ?? 'float32';
const dev = (o: TensorOptions): Device => o.device ?? defaultDevice();

export function zeros(shape: number[], o: TensorOptions = {}): Tensor {
  checkShape('zeros', shape);
  return finish(wrap(native.zeros(shape, dt(o), dev(o))), o);
}
export function ones(shape: number[], o: TensorOptions = {}): Tensor {
  checkShape('ones', shape);
  return finish(wrap(native.ones(shape, dt(o), dev(o))), o);
}
export function full(shape: number[], value: number, o: TensorOptions = {}): Tensor {
  checkShape('full', shape);
  return finish(wrap(native.full(shape, value, dt(o), dev(o))), o);
}
export function empty(shape: number[], o: TensorOptions = {}): Tensor {
  checkShape('empty', shape);
  return finish(wrap(native.empty(shape, dt(o), dev(o))), o);
}
export function scalar(value: number, o: TensorOptions = {}): Tensor {
  return finish(wrap(native.scalarTensor(value, dt(o), dev(o))), o);
}
/** Values start, start+step, ... below end; int64 by default, as PyTorch does for integer bounds. */
export function arange(start: number, end?: number, step = 1, o: TensorOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  const integral = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  return finish(wrap(native.arange(start, end, step, o.dtype ?? (integral ? 'int64' : 'float32'), dev(o))), o);
}
export function linspace(start: number, end: number, steps: number, o: TensorOptions = {}): Tensor {
  return finish(wrap(native.linspace(start, end, steps, dt(o), dev(o))), o);
}
export function eye(n: number, o: TensorOptions = {}): Tensor {
  return finish(wrap(native.eye(n, dt(o), dev(o))), o);
}
/** Uniform on [0, 1). */
export function rand(shape: number[], o: TensorOptions = {}): Tensor {
  checkShape('rand', shape);
  return finish(wrap(native.rand(shape, dt(o), dev(o))), o);
}
/** Standard normal. */
export function randn(shape: number[], o: TensorOptions = {}): Tensor {
  checkShape('randn', shape);
  return finish(wrap(native.randn(shape, dt(o), dev(o))), o);
}
/** Integers uniform on [low, high), int64. */
export function randint(low: number, high: number, shape: number[], o: { device?: Device } = {}): Tensor {
  checkShape('randint', shape);
  return wrap(native.randint(low, high, shape, o.device ?? defaultDevice()));
}
/** A random permutation of 0..n-1, int64. */
export function randperm(n: number, o: { device?: Device } = {}): Tensor {
  return wrap(native.randperm(n, o.device ?? defaultDevice()));
}
export function zerosLike(t: Tensor): Tensor {
  return wrap(native.zerosLike(handleOf(t, 'zerosLike', 't')));
}
export function onesLike(t: Tensor): Tensor {
  return wrap(native.onesLike(handleOf(t, 'onesLike', 't')));
}
export function fullLike(t: Tensor, value: number): Tensor {
  return wrap(native.fullLike(handleOf(t, 'fullLike', 't'), value));
}
export function cat(tensors: Tensor[], dim = 0): Tensor {
  return wrap(native.cat(handlesOf(tensors, 'cat', 'tensors'), dim));
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return wrap(native.stack(handlesOf(tensors, 'stack', 'tensors'), dim));
}
export function where(condition: Tensor, a: Tensor, b: Tensor): Tensor {
  return wrap(native.where(handleOf(condition, 'where', 'condition'), handleOf(a, 'where', 'a'), handleOf(b, 'where', 'b')));
}

/**
 * A float32 tensor of `shape` [B, C, ...] from uint8 bytes, each value mapped to
 * byte * scale[c] + shift[c] for its channel c (one value applies to every channel). One pass,
 * and the bytes may live in shared memory: the data loader's batch conversion.
 */
export function affineFromBytes(bytes: Uint8Array, shape: number[], scale: number[], shift: number[]): Tensor {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`affineFromBytes: bytes must be a Uint8Array, got ${describeValue(bytes)}`);
  if (!Array.isArray(shape) || shape.length < 2 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new RangeError(
      'affineFromBytes: shape must be [B, C, ...] of at least 2 non-negative integers, ' +
        `got ${Array.isArray(shape) ? `[${shape.join(', ')}]` : describeValue(shape)}`,
    );
  }
  const channels = shape[1]!;
  for (const [name, values] of [
    ['scale', scale],
    ['shift', shift],
  ] as const) {
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new TypeError(
        `affineFromBytes: ${name} must be an array of finite numbers, ` +
          `got ${Array.isArray(values) ? `[${values.join(', ')}]` : describeValue(values)}`,
      );
    }
    if (values.length !== 1 && values.length !== channels) {
      throw new RangeError(`affineFromBytes: ${name} has ${values.length} values; shape [${shape.join(', ')}] needs 1 or C = ${channels}`);
    }
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== bytes.length)
    throw new RangeError(`affineFromBytes: shape [${shape.join(', ')}] has ${count} elements but bytes has ${bytes.length}`);
  return wrap(native.affineBytes(bytes, shape, scale, shift));
}
