// The models: parameter counts against formulas derived here (independently of the model code)
// and against the published figures; output shapes in train() and eval(); batch-norm running
// statistics; torchvision state-dict names; loadPretrained; the .pth converter end to end.
// Inputs are tiny (batch 1-2, 32x32 or 64x64) so the whole file runs in seconds on 2 cores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as torch from '../src/torch/index.js';
import { BatchNorm2d, Conv2d, Linear, Sequential, type Module } from '../src/nn/index.js';
import {
  DenseNet,
  DenseNet161,
  DenseNetBC,
  LeNet5,
  MLP,
  MODEL_NAMES,
  PretrainedLoadError,
  ResNet18,
  WideResNet,
  createModel,
  describeModel,
  isModelName,
  loadPretrained,
} from '../src/models/index.js';

torch.setNumThreads(1);
torch.manualSeed(0);

// ---------------------------------------------------------------------------------------------
// Parameter counts by formula. Notation: conv(i, o, k) = i*o*k*k (no bias), bn(c) = 2c (weight and
// bias; running statistics are buffers, not parameters), fc(i, o) = i*o + o.

const conv = (i: number, o: number, k: number): number => i * o * k * k;
const bn = (c: number): number => 2 * c;
const fc = (i: number, o: number): number => i * o + o;

/**
 * WRN-d-k, n = (d - 4) / 6 blocks per group, widths w0 = 16, w1 = 16k, w2 = 32k, w3 = 64k.
 * A block from a to b channels: bn(a) + conv(a, b, 3) + bn(b) + conv(b, b, 3), plus conv(a, b, 1)
 * for the shortcut when a != b. Group g: one block w(g-1) -> w(g), then n - 1 blocks w(g) -> w(g).
 * Total = conv(inC, 16, 3) + groups + bn(w3) + fc(w3, C).
 *
 * For WRN-28-2, C = 10 (n = 4, widths 16, 32, 64, 128):
 *   stem 432
 *   group 1: first 32 + 4,608 + 64 + 9,216 + 512 = 14,432; then 3 x 18,560 = 55,680  -> 70,112
 *   group 2: first 64 + 18,432 + 128 + 36,864 + 2,048 = 57,536; then 3 x 73,984       -> 279,488
 *   group 3: first 128 + 73,728 + 256 + 147,456 + 8,192 = 229,760; then 3 x 295,424  -> 1,116,032
 *   head: bn 256 + fc 1,290
 *   total 432 + 70,112 + 279,488 + 1,116,032 + 256 + 1,290 = 1,467,610
 * Published: "1.5M parameters" for WRN-28-2 (Oliver et al. 2018, "Realistic evaluation of deep
 * semi-supervised learning"; Sohn et al. 2020, FixMatch), i.e. 1.47 M rounded.
 */
function wrnParams(depth: number, k: number, classes: number, inC = 3): number {
  const n = (depth - 4) / 6;
  const w = [16, 16 * k, 32 * k, 64 * k];
  const block = (a: number, b: number): number => bn(a) + conv(a, b, 3) + bn(b) + conv(b, b, 3) + (a !== b ? conv(a, b, 1) : 0);
  let total = conv(inC, 16, 3);
  for (let g = 1; g <= 3; g++) total += block(w[g - 1]!, w[g]!) + (n - 1) * block(w[g]!, w[g]!);
  return total + bn(w[3]!) + fc(w[3]!, classes);
}

/**
 * DenseNet-BC-D-k for CIFAR, L = (D - 4) / 6 bottleneck layers per block, compression 1/2.
 * A layer with c inputs: bn(c) + conv(c, 4k, 1) + bn(4k) + conv(4k, k, 3) = 2c + 4kc + 8k + 36k^2.
 * Summed over a block entered with c0 channels (layer i sees c0 + ik):
 *   L(2 + 4k)c0 + (2 + 4k)k L(L-1)/2 + L(8k + 36k^2).
 * Transition c -> floor(c/2): bn(c) + conv(c, floor(c/2), 1). Stem conv(inC, 2k, 3); head bn(c) + fc(c, C).
 *
 * For D = 100, k = 12, C = 10 (L = 16): stem 648; block 1 (c0 24) 175,680 -> 216 channels;
 * transition 23,760 -> 108; block 2 242,880 -> 300; transition 45,600 -> 150; block 3 276,480
 * -> 342; head 684 + 3,430. Total 769,162.
 * Published: 0.8 M (Huang et al. 2017, Table 2, DenseNet-BC L=100 k=12). 0.769 M is the count of the
 * common PyTorch port (andreasveit/densenet-pytorch, DenseNet3(100, 10)), whose layers these are.
 */
