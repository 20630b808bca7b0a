// DenseNet-BC for CIFAR (Huang et al. 2017, "Densely Connected Convolutional Networks"): dense
// blocks of bottleneck layers, with compression in the transitions. The LOW paper trains it with
// growth rate 12 and no dropout; depth 100 (DenseNet-BC-100-12, 0.8 M parameters in Huang et al.'s
// Table 2) is this project's default and an assumption: the paper does not state the depth.
//
//   conv3x3(inChannels -> 2k)
//   dense block 1 (L layers) - transition - dense block 2 (L) - transition - dense block 3 (L)
//   BN - ReLU - global average pool - linear(C)              (L = (depth - 4) / 6)
//
// Bottleneck layer: BN-ReLU-conv1x1(4k)-[dropout]-BN-ReLU-conv3x3(k)-[dropout], its k new channels
// concatenated to its input. Transition: BN-ReLU-conv1x1(floor(c * compression))-[dropout]-avgpool 2.
//
// Parameter names follow the common PyTorch port (github.com/andreasveit/densenet-pytorch,
// DenseNet3 with bottleneck=True): conv1, block1.layer.0.bn1/conv1/bn2/conv2, trans1.bn1/conv1, bn1,
// fc, so its state dicts load by name. Initialisation, as there and in Huang et al.'s code:
// every convolution N(0, sqrt(2 / (k*k*out_channels))) (kaiming_normal_ mode 'fan_out'), batch
// norm weight 1 and bias 0, linear bias 0 (the linear weight keeps PyTorch's default init).
// Two deliberate differences from that port: it applies dropout with p = 1e-7 when dropRate is 0
// (a workaround for an old cuDNN bug; here dropRate 0 means no dropout at all), and it pools with
// avg_pool2d(8), which the global average pool equals at 32x32 input.
import { type Tensor, F, cat } from '../torch/index.js';
import { Module, Conv2d, BatchNorm2d, Linear, Sequential, init } from '../nn/index.js';

export interface DenseNetBCOptions {
  /** Total depth; (depth - 4) must be divisible by 6 (each bottleneck layer has 2 convolutions). Default 100. */
  depth?: number;
  /** k, the channels each layer adds. Default 12. */
  growthRate?: number;
  /** Fraction of channels a transition keeps (theta). Default 0.5. */
  compression?: number;
  /** Dropout after each convolution of the dense layers (0 = none, the default and the paper's setting). */
  dropRate?: number;
  numClasses?: number;
  inChannels?: number;
}

/** BN-ReLU-conv1x1(4k)-BN-ReLU-conv3x3(k); returns [input, new features] concatenated. */
export class BottleneckLayer extends Module {
  readonly bn1: BatchNorm2d;
  readonly conv1: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv2: Conv2d;

  constructor(
    readonly inPlanes: number,
    readonly growthRate: number,
    readonly dropRate = 0,
  ) {
    super();
    const inter = 4 * growthRate;
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(inPlanes));
    this.conv1 = this.registerModule('conv1', new Conv2d(inPlanes, inter, 1, { bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(inter));
    this.conv2 = this.registerModule('conv2', new Conv2d(inter, growthRate, 3, { padding: 1, bias: false }));
  }

  forward(x: Tensor): Tensor {
    let out = this.conv1.forward(this.bn1.forward(x).relu_());
    if (this.dropRate > 0) out = F.dropout(out, this.dropRate, this.training);
    out = this.conv2.forward(this.bn2.forward(out).relu_());
    if (this.dropRate > 0) out = F.dropout(out, this.dropRate, this.training);
    return cat([x, out], 1);
  }
}

/** L bottleneck layers; the i-th sees inPlanes + i*k channels. Named `layer` as in the reference. */
export class DenseBlock extends Module {
  readonly layer: Sequential;
  constructor(numLayers: number, inPlanes: number, growthRate: number, dropRate: number) {
    super();
    const layers: Module[] = [];
    for (let i = 0; i < numLayers; i++) layers.push(new BottleneckLayer(inPlanes + i * growthRate, growthRate, dropRate));
    this.layer = this.registerModule('layer', new Sequential(...layers));
  }
  forward(x: Tensor): Tensor {
    return this.layer.forward(x);
  }
}

/** BN-ReLU-conv1x1-avgpool2: compresses the channels and halves the resolution. */
export class Transition extends Module {
  readonly bn1: BatchNorm2d;
  readonly conv1: Conv2d;
  constructor(
    readonly inPlanes: number,
    readonly outPlanes: number,
    readonly dropRate = 0,
  ) {
    super();
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(inPlanes));
    this.conv1 = this.registerModule('conv1', new Conv2d(inPlanes, outPlanes, 1, { bias: false }));
  }
  forward(x: Tensor): Tensor {
    let out = this.conv1.forward(this.bn1.forward(x).relu_());
    if (this.dropRate > 0) out = F.dropout(out, this.dropRate, this.training);
    return F.avgPool2d(out, 2);
  }
}

