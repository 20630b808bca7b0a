// Models by name, for the CLI and experiment files: createModel('wrn-28-2', { numClasses: 100 }).
//
//   lenet5          LeNet-5 as in the LOW authors' code (MNIST / Fashion-MNIST)
//   wrn-28-2        Wide ResNet 28-2 (CIFAR); any wrn-D-K with D = 6n + 4 is accepted
//   densenet-bc     DenseNet-BC-100-12 (CIFAR); any densenet-bc-D-K (depth D, growth K) is accepted
//   densenet161     torchvision's DenseNet-161 (ISIC, with ImageNet weights via loadPretrained)
//   resnet18        torchvision's ResNet-18 (ImageNet stem)
//   resnet18-cifar  ResNet-18 with the CIFAR stem (conv3x3, no max pool)
//   mlp             flatten + hidden layers [256, 128] with ReLU
import { Linear } from '../nn/index.js';
import type { Module } from '../nn/index.js';
import { LeNet5 } from './lenet5.js';
import { WideResNet } from './wide-resnet.js';
import { DenseNetBC } from './densenet-bc.js';
import { DenseNet161 } from './densenet161.js';
import { ResNet18 } from './resnet18.js';
import { MLP } from './mlp.js';
import { isTorchScriptPath, loadTorchScript } from './torchscript.js';