function densenetBCParams(depth: number, k: number, classes: number, inC = 3): number {
  const L = (depth - 4) / 6;
  const blockParams = (c0: number): number => L * (2 + 4 * k) * c0 + ((2 + 4 * k) * k * L * (L - 1)) / 2 + L * (8 * k + 36 * k * k);
  let c = 2 * k;
  let total = conv(inC, c, 3);
  for (let b = 0; b < 3; b++) {
    total += blockParams(c);
    c += L * k;
    if (b < 2) {
      total += bn(c) + conv(c, Math.floor(c / 2), 1);
      c = Math.floor(c / 2);
    }
  }
  return total + bn(c) + fc(c, classes);
}

/**
 * torchvision's DenseNet (growth k, bn_size s, init features f, blocks B):
 * stem conv(inC, f, 7) + bn(f); a dense layer with c inputs: bn(c) + conv(c, s*k, 1) + bn(s*k) +
 * conv(s*k, k, 3); transitions c -> floor(c/2) after every block but the last; norm5 bn(c);
 * classifier fc(c, C).
 * densenet161 (k 48, s 4, f 96, B (6, 12, 36, 24)) ends with 2208 channels. Published:
 * 28,681,000 parameters (torchvision's model documentation, DenseNet161_Weights.IMAGENET1K_V1,
 * "num_params": 28681000).
 */
function torchvisionDenseNetParams(k: number, s: number, f: number, blocks: number[], classes: number, inC = 3): number {
  let total = conv(inC, f, 7) + bn(f);
  let c = f;
  blocks.forEach((layers, b) => {
    for (let i = 0; i < layers; i++) total += bn(c + i * k) + conv(c + i * k, s * k, 1) + bn(s * k) + conv(s * k, k, 3);
    c += layers * k;
    if (b < blocks.length - 1) {
      total += bn(c) + conv(c, Math.floor(c / 2), 1);
      c = Math.floor(c / 2);
    }
  });
  return total + bn(c) + fc(c, classes);
}

/**
 * ResNet-18: stem conv(inC, 64, 7) (CIFAR: conv(inC, 64, 3)) + bn(64); stage from a to b channels:
 * block(a, b) + block(b, b), block(a, b) = conv(a, b, 3) + bn(b) + conv(b, b, 3) + bn(b), plus the
 * downsample conv(a, b, 1) + bn(b) when a != b; fc(512, C).
 * Published: 11,689,512 for 1000 classes (torchvision's documentation, ResNet18_Weights.IMAGENET1K_V1).
 */
function resnet18Params(classes: number, cifar: boolean, inC = 3): number {
  const block = (a: number, b: number): number => conv(a, b, 3) + bn(b) + conv(b, b, 3) + bn(b) + (a !== b ? conv(a, b, 1) + bn(b) : 0);
  let total = conv(inC, 64, cifar ? 3 : 7) + bn(64);
  for (const [a, b] of [
    [64, 64],
    [64, 128],
    [128, 256],
    [256, 512],
  ] as const)
    total += block(a, b) + block(b, b);
  return total + fc(512, classes);
}

// ---------------------------------------------------------------------------------------------
// Helpers.

function snapshot(m: Module): Map<string, number[]> {
  return new Map(m.namedBuffers().map(([n, t]) => [n, t.toNumbers()]));
}
function changedBuffers(before: Map<string, number[]>, m: Module): string[] {
  const after = snapshot(m);
  return [...before.keys()].filter((n) => before.get(n)!.some((v, i) => v !== after.get(n)![i]));
}
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/**
 * Forward in train() then eval() on `x`, checking the output shape both times, that train mode
 * updates the running statistics of every BatchNorm2d (and num_batches_tracked), that eval mode
 * changes no buffer at all, and that eval output is deterministic.
 */
function checkTrainEval(model: Module, shape: number[], expected: number[]): void {
  torch.tidy(() => {
    const x = torch.randn(shape);
    const bnNames = model
      .namedModules()
      .filter(([, m]) => m instanceof BatchNorm2d)
      .map(([n]) => n);
    const before = snapshot(model);
    model.train();
    const yTrain = torch.noGrad(() => model.forward(x));
    assert.deepEqual(yTrain.shape, expected, 'train-mode output shape');
    assert.ok(yTrain.isfinite().all().item(), 'train-mode output finite');
    const changed = new Set(changedBuffers(before, model));
    for (const n of bnNames) {
      const p = n ? `${n}.` : '';
      for (const b of ['running_mean', 'running_var', 'num_batches_tracked'])
        assert.ok(changed.has(p + b), `train() forward should update ${p}${b}`);
    }
    model.eval();
    const frozen = snapshot(model);
    const y1 = torch.noGrad(() => model.forward(x));
    const y2 = torch.noGrad(() => model.forward(x));
    assert.deepEqual(y1.shape, expected, 'eval-mode output shape');
    assert.deepEqual(changedBuffers(frozen, model), [], 'eval() forward must not change any buffer');
    assert.equal(maxAbsDiff(y1.toFloat32Array(), y2.toFloat32Array()), 0, 'eval output is deterministic');
  });
}

