// Loads the native addon and describes its flat surface. Only src/torch/ talks to it; everything
// else uses the Tensor class. Handles are opaque: the addon checks their type tag on every call.
//
// Loading changes nothing in the process: threads and the allocator are set by configure()
// (runtime.ts), which programs call; a library import must not change process-wide state.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { packagePath } from '../paths.js';

/** An opaque reference to a libtorch tensor owned by the addon. */
export type NativeTensor = { readonly __nativeTensor: unique symbol };
/** An opaque reference to a TorchScript module (torch::jit::Module) owned by the addon. */
export type NativeScriptModule = { readonly __nativeScriptModule: unique symbol };
type S = NativeScriptModule;
type T = NativeTensor;
type OptT = T | null;
type Pair = [T, T];

/** The signature of each function the addon exports (native/addon.cc's declaration list). */
interface NativeSignatures {
  fromArray(data: ArrayBufferView, shape: number[]): T;
  toArray(t: T): Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array;
  dispose(t: T): void;
  /** Tells V8 the tensor's size: it is left to the collector (no scope frees it). */
  reportMemory(t: T): void;
  ceGradNormSq(logits: T, labels: T): Float64Array;
  affineBytes(bytes: Uint8Array, shape: number[], scale: number[], shift: number[]): T;
  isDisposed(t: T): boolean;
  scriptLoad(path: string): S;
  scriptParameters(m: S): [string, T][];
  scriptBuffers(m: S): [string, T][];
  scriptTrain(m: S, on: boolean): void;
  scriptForward(m: S, x: T): T;
  scriptForwardWith(m: S, names: string[], tensors: T[], x: T): T;
  scriptSave(m: S): Buffer;
  scriptDispose(m: S): void;
  scriptTrace(className: string, names: string[], tensors: T[], isBuffer: boolean[], example: T, forward: (x: T) => T): Buffer;
  saveStateDict(names: string[], tensors: T[]): Buffer;

  version(): string;
  config(): string;
  parallelInfo(): string;
  setNumThreads(n: number): void;
  keepFreedMemory(): boolean;
  getNumThreads(): number;
  manualSeed(seed: number): void;
  getRngState(): T;
  setRngState(state: T): void;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  liveHandles(): number;
  liveBytes(): number;
  reportedBytes(): number;
  setGradEnabled(on: boolean): void;
  isGradEnabled(): boolean;

  shape(t: T): number[];
  dtype(t: T): string;
  device(t: T): string;
  numel(t: T): number;
  requiresGrad(t: T): boolean;
  isLeaf(t: T): boolean;
  isContiguous(t: T): boolean;
  item(t: T): number;
  sameStorage(a: T, b: T): boolean;

  zeros(s: number[], dtype: string, device: string): T;
  ones(s: number[], dtype: string, device: string): T;
  full(s: number[], v: number, dtype: string, device: string): T;
  empty(s: number[], dtype: string, device: string): T;
  arange(start: number, end: number, step: number, dtype: string, device: string): T;
  linspace(start: number, end: number, steps: number, dtype: string, device: string): T;
  eye(n: number, dtype: string, device: string): T;
  rand(s: number[], dtype: string, device: string): T;
  randn(s: number[], dtype: string, device: string): T;
  randint(lo: number, hi: number, s: number[], device: string): T;
  randperm(n: number, device: string): T;
  zerosLike(t: T): T;
  onesLike(t: T): T;
  fullLike(t: T, v: number): T;
  scalarTensor(v: number, dtype: string, device: string): T;

  toDtype(t: T, dtype: string): T;
  toDevice(t: T, device: string): T;
  clone(t: T): T;
  contiguous(t: T): T;
  detach(t: T): T;

  add(a: T, b: T, alpha: number): T;
  sub(a: T, b: T, alpha: number): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  pow(a: T, b: T): T;
  remainder(a: T, b: T): T;
  maximum(a: T, b: T): T;
  minimum(a: T, b: T): T;
  eq(a: T, b: T): T;
  ne(a: T, b: T): T;
  lt(a: T, b: T): T;
  le(a: T, b: T): T;
  gt(a: T, b: T): T;
  ge(a: T, b: T): T;
  logicalAnd(a: T, b: T): T;
  logicalOr(a: T, b: T): T;
  where(c: T, a: T, b: T): T;

