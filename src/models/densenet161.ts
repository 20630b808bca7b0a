// DenseNet-161 exactly as torchvision builds it (torchvision.models.densenet161), the ImageNet
// network the LOW paper fine-tunes on ISIC 2017 and 2018 with its last layer replaced.
//
//   features: conv0 7x7/2 (96) - norm0 - relu0 - pool0 maxpool 3/2 pad 1
//             denseblock1 (6 layers)  - transition1
//             denseblock2 (12 layers) - transition2
//             denseblock3 (36 layers) - transition3
//             denseblock4 (24 layers) - norm5
//   then ReLU - global average pool - classifier linear(2208 -> C)
//
// Dense layer (torchvision's _DenseLayer): norm1-relu1-conv1 1x1 (bn_size*k = 192) - norm2-relu2-
// conv2 3x3 (k = 48) - [dropout]; its output is concatenated to its input. Transition: norm-relu-
// conv 1x1 (c -> floor(c/2)) - avgpool 2/2.
//
// Module and parameter names are torchvision's, so its state dict loads by name:
// features.conv0.weight, features.norm0.*, features.denseblock1.denselayer1.norm1.*,
// ...conv1.weight, ...norm2.*, ...conv2.weight, features.transition1.norm.*,
// features.transition1.conv.weight, features.norm5.*, classifier.weight/bias.
// (torchvision's own .pth files predate that naming and say `norm.1` for `norm1`:
// loadPretrained renames them on loading, as torchvision's loader does.)
//
// Initialisation, as torchvision's DenseNet.__init__: convolutions kaiming_normal_ (mode fan_in,
// ReLU gain), batch norm weight 1 and bias 0, linear bias 0 (the linear weight keeps PyTorch's
// default). For the paper's use, load ImageNet weights with loadPretrained() (pretrained.ts).
import { type Tensor, F, cat } from '../torch/index.js';
import { Module, Conv2d, BatchNorm2d, Linear, ReLU, MaxPool2d, init } from '../nn/index.js';

/** torchvision's DenseNet constructor arguments. */
export interface DenseNetOptions {
  /** k: channels each dense layer adds. */
  growthRate?: number;
  /** Dense layers in each block. */
  blockConfig?: number[];
  /** Channels of the stem convolution. */
  numInitFeatures?: number;
  /** Bottleneck width factor: the 1x1 convolution outputs bnSize * k channels. */
  bnSize?: number;
  /** Dropout after each dense layer (torchvision's drop_rate), default 0. */
  dropRate?: number;
  numClasses?: number;
  inChannels?: number;
}

/** torchvision's densenet161 configuration. */
export const DENSENET161_CONFIG = { growthRate: 48, blockConfig: [6, 12, 36, 24], numInitFeatures: 96, bnSize: 4 } as const;

/** Children applied in registration order, under the names given (nn.Sequential(OrderedDict(...))). */
export class NamedSequential extends Module {
  private readonly order: Module[] = [];
  add<M extends Module>(name: string, m: M): M {
    this.order.push(this.registerModule(name, m));
    return m;
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.order) y = m.forward(y);
    return y;
  }
}

/** torchvision's _DenseLayer: returns only the k new channels. */
export class DenseLayer extends Module {
  readonly norm1: BatchNorm2d;
  readonly conv1: Conv2d;
  readonly norm2: BatchNorm2d;
  readonly conv2: Conv2d;
  constructor(
    readonly numInputFeatures: number,
    readonly growthRate: number,
    readonly bnSize: number,
    readonly dropRate = 0,
  ) {
    super();
    this.norm1 = this.registerModule('norm1', new BatchNorm2d(numInputFeatures));
    this.conv1 = this.registerModule('conv1', new Conv2d(numInputFeatures, bnSize * growthRate, 1, { bias: false }));
    this.norm2 = this.registerModule('norm2', new BatchNorm2d(bnSize * growthRate));
    this.conv2 = this.registerModule('conv2', new Conv2d(bnSize * growthRate, growthRate, 3, { padding: 1, bias: false }));
  }
  forward(x: Tensor): Tensor {
    const bottleneck = this.conv1.forward(this.norm1.forward(x).relu_());
    let out = this.conv2.forward(this.norm2.forward(bottleneck).relu_());
    if (this.dropRate > 0) out = F.dropout(out, this.dropRate, this.training);
    return out;
  }
}

/** torchvision's _DenseBlock: denselayer1..L, each fed the concatenation of all earlier outputs. */
export class DenseNetBlock extends Module {
  readonly layers: DenseLayer[] = [];
  constructor(numLayers: number, numInputFeatures: number, bnSize: number, growthRate: number, dropRate: number) {
    super();
    for (let i = 0; i < numLayers; i++) {
      this.layers.push(
        this.registerModule(`denselayer${i + 1}`, new DenseLayer(numInputFeatures + i * growthRate, growthRate, bnSize, dropRate)),
      );
    }
  }
  forward(x: Tensor): Tensor {
    let features = x;
    for (const layer of this.layers) features = cat([features, layer.forward(features)], 1);
    return features;
  }
}