const has = (m: Module, name: string): boolean => m.stateDict().has(name);
const shapeOf = (m: Module, name: string): number[] => {
  const t = m.stateDict().get(name);
  assert.ok(t, `${name} is in the state dict`);
  return t.shape;
};

// ---------------------------------------------------------------------------------------------
// Wide ResNet.

test('WRN-28-2: parameter count = formula = 1,467,610 (published: about 1.47 M)', () => {
  const m = new WideResNet({ depth: 28, widenFactor: 2, numClasses: 10 });
  const count = m.parameterCount();
  console.log(`  WRN-28-2, 10 classes: ${count.toLocaleString('en-US')} parameters`);
  assert.equal(wrnParams(28, 2, 10), 1_467_610);
  assert.equal(count, wrnParams(28, 2, 10));
  assert.equal(new WideResNet({ depth: 28, widenFactor: 2, numClasses: 100 }).parameterCount(), wrnParams(28, 2, 100));
  assert.equal(new WideResNet({ depth: 16, widenFactor: 1, numClasses: 10, inChannels: 1 }).parameterCount(), wrnParams(16, 1, 10, 1));
  m.dispose();
});

test('WRN-28-2: reference names (xternalz/WideResNet-pytorch), shortcut only where the width changes, init', () => {
  const m = new WideResNet({ depth: 28, widenFactor: 2 });
  assert.deepEqual(shapeOf(m, 'conv1.weight'), [16, 3, 3, 3]);
  assert.deepEqual(shapeOf(m, 'block1.layer.0.convShortcut.weight'), [32, 16, 1, 1]);
  assert.ok(!has(m, 'block1.layer.1.convShortcut.weight'));
  assert.deepEqual(shapeOf(m, 'block3.layer.3.conv2.weight'), [128, 128, 3, 3]);
  assert.deepEqual(shapeOf(m, 'bn1.running_var'), [128]);
  assert.deepEqual(shapeOf(m, 'fc.weight'), [10, 128]);
  assert.ok(!has(m, 'conv1.bias'), 'convolutions have no bias');
  // WRN-d-1: the first group keeps 16 channels, so no projection there.
  const narrow = new WideResNet({ depth: 10, widenFactor: 1 });
  assert.ok(!has(narrow, 'block1.layer.0.convShortcut.weight'));
  assert.ok(has(narrow, 'block2.layer.0.convShortcut.weight'));
  // kaiming normal, fan_out: std sqrt(2 / (9 * 128)) = 0.0417 for block3's 3x3 convolutions.
  const w = m.stateDict().get('block3.layer.1.conv1.weight')!.toNumbers();
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(Math.abs(std / Math.sqrt(2 / (9 * 128)) - 1) < 0.02, `std ${std}`);
  assert.deepEqual(new Set(m.fc.bias!.toNumbers()), new Set([0]));
  assert.throws(() => new WideResNet({ depth: 27 }), /6n \+ 4/);
  m.dispose();
  narrow.dispose();
});

test('WRN-28-2: forward [2, 3, 32, 32] -> [2, 10] in train and eval; BN statistics move only in train', () => {
  const m = new WideResNet({ depth: 28, widenFactor: 2, numClasses: 10 });
  checkTrainEval(m, [2, 3, 32, 32], [2, 10]);
  m.dispose();
});

test('WRN with dropout: train outputs vary, eval outputs do not; gradients reach every parameter', () => {
  const m = new WideResNet({ depth: 10, widenFactor: 1, dropRate: 0.3, numClasses: 5 });
  torch.tidy(() => {
    const x = torch.randn([2, 3, 16, 16]);
    m.train();
    const a = m.forward(x).toFloat32Array();
    const b = m.forward(x).toFloat32Array();
    assert.ok(maxAbsDiff(a, b) > 0, 'dropout active in train()');
    const loss = torch.F.crossEntropy(m.forward(x), torch.tensor(BigInt64Array.from([1n, 3n])));
    loss.backward();
    for (const [n, p] of m.namedParameters()) assert.ok(p.grad !== null && p.grad.abs().sum().item() > 0, `${n} has a gradient`);
    m.zeroGrad();
  });
  checkTrainEval(m, [2, 3, 16, 16], [2, 5]);
  m.dispose();
});

// ---------------------------------------------------------------------------------------------
// DenseNet-BC.

