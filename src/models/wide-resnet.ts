// Wide ResNet WRN-d-k (Zagoruyko & Komodakis 2016, "Wide Residual Networks"), the CIFAR network
// the LOW paper trains as WRN-28-2.
//
//   conv3x3(inChannels -> 16)
//   group 1: n blocks, 16  -> 16k, stride 1     (n = (d - 4) / 6)
//   group 2: n blocks, 16k -> 32k, stride 2
//   group 3: n blocks, 32k -> 64k, stride 2
//   BN - ReLU - global average pool - linear(64k -> C)
//
// Each block is a pre-activation basic block: BN-ReLU-conv3x3(stride)-BN-ReLU-[dropout]-conv3x3,
// added to the shortcut. When a block changes the width or the resolution, the shortcut is a 1x1
// convolution (with the block's stride) applied to the *pre-activated* input, as in the authors'
// code and in the common PyTorch port (github.com/xternalz/WideResNet-pytorch); otherwise it is the
// input itself.
//
// Parameter names follow that PyTorch port (conv1, block1.layer.0.bn1, ..., convShortcut, bn1, fc),
// so its state dicts load by name. Initialisation, also as there: every convolution
// N(0, sqrt(2 / (k*k*out_channels))) (= kaiming_normal_ with mode 'fan_out', ReLU gain), batch norm
// weight 1 and bias 0, linear bias 0 (the linear weight keeps PyTorch's default uniform init).
//
// At 32x32 the final feature map is 8x8, so the global average pool equals the port's
// F.avg_pool2d(out, 8); the adaptive pool also accepts other input sizes.
import { type Tensor, F } from '../torch/index.js';
import { Module, Conv2d, BatchNorm2d, Linear, Sequential, init } from '../nn/index.js';

export interface WideResNetOptions {
  /** d = 6n + 4 (28 for WRN-28-k). */
  depth?: number;
  /** k: the widths are 16, 16k, 32k, 64k. */
  widenFactor?: number;
  /** Dropout probability between the two convolutions of each block (0 = none, the default). */
  dropRate?: number;
  numClasses?: number;
  inChannels?: number;
}

/** BN-ReLU-conv3x3-BN-ReLU-(dropout)-conv3x3 plus shortcut. */
export class WideBasicBlock extends Module {
  readonly bn1: BatchNorm2d;
  readonly conv1: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv2: Conv2d;
  /** The 1x1 projection when the shape changes, else null (identity shortcut). */
  readonly convShortcut: Conv2d | null;

  constructor(
    readonly inPlanes: number,
    readonly outPlanes: number,
    readonly stride: number,
    readonly dropRate = 0,
  ) {
    super();
    // Registration order = PyTorch's module order (bn1, conv1, bn2, conv2, convShortcut).
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(inPlanes));
    this.conv1 = this.registerModule('conv1', new Conv2d(inPlanes, outPlanes, 3, { stride, padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(outPlanes));
    this.conv2 = this.registerModule('conv2', new Conv2d(outPlanes, outPlanes, 3, { padding: 1, bias: false }));
    // As in the reference: the projection is used when the widths differ (a stride change alone
    // never happens without a width change in a WRN).
    this.convShortcut =
      inPlanes !== outPlanes ? this.registerModule('convShortcut', new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false })) : null;
  }

  forward(x: Tensor): Tensor {
    const pre = this.bn1.forward(x).relu_();
    let out = this.conv1.forward(pre);
    out = this.bn2.forward(out).relu_();
    if (this.dropRate > 0) out = F.dropout(out, this.dropRate, this.training);
    out = this.conv2.forward(out);
    const shortcut = this.convShortcut ? this.convShortcut.forward(pre) : x;
    return shortcut.add(out);
  }
}

/** n blocks of one width; the first one carries the stride. Named `layer` as in the reference. */
export class WideResNetGroup extends Module {
  readonly layer: Sequential;
  constructor(numBlocks: number, inPlanes: number, outPlanes: number, stride: number, dropRate: number) {
    super();
    const blocks: Module[] = [];
    for (let i = 0; i < numBlocks; i++)
      blocks.push(new WideBasicBlock(i === 0 ? inPlanes : outPlanes, outPlanes, i === 0 ? stride : 1, dropRate));
    this.layer = this.registerModule('layer', new Sequential(...blocks));
  }
  forward(x: Tensor): Tensor {
    return this.layer.forward(x);
  }
}

export class WideResNet extends Module {
  readonly depth: number;
  readonly widenFactor: number;
  readonly dropRate: number;
  readonly numClasses: number;
  /** Channels after each stage: [16, 16k, 32k, 64k]. */
  readonly widths: [number, number, number, number];
  readonly conv1: Conv2d;
  readonly block1: WideResNetGroup;
  readonly block2: WideResNetGroup;
  readonly block3: WideResNetGroup;
  readonly bn1: BatchNorm2d;
  readonly fc: Linear;

  constructor(o: WideResNetOptions = {}) {
    super();
    this.depth = o.depth ?? 28;
    this.widenFactor = o.widenFactor ?? 2;
    this.dropRate = o.dropRate ?? 0;
    this.numClasses = o.numClasses ?? 10;
    const inChannels = o.inChannels ?? 3;
    if (!Number.isInteger(this.depth) || this.depth < 10 || (this.depth - 4) % 6 !== 0) {
      throw new RangeError(`WideResNet: depth ${this.depth} must be 6n + 4 with n >= 1 (10, 16, 22, 28, 34, 40, ...)`);
    }
    if (!Number.isInteger(this.widenFactor) || this.widenFactor < 1)
      throw new RangeError(`WideResNet: widenFactor ${this.widenFactor} must be a positive integer`);
    if (!(this.dropRate >= 0 && this.dropRate < 1)) throw new RangeError(`WideResNet: dropRate ${this.dropRate} must be in [0, 1)`);
    const n = (this.depth - 4) / 6;
    const k = this.widenFactor;
    const w: [number, number, number, number] = [16, 16 * k, 32 * k, 64 * k];
    this.widths = w;

    this.conv1 = this.registerModule('conv1', new Conv2d(inChannels, w[0], 3, { padding: 1, bias: false }));
    this.block1 = this.registerModule('block1', new WideResNetGroup(n, w[0], w[1], 1, this.dropRate));
    this.block2 = this.registerModule('block2', new WideResNetGroup(n, w[1], w[2], 2, this.dropRate));
    this.block3 = this.registerModule('block3', new WideResNetGroup(n, w[2], w[3], 2, this.dropRate));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(w[3]));
    this.fc = this.registerModule('fc', new Linear(w[3], this.numClasses));

    for (const [, m] of this.namedModules()) {
      if (m instanceof Conv2d) init.kaimingNormal_(m.weight, { mode: 'fanOut' });
      else if (m instanceof BatchNorm2d) {
        if (m.weight) init.constant_(m.weight, 1);
        if (m.bias) init.constant_(m.bias, 0);
      } else if (m instanceof Linear && m.bias) init.constant_(m.bias, 0);
    }
  }

  /** Logits [N, numClasses] for images [N, inChannels, H, W]. */
  forward(x: Tensor): Tensor {
    let h = this.conv1.forward(x);
    h = this.block1.forward(h);
    h = this.block2.forward(h);
    h = this.block3.forward(h);
    h = this.bn1.forward(h).relu_();
    h = F.adaptiveAvgPool2d(h, 1).flatten(1);
    return this.fc.forward(h);
  }
}
