// Neural-network functions (PyTorch's torch.nn.functional): layers call these, and so can users.
import { native } from './native.js';
import { Tensor, wrap } from './tensor.js';

export type Reduction = 'none' | 'mean' | 'sum';
const reductionCode: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };
function reduction(r: Reduction | undefined): number {
  const code = reductionCode[r ?? 'mean'];
  if (code === undefined) throw new RangeError(`reduction '${r}': expected 'none', 'mean' or 'sum'`);
  return code;
}

type Pair = number | [number, number];
const pair = (v: Pair): number[] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return wrap(native.linear(x.handle, weight.handle, bias ? bias.handle : null));
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv2dOptions = {}): Tensor {
  return wrap(
    native.conv2d(x.handle, weight.handle, bias ? bias.handle : null, pair(o.stride ?? 1), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.groups ?? 1),
  );
}

export interface Pool2dOptions {
  /** Defaults to the kernel size, as in PyTorch. */
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}
/**
 * Max pooling. Without padding, dilation or ceil mode, on contiguous float32 CPU input (LeNet-5's
 * pools), it runs the addon's own loop (native/max_pool.h), several times faster than libtorch's
 * and with the same values, indices and gradients.
 */
export function maxPool2d(x: Tensor, kernelSize: Pair, o: Pool2dOptions & { dilation?: Pair } = {}): Tensor {
  return wrap(
    native.maxPool2d(x.handle, pair(kernelSize), pair(o.stride ?? kernelSize), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.ceilMode ?? false),
  );
}
/** libtorch's max pooling with the index of each maximum within its input plane (h * W + w); no gradient flows to the indices. */
export function maxPool2dWithIndices(x: Tensor, kernelSize: Pair, o: Pool2dOptions & { dilation?: Pair } = {}): { values: Tensor; indices: Tensor } {
  const [values, indices] = native.maxPool2dWithIndices(
    x.handle, pair(kernelSize), pair(o.stride ?? kernelSize), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.ceilMode ?? false,
  );
  return { values: wrap(values), indices: wrap(indices) };
}
export function avgPool2d(x: Tensor, kernelSize: Pair, o: Pool2dOptions & { countIncludePad?: boolean } = {}): Tensor {
  return wrap(
    native.avgPool2d(x.handle, pair(kernelSize), pair(o.stride ?? kernelSize), pair(o.padding ?? 0), o.ceilMode ?? false, o.countIncludePad ?? true),
  );
}
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  return wrap(native.adaptiveAvgPool2d(x.handle, pair(outputSize)));
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  /** Use batch statistics and update the running ones (true), or use the running ones (false). */
  training: boolean;
  momentum?: number;
  eps?: number;
}
export function batchNorm(x: Tensor, o: BatchNormOptions): Tensor {
  return wrap(
    native.batchNorm(
      x.handle,
      o.weight ? o.weight.handle : null,
      o.bias ? o.bias.handle : null,
      o.runningMean ? o.runningMean.handle : null,
      o.runningVar ? o.runningVar.handle : null,
      o.training,
      o.momentum ?? 0.1,
      o.eps ?? 1e-5,
    ),
  );
}

export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: p = ${p}, expected a probability in [0, 1]`);
  return wrap(native.dropout(x.handle, p, training));
}
export function relu(x: Tensor): Tensor {
  return x.relu();
}
export function softmax(x: Tensor, dim = -1): Tensor {
  return wrap(native.softmax(x.handle, dim));
}
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return wrap(native.logSoftmax(x.handle, dim));
}
export function oneHot(labels: Tensor, numClasses: number): Tensor {
  return wrap(native.oneHot(labels.handle, numClasses));
}

export interface LossOptions {
  reduction?: Reduction;
  /** Per-class weights (1-d, length C). */
  weight?: Tensor | null;
}
/** Softmax cross-entropy of logits [N, C] against int64 class indices [N]. */
export function crossEntropy(logits: Tensor, target: Tensor, o: LossOptions & { labelSmoothing?: number } = {}): Tensor {
  return wrap(native.crossEntropy(logits.handle, target.handle, o.weight ? o.weight.handle : null, reduction(o.reduction), o.labelSmoothing ?? 0));
}
/**
 * ||softmax(z_i) - onehot(y_i)||^2 for each row of logits [M, C]: the squared norm of the
 * cross-entropy gradient at the logits, computed in one pass in double precision.
 */
export function crossEntropyGradNormSq(logits: Tensor, target: Tensor): Float64Array {
  return native.ceGradNormSq(logits.handle, target.handle);
}
/** Negative log-likelihood of log-probabilities [N, C] against int64 class indices [N]. */
export function nllLoss(logProbs: Tensor, target: Tensor, o: LossOptions = {}): Tensor {
  return wrap(native.nllLoss(logProbs.handle, target.handle, o.weight ? o.weight.handle : null, reduction(o.reduction)));
}
export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, o: LossOptions = {}): Tensor {
  return wrap(native.bceWithLogits(logits.handle, target.handle, o.weight ? o.weight.handle : null, reduction(o.reduction)));
}
export function mseLoss(input: Tensor, target: Tensor, o: { reduction?: Reduction } = {}): Tensor {
  return wrap(native.mseLoss(input.handle, target.handle, reduction(o.reduction)));
}