test('DenseNet-BC-100-12: parameter count = formula = 769,162 (published: 0.8 M; 0.769 M reference)', () => {
  const m = new DenseNetBC({ depth: 100, growthRate: 12, numClasses: 10 });
  const count = m.parameterCount();
  console.log(`  DenseNet-BC-100-12, 10 classes: ${count.toLocaleString('en-US')} parameters`);
  assert.equal(densenetBCParams(100, 12, 10), 769_162);
  assert.equal(count, densenetBCParams(100, 12, 10));
  assert.equal(m.numFeatures, 342);
  assert.equal(m.layersPerBlock, 16);
  assert.equal(new DenseNetBC({ numClasses: 100 }).parameterCount(), densenetBCParams(100, 12, 100));
  assert.equal(new DenseNetBC({ depth: 40, growthRate: 12, numClasses: 10 }).parameterCount(), densenetBCParams(40, 12, 10));
  // Names as in andreasveit/densenet-pytorch.
  assert.deepEqual(shapeOf(m, 'conv1.weight'), [24, 3, 3, 3]);
  assert.deepEqual(shapeOf(m, 'block1.layer.15.conv1.weight'), [48, 24 + 15 * 12, 1, 1]);
  assert.deepEqual(shapeOf(m, 'block1.layer.15.conv2.weight'), [12, 48, 3, 3]);
  assert.deepEqual(shapeOf(m, 'trans1.conv1.weight'), [108, 216, 1, 1]);
  assert.deepEqual(shapeOf(m, 'trans2.conv1.weight'), [150, 300, 1, 1]);
  assert.deepEqual(shapeOf(m, 'fc.weight'), [10, 342]);
  assert.throws(() => new DenseNetBC({ depth: 99 }), /6L \+ 4/);
  m.dispose();
});

test('DenseNet-BC-100-12: forward [2, 3, 32, 32] -> [2, 10] in train and eval; BN statistics', () => {
  const m = new DenseNetBC({ numClasses: 10 });
  checkTrainEval(m, [2, 3, 32, 32], [2, 10]);
  m.dispose();
});

// ---------------------------------------------------------------------------------------------
// DenseNet-161 (torchvision).

test('DenseNet-161: parameter count = formula = 28,681,000 (torchvision); torchvision state-dict names', () => {
  const m = new DenseNet161();
  const count = m.parameterCount();
  console.log(`  DenseNet-161, 1000 classes: ${count.toLocaleString('en-US')} parameters`);
  assert.equal(torchvisionDenseNetParams(48, 4, 96, [6, 12, 36, 24], 1000), 28_681_000);
  assert.equal(count, 28_681_000);
  assert.equal(m.numFeatures, 2208);
  const sd = m.stateDict();
  // 161 batch norms x 5 entries + 160 convolutions + classifier weight and bias.
  assert.equal(sd.size, 161 * 5 + 160 + 2);
  const expected: [string, number[]][] = [
    ['features.conv0.weight', [96, 3, 7, 7]],
    ['features.norm0.weight', [96]],
    ['features.norm0.running_mean', [96]],
    ['features.norm0.num_batches_tracked', []],
    ['features.denseblock1.denselayer1.norm1.weight', [96]],
    ['features.denseblock1.denselayer1.conv1.weight', [192, 96, 1, 1]],
    ['features.denseblock1.denselayer1.norm2.running_var', [192]],
    ['features.denseblock1.denselayer1.conv2.weight', [48, 192, 3, 3]],
    ['features.denseblock1.denselayer6.conv1.weight', [192, 96 + 5 * 48, 1, 1]],
    ['features.transition1.norm.weight', [384]],
    ['features.transition1.conv.weight', [192, 384, 1, 1]],
    ['features.denseblock3.denselayer36.conv2.weight', [48, 192, 3, 3]],
    ['features.transition3.conv.weight', [1056, 2112, 1, 1]],
    ['features.denseblock4.denselayer24.norm1.bias', [1056 + 23 * 48]],
    ['features.norm5.weight', [2208]],
    ['classifier.weight', [1000, 2208]],
    ['classifier.bias', [1000]],
  ];
  for (const [name, shape] of expected) assert.deepEqual(sd.get(name)?.shape, shape, name);
  for (const name of sd.keys()) {
    assert.match(
      name,
      new RegExp(
        '^(features\\.(conv0|norm0|norm5|transition[1-3]\\.(norm|conv)|' +
          'denseblock[1-4]\\.denselayer\\d+\\.(norm1|conv1|norm2|conv2))|classifier)' +
          '\\.(weight|bias|running_mean|running_var|num_batches_tracked)$',
      ),
    );
  }
  assert.deepEqual(new Set(m.classifier.bias!.toNumbers()), new Set([0]));

  // The paper's ISIC set-up: last layer replaced.
  const head = m.replaceClassifier(7);
  assert.deepEqual(head.weight.shape, [7, 2208]);
  assert.equal(m.numClasses, 7);
  assert.equal(m.parameterCount(), 28_681_000 - fc(2208, 1000) + fc(2208, 7));
  assert.equal(m.parameterCount(), torchvisionDenseNetParams(48, 4, 96, [6, 12, 36, 24], 7));
  assert.deepEqual(m.stateDict().get('classifier.weight')?.shape, [7, 2208]);

  // Fully convolutional with adaptive pooling: one eval pass at 64x64 (not 224x224).
  const y = torch.tidy(() => torch.noGrad(() => m.eval().forward(torch.randn([1, 3, 64, 64]))));
  assert.deepEqual(y.shape, [1, 7]);
  y.dispose();
  m.dispose();
});

