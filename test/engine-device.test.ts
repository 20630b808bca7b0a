// Devices: names checked with messages that say what is available; the default device that new
// tensors go to; Module.to moving (here: converting) parameters in place, so an optimizer made
// before keeps training them; and, where libtorch has CUDA and a GPU is present, a run on the GPU
// against the same run on the CPU (skipped here otherwise, with the reason).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { LeNet5 } from '../src/models/lenet5.js';
import { SGD } from '../src/optim/index.js';
import { rankDevice } from '../src/distributed/process-group.js';

torch.setNumThreads(1);
const hasCuda = torch.cuda.isAvailable() && torch.cuda.deviceCount() > 0;

test('device names: cpu; cuda and cuda:N only with a CUDA libtorch and that many GPUs; anything else refused, naming the option', () => {
  assert.equal(torch.checkDevice('cpu'), 'cpu');
  assert.throws(() => torch.checkDevice('gpu', '--device'), /--device: 'gpu' is not a device, expected cpu, cuda or cuda:N/);
  assert.throws(() => torch.checkDevice('cuda:x', '--device'), /'cuda:x' is not a device/);
  assert.throws(() => torch.checkDevice('CPU', '--device'), /'CPU' is not a device/);
  assert.throws(() => torch.checkDevice(3 as unknown as string), TypeError);
  if (hasCuda) {
    assert.equal(torch.checkDevice('cuda:0'), 'cuda:0');
    const n = torch.cuda.deviceCount();
    assert.throws(() => torch.checkDevice(`cuda:${n}`, '--device'), new RegExp(`names GPU ${n}, but this machine has ${n}`));
  } else {
    for (const name of ['cuda', 'cuda:0'])
      assert.throws(() => torch.checkDevice(name, '--device'), /--device: .* asks for a GPU, but this libtorch .*LIBTORCH=/);
  }
});

