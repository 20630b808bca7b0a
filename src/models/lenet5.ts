// LeNet-5 as in the LOW authors' released code: two 5x5 convolutions (6 and 16 channels), each
// followed by ReLU and 2x2 max pooling, then fully connected layers 400-120-84-C. The first
// convolution pads a 28x28 input to the classic 32x32 ((32 - size) / 2 on each side).
import { type Tensor, F } from '../torch/index.js';
import { Module, Conv2d, Linear } from '../nn/index.js';

export interface LeNet5Options {
  numClasses?: number;
  inChannels?: number;
  /** Input height and width (square): 28 for MNIST, 32 for CIFAR. */
  inputSize?: number;
}

export class LeNet5 extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly fc3: Linear;

  constructor(o: LeNet5Options = {}) {
    super();
    const size = o.inputSize ?? 28;
    if (size > 32 || (32 - size) % 2) throw new RangeError(`LeNet5: inputSize ${size} must be even and at most 32`);
    this.conv1 = this.registerModule('conv1', new Conv2d(o.inChannels ?? 1, 6, 5, { padding: (32 - size) / 2 }));
    this.conv2 = this.registerModule('conv2', new Conv2d(6, 16, 5));
    this.fc1 = this.registerModule('fc1', new Linear(16 * 5 * 5, 120));
    this.fc2 = this.registerModule('fc2', new Linear(120, 84));
    this.fc3 = this.registerModule('fc3', new Linear(84, o.numClasses ?? 10));
  }

  forward(x: Tensor): Tensor {
    let h = F.maxPool2d(this.conv1.forward(x).relu(), 2);
    h = F.maxPool2d(this.conv2.forward(h).relu(), 2);
    h = h.flatten(1);
    h = this.fc1.forward(h).relu();
    h = this.fc2.forward(h).relu();
    return this.fc3.forward(h);
  }
}