  addScalar(a: T, b: number): T;
  subScalar(a: T, b: number): T;
  rsubScalar(a: T, b: number): T;
  mulScalar(a: T, b: number): T;
  divScalar(a: T, b: number): T;
  powScalar(a: T, b: number): T;
  remainderScalar(a: T, b: number): T;
  eqScalar(a: T, b: number): T;
  neScalar(a: T, b: number): T;
  ltScalar(a: T, b: number): T;
  leScalar(a: T, b: number): T;
  gtScalar(a: T, b: number): T;
  geScalar(a: T, b: number): T;
  clamp(a: T, lo: number | null, hi: number | null): T;
  maskedFill(a: T, mask: T, v: number): T;

  neg(a: T): T;
  abs(a: T): T;
  sign(a: T): T;
  exp(a: T): T;
  log(a: T): T;
  log1p(a: T): T;
  sqrt(a: T): T;
  rsqrt(a: T): T;
  square(a: T): T;
  reciprocal(a: T): T;
  floor(a: T): T;
  ceil(a: T): T;
  round(a: T): T;
  sin(a: T): T;
  cos(a: T): T;
  tanh(a: T): T;
  sigmoid(a: T): T;
  relu(a: T): T;
  logicalNot(a: T): T;
  isnan(a: T): T;
  isfinite(a: T): T;

  sumAll(a: T): T;
  sum(a: T, dims: number[], keep: boolean): T;
  meanAll(a: T): T;
  mean(a: T, dims: number[], keep: boolean): T;
  prodAll(a: T): T;
  maxAll(a: T): T;
  minAll(a: T): T;
  maxDim(a: T, dim: number, keep: boolean): Pair;
  minDim(a: T, dim: number, keep: boolean): Pair;
  argmax(a: T, dim: number | null, keep: boolean): T;
  argmin(a: T, dim: number | null, keep: boolean): T;
  std(a: T, dims: number[], unbiased: boolean, keep: boolean): T;
  var(a: T, dims: number[], unbiased: boolean, keep: boolean): T;
  logsumexp(a: T, dims: number[], keep: boolean): T;
  cumsum(a: T, dim: number): T;
  any(a: T): T;
  all(a: T): T;
  sort(a: T, dim: number, descending: boolean): Pair;
  topk(a: T, k: number, dim: number, largest: boolean): Pair;
  bincount(a: T, minlength: number): T;

  matmul(a: T, b: T): T;

  reshape(a: T, s: number[]): T;
  view(a: T, s: number[]): T;
  permute(a: T, dims: number[]): T;
  transpose(a: T, d0: number, d1: number): T;
  flatten(a: T, start: number, end: number): T;
  squeeze(a: T, dim: number | null): T;
  unsqueeze(a: T, dim: number): T;
  expand(a: T, s: number[]): T;
  repeat(a: T, s: number[]): T;
  flip(a: T, dims: number[]): T;
  narrow(a: T, dim: number, start: number, len: number): T;
  slice(a: T, dim: number, start: number, end: number, step: number): T;
  select(a: T, dim: number, i: number): T;
  cat(ts: T[], dim: number): T;
  stack(ts: T[], dim: number): T;
  split(a: T, size: number, dim: number): T[];
  chunk(a: T, n: number, dim: number): T[];

  indexSelect(a: T, dim: number, idx: T): T;
  gather(a: T, dim: number, idx: T): T;
  scatter(a: T, dim: number, idx: T, src: T): T;
  scatterAdd(a: T, dim: number, idx: T, src: T): T;
  maskedSelect(a: T, mask: T): T;
  index(a: T, idx: T): T;
  indexPut_(a: T, idx: T, v: T): void;
  nonzero(a: T): T;
  oneHot(a: T, n: number): T;

