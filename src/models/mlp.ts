// A multilayer perceptron for users' own experiments (not one of the paper's models): flatten the
// input, then hidden linear layers each followed by ReLU (and dropout when dropRate > 0), then a
// linear layer to the class logits. PyTorch's default Linear initialisation throughout.
//
// Layers live in one Sequential named `net`, in PyTorch's order, e.g. for hidden [256, 128] and
// no dropout: net.0 Flatten, net.1 Linear, net.2 ReLU, net.3 Linear, net.4 ReLU, net.5 Linear.
import type { Tensor } from '../torch/index.js';
import { Module, Linear, ReLU, Dropout, Flatten, Sequential } from '../nn/index.js';

export interface MLPOptions {
  /** Input features after flattening; default inChannels * inputSize^2. */
  inFeatures?: number;
  /** Used when inFeatures is not given: channels of an image input (default 1). */
  inChannels?: number;
  /** Used when inFeatures is not given: image height and width (default 28). */
  inputSize?: number;
  /** Widths of the hidden layers, default [256, 128]. [] gives multinomial logistic regression. */
  hiddenSizes?: number[];
  /** Dropout after each hidden ReLU (0 = none, the default). */
  dropRate?: number;
  numClasses?: number;
}

export class MLP extends Module {
  readonly inFeatures: number;
  readonly hiddenSizes: number[];
  readonly dropRate: number;
  readonly numClasses: number;
  readonly net: Sequential;

  constructor(o: MLPOptions = {}) {
    super();
    const size = o.inputSize ?? 28;
    this.inFeatures = o.inFeatures ?? (o.inChannels ?? 1) * size * size;
    this.hiddenSizes = [...(o.hiddenSizes ?? [256, 128])];
    this.dropRate = o.dropRate ?? 0;
    this.numClasses = o.numClasses ?? 10;
    if (!Number.isInteger(this.inFeatures) || this.inFeatures < 1)
      throw new RangeError(`MLP: inFeatures ${this.inFeatures} must be a positive integer`);
    if (this.hiddenSizes.some((h) => !Number.isInteger(h) || h < 1))
      throw new RangeError(`MLP: hiddenSizes [${this.hiddenSizes.join(', ')}] must be positive integers`);
    if (!(this.dropRate >= 0 && this.dropRate < 1)) throw new RangeError(`MLP: dropRate ${this.dropRate} must be in [0, 1)`);

    const layers: Module[] = [new Flatten(1)];
    let width = this.inFeatures;
    for (const h of this.hiddenSizes) {
      layers.push(new Linear(width, h), new ReLU());
      if (this.dropRate > 0) layers.push(new Dropout(this.dropRate));
      width = h;
    }
    layers.push(new Linear(width, this.numClasses));
    this.net = this.registerModule('net', new Sequential(...layers));
  }

  /** Logits [N, numClasses] for inputs [N, ...] with inFeatures values per sample. */
  forward(x: Tensor): Tensor {
    return this.net.forward(x);
  }
}