/** torchvision's _Transition: norm-relu-conv1x1-avgpool 2/2. */
export class DenseNetTransition extends Module {
  readonly norm: BatchNorm2d;
  readonly conv: Conv2d;
  constructor(numInputFeatures: number, numOutputFeatures: number) {
    super();
    this.norm = this.registerModule('norm', new BatchNorm2d(numInputFeatures));
    this.conv = this.registerModule('conv', new Conv2d(numInputFeatures, numOutputFeatures, 1, { bias: false }));
  }
  forward(x: Tensor): Tensor {
    return F.avgPool2d(this.conv.forward(this.norm.forward(x).relu_()), 2, { stride: 2 });
  }
}

/** torchvision's DenseNet (ImageNet stem, four dense blocks). densenet121/161/169/201 are configurations of it. */
export class DenseNet extends Module {
  readonly growthRate: number;
  readonly blockConfig: number[];
  readonly numInitFeatures: number;
  readonly bnSize: number;
  readonly dropRate: number;
  /** Channels entering the classifier (2208 for densenet161). */
  readonly numFeatures: number;
  readonly features: NamedSequential;
  private head: Linear;

  constructor(o: DenseNetOptions = {}) {
    super();
    this.growthRate = o.growthRate ?? 32;
    this.blockConfig = [...(o.blockConfig ?? [6, 12, 24, 16])];
    this.numInitFeatures = o.numInitFeatures ?? 64;
    this.bnSize = o.bnSize ?? 4;
    this.dropRate = o.dropRate ?? 0;
    const numClasses = o.numClasses ?? 1000;
    const inChannels = o.inChannels ?? 3;
    for (const [name, v] of [
      ['growthRate', this.growthRate],
      ['numInitFeatures', this.numInitFeatures],
      ['bnSize', this.bnSize],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`DenseNet: ${name} ${v} must be a positive integer`);
    }
    if (this.blockConfig.length === 0 || this.blockConfig.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new RangeError(`DenseNet: blockConfig [${this.blockConfig.join(', ')}] must be positive integers`);
    }
    if (!(this.dropRate >= 0 && this.dropRate < 1)) throw new RangeError(`DenseNet: dropRate ${this.dropRate} must be in [0, 1)`);

    const f = (this.features = this.registerModule('features', new NamedSequential()));
    f.add('conv0', new Conv2d(inChannels, this.numInitFeatures, 7, { stride: 2, padding: 3, bias: false }));
    f.add('norm0', new BatchNorm2d(this.numInitFeatures));
    f.add('relu0', new ReLU({ inplace: true }));
    f.add('pool0', new MaxPool2d(3, { stride: 2, padding: 1 }));
    let c = this.numInitFeatures;
    this.blockConfig.forEach((numLayers, i) => {
      f.add(`denseblock${i + 1}`, new DenseNetBlock(numLayers, c, this.bnSize, this.growthRate, this.dropRate));
      c += numLayers * this.growthRate;
      if (i !== this.blockConfig.length - 1) {
        f.add(`transition${i + 1}`, new DenseNetTransition(c, Math.floor(c / 2)));
        c = Math.floor(c / 2);
      }
    });
    f.add('norm5', new BatchNorm2d(c));
    this.numFeatures = c;
    this.head = this.registerModule('classifier', new Linear(c, numClasses));

    for (const [, m] of this.namedModules()) {
      if (m instanceof Conv2d) init.kaimingNormal_(m.weight);
      else if (m instanceof BatchNorm2d) {
        if (m.weight) init.constant_(m.weight, 1);
        if (m.bias) init.constant_(m.bias, 0);
      } else if (m instanceof Linear && m.bias) init.constant_(m.bias, 0);
    }
  }

  /** The last layer, linear(numFeatures -> numClasses). */
  get classifier(): Linear {
    return this.head;
  }
  get numClasses(): number {
    return this.head.outFeatures;
  }

  /**
   * Replaces the last layer with a fresh linear(numFeatures -> numClasses), as the paper does for
   * ISIC (`model.classifier = nn.Linear(2208, C)` in PyTorch): PyTorch's default Linear init.
   * The old layer's tensors are freed. Returns the new layer.
   */
  replaceClassifier(numClasses: number): Linear {
    if (!Number.isInteger(numClasses) || numClasses < 1)
      throw new RangeError(`replaceClassifier: numClasses ${numClasses} must be a positive integer`);
    const old = this.head;
    this.head = this.registerModule('classifier', new Linear(this.numFeatures, numClasses));
    this.head.train(this.training);
    old.dispose();
    return this.head;
  }

  /** Logits [N, numClasses] for images [N, inChannels, H, W] (224x224 for ImageNet weights; H, W >= 32). */
  forward(x: Tensor): Tensor {
    let h = this.features.forward(x).relu_();
    h = F.adaptiveAvgPool2d(h, 1).flatten(1);
    return this.head.forward(h);
  }
}

/** torchvision.models.densenet161: growth 48, blocks (6, 12, 36, 24), 96 initial features, bn_size 4. */
export class DenseNet161 extends DenseNet {
  constructor(o: { numClasses?: number; inChannels?: number; dropRate?: number } = {}) {
    super({ ...DENSENET161_CONFIG, blockConfig: [...DENSENET161_CONFIG.blockConfig], ...o });
  }
}