  linear(x: T, w: T, b: OptT): T;
  conv2d(x: T, w: T, b: OptT, stride: number[], pad: number[], dil: number[], groups: number): T;
  maxPool2d(x: T, k: number[], stride: number[], pad: number[], dil: number[], ceil: boolean): T;
  maxPool2dWithIndices(x: T, k: number[], stride: number[], pad: number[], dil: number[], ceil: boolean): Pair;
  avgPool2d(x: T, k: number[], stride: number[], pad: number[], ceil: boolean, countPad: boolean): T;
  adaptiveAvgPool2d(x: T, size: number[]): T;
  batchNorm(x: T, w: OptT, b: OptT, rm: OptT, rv: OptT, training: boolean, momentum: number, eps: number): T;
  dropout(x: T, p: number, training: boolean): T;
  softmax(x: T, dim: number): T;
  logSoftmax(x: T, dim: number): T;
  crossEntropy(x: T, y: T, w: OptT, reduction: number, smoothing: number): T;
  nllLoss(x: T, y: T, w: OptT, reduction: number): T;
  bceWithLogits(x: T, y: T, w: OptT, reduction: number): T;
  mseLoss(x: T, y: T, reduction: number): T;

  add_(a: T, b: T, alpha: number): void;
  addScalar_(a: T, b: number): void;
  mul_(a: T, b: T): void;
  relu_(a: T): void;
  setData(t: T, v: T): void;
  mulScalar_(a: T, b: number): void;
  divScalar_(a: T, b: number): void;
  addcmul_(a: T, b: T, c: T, v: number): void;
  addcdiv_(a: T, b: T, c: T, v: number): void;
  copy_(a: T, b: T): void;
  zero_(a: T): void;
  fill_(a: T, v: number): void;
  clamp_(a: T, lo: number | null, hi: number | null): void;
  uniform_(a: T, lo: number, hi: number): void;
  normal_(a: T, mean: number, std: number): void;
  bernoulli_(a: T, p: number): void;

  setRequiresGrad(a: T, on: boolean): void;
  grad(a: T): OptT;
  setGrad(a: T, g: OptT): void;
  backward(a: T, g: OptT, retain: boolean): void;
  autogradGrad(outputs: T[], inputs: T[], gradOutputs: OptT[], retain: boolean, create: boolean, allowUnused: boolean): OptT[];
  distAvailable(): boolean;
  distInit(
    host: string,
    port: number,
    rank: number,
    size: number,
    hostStore: boolean,
    timeoutMs: number,
    prefix: string,
    iface: string,
  ): void;
  distDestroy(): void;
  distRankAndSize(): number[];
  distBroadcast(tensors: T[], root: number): void;
  distAllReduceSum(t: T): void;
  distAllReduceSumDifferentiable(t: T): T;
  distAllGather(t: T): T[];
  distBarrier(): void;
  acquireDualLevel(): number;
  releaseDualLevel(): void;
  makeDual(primal: T, tangent: T, level: number): T;
  unpackDual(dual: T, level: number): [T, OptT];
}

/**
 * The names the addon exports, once. `satisfies` makes tsc refuse a name without a signature, and
 * {@link everySignatureListed} a signature without a name; test/engine-native-surface.test.ts
 * compares the list with what the built addon actually exports.
 */