export class DenseNetBC extends Module {
  readonly depth: number;
  readonly growthRate: number;
  readonly compression: number;
  readonly dropRate: number;
  readonly numClasses: number;
  /** Bottleneck layers per dense block: (depth - 4) / 6. */
  readonly layersPerBlock: number;
  /** Channels entering the classifier. */
  readonly numFeatures: number;
  readonly conv1: Conv2d;
  readonly block1: DenseBlock;
  readonly trans1: Transition;
  readonly block2: DenseBlock;
  readonly trans2: Transition;
  readonly block3: DenseBlock;
  readonly bn1: BatchNorm2d;
  readonly fc: Linear;

  constructor(o: DenseNetBCOptions = {}) {
    super();
    this.depth = o.depth ?? 100;
    this.growthRate = o.growthRate ?? 12;
    this.compression = o.compression ?? 0.5;
    this.dropRate = o.dropRate ?? 0;
    this.numClasses = o.numClasses ?? 10;
    const inChannels = o.inChannels ?? 3;
    if (!Number.isInteger(this.depth) || this.depth < 10 || (this.depth - 4) % 6 !== 0) {
      throw new RangeError(`DenseNetBC: depth ${this.depth} must be 6L + 4 with L >= 1 (e.g. 40, 100, 190, 250)`);
    }
    if (!Number.isInteger(this.growthRate) || this.growthRate < 1)
      throw new RangeError(`DenseNetBC: growthRate ${this.growthRate} must be a positive integer`);
    if (!(this.compression > 0 && this.compression <= 1))
      throw new RangeError(`DenseNetBC: compression ${this.compression} must be in (0, 1]`);
    if (!(this.dropRate >= 0 && this.dropRate < 1)) throw new RangeError(`DenseNetBC: dropRate ${this.dropRate} must be in [0, 1)`);
    const L = (this.depth - 4) / 6;
    const k = this.growthRate;
    this.layersPerBlock = L;

    let c = 2 * k;
    this.conv1 = this.registerModule('conv1', new Conv2d(inChannels, c, 3, { padding: 1, bias: false }));
    this.block1 = this.registerModule('block1', new DenseBlock(L, c, k, this.dropRate));
    c += L * k;
    // The reference's transitions never use dropout (it passes dropRate=0.0 to them).
    this.trans1 = this.registerModule('trans1', new Transition(c, Math.floor(c * this.compression)));
    c = Math.floor(c * this.compression);
    this.block2 = this.registerModule('block2', new DenseBlock(L, c, k, this.dropRate));
    c += L * k;
    this.trans2 = this.registerModule('trans2', new Transition(c, Math.floor(c * this.compression)));
    c = Math.floor(c * this.compression);
    this.block3 = this.registerModule('block3', new DenseBlock(L, c, k, this.dropRate));
    c += L * k;
    this.numFeatures = c;
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(c));
    this.fc = this.registerModule('fc', new Linear(c, this.numClasses));

    for (const [, m] of this.namedModules()) {
      if (m instanceof Conv2d) init.kaimingNormal_(m.weight, { mode: 'fanOut' });
      else if (m instanceof BatchNorm2d) {
        if (m.weight) init.constant_(m.weight, 1);
        if (m.bias) init.constant_(m.bias, 0);
      } else if (m instanceof Linear && m.bias) init.constant_(m.bias, 0);
    }
  }

  /** Logits [N, numClasses] for images [N, inChannels, H, W] (H, W divisible by 4). */
  forward(x: Tensor): Tensor {
    let h = this.conv1.forward(x);
    h = this.trans1.forward(this.block1.forward(h));
    h = this.trans2.forward(this.block2.forward(h));
    h = this.block3.forward(h);
    h = this.bn1.forward(h).relu_();
    h = F.adaptiveAvgPool2d(h, 1).flatten(1);
    return this.fc.forward(h);
  }
}