export const MODEL_NAMES = ['lenet5', 'wrn-28-2', 'densenet-bc', 'densenet161', 'resnet18', 'resnet18-cifar', 'mlp'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export interface CreateModelOptions {
  /** Classes of the task (default 10). */
  numClasses?: number;
  /** Image channels (default 1 for lenet5 and mlp, 3 for the others). */
  inChannels?: number;
  /** Image height = width; used by lenet5 (28 or 32, default 28) and mlp (default 28). The convolutional networks accept any size. */
  inputSize?: number;
  /** Dropout probability where the architecture has one (wrn, densenet-bc, densenet161, mlp); default 0. */
  dropRate?: number;
  /** The classifier: linear (default) or cosine (LDAM's normalised last layer). */
  head?: 'linear' | 'cosine';
  /** The images' [C, H, W]: a TorchScript model's forward is checked to map them to [N, numClasses]. */
  inputShape?: readonly [number, number, number];
}

const WRN = /^wrn-(\d+)-(\d+)$/;
const DENSENET_BC = /^densenet-bc-(\d+)-(\d+)$/;

interface Entry {
  summary: string;
  source: string;
  inputs: string;
  create(o: CreateModelOptions): Module;
}

function wrnEntry(depth: number, k: number): Entry {
  return {
    summary:
      `Wide ResNet WRN-${depth}-${k}: pre-activation basic blocks, ${(depth - 4) / 6} per group, ` +
      `widths 16, ${16 * k}, ${32 * k}, ${64 * k}; BN-ReLU, global average pool, linear.`,
    source:
      'Zagoruyko & Komodakis 2016; names and init as github.com/xternalz/WideResNet-pytorch ' +
      '(kaiming normal fan_out convs, BN 1/0, linear bias 0).',
    inputs: 'images [N, C, 32, 32] (any size works); C = inChannels (default 3)',
    create: (o) =>
      new WideResNet({ depth, widenFactor: k, dropRate: o.dropRate, numClasses: o.numClasses ?? 10, inChannels: o.inChannels ?? 3 }),
  };
}

function densenetBCEntry(depth: number, growthRate: number): Entry {
  return {
    summary:
      `DenseNet-BC-${depth}-${growthRate}: 3 dense blocks of ${(depth - 4) / 6} bottleneck layers ` +
      `(BN-ReLU-conv1x1 ${4 * growthRate} - BN-ReLU-conv3x3 ${growthRate}), ` +
      `transitions with compression 0.5, stem conv3x3 ${2 * growthRate}.`,
    source:
      'Huang et al. 2017; names and init as github.com/andreasveit/densenet-pytorch ' +
      '(kaiming normal fan_out convs, BN 1/0, linear bias 0). ' +
      'The LOW paper uses growth 12 without dropout; depth 100 is an assumption.',
    inputs: 'images [N, C, 32, 32] (any size divisible by 4); C = inChannels (default 3)',
    create: (o) =>
      new DenseNetBC({ depth, growthRate, dropRate: o.dropRate, numClasses: o.numClasses ?? 10, inChannels: o.inChannels ?? 3 }),
  };
}

const ENTRIES: Record<ModelName, Entry> = {
  lenet5: {
    summary: 'LeNet-5: conv 6@5x5 (padded to 32x32) - maxpool 2 - conv 16@5x5 - maxpool 2 - fc 400-120-84-C, ReLU.',
    source: "The LOW authors' released code (lenet.py); PyTorch default init.",
    inputs: 'images [N, C, S, S] with S = inputSize (28 or 32, default 28); C = inChannels (default 1)',
    create: (o) => new LeNet5({ numClasses: o.numClasses ?? 10, inChannels: o.inChannels ?? 1, inputSize: o.inputSize ?? 28 }),
  },
  'wrn-28-2': wrnEntry(28, 2),
  'densenet-bc': densenetBCEntry(100, 12),
  densenet161: {
    summary:
      "torchvision's DenseNet-161: growth 48, blocks (6, 12, 36, 24), 96 initial features, " +
      'bn_size 4, conv7x7/2 + maxpool stem; classifier linear(2208 -> C).',
    source:
      'Huang et al. 2017; torchvision.models.densenet161 (state-dict names and init). ' +
      "ImageNet weights: loadPretrained() of torchvision's .pth file (torch.save format) as it is.",
    inputs: 'images [N, C, 224, 224] for ImageNet weights (any size >= 32 works); C = inChannels (default 3)',
    create: (o) => new DenseNet161({ numClasses: o.numClasses ?? 10, inChannels: o.inChannels ?? 3, dropRate: o.dropRate }),
  },
  resnet18: {
    summary: "torchvision's ResNet-18: conv7x7/2 + maxpool stem, 4 stages of 2 basic blocks (64, 128, 256, 512), global average pool, fc.",
    source: 'He et al. 2016; torchvision.models.resnet18 (state-dict names and init).',
    inputs: 'images [N, C, 224, 224] (any size >= 32 works); C = inChannels (default 3)',
    create: (o) => new ResNet18({ numClasses: o.numClasses ?? 10, inChannels: o.inChannels ?? 3 }),
  },
  'resnet18-cifar': {
    summary: 'ResNet-18 with the CIFAR stem: conv3x3 stride 1 (64), no max pool; otherwise as torchvision.',
    source: 'He et al. 2016; torchvision names and init with the usual CIFAR stem.',
    inputs: 'images [N, C, 32, 32] (any size works); C = inChannels (default 3)',
    create: (o) => new ResNet18({ numClasses: o.numClasses ?? 10, inChannels: o.inChannels ?? 3, cifar: true }),
  },
  mlp: {
    summary: 'Multilayer perceptron: flatten, hidden layers 256 and 128 with ReLU (dropout if dropRate > 0), linear to C.',
    source: 'PyTorch default Linear init. Not a model of the paper.',
    inputs: 'images [N, C, S, S] (any shape with C*S*S values per sample); S = inputSize (default 28), C = inChannels (default 1)',
    create: (o) =>
      new MLP({ numClasses: o.numClasses ?? 10, inChannels: o.inChannels ?? 1, inputSize: o.inputSize ?? 28, dropRate: o.dropRate }),
  },
};

function unknown(name: string): Error {
  return new Error(
    `unknown model '${name}': known models are ${MODEL_NAMES.join(', ')} ` +
      '(also wrn-D-K with D = 6n + 4, e.g. wrn-16-8, densenet-bc-D-K, e.g. densenet-bc-190-40, ' +
      'and a TorchScript file saved by torch.jit.save, named *.pt, *.pth or *.torchscript)',
  );
}

function entry(name: string): Entry {
  if (Object.hasOwn(ENTRIES, name)) return ENTRIES[name as ModelName];
  const wrn = WRN.exec(name);
  if (wrn) {
    const depth = Number(wrn[1]);
    const k = Number(wrn[2]);
    if (depth < 10 || (depth - 4) % 6 !== 0 || k < 1)
      throw new Error(`model '${name}': a Wide ResNet needs depth 6n + 4 (10, 16, 22, 28, ...) and a widening factor >= 1`);
    return wrnEntry(depth, k);
  }
  if (isTorchScriptPath(name)) {
    return {
      summary: `the TorchScript module in ${name}, with the weights saved in it`,
      source: 'torch.jit.save in PyTorch (torch.jit.script or torch.jit.trace)',
      inputs: 'what its forward takes; low-ts checks that it maps the images [N, C, H, W] to [N, classes]',
      create: (o) => loadTorchScript(name, { inputShape: o.inputShape, numClasses: o.numClasses }),
    };
  }
  const dn = DENSENET_BC.exec(name);
  if (dn) {
    const depth = Number(dn[1]);
    const k = Number(dn[2]);
    if (depth < 10 || (depth - 4) % 6 !== 0 || k < 1)
      throw new Error(`model '${name}': a DenseNet-BC needs depth 6L + 4 (40, 100, 190, ...) and a growth rate >= 1`);
    return densenetBCEntry(depth, k);
  }
  throw unknown(name);
}

/** True for the names createModel accepts (the fixed ones and the wrn-D-K / densenet-bc-D-K patterns). */
export function isModelName(name: string): boolean {
  return Object.hasOwn(ENTRIES, name) || WRN.test(name) || DENSENET_BC.test(name) || isTorchScriptPath(name);
}

/** True for the models with dropout layers (wrn-D-K, densenet-bc-D-K, densenet161, mlp): those that use CreateModelOptions.dropRate. */
export function modelHasDropout(name: string): boolean {
  return WRN.test(name) || DENSENET_BC.test(name) || name === 'densenet-bc' || name === 'densenet161' || name === 'mlp';
}

/**
 * What images of `shape` [C, H, W] lack for model `name`: the sizes it takes, or null when it
 * takes them. LeNet-5 pads to 32 x 32 and MLP flattens a square of inputSize^2 pixels; the
 * convolutional networks pool adaptively and take any size.
 */
export function unfitInputs(name: string, shape: readonly [number, number, number]): string | null {
  entry(name);
  const [, h, w] = shape;
  if (name === 'lenet5')
    return h === w && h % 2 === 0 && h <= 32 ? null : 'square images of an even size up to 32 x 32 pixels (28 x 28 as MNIST, or 32 x 32)';
  if (name === 'mlp') return h === w ? null : 'square images (any size)';
  return null;
}

/** A freshly initialised model by name. Unknown names throw an error listing the known ones. */
export function createModel(name: string, options: CreateModelOptions = {}): Module {
  if (options.head === 'cosine' && isTorchScriptPath(name))
    throw new RangeError(`model '${name}': a TorchScript model keeps its own classifier; the cosine head is for the built-in models`);
  const model = entry(name).create(options);
  if (options.head === 'cosine') classifierOf(model, name).makeCosine();
  return model;
}

/** The model's classifier: its last Linear layer (every model here ends in one). */
function classifierOf(model: Module, name: string): Linear {
  const linears = model.namedModules().filter(([, m]) => m instanceof Linear);
  const last = linears.at(-1)?.[1];
  if (!last) throw new RangeError(`model '${name}' has no Linear classifier to make a cosine one`);
  return last as Linear;
}

/** A few lines on the architecture, its source and its inputs (for `low models` and reports). */
export function describeModel(name: string): string {
  const e = entry(name);
  return `${name}: ${e.summary}\n  source: ${e.source}\n  input: ${e.inputs}`;
}