test('the default device: where new tensors go unless their options say otherwise; restored by onDevice', () => {
  assert.equal(torch.defaultDevice(), 'cpu');
  assert.equal(torch.zeros([2]).device, 'cpu');
  assert.equal(torch.tensor([1, 2]).device, 'cpu');
  assert.throws(() => torch.setDefaultDevice('tpu'), /'tpu' is not a device/);
  assert.equal(torch.defaultDevice(), 'cpu', 'a refused device leaves the default as it was');
  const inside = torch.onDevice('cpu', () => torch.defaultDevice());
  assert.equal(inside, 'cpu');
  assert.throws(
    () =>
      torch.onDevice('cpu', () => {
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(torch.defaultDevice(), 'cpu');
  if (hasCuda) {
    const t = torch.onDevice('cuda:0', () => [torch.zeros([2]), torch.tensor([1, 2]), torch.randn([2]), torch.randint(0, 3, [2])]);
    for (const x of t) assert.equal(x.device, 'cuda:0');
    assert.equal(torch.defaultDevice(), 'cpu');
  }
});

test('Module.to converts parameters and buffers in place: the same tensors, so an optimizer made before trains them', () => {
  torch.manualSeed(0);
  const model = new LeNet5();
  const params = model.parameters();
  const optimizer = new SGD(params, { lr: 0.1, momentum: 0.9 });
  const x = torch.randn([8, 1, 28, 28], { dtype: 'float64' });
  const y = torch.randint(0, 10, [8]);
  torch.tidy(() => torch.F.crossEntropy(model.forward(x.float()), y).backward());
  assert.ok(params[0]!.grad, 'a gradient before the conversion');
  model.to({ dtype: 'float64' });
  assert.deepEqual(
    model.parameters().map((p, i) => p === params[i]),
    params.map(() => true),
    'the same tensor objects',
  );
  for (const p of params) {
    assert.equal(p.dtype, 'float64');
    assert.equal(p.requiresGrad, true);
    assert.equal(p.grad, null, 'gradients are dropped (they were of the old dtype)');
  }
  const before = params.map((p) => p.toFloat64Array());
  const lossOf = () => torch.tidy(() => torch.F.crossEntropy(model.forward(x), y).item());
  const first = lossOf();
  for (let i = 0; i < 5; i++)
    torch.tidy(() => {
      optimizer.zeroGrad();
      torch.F.crossEntropy(model.forward(x), y).backward();
      optimizer.step();
    });
  assert.ok(
    params.every((p, i) => p.toFloat64Array().some((v, k) => v !== before[i]![k])),
    'every parameter moved',
  );
  assert.ok(lossOf() < first, 'the optimizer made before the conversion trains the model');
  assert.equal(model.device, 'cpu');
  assert.equal(model.to('cpu'), model, 'to the device it is on: nothing to do');
  assert.throws(() => model.to('gpu'), /'gpu' is not a device/);
});

test("under torchrun, --device cuda is each process's own GPU (cuda:LOCAL_RANK); other names stay", () => {
  assert.equal(rankDevice('cuda', { LOCAL_RANK: '3' }), 'cuda:3');
  assert.equal(rankDevice('cuda', {}), 'cuda');
  assert.equal(rankDevice('cuda:1', { LOCAL_RANK: '3' }), 'cuda:1');
  assert.equal(rankDevice('cpu', { LOCAL_RANK: '3' }), 'cpu');
});

const hasFashionMnist = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
const CLI = [...process.execArgv, join(import.meta.dirname, '..', 'src', 'cli', 'main.ts')];

test('low train --device cpu trains exactly the run without --device', {
  skip: !hasFashionMnist && 'dataset-fashion-mnist is not installed',
}, () => {
  const root = mkdtempSync(join(tmpdir(), 'low-device-'));
  try {
    const args = [
      'train',
      '--train-limit',
      '300',
      '--test-limit',
      '100',
      '--epochs',
      '1',
      '--batch-size',
      '100',
      '--threads',
      '1',
      '--quiet',
    ];
    const run = (extra: string[], out: string) => {
      const r = spawnSync(process.execPath, [...CLI, ...args, ...extra, '--out', join(root, out)], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      const { tensors } = torch.loadTensors(join(root, out, 'checkpoint.lowt'));
      return new Map([...tensors].filter(([k]) => k.startsWith('model.')).map(([k, t]) => [k, t.toFloat32Array()]));
    };
    assert.deepEqual(run(['--device', 'cpu'], 'cpu'), run([], 'default'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('on a GPU: a run on cuda starts from the CPU run’s weights and ends near it; checkpoints resume on either device', {
  skip:
    (!hasCuda && 'this libtorch has no CUDA or sees no GPU (build against a CUDA libtorch on a GPU machine)') ||
    (!hasFashionMnist && 'dataset-fashion-mnist is not installed'),
}, () => {
  const root = mkdtempSync(join(tmpdir(), 'low-device-gpu-'));
  try {
    const args = ['train', '--train-limit', '600', '--test-limit', '200', '--batch-size', '100', '--threads', '1', '--quiet'];
    const low = (extra: string[]) => {
      const r = spawnSync(process.execPath, [...CLI, ...args, ...extra], { encoding: 'utf8', timeout: 300_000 });
      assert.equal(r.status, 0, r.stderr);
    };
    const parameters = (out: string) => {
      const { tensors } = torch.loadTensors(join(root, out, 'checkpoint.lowt'));
      return new Map([...tensors].filter(([k]) => k.startsWith('model.')).map(([k, t]) => [k, t.toFloat32Array()]));
    };
    const gap = (a: Map<string, Float32Array>, b: Map<string, Float32Array>) => {
      let worst = 0;
      for (const [k, x] of a) x.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b.get(k)![i]!))));
      return worst;
    };
    for (const strategy of ['normal', 'low:lambda=0.1', 'focal']) {
      const tag = strategy.replace(/[:=,.]/g, '_');
      low(['--strategy', strategy, '--epochs', '2', '--out', join(root, `${tag}-cpu`)]);
      low(['--strategy', strategy, '--epochs', '2', '--device', 'cuda', '--out', join(root, `${tag}-cuda`)]);
      // Different kernels, different rounding: near, not equal.
      assert.ok(gap(parameters(`${tag}-cpu`), parameters(`${tag}-cuda`)) < 1e-3, `${strategy}: cuda and cpu runs apart`);
    }
    // A run trained one epoch on the GPU resumes on the CPU (and back) to the run trained in one go on the GPU.
    low(['--epochs', '1', '--device', 'cuda', '--out', join(root, 'moved')]);
    low(['--epochs', '2', '--device', 'cpu', '--out', join(root, 'moved')]);
    low(['--epochs', '3', '--device', 'cuda', '--out', join(root, 'moved')]);
    low(['--epochs', '3', '--device', 'cuda', '--out', join(root, 'stay')]);
    assert.ok(gap(parameters('moved'), parameters('stay')) < 1e-3);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
