// Neural-network functions (PyTorch's torch.nn.functional): layers call these, and so can users.
import { native } from './native.js';
import { type Tensor, handleOf, optionalHandleOf, wrap } from './tensor.js';

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
  return wrap(
    native.linear(handleOf(x, 'F.linear', 'x'), handleOf(weight, 'F.linear', 'weight'), optionalHandleOf(bias, 'F.linear', 'bias')),
  );
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv2dOptions = {}): Tensor {
  return wrap(
    native.conv2d(
      handleOf(x, 'F.conv2d', 'x'),
      handleOf(weight, 'F.conv2d', 'weight'),
      optionalHandleOf(bias, 'F.conv2d', 'bias'),
      pair(o.stride ?? 1),
      pair(o.padding ?? 0),
      pair(o.dilation ?? 1),
      o.groups ?? 1,
    ),
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
    native.maxPool2d(
      handleOf(x, 'F.maxPool2d', 'x'),
      pair(kernelSize),
      pair(o.stride ?? kernelSize),
      pair(o.padding ?? 0),
      pair(o.dilation ?? 1),
      o.ceilMode ?? false,
    ),
  );
}
/** libtorch's max pooling with the index of each maximum within its input plane (h * W + w); no gradient flows to the indices. */
export function maxPool2dWithIndices(
  x: Tensor,
  kernelSize: Pair,
  o: Pool2dOptions & { dilation?: Pair } = {},
): { values: Tensor; indices: Tensor } {
  const [values, indices] = native.maxPool2dWithIndices(
    handleOf(x, 'F.maxPool2dWithIndices', 'x'),
    pair(kernelSize),
    pair(o.stride ?? kernelSize),
    pair(o.padding ?? 0),
    pair(o.dilation ?? 1),
    o.ceilMode ?? false,
  );
  return { values: wrap(values), indices: wrap(indices) };
}
export function avgPool2d(x: Tensor, kernelSize: Pair, o: Pool2dOptions & { countIncludePad?: boolean } = {}): Tensor {
  return wrap(
    native.avgPool2d(
      handleOf(x, 'F.avgPool2d', 'x'),
      pair(kernelSize),
      pair(o.stride ?? kernelSize),
      pair(o.padding ?? 0),
      o.ceilMode ?? false,
      o.countIncludePad ?? true,
    ),
  );
}
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  return wrap(native.adaptiveAvgPool2d(handleOf(x, 'F.adaptiveAvgPool2d', 'x'), pair(outputSize)));
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
      handleOf(x, 'F.batchNorm', 'x'),
      optionalHandleOf(o.weight, 'F.batchNorm', 'options.weight'),
      optionalHandleOf(o.bias, 'F.batchNorm', 'options.bias'),
      optionalHandleOf(o.runningMean, 'F.batchNorm', 'options.runningMean'),
      optionalHandleOf(o.runningVar, 'F.batchNorm', 'options.runningVar'),
      o.training,
      o.momentum ?? 0.1,
      o.eps ?? 1e-5,
    ),
  );
}

export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: p = ${p}, expected a probability in [0, 1]`);
  return wrap(native.dropout(handleOf(x, 'F.dropout', 'x'), p, training));
}
export function relu(x: Tensor): Tensor {
  return wrap(native.relu(handleOf(x, 'F.relu', 'x')));
}
export function softmax(x: Tensor, dim = -1): Tensor {
  return wrap(native.softmax(handleOf(x, 'F.softmax', 'x'), dim));
}
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return wrap(native.logSoftmax(handleOf(x, 'F.logSoftmax', 'x'), dim));
}
export function oneHot(labels: Tensor, numClasses: number): Tensor {
  return wrap(native.oneHot(handleOf(labels, 'F.oneHot', 'labels'), numClasses));
}

export interface LossOptions {
  reduction?: Reduction;
  /** Per-class weights (1-d, length C). */
  weight?: Tensor | null;
}
/** Softmax cross-entropy of logits [N, C] against int64 class indices [N]. */
export function crossEntropy(logits: Tensor, target: Tensor, o: LossOptions & { labelSmoothing?: number } = {}): Tensor {
  return wrap(
    native.crossEntropy(
      handleOf(logits, 'F.crossEntropy', 'logits'),
      handleOf(target, 'F.crossEntropy', 'target'),
      optionalHandleOf(o.weight, 'F.crossEntropy', 'options.weight'),
      reduction(o.reduction),
      o.labelSmoothing ?? 0,
    ),
  );
}
/**
 * ||softmax(z_i) - onehot(y_i)||^2 for each row of logits [M, C]: the squared norm of the
 * cross-entropy gradient at the logits, computed in one pass in double precision.
 */
export function crossEntropyGradNormSq(logits: Tensor, target: Tensor): Float64Array {
  return native.ceGradNormSq(
    handleOf(logits, 'F.crossEntropyGradNormSq', 'logits'),
    handleOf(target, 'F.crossEntropyGradNormSq', 'target'),
  );
}
/** Negative log-likelihood of log-probabilities [N, C] against int64 class indices [N]. */
export function nllLoss(logProbs: Tensor, target: Tensor, o: LossOptions = {}): Tensor {
  return wrap(
    native.nllLoss(
      handleOf(logProbs, 'F.nllLoss', 'logProbs'),
      handleOf(target, 'F.nllLoss', 'target'),
      optionalHandleOf(o.weight, 'F.nllLoss', 'options.weight'),
      reduction(o.reduction),
    ),
  );
}
export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, o: LossOptions = {}): Tensor {
  return wrap(
    native.bceWithLogits(
      handleOf(logits, 'F.binaryCrossEntropyWithLogits', 'logits'),
      handleOf(target, 'F.binaryCrossEntropyWithLogits', 'target'),
      optionalHandleOf(o.weight, 'F.binaryCrossEntropyWithLogits', 'options.weight'),
      reduction(o.reduction),
    ),
  );
}
export function mseLoss(input: Tensor, target: Tensor, o: { reduction?: Reduction } = {}): Tensor {
  return wrap(native.mseLoss(handleOf(input, 'F.mseLoss', 'input'), handleOf(target, 'F.mseLoss', 'target'), reduction(o.reduction)));
}