test('torchvision DenseNet (tiny configuration): forward in train and eval; BN statistics; other configs', () => {
  const m = new DenseNet({ growthRate: 4, blockConfig: [2, 3], numInitFeatures: 8, bnSize: 2, numClasses: 3 });
  assert.equal(m.parameterCount(), torchvisionDenseNetParams(4, 2, 8, [2, 3], 3));
  checkTrainEval(m, [2, 3, 32, 32], [2, 3]);
  m.dispose();
  // densenet121's published count (torchvision documentation): 7,978,856.
  assert.equal(torchvisionDenseNetParams(32, 4, 64, [6, 12, 24, 16], 1000), 7_978_856);
});

test('DenseNet-161: one forward in train() at [2, 3, 32, 32] updates BN statistics', () => {
  const m = new DenseNet161({ numClasses: 3 });
  checkTrainEval(m, [2, 3, 32, 32], [2, 3]);
  m.dispose();
});

// ---------------------------------------------------------------------------------------------
// ResNet-18, MLP, LeNet-5.

test('ResNet-18: 11,689,512 parameters (torchvision) and the CIFAR variant; forward in train and eval', () => {
  const m = new ResNet18({ numClasses: 1000 });
  console.log(`  ResNet-18, 1000 classes: ${m.parameterCount().toLocaleString('en-US')} parameters`);
  assert.equal(resnet18Params(1000, false), 11_689_512);
  assert.equal(m.parameterCount(), 11_689_512);
  assert.deepEqual(shapeOf(m, 'layer2.0.downsample.0.weight'), [128, 64, 1, 1]);
  assert.deepEqual(shapeOf(m, 'layer2.0.downsample.1.running_mean'), [128]);
  assert.ok(!has(m, 'layer1.0.downsample.0.weight'));
  assert.deepEqual(shapeOf(m, 'fc.weight'), [1000, 512]);
  m.replaceClassifier(4);
  assert.equal(m.parameterCount(), resnet18Params(4, false));
  checkTrainEval(m, [2, 3, 32, 32], [2, 4]);
  m.dispose();

  const c = new ResNet18({ numClasses: 10, cifar: true });
  console.log(`  ResNet-18 CIFAR stem, 10 classes: ${c.parameterCount().toLocaleString('en-US')} parameters`);
  assert.equal(c.parameterCount(), resnet18Params(10, true));
  assert.deepEqual(shapeOf(c, 'conv1.weight'), [64, 3, 3, 3]);
  checkTrainEval(c, [2, 3, 32, 32], [2, 10]);
  c.dispose();
});

test('MLP: counts, names, dropout only in train()', () => {
  const m = new MLP({ inChannels: 1, inputSize: 28, hiddenSizes: [64, 32], dropRate: 0.5, numClasses: 10 });
  assert.equal(m.parameterCount(), fc(784, 64) + fc(64, 32) + fc(32, 10));
  assert.deepEqual(shapeOf(m, 'net.1.weight'), [64, 784]);
  assert.equal(new MLP({ hiddenSizes: [], inFeatures: 5, numClasses: 3 }).parameterCount(), fc(5, 3));
  torch.tidy(() => {
    const x = torch.randn([4, 1, 28, 28]);
    m.train();
    assert.deepEqual(m.forward(x).shape, [4, 10]);
    assert.ok(maxAbsDiff(m.forward(x).toFloat32Array(), m.forward(x).toFloat32Array()) > 0);
    m.eval();
    assert.equal(maxAbsDiff(m.forward(x).toFloat32Array(), m.forward(x).toFloat32Array()), 0);
  });
  m.dispose();
});

// ---------------------------------------------------------------------------------------------
// Registry.

