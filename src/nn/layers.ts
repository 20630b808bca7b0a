// The layers the paper's models are built from, with PyTorch's constructor arguments and defaults.
import { type Tensor, F, cat, empty, full, ones, zeros, scalar, noGrad } from '../torch/index.js';
import { Module } from './module.js';
import { defaultLayerInit } from './init.js';

type Pair = number | [number, number];

export class Linear extends Module {
  /** Whether this is a cosine classifier ({@link makeCosine}). */
  normalized = false;
  readonly weight: Tensor;
  bias: Tensor | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    o: { bias?: boolean } = {},
  ) {
    super();
    this.weight = this.registerParameter('weight', empty([outFeatures, inFeatures]));
    this.bias = o.bias === false ? null : this.registerParameter('bias', empty([outFeatures]));
    defaultLayerInit(this.weight, this.bias);
  }
  /**
   * Makes this layer a cosine classifier (LDAM's NormedLinear, Cao et al. 2019): y = (x / |x|) .
   * (w_c / |w_c|) per class, each in [-1, 1], so that a scale s and margins act on bounded logits.
   * It has no bias, as the authors' layer: the bias was initialised with the layer (so the other
   * layers start from the same weights under either head) and is dropped here. The initial
   * directions are the default init's (uniform in a cube, as the authors' uniform(-1, 1)).
   */
  makeCosine(): void {
    this.normalized = true;
    if (this.bias) {
      this.dropParameter('bias');
      this.bias = null;
    }
  }
  forward(x: Tensor): Tensor {
    if (this.normalized) return F.linear(unitRows(x), unitRows(this.parameter('weight')), null);
    return F.linear(x, this.parameter('weight'), this.bias && this.parameter('bias'));
  }
}

/** Each row over its Euclidean norm (F.normalize(x, dim=1) for a matrix, eps 1e-12). */
function unitRows(x: Tensor): Tensor {
  return x.div(x.square().sum(1, true).sqrt().clamp(1e-12));
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    readonly options: Conv2dOptions = {},
  ) {
    super();
    const [kh, kw] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    const groups = options.groups ?? 1;
    if (inChannels % groups || outChannels % groups) {
      throw new RangeError(`Conv2d: channels (${inChannels} in, ${outChannels} out) must be divisible by groups (${groups})`);
    }
    this.weight = this.registerParameter('weight', empty([outChannels, inChannels / groups, kh, kw]));
    this.bias = options.bias === false ? null : this.registerParameter('bias', empty([outChannels]));
    defaultLayerInit(this.weight, this.bias);
  }
  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.parameter('weight'), this.bias && this.parameter('bias'), this.options);
  }
}

/** A sum over the ranks of a data-parallel run, on the autograd graph (distributed/process-group.ts). */
export interface BatchNormSync {
  sum(t: Tensor): Tensor;
}

export class BatchNorm2d extends Module {
  /**
   * Synchronised batch norm (PyTorch's SyncBatchNorm): in training, the batch statistics are those
   * of the global batch, summed over the ranks, so that N ranks normalise exactly as one process
   * with the whole batch would. Null: each rank's own batch (DDP's default).
   */
  sync: BatchNormSync | null = null;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  private readonly numBatchesTracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number;
  constructor(
    readonly numFeatures: number,
    o: { eps?: number; momentum?: number; affine?: boolean; trackRunningStats?: boolean } = {},
  ) {
    super();
    this.eps = o.eps ?? 1e-5;
    this.momentum = o.momentum ?? 0.1;
    const affine = o.affine ?? true;
    const track = o.trackRunningStats ?? true;
    this.weight = affine ? this.registerParameter('weight', ones([numFeatures])) : null;
    this.bias = affine ? this.registerParameter('bias', zeros([numFeatures])) : null;
    this.runningMean = track ? this.registerBuffer('running_mean', zeros([numFeatures])) : null;
    this.runningVar = track ? this.registerBuffer('running_var', ones([numFeatures])) : null;
    this.numBatchesTracked = track ? this.registerBuffer('num_batches_tracked', scalar(0, { dtype: 'int64' })) : null;
  }
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new RangeError(`BatchNorm2d: expected a 4-d input [N, C, H, W], got [${x.shape.join(', ')}]`);
    const useBatchStats = this.training || this.runningMean === null;
    if (this.training && this.numBatchesTracked) {
      const n = this.numBatchesTracked;
      noGrad(() => n.add_(1));
    }
    if (this.training && this.sync) return this.synchronisedForward(x, this.sync);
    return F.batchNorm(x, {
      weight: this.weight && this.parameter('weight'),
      bias: this.bias && this.parameter('bias'),
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      training: useBatchStats,
      momentum: this.momentum,
      eps: this.eps,
    });
  }

  /**
   * y = (x - mean) / sqrt(var + eps) * weight + bias with the global batch's mean and (biased)
   * variance, in two passes as libtorch's own batch norm (sum of squares minus the squared mean
   * loses the digits a small variance has): the mean from the ranks' sums and counts, then the
   * variance from their sums of squared deviations from it.
   */
  private synchronisedForward(x: Tensor, sync: BatchNormSync): Tensor {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const sums = sync.sum(cat([x.sum([0, 2, 3]), full([1], n * h * w, { dtype: x.dtype })]));
    const count = sums.narrow(0, c, 1).item();
    const mean = sums.narrow(0, 0, c).div(count);
    const centred = x.sub(mean.view(1, c, 1, 1));
    const variance = sync.sum(centred.square().sum([0, 2, 3])).div(count);
    let y = centred.mul(variance.add(this.eps).rsqrt().view(1, c, 1, 1));
    if (this.weight) y = y.mul(this.parameter('weight').view(1, c, 1, 1));
    if (this.bias) y = y.add(this.parameter('bias').view(1, c, 1, 1));
    const rm = this.runningMean;
    const rv = this.runningVar;
    if (rm && rv) {
      // As F.batchNorm: the running variance takes the unbiased estimate.
      noGrad(() => {
        rm.mul_(1 - this.momentum).add_(mean.detach().mul(this.momentum));
        rv.mul_(1 - this.momentum).add_(variance.detach().mul((this.momentum * count) / Math.max(count - 1, 1)));
      });
    }
    return y;
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p = ${p}, expected a probability in [0, 1]`);
  }
  forward(x: Tensor): Tensor {
    return this.p === 0 || !this.training ? x : F.dropout(x, this.p, true);
  }
}

export class ReLU extends Module {
  /** `inplace`: overwrite the input, as PyTorch's ReLU(inplace=True) (only where nothing else needs the input's values). */
  constructor(readonly o: { inplace?: boolean } = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.o.inplace ? x.relu_() : x.relu();
  }
}

export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: F.Pool2dOptions = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.options);
  }
}

export class AvgPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: F.Pool2dOptions & { countIncludePad?: boolean } = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, this.options);
  }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }
}

export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

/** Modules applied in order; children are named "0", "1", ... as in PyTorch. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const layer of this.layers) y = layer.forward(y);
    return y;
  }
}
