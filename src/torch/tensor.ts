// The Tensor class: a typed, PyTorch-shaped view of a libtorch tensor held by the native addon.
// Methods return new tensors (tracked by the open scope, see scope.ts); methods ending in `_`
// change the tensor in place, as in PyTorch.
import { native, type NativeTensor } from './native.js';
import { track } from './scope.js';
import { describeValue } from '../util/describe-value.js';

export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';
/** 'cpu', 'cuda' or 'cuda:N'. */
export type Device = string;
export type TypedArrayLike = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array;

/** A scalar operand: an integral number keeps an int tensor int, any other promotes it to float (as Python ints and floats in PyTorch). */
type Operand = Tensor | number;

export class Tensor {
  /** The addon's handle. Internal: use the methods. */
  readonly handle: NativeTensor;
  private shapeCache: number[] | undefined;

  constructor(handle: NativeTensor) {
    this.handle = handle;
    track(this);
  }

  // ---- facts -------------------------------------------------------------------------------

  /** The size of each dimension (a fresh array). */
  get shape(): number[] {
    // Shapes change only through in-place resizes, which this API does not offer.
    this.shapeCache ??= native.shape(this.handle);
    return this.shapeCache.slice();
  }
  get ndim(): number {
    return (this.shapeCache ??= native.shape(this.handle)).length;
  }
  size(dim: number): number {
    const s = (this.shapeCache ??= native.shape(this.handle));
    const d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) throw new RangeError(`size(${dim}): dimension out of range for a ${s.length}-d tensor`);
    return s[d]!;
  }
  get dtype(): DType {
    return native.dtype(this.handle) as DType;
  }
  get device(): Device {
    return native.device(this.handle);
  }
  numel(): number {
    return native.numel(this.handle);
  }
  get isDisposed(): boolean {
    return native.isDisposed(this.handle);
  }
  isContiguous(): boolean {
    return native.isContiguous(this.handle);
  }

  // ---- data out ----------------------------------------------------------------------------

  /** A copy of the values in the tensor's own element type (int64 as BigInt64Array, bool as Uint8Array). */
  toArray(): TypedArrayLike {
    return native.toArray(this.handle);
  }
  toFloat32Array(): Float32Array {
    return this.converted('float32') as Float32Array;
  }
  toFloat64Array(): Float64Array {
    return this.converted('float64') as Float64Array;
  }
  toInt32Array(): Int32Array {
    return this.converted('int32') as Int32Array;
  }
  /** The values as plain numbers, flattened in row-major order. */
  toNumbers(): number[] {
    return Array.from(this.dtype === 'int64' ? this.toFloat64Array() : (this.toArray() as Exclude<TypedArrayLike, BigInt64Array>));
  }
  /** The value of a one-element tensor. */
  item(): number {
    return native.item(this.handle);
  }
  private converted(dtype: DType): TypedArrayLike {
    if (this.dtype === dtype) return native.toArray(this.handle);
    const h = native.toDtype(this.handle, dtype);
    try {
      return native.toArray(h);
    } finally {
      native.dispose(h);
    }
  }

  // ---- lifetime ----------------------------------------------------------------------------

  /** Frees the tensor now. Using it afterwards throws. Idempotent. */
  dispose(): void {
    native.dispose(this.handle);
  }
  /**
   * Gives this tensor `source`'s data (storage, device, dtype) in place, as PyTorch's `t.data =
   * source`: the tensor stays the same object, a module's parameter stays its parameter
   * (Module.to moves parameters this way).
   */
  setData(source: Tensor): void {
    native.setData(this.handle, handleOf(source, 'Tensor.setData', 'source'));
  }
  /** For the scopes (scope.ts): no scope will free this tensor, so V8 is told its size. */
  unscoped(): void {
    native.reportMemory(this.handle);
  }

  // ---- conversion --------------------------------------------------------------------------

  to(target: DType | { dtype?: DType; device?: Device }): Tensor {
    if (typeof target === 'string') return wrap(native.toDtype(this.handle, target));
    let h = this.handle;
    if (target.device !== undefined) h = native.toDevice(h, target.device);
    if (target.dtype !== undefined) {
      const moved = h;
      h = native.toDtype(moved, target.dtype);
      if (moved !== this.handle) native.dispose(moved);
    }
    return h === this.handle ? this.clone() : wrap(h);
  }
  float(): Tensor {
    return this.to('float32');
  }
  double(): Tensor {
    return this.to('float64');
  }
  long(): Tensor {
    return this.to('int64');
  }
  clone(): Tensor {
    return wrap(native.clone(this.handle));
  }
  contiguous(): Tensor {
    return wrap(native.contiguous(this.handle));
  }

  // ---- autograd ----------------------------------------------------------------------------

  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  set requiresGrad(on: boolean) {
    native.setRequiresGrad(this.handle, on);
  }
  /** Sets requiresGrad and returns this tensor, as PyTorch's requires_grad_(). */
  requiresGrad_(on = true): this {
    native.setRequiresGrad(this.handle, on);
    return this;
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }
  /** The accumulated gradient, or null before the first backward pass (or after zeroGrad). */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : wrap(g);
  }
  set grad(g: Tensor | null) {
    const handle = g === null ? null : handleOf(g, 'Tensor.grad', 'the gradient');
    // As PyTorch: a gradient must match the tensor (the addon would store anything, and a
    // broadcastable wrong shape would then silently corrupt an optimizer step).
    if (g !== null && (g.dtype !== this.dtype || g.device !== this.device || g.shape.join() !== this.shape.join())) {
      throw new RangeError(
        `grad: the assigned gradient is ${g.dtype} [${g.shape.join(', ')}] on ${g.device}, ` +
          `the tensor is ${this.dtype} [${this.shape.join(', ')}] on ${this.device}`,
      );
    }
    native.setGrad(this.handle, handle);
  }
  /** Backpropagates from this tensor; a non-scalar needs `gradient` of the same shape. */
  backward(gradient?: Tensor, options: { retainGraph?: boolean } = {}): void {
    native.backward(this.handle, optionalHandleOf(gradient, 'Tensor.backward', 'gradient'), options.retainGraph ?? false);
  }
  /** A tensor sharing this one's data, cut from the autograd graph. */
  detach(): Tensor {
    return wrap(native.detach(this.handle));
  }

  // ---- elementwise -------------------------------------------------------------------------

  add(other: Operand, alpha = 1): Tensor {
    return typeof other === 'number'
      ? wrap(native.addScalar(this.handle, other * alpha))
      : wrap(native.add(this.handle, handleOf(other, 'Tensor.add', 'other', OPERAND), alpha));
  }
  sub(other: Operand, alpha = 1): Tensor {
    return typeof other === 'number'
      ? wrap(native.subScalar(this.handle, other * alpha))
      : wrap(native.sub(this.handle, handleOf(other, 'Tensor.sub', 'other', OPERAND), alpha));
  }
  /** other - this */
  rsub(other: number): Tensor {
    return wrap(native.rsubScalar(this.handle, other));
  }
  mul(other: Operand): Tensor {
    return typeof other === 'number'
      ? wrap(native.mulScalar(this.handle, other))
      : wrap(native.mul(this.handle, handleOf(other, 'Tensor.mul', 'other', OPERAND)));
  }
  div(other: Operand): Tensor {
    return typeof other === 'number'
      ? wrap(native.divScalar(this.handle, other))
      : wrap(native.div(this.handle, handleOf(other, 'Tensor.div', 'other', OPERAND)));
  }
  pow(other: Operand): Tensor {
    return typeof other === 'number'
      ? wrap(native.powScalar(this.handle, other))
      : wrap(native.pow(this.handle, handleOf(other, 'Tensor.pow', 'other', OPERAND)));
  }
  remainder(other: Operand): Tensor {
    return typeof other === 'number'
      ? wrap(native.remainderScalar(this.handle, other))
      : wrap(native.remainder(this.handle, handleOf(other, 'Tensor.remainder', 'other', OPERAND)));
  }
  maximum(other: Tensor): Tensor {
    return wrap(native.maximum(this.handle, handleOf(other, 'Tensor.maximum', 'other')));
  }
  minimum(other: Tensor): Tensor {
    return wrap(native.minimum(this.handle, handleOf(other, 'Tensor.minimum', 'other')));
  }
  eq(other: Operand): Tensor {
    return typeof other === 'number'
      ? wrap(native.eqScalar(this.handle, other))
      : wrap(native.eq(this.handle, handleOf(other, 'Tensor.eq', 'other', OPERAND)));
  }
  ne(other: Operand): Tensor {
    return typeof other === 'number'
      ? wrap(native.neScalar(this.handle, other))
      : wrap(native.ne(this.handle, handleOf(other, 'Tensor.ne', 'other', OPERAND)));
  }
  lt(other: Operand): Tensor {
    return typeof other === 'number'
      ? wrap(native.ltScalar(this.handle, other))
      : wrap(native.lt(this.handle, handleOf(other, 'Tensor.lt', 'other', OPERAND)));
  }
  le(other: Operand): Tensor {
    return typeof other === 'number'
      ? wrap(native.leScalar(this.handle, other))
      : wrap(native.le(this.handle, handleOf(other, 'Tensor.le', 'other', OPERAND)));
  }
  gt(other: Operand): Tensor {
    return typeof other === 'number'
      ? wrap(native.gtScalar(this.handle, other))
      : wrap(native.gt(this.handle, handleOf(other, 'Tensor.gt', 'other', OPERAND)));
  }
  ge(other: Operand): Tensor {
    return typeof other === 'number'
      ? wrap(native.geScalar(this.handle, other))
      : wrap(native.ge(this.handle, handleOf(other, 'Tensor.ge', 'other', OPERAND)));
  }
  logicalAnd(other: Tensor): Tensor {
    return wrap(native.logicalAnd(this.handle, handleOf(other, 'Tensor.logicalAnd', 'other')));
  }
  logicalOr(other: Tensor): Tensor {
    return wrap(native.logicalOr(this.handle, handleOf(other, 'Tensor.logicalOr', 'other')));
  }
  logicalNot(): Tensor {
    return wrap(native.logicalNot(this.handle));
  }
  clamp(min: number | null, max: number | null = null): Tensor {
    return wrap(native.clamp(this.handle, min, max));
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return wrap(native.maskedFill(this.handle, handleOf(mask, 'Tensor.maskedFill', 'mask'), value));
  }
  neg(): Tensor {
    return wrap(native.neg(this.handle));
  }
  abs(): Tensor {
    return wrap(native.abs(this.handle));
  }
  sign(): Tensor {
    return wrap(native.sign(this.handle));
  }
  exp(): Tensor {
    return wrap(native.exp(this.handle));
  }
  log(): Tensor {
    return wrap(native.log(this.handle));
  }
  log1p(): Tensor {
    return wrap(native.log1p(this.handle));
  }
  sqrt(): Tensor {
    return wrap(native.sqrt(this.handle));
  }
  rsqrt(): Tensor {
    return wrap(native.rsqrt(this.handle));
  }
  square(): Tensor {
    return wrap(native.square(this.handle));
  }
  reciprocal(): Tensor {
    return wrap(native.reciprocal(this.handle));
  }
  floor(): Tensor {
    return wrap(native.floor(this.handle));
  }
  ceil(): Tensor {
    return wrap(native.ceil(this.handle));
  }
  round(): Tensor {
    return wrap(native.round(this.handle));
  }
  sin(): Tensor {
    return wrap(native.sin(this.handle));
  }
  cos(): Tensor {
    return wrap(native.cos(this.handle));
  }
  tanh(): Tensor {
    return wrap(native.tanh(this.handle));
  }
  sigmoid(): Tensor {
    return wrap(native.sigmoid(this.handle));
  }
  relu(): Tensor {
    return wrap(native.relu(this.handle));
  }
  isnan(): Tensor {
    return wrap(native.isnan(this.handle));
  }
  isfinite(): Tensor {
    return wrap(native.isfinite(this.handle));
  }

  // ---- reductions --------------------------------------------------------------------------

  sum(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? wrap(native.sumAll(this.handle)) : wrap(native.sum(this.handle, dims(dim), keepdim));
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? wrap(native.meanAll(this.handle)) : wrap(native.mean(this.handle, dims(dim), keepdim));
  }
  prod(): Tensor {
    return wrap(native.prodAll(this.handle));
  }
  /** The largest value (no dim), or { values, indices } along `dim`. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return wrap(native.maxAll(this.handle));
    const [values, indices] = native.maxDim(this.handle, dim, keepdim);
    return { values: wrap(values), indices: wrap(indices) };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return wrap(native.minAll(this.handle));
    const [values, indices] = native.minDim(this.handle, dim, keepdim);
    return { values: wrap(values), indices: wrap(indices) };
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return wrap(native.argmax(this.handle, dim ?? null, keepdim));
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return wrap(native.argmin(this.handle, dim ?? null, keepdim));
  }
  std(dim?: number | number[], options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return wrap(native.std(this.handle, dim === undefined ? [] : dims(dim), options.unbiased ?? true, options.keepdim ?? false));
  }
  var(dim?: number | number[], options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return wrap(native.var(this.handle, dim === undefined ? [] : dims(dim), options.unbiased ?? true, options.keepdim ?? false));
  }
  logsumexp(dim: number | number[], keepdim = false): Tensor {
    return wrap(native.logsumexp(this.handle, dims(dim), keepdim));
  }
  cumsum(dim: number): Tensor {
    return wrap(native.cumsum(this.handle, dim));
  }
  any(): Tensor {
    return wrap(native.any(this.handle));
  }
  all(): Tensor {
    return wrap(native.all(this.handle));
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = native.sort(this.handle, dim, descending);
    return { values: wrap(values), indices: wrap(indices) };
  }
  topk(k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
    const [values, indices] = native.topk(this.handle, k, dim, largest);
    return { values: wrap(values), indices: wrap(indices) };
  }
  /** Counts of each non-negative integer value (1-d int tensor). */
  bincount(minlength = 0): Tensor {
    return wrap(native.bincount(this.handle, minlength));
  }

  matmul(other: Tensor): Tensor {
    return wrap(native.matmul(this.handle, handleOf(other, 'Tensor.matmul', 'other')));
  }

  // ---- shape -------------------------------------------------------------------------------

  reshape(...shape: number[]): Tensor {
    return wrap(native.reshape(this.handle, shape));
  }
  view(...shape: number[]): Tensor {
    return wrap(native.view(this.handle, shape));
  }
  permute(...order: number[]): Tensor {
    return wrap(native.permute(this.handle, order));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return wrap(native.transpose(this.handle, dim0, dim1));
  }
  /** Matrix transpose of a 2-d tensor. */
  t(): Tensor {
    return this.transpose(0, 1);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return wrap(native.flatten(this.handle, startDim, endDim));
  }
  squeeze(dim?: number): Tensor {
    return wrap(native.squeeze(this.handle, dim ?? null));
  }
  unsqueeze(dim: number): Tensor {
    return wrap(native.unsqueeze(this.handle, dim));
  }
  expand(...shape: number[]): Tensor {
    return wrap(native.expand(this.handle, shape));
  }
  repeat(...times: number[]): Tensor {
    return wrap(native.repeat(this.handle, times));
  }
  flip(...dimsToFlip: number[]): Tensor {
    return wrap(native.flip(this.handle, dimsToFlip));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return wrap(native.narrow(this.handle, dim, start, length));
  }
  /** Python's t[start:end:step] along `dim` (a view; negative bounds count from the end). */
  slice(dim: number, start = 0, end = Number.MAX_SAFE_INTEGER, step = 1): Tensor {
    return wrap(native.slice(this.handle, dim, start, end, step));
  }
  /** Python's t[..., i, ...] at `dim` (removes that dimension). */
  select(dim: number, index: number): Tensor {
    return wrap(native.select(this.handle, dim, index));
  }
  split(size: number, dim = 0): Tensor[] {
    return native.split(this.handle, size, dim).map(wrap);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return native.chunk(this.handle, chunks, dim).map(wrap);
  }

  // ---- indexing ----------------------------------------------------------------------------

  indexSelect(dim: number, index: Tensor): Tensor {
    return wrap(native.indexSelect(this.handle, dim, handleOf(index, 'Tensor.indexSelect', 'index')));
  }
  gather(dim: number, index: Tensor): Tensor {
    return wrap(native.gather(this.handle, dim, handleOf(index, 'Tensor.gather', 'index')));
  }
  scatter(dim: number, index: Tensor, src: Tensor): Tensor {
    return wrap(native.scatter(this.handle, dim, handleOf(index, 'Tensor.scatter', 'index'), handleOf(src, 'Tensor.scatter', 'src')));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return wrap(
      native.scatterAdd(this.handle, dim, handleOf(index, 'Tensor.scatterAdd', 'index'), handleOf(src, 'Tensor.scatterAdd', 'src')),
    );
  }
  maskedSelect(mask: Tensor): Tensor {
    return wrap(native.maskedSelect(this.handle, handleOf(mask, 'Tensor.maskedSelect', 'mask')));
  }
  /** Python's t[index] with an integer (int64) or boolean tensor along the first dimension. */
  index(index: Tensor): Tensor {
    return wrap(native.index(this.handle, handleOf(index, 'Tensor.index', 'index')));
  }
  /** Python's t[index] = values, in place. */
  indexPut_(index: Tensor, values: Tensor): this {
    native.indexPut_(this.handle, handleOf(index, 'Tensor.indexPut_', 'index'), handleOf(values, 'Tensor.indexPut_', 'values'));
    return this;
  }
  nonzero(): Tensor {
    return wrap(native.nonzero(this.handle));
  }

  // ---- in place (under noGrad for parameters) ----------------------------------------------

  add_(other: Operand, alpha = 1): this {
    if (typeof other === 'number') native.addScalar_(this.handle, other * alpha);
    else native.add_(this.handle, handleOf(other, 'Tensor.add_', 'other', OPERAND), alpha);
    return this;
  }
  sub_(other: Operand, alpha = 1): this {
    return this.add_(other, -alpha);
  }
  mul_(other: Operand): this {
    if (typeof other === 'number') native.mulScalar_(this.handle, other);
    else native.mul_(this.handle, handleOf(other, 'Tensor.mul_', 'other', OPERAND));
    return this;
  }
  div_(value: number): this {
    native.divScalar_(this.handle, value);
    return this;
  }
  addcmul_(a: Tensor, b: Tensor, value = 1): this {
    native.addcmul_(this.handle, handleOf(a, 'Tensor.addcmul_', 'a'), handleOf(b, 'Tensor.addcmul_', 'b'), value);
    return this;
  }
  addcdiv_(a: Tensor, b: Tensor, value = 1): this {
    native.addcdiv_(this.handle, handleOf(a, 'Tensor.addcdiv_', 'a'), handleOf(b, 'Tensor.addcdiv_', 'b'), value);
    return this;
  }
  copy_(src: Tensor): this {
    native.copy_(this.handle, handleOf(src, 'Tensor.copy_', 'src'));
    return this;
  }
  zero_(): this {
    native.zero_(this.handle);
    return this;
  }
  /**
   * max(x, 0) in place, as PyTorch's ReLU(inplace=True): after a batch norm (whose backward needs
   * its input, not its output) it saves a tensor the size of the activation per layer.
   */
  relu_(): this {
    native.relu_(this.handle);
    return this;
  }
  fill_(value: number): this {
    native.fill_(this.handle, value);
    return this;
  }
  clamp_(min: number | null, max: number | null = null): this {
    native.clamp_(this.handle, min, max);
    return this;
  }
  uniform_(low = 0, high = 1): this {
    native.uniform_(this.handle, low, high);
    return this;
  }
  normal_(mean = 0, std = 1): this {
    native.normal_(this.handle, mean, std);
    return this;
  }
  bernoulli_(p: number): this {
    native.bernoulli_(this.handle, p);
    return this;
  }

  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device})`;
  }
}

const OPERAND = 'a Tensor or a number';

/**
 * The addon handle of a tensor argument. Every tensor argument of the library's functions passes
 * through here, so a value that is not a Tensor fails at once with a TypeError naming the
 * function, the argument and what it got, instead of deep inside ("x.relu is not a function", or
 * the addon's "argument 1: expected a tensor").
 */
export function handleOf(value: unknown, fn: string, arg: string, expected = 'a Tensor'): NativeTensor {
  if (value instanceof Tensor) return value.handle;
  throw new TypeError(`${fn}: ${arg} must be ${expected}, got ${describeValue(value)}`);
}

/** As {@link handleOf}, for an argument that may be null or undefined (no tensor). */
export function optionalHandleOf(value: unknown, fn: string, arg: string): NativeTensor | null {
  return value === null || value === undefined ? null : handleOf(value, fn, arg, 'a Tensor or null');
}

/** The handles of an array of tensors, each checked by {@link handleOf} (named `arg[i]`). */
export function handlesOf(values: unknown, fn: string, arg: string): NativeTensor[] {
  if (!Array.isArray(values)) throw new TypeError(`${fn}: ${arg} must be an array of Tensors, got ${describeValue(values)}`);
  return values.map((v, i) => handleOf(v, fn, `${arg}[${i}]`));
}

/** Wraps a handle returned by the addon in a tracked Tensor. */
export function wrap(handle: NativeTensor): Tensor {
  return new Tensor(handle);
}

function dims(d: number | number[]): number[] {
  return typeof d === 'number' ? [d] : d;
}