test('registry: every name builds and runs; wrn-D-K and densenet-bc-D-K parse; unknown names list the known ones', () => {
  const inputs: Record<string, number[]> = { lenet5: [2, 1, 28, 28], mlp: [2, 1, 28, 28] };
  for (const name of MODEL_NAMES) {
    if (name === 'densenet161') continue; // built and run above
    const m = createModel(name, { numClasses: 3 });
    const y = torch.tidy(() => torch.noGrad(() => m.eval().forward(torch.randn(inputs[name] ?? [2, 3, 32, 32]))));
    assert.deepEqual(y.shape, [2, 3], name);
    assert.match(describeModel(name), new RegExp(`^${name}: .+\\n  source: .+\\n  input: .+`));
    m.dispose();
  }
  assert.ok(createModel('lenet5', { inputSize: 32, inChannels: 3 }) instanceof LeNet5);
  const wrn = createModel('wrn-16-4', { numClasses: 100 });
  assert.ok(wrn instanceof WideResNet);
  assert.equal(wrn.parameterCount(), wrnParams(16, 4, 100));
  assert.ok(createModel('wrn-28-2') instanceof WideResNet);
  assert.equal(createModel('densenet-bc-40-12').parameterCount(), densenetBCParams(40, 12, 10));
  assert.equal(createModel('densenet-bc', { numClasses: 100 }).parameterCount(), densenetBCParams(100, 12, 100));
  assert.ok(isModelName('wrn-40-4') && isModelName('densenet161') && !isModelName('vgg16'));
  assert.throws(
    () => createModel('vgg16'),
    (e: Error) => MODEL_NAMES.every((n) => e.message.includes(n)) && /unknown model 'vgg16'/.test(e.message),
  );
  assert.throws(() => createModel('wrn-27-2'), /6n \+ 4/);
  assert.throws(() => createModel('toString'), /unknown model/);
  assert.match(describeModel('wrn-40-4'), /WRN-40-4.*widths 16, 64, 128, 256/);
  assert.throws(() => describeModel('nope'), /known models are/);
});

// ---------------------------------------------------------------------------------------------
// loadPretrained, on files written here with low-ts's own saveTensors.

const tinyDenseNet = (numClasses: number): DenseNet =>
  new DenseNet({ growthRate: 4, blockConfig: [2, 2], numInitFeatures: 8, bnSize: 2, numClasses });

function values(m: Module): Map<string, number[]> {
  return new Map([...m.stateDict()].map(([n, t]) => [n, t.toNumbers()]));
}

const loadPretrainedTitle =
  'loadPretrained: exact fit loads everything; a replaced classifier is skipped; missing, unexpected and mismatched keys are clear errors';