export const NATIVE_FUNCTIONS = [
  'fromArray',
  'toArray',
  'dispose',
  'reportMemory',
  'ceGradNormSq',
  'affineBytes',
  'isDisposed',
  'scriptLoad',
  'scriptParameters',
  'scriptBuffers',
  'scriptTrain',
  'scriptForward',
  'scriptForwardWith',
  'scriptSave',
  'scriptDispose',
  'scriptTrace',
  'saveStateDict',
  'version',
  'config',
  'parallelInfo',
  'setNumThreads',
  'keepFreedMemory',
  'getNumThreads',
  'manualSeed',
  'getRngState',
  'setRngState',
  'cudaIsAvailable',
  'cudaDeviceCount',
  'liveHandles',
  'liveBytes',
  'reportedBytes',
  'setGradEnabled',
  'isGradEnabled',
  'shape',
  'dtype',
  'device',
  'numel',
  'requiresGrad',
  'isLeaf',
  'isContiguous',
  'item',
  'sameStorage',
  'zeros',
  'ones',
  'full',
  'empty',
  'arange',
  'linspace',
  'eye',
  'rand',
  'randn',
  'randint',
  'randperm',
  'zerosLike',
  'onesLike',
  'fullLike',
  'scalarTensor',
  'toDtype',
  'toDevice',
  'clone',
  'contiguous',
  'detach',
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'remainder',
  'maximum',
  'minimum',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'logicalAnd',
  'logicalOr',
  'where',
  'addScalar',
  'subScalar',
  'rsubScalar',
  'mulScalar',
  'divScalar',
  'powScalar',
  'remainderScalar',
  'eqScalar',
  'neScalar',
  'ltScalar',
  'leScalar',
  'gtScalar',
  'geScalar',
  'clamp',
  'maskedFill',
  'neg',
  'abs',
  'sign',
  'exp',
  'log',
  'log1p',
  'sqrt',
  'rsqrt',
  'square',
  'reciprocal',
  'floor',
  'ceil',
  'round',
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'relu',
  'logicalNot',
  'isnan',
  'isfinite',
  'sumAll',
  'sum',
  'meanAll',
  'mean',
  'prodAll',
  'maxAll',
  'minAll',
  'maxDim',
  'minDim',
  'argmax',
  'argmin',
  'std',
  'var',
  'logsumexp',
  'cumsum',
  'any',
  'all',
  'sort',
  'topk',
  'bincount',
  'matmul',
  'reshape',
  'view',
  'permute',
  'transpose',
  'flatten',
  'squeeze',
  'unsqueeze',
  'expand',
  'repeat',
  'flip',
  'narrow',
  'slice',
  'select',
  'cat',
  'stack',
  'split',
  'chunk',
  'indexSelect',
  'gather',
  'scatter',
  'scatterAdd',
  'maskedSelect',
  'index',
  'indexPut_',
  'nonzero',
  'oneHot',
  'linear',
  'conv2d',
  'maxPool2d',
  'maxPool2dWithIndices',
  'avgPool2d',
  'adaptiveAvgPool2d',
  'batchNorm',
  'dropout',
  'softmax',
  'logSoftmax',
  'crossEntropy',
  'nllLoss',
  'bceWithLogits',
  'mseLoss',
  'add_',
  'addScalar_',
  'mul_',
  'relu_',
  'setData',
  'mulScalar_',
  'divScalar_',
  'addcmul_',
  'addcdiv_',
  'copy_',
  'zero_',
  'fill_',
  'clamp_',
  'uniform_',
  'normal_',
  'bernoulli_',
  'setRequiresGrad',
  'grad',
  'setGrad',
  'backward',
  'autogradGrad',
  'distAvailable',
  'distInit',
  'distDestroy',
  'distRankAndSize',
  'distBroadcast',
  'distAllReduceSum',
  'distAllReduceSumDifferentiable',
  'distAllGather',
  'distBarrier',
  'acquireDualLevel',
  'releaseDualLevel',
  'makeDual',
  'unpackDual',
] as const satisfies readonly (keyof NativeSignatures)[];

export type NativeFunction = (typeof NATIVE_FUNCTIONS)[number];

// tsc fails here, naming the signature, when NativeSignatures declares a function the list lacks.
const _everySignatureListed: Record<Exclude<keyof NativeSignatures, NativeFunction>, never> = {};

/** The addon's surface, derived from the list so the two cannot drift. */
export type Native = { readonly [K in NativeFunction]: NativeSignatures[K] };

function findAddon(): string {
  const file = packagePath('build', 'Release', 'low_native.node');
  if (existsSync(file)) return file;
  throw new Error(
    'low-ts: the native addon is not built (build/Release/low_native.node is missing). ' +
      'Run `bash scripts/setup.sh` (installs libtorch from Debian and builds it), or `npm install` with LIBTORCH set to a libtorch folder.',
  );
}

/** The file the addon is loaded from. */
export const addonFile = findAddon();

/** The addon's module object as loaded, for checks of what it exports. */
export const addonExports = createRequire(import.meta.url)(addonFile) as Record<string, unknown>;

// A build older than these sources would fail later, at the first call of a new function, with
// "native.x is not a function"; say what is wrong at load instead.
const missing = NATIVE_FUNCTIONS.filter((name) => typeof addonExports[name] !== 'function');
if (missing.length) {
  throw new Error(
    `low-ts: the native addon ${addonFile} lacks ${missing.join(', ')}: it is older than the sources; ` +
      'rebuild it with `node native/build.mjs`',
  );
}

export const native = addonExports as unknown as Native;
