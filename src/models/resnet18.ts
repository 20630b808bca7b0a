// ResNet-18 as torchvision builds it (He et al. 2016, "Deep Residual Learning"), for users' own
// experiments; the LOW paper does not use it.
//
//   conv1 7x7/2 (64) - bn1 - relu - maxpool 3/2 pad 1          (ImageNet stem)
//   layer1: 2 basic blocks, 64        layer2: 2 blocks, 128, stride 2
//   layer3: 2 blocks, 256, stride 2   layer4: 2 blocks, 512, stride 2
//   global average pool - fc linear(512 -> C)
//
// Basic block (post-activation, torchvision's BasicBlock): conv3x3(stride)-bn1-relu-conv3x3-bn2,
// plus the shortcut, then ReLU. When the stride or the width changes the shortcut is `downsample`:
// conv1x1(stride) - BN, named downsample.0 / downsample.1 as in torchvision.
//
// `cifar: true` gives the usual CIFAR variant: the stem is conv3x3 stride 1 pad 1 (64) and there
// is no max pool, so a 32x32 input reaches layer4 at 4x4. Parameter names are torchvision's either
// way, so a torchvision state dict loads by name (the CIFAR stem's conv1 has another shape).
//
// Initialisation, as torchvision's ResNet.__init__: convolutions kaiming_normal_ (mode fan_out,
// ReLU gain), batch norm weight 1 and bias 0; the fc layer keeps PyTorch's default Linear init;
// zero_init_residual is off (torchvision's default).
import { type Tensor, F } from '../torch/index.js';
import { Module, Conv2d, BatchNorm2d, Linear, Sequential, init } from '../nn/index.js';

export interface ResNet18Options {
  numClasses?: number;
  inChannels?: number;
  /** CIFAR stem: conv3x3 stride 1, no max pool. Default false (torchvision's ImageNet stem). */
  cifar?: boolean;
}

/** torchvision's BasicBlock (expansion 1). */
export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;
  constructor(inPlanes: number, planes: number, stride = 1) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.conv2 = this.registerModule('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    this.downsample =
      stride !== 1 || inPlanes !== planes
        ? this.registerModule(
            'downsample',
            new Sequential(new Conv2d(inPlanes, planes, 1, { stride, bias: false }), new BatchNorm2d(planes)),
          )
        : null;
  }
  forward(x: Tensor): Tensor {
    let out = this.bn1.forward(this.conv1.forward(x)).relu_();
    out = this.bn2.forward(this.conv2.forward(out));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return out.add_(identity).relu_();
  }
}

export class ResNet18 extends Module {
  readonly cifar: boolean;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  private head: Linear;

  constructor(o: ResNet18Options = {}) {
    super();
    this.cifar = o.cifar ?? false;
    const inChannels = o.inChannels ?? 3;
    this.conv1 = this.registerModule(
      'conv1',
      this.cifar
        ? new Conv2d(inChannels, 64, 3, { stride: 1, padding: 1, bias: false })
        : new Conv2d(inChannels, 64, 7, { stride: 2, padding: 3, bias: false }),
    );
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(64));
    const stage = (inPlanes: number, planes: number, stride: number): Sequential =>
      new Sequential(new BasicBlock(inPlanes, planes, stride), new BasicBlock(planes, planes, 1));
    this.layer1 = this.registerModule('layer1', stage(64, 64, 1));
    this.layer2 = this.registerModule('layer2', stage(64, 128, 2));
    this.layer3 = this.registerModule('layer3', stage(128, 256, 2));
    this.layer4 = this.registerModule('layer4', stage(256, 512, 2));
    this.head = this.registerModule('fc', new Linear(512, o.numClasses ?? 1000));

    for (const [, m] of this.namedModules()) {
      if (m instanceof Conv2d) init.kaimingNormal_(m.weight, { mode: 'fanOut' });
      else if (m instanceof BatchNorm2d) {
        if (m.weight) init.constant_(m.weight, 1);
        if (m.bias) init.constant_(m.bias, 0);
      }
    }
  }

  /** The last layer, linear(512 -> numClasses). */
  get fc(): Linear {
    return this.head;
  }
  get numClasses(): number {
    return this.head.outFeatures;
  }

  /** Replaces the last layer with a fresh linear(512 -> numClasses) (PyTorch's default init); frees the old one. */
  replaceClassifier(numClasses: number): Linear {
    if (!Number.isInteger(numClasses) || numClasses < 1)
      throw new RangeError(`replaceClassifier: numClasses ${numClasses} must be a positive integer`);
    const old = this.head;
    this.head = this.registerModule('fc', new Linear(512, numClasses));
    this.head.train(this.training);
    old.dispose();
    return this.head;
  }

  /** Logits [N, numClasses] for images [N, inChannels, H, W]. */
  forward(x: Tensor): Tensor {
    let h = this.bn1.forward(this.conv1.forward(x)).relu_();
    if (!this.cifar) h = F.maxPool2d(h, 3, { stride: 2, padding: 1 });
    h = this.layer1.forward(h);
    h = this.layer2.forward(h);
    h = this.layer3.forward(h);
    h = this.layer4.forward(h);
    h = F.adaptiveAvgPool2d(h, 1).flatten(1);
    return this.head.forward(h);
  }
}