test(loadPretrainedTitle, () => {
  const dir = mkdtempSync(join(tmpdir(), 'low-models-'));
  try {
    const source = tinyDenseNet(10);
    // Make every value distinctive (BN weights would otherwise all be 1 in both models).
    torch.noGrad(() => {
      for (const [n, t] of source.stateDict()) if (!n.endsWith('num_batches_tracked')) t.copy_(torch.randn(t.shape));
    });
    const file = join(dir, 'tiny.lowt');
    const state = source.stateDict();
    torch.saveTensors(file, state, { note: 'test' });
    const want = values(source);

    // 1. Same architecture: every entry copied.
    const same = tinyDenseNet(10);
    const r1 = loadPretrained(same, file);
    assert.equal(r1.loaded.length, state.size);
    assert.deepEqual(r1.skipped, []);
    assert.deepEqual(r1.metadata, { note: 'test' });
    assert.deepEqual(values(same), want);

    // 2. Replaced last layer (10 -> 3 classes): classifier skipped and left as initialised.
    const replaced = tinyDenseNet(3);
    const headBefore = replaced.classifier.weight.toNumbers();
    const r2 = loadPretrained(replaced, file);
    assert.deepEqual(r2.skipped.sort(), ['classifier.bias', 'classifier.weight']);
    assert.equal(r2.loaded.length, state.size - 2);
    assert.deepEqual(replaced.classifier.weight.toNumbers(), headBefore);
    const got = values(replaced);
    for (const [n, v] of want) if (!n.startsWith('classifier.')) assert.deepEqual(got.get(n), v, n);
    // ... unless told that nothing may be skipped.
    assert.throws(
      () => loadPretrained(tinyDenseNet(3), file, { classifier: null }),
      /classifier\.weight \[10, \d+\] in the file, \[3, \d+\] in the model/,
    );

    // 3. Missing key: error names it, nothing is copied.
    const partial = new Map(state);
    partial.delete('features.denseblock1.denselayer2.conv1.weight');
    const missingFile = join(dir, 'missing.lowt');
    torch.saveTensors(missingFile, partial);
    const victim = tinyDenseNet(10);
    const untouched = values(victim);
    assert.throws(
      () => loadPretrained(victim, missingFile),
      (e: unknown) =>
        e instanceof PretrainedLoadError &&
        e.missing.length === 1 &&
        e.missing[0] === 'features.denseblock1.denselayer2.conv1.weight' &&
        /1 missing from the file: features\.denseblock1\.denselayer2\.conv1\.weight/.test(e.message) &&
        e.message.includes(missingFile),
    );
    assert.deepEqual(values(victim), untouched, 'a failed load copies nothing');

    // 4. Unexpected key (old torchvision naming) with a hint.
    const old = new Map(state);
    old.set('features.denseblock1.denselayer1.norm.1.weight', old.get('features.denseblock1.denselayer1.norm1.weight')!);
    old.delete('features.denseblock1.denselayer1.norm1.weight');
    const oldFile = join(dir, 'old.lowt');
    torch.saveTensors(oldFile, old);
    assert.throws(
      () => loadPretrained(tinyDenseNet(10), oldFile),
      /not in the model: features\.denseblock1\.denselayer1\.norm\.1\.weight.*torchvision's old DenseNet names: load the original torch\.save file/s,
    );

    // 5. Shape mismatch outside the classifier: error, not skipped.
    const wider = new DenseNet({ growthRate: 4, blockConfig: [2, 2], numInitFeatures: 12, bnSize: 2, numClasses: 10 });
    assert.throws(() => loadPretrained(wider, file), /features\.conv0\.weight \[8, 3, 7, 7\] in the file, \[12, 3, 7, 7\] in the model/);

    // 6. Files without num_batches_tracked (saved before PyTorch 0.4.1) load, and say so.
    const noCounters = new Map([...state].filter(([n]) => !n.endsWith('num_batches_tracked')));
    const ncFile = join(dir, 'nocounters.lowt');
    torch.saveTensors(ncFile, noCounters);
    const r6 = loadPretrained(tinyDenseNet(10), ncFile);
    // norm0, 2 per dense layer x 4 layers, transition1.norm, norm5: 11 batch norms.
    assert.equal(r6.defaulted.length, 11);
    assert.ok(r6.defaulted.every((n) => n.endsWith('.num_batches_tracked')));
    assert.equal(r6.loaded.length, noCounters.size);

    // 7. Not a tensor file.
    writeFileSync(join(dir, 'junk.lowt'), 'hello');
    assert.throws(() => loadPretrained(tinyDenseNet(10), join(dir, 'junk.lowt')), /not a low-ts tensor file/);
    for (const m of [source, same, replaced, victim, wider]) m.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// torch.save files loaded directly, end to end with PyTorch (Debian's /usr/bin/python3 with python3-torch).

const PYTHON = '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const noTorch =
  probe.status === 0
    ? false
    : `${PYTHON} cannot import torch (apt-get install python3-torch): ` +
      `${(probe.error?.message ?? probe.stderr ?? '').trim().split('\n').pop()}`;

// Writes (1) a real torch.nn.Sequential(Conv2d, BatchNorm2d) state dict with random values and
// running statistics, plus an eval-mode output, and (2) a tiny torchvision-style DenseNet state dict
// with the old 'norm.1' key names and no num_batches_tracked, as torchvision's densenet161 .pth
// files have; the names and shapes come from the TypeScript model.
const GENERATE = String.raw`
import json, sys, torch
out, spec_file = sys.argv[1], sys.argv[2]
torch.manual_seed(1)
seq = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4))
with torch.no_grad():
    seq[1].weight.uniform_(0.5, 1.5); seq[1].bias.normal_()
    seq[1].running_mean.normal_(); seq[1].running_var.uniform_(0.5, 2.0)
    seq[1].num_batches_tracked.fill_(17)
seq.eval()
x = torch.randn(2, 3, 5, 5)
with torch.no_grad():
    y = seq(x)
torch.save(seq.state_dict(), out + '/seq.pth')
ref = {'seq': {k: v.flatten().tolist() for k, v in seq.state_dict().items()}, 'x': x.flatten().tolist(), 'y': y.flatten().tolist()}

import re
spec = json.load(open(spec_file))
state = {}
ref['densenet'] = {}
for name, shape in spec:
    if name.endswith('num_batches_tracked'):
        continue
    t = torch.randn(shape)
    ref['densenet'][name] = t.flatten().tolist()
    old = re.sub(r'(denselayer\d+\.(?:norm|conv))([12])\.', r'\1.\2.', name)
    state[old] = t
torch.save(state, out + '/densenet.pth')
json.dump(ref, open(out + '/ref.json', 'w'))
`;

test('loadPretrained of torch.save files: the same values and outputs, old DenseNet names renamed', { skip: noTorch }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'low-torch-save-'));
  try {
    const dense = tinyDenseNet(5);
    writeFileSync(join(dir, 'spec.json'), JSON.stringify([...dense.stateDict()].map(([n, t]) => [n, t.shape])));
    const gen = spawnSync(PYTHON, ['-c', GENERATE, dir, join(dir, 'spec.json')], { encoding: 'utf8' });
    assert.equal(gen.status, 0, `generator failed: ${gen.stderr}`);
    const ref = JSON.parse(readFileSync(join(dir, 'ref.json'), 'utf8')) as {
      seq: Record<string, number[]>;
      x: number[];
      y: number[];
      densenet: Record<string, number[]>;
    };

    // (1) A real PyTorch state dict: values exact, eval output equal to PyTorch's.
    const seq = new Sequential(new Conv2d(3, 4, 3, { padding: 1 }), new BatchNorm2d(4));
    const r1 = loadPretrained(seq, join(dir, 'seq.pth'));
    assert.equal(r1.loaded.length, 7);
    const got = values(seq);
    for (const [n, v] of Object.entries(ref.seq)) assert.ok(maxAbsDiff(got.get(n)!, v) === 0, `${n} differs`);
    assert.deepEqual(got.get('1.num_batches_tracked'), [17]);
    assert.equal(seq.stateDict().get('1.num_batches_tracked')!.dtype, 'int64');
    const y = torch.tidy(() =>
      torch.noGrad(() =>
        seq
          .eval()
          .forward(torch.tensor(Float32Array.from(ref.x), { shape: [2, 3, 5, 5] }))
          .toFloat32Array(),
      ),
    );
    assert.ok(maxAbsDiff(y, ref.y) < 1e-5, `eval output differs from PyTorch's by ${maxAbsDiff(y, ref.y)}`);
    assert.equal((r1.metadata as { format: string }).format, 'torch.save');

    // (2) torchvision's old DenseNet names renamed, missing counters tolerated, values exact.
    const r2 = loadPretrained(dense, join(dir, 'densenet.pth'));
    assert.ok(r2.defaulted.length > 0 && r2.defaulted.every((n) => n.endsWith('num_batches_tracked')));
    assert.ok((r2.metadata as { renamedOldDenseNetKeys: number }).renamedOldDenseNetKeys > 0);
    const dv = values(dense);
    for (const [n, v] of Object.entries(ref.densenet)) assert.equal(maxAbsDiff(dv.get(n)!, v), 0, `${n} differs`);
    assert.equal(Object.keys(ref.densenet).length, r2.loaded.length);
    seq.dispose();
    dense.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the cosine head (--head cosine, LDAM's normalised classifier): each logit is the cosine of the features and the class's weights", () => {
  torch.manualSeed(2);
  const layer = new Linear(4, 3);
  layer.makeCosine();
  assert.deepEqual(
    layer.namedParameters().map(([n]) => n),
    ['weight'],
    "no bias, as the authors' NormedLinear",
  );
  const x = [0.5, -1, 2, 0.25, 3, 0, -1, 1];
  const out = Array.from(layer.forward(torch.tensor(Float32Array.from(x), { shape: [2, 4] })).toFloat32Array());
  const w = Array.from(layer.weight.toFloat32Array());
  const norm = (v: number[]) => Math.sqrt(v.reduce((a, b) => a + b * b, 0));
  for (let n = 0; n < 2; n++) {
    for (let c = 0; c < 3; c++) {
      const xs = x.slice(n * 4, n * 4 + 4);
      const ws = w.slice(c * 4, c * 4 + 4);
      const cos = xs.reduce((a, v, i) => a + v * ws[i]!, 0) / (norm(xs) * norm(ws));
      assert.ok(Math.abs(out[n * 3 + c]! - cos) < 1e-6, `row ${n} class ${c}: ${out[n * 3 + c]} vs ${cos}`);
    }
  }
  // createModel makes the model's last Linear layer the cosine one; every other parameter starts as
  // under the linear head with the same seed (the bias is drawn, then dropped).
  torch.manualSeed(5);
  const model = createModel('lenet5', { head: 'cosine' });
  torch.manualSeed(5);
  const linear = createModel('lenet5', {});
  const cosineParams = new Map(model.namedParameters());
  const linearNames = linear.namedParameters().map(([n]) => n);
  assert.deepEqual(
    [...cosineParams.keys()],
    linearNames.filter((n) => n !== 'fc3.bias'),
  );
  for (const [n, p] of linear.namedParameters()) {
    if (n === 'fc3.bias') continue;
    assert.deepEqual(Array.from(cosineParams.get(n)!.toFloat32Array()), Array.from(p.toFloat32Array()), `${n} starts the same`);
  }
  const logits = torch.noGrad(() => model.forward(torch.randn([3, 1, 28, 28])).toFloat32Array());
  assert.ok(
    logits.every((v) => v >= -1 - 1e-6 && v <= 1 + 1e-6),
    'logits are cosines',
  );
  model.dispose();
  linear.dispose();
});
