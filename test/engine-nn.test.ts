// Modules, LeNet-5, state dicts and files, dropout modes, SGD and schedules, against references
// computed by hand in JS (and, where Debian's python3 has torch, against PyTorch itself).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as torch from '../src/torch/index.js';
import { type Tensor, TensorFileError } from '../src/torch/index.js';
import { Dropout, Linear, ReLU, Sequential } from '../src/nn/index.js';
import { SGD, cosineLr, multiStepLr } from '../src/optim/index.js';
import { LeNet5 } from '../src/models/lenet5.js';
import { assertAllClose, assertClose, conv2dJs, linearJs, pool2dJs, reluJs, uniform, type Nd } from './engine-helpers.js';

// Small tensors: one intra-op thread is faster on a shared machine and deterministic.
torch.setNumThreads(1);

const PARAM_NAMES = [
  'conv1.weight',
  'conv1.bias',
  'conv2.weight',
  'conv2.bias',
  'fc1.weight',
  'fc1.bias',
  'fc2.weight',
  'fc2.bias',
  'fc3.weight',
  'fc3.bias',
];
const PARAM_SHAPES = [[6, 1, 5, 5], [6], [16, 6, 5, 5], [16], [120, 400], [120], [84, 120], [84], [10, 84], [10]];

/** A fixed input batch [2, 1, 28, 28] in [0, 1), rounded to float32. */
const INPUT: Nd = { values: uniform(2 * 28 * 28, 2024, 0, 1).map(Math.fround), shape: [2, 1, 28, 28] };
const inputTensor = (): Tensor => torch.tensor(Float32Array.from(INPUT.values), { shape: INPUT.shape });

const weightsOf = (m: LeNet5): Map<string, number[]> => new Map(m.namedParameters().map(([n, p]) => [n, p.toNumbers()]));

/** LeNet-5's forward pass in plain-JS float64 loops, from the weights' values. */
function lenetJs(w: Map<string, number[]>, x: Nd): number[] {
  const W = (name: string, shape: number[]): Nd => ({ values: w.get(name)!, shape });
  let h = conv2dJs(x, W('conv1.weight', [6, 1, 5, 5]), w.get('conv1.bias')!, { padding: [2, 2] });
  h = pool2dJs(reluJs(h), 'max', [2, 2], [2, 2]);
  h = conv2dJs(h, W('conv2.weight', [16, 6, 5, 5]), w.get('conv2.bias')!);
  h = pool2dJs(reluJs(h), 'max', [2, 2], [2, 2]);
  assert.deepEqual(h.shape, [2, 16, 5, 5]);
  h = { values: h.values, shape: [2, 400] }; // flatten(1) of a row-major [2, 16, 5, 5]
  h = reluJs(linearJs(h, W('fc1.weight', [120, 400]), w.get('fc1.bias')!));
  h = reluJs(linearJs(h, W('fc2.weight', [84, 120]), w.get('fc2.bias')!));
  return linearJs(h, W('fc3.weight', [10, 84]), w.get('fc3.bias')!).values;
}

test('LeNet5 forward matches the same network computed by hand in JS', () => {
  torch.manualSeed(0);
  const net = new LeNet5();
  torch.tidy(() => {
    const out = net.forward(inputTensor());
    assert.deepEqual(out.shape, [2, 10]);
    assert.equal(out.dtype, 'float32');
    const ref = lenetJs(weightsOf(net), INPUT);
    assertAllClose(out.toNumbers(), ref, { atol: 1e-4, what: 'LeNet5 logits' });
    // Not a degenerate comparison.
    assert.ok(ref.some((v) => Math.abs(v) > 1e-2));
  });
  net.dispose();
});

test('LeNet5 initial weights follow PyTorch default init bounds U(-1/sqrt(fan_in), 1/sqrt(fan_in))', () => {
  torch.manualSeed(0);
  const net = new LeNet5();
  const fanIn: Record<string, number> = { conv1: 25, conv2: 150, fc1: 400, fc2: 120, fc3: 84 };
  for (const [name, values] of weightsOf(net)) {
    const bound = 1 / Math.sqrt(fanIn[name.split('.')[0]!]!);
    const max = Math.max(...values.map(Math.abs));
    assert.ok(max <= bound, `${name}: max |w| ${max} > ${bound}`);
    if (values.length >= 100) assert.ok(max > 0.9 * bound, `${name}: max |w| ${max} should come near ${bound}`);
  }
  // Same seed, same weights; another seed, other weights.
  torch.manualSeed(0);
  const again = new LeNet5();
  torch.manualSeed(1);
  const other = new LeNet5();
  assert.deepEqual(weightsOf(again), weightsOf(net));
  assert.notDeepEqual(weightsOf(other).get('conv1.weight'), weightsOf(net).get('conv1.weight'));
  for (const m of [net, again, other]) m.dispose();
});

const PYTORCH_SCRIPT = `
import sys, json
import torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1)
torch.manual_seed(0)
conv1 = nn.Conv2d(1, 6, 5, padding=2)
conv2 = nn.Conv2d(6, 16, 5)
fc1 = nn.Linear(400, 120)
fc2 = nn.Linear(120, 84)
fc3 = nn.Linear(84, 10)
x = torch.tensor(json.load(sys.stdin), dtype=torch.float32).reshape(2, 1, 28, 28)
with torch.no_grad():
    h = F.max_pool2d(F.relu(conv1(x)), 2)
    h = F.max_pool2d(F.relu(conv2(h)), 2)
    h = h.flatten(1)
    h = F.relu(fc1(h))
    h = F.relu(fc2(h))
    out = fc3(h)
params = {}
for name, m in [('conv1', conv1), ('conv2', conv2), ('fc1', fc1), ('fc2', fc2), ('fc3', fc3)]:
    params[name + '.weight'] = m.weight.detach().flatten().tolist()
    params[name + '.bias'] = m.bias.detach().flatten().tolist()
print(json.dumps({'version': torch.__version__, 'params': params, 'out': out.flatten().tolist()}))
`;

function pythonHasTorch(): boolean {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0;
}

test('LeNet5 after manualSeed(0) equals PyTorch LeNet-5 after torch.manual_seed(0) (weights and output)', (t) => {
  if (!pythonHasTorch()) {
    t.skip('/usr/bin/python3 cannot import torch');
    return;
  }
  const r = spawnSync('/usr/bin/python3', ['-c', PYTORCH_SCRIPT], {
    input: JSON.stringify(INPUT.values),
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, `python3 failed: ${r.stderr}`);
  const py = JSON.parse(r.stdout) as { version: string; params: Record<string, number[]>; out: number[] };
  t.diagnostic(`PyTorch ${py.version}`);

  torch.manualSeed(0);
  const net = new LeNet5();
  const ours = weightsOf(net);
  assert.deepEqual(Object.keys(py.params), PARAM_NAMES);
  for (const name of PARAM_NAMES) {
    // Both draw uniform_ from the same seeded CPU generator in the same order: bit-identical.
    assert.deepEqual(ours.get(name), py.params[name], `${name} differs from PyTorch's`);
  }
  torch.tidy(() => {
    const out = net.forward(inputTensor()).toNumbers();
    assertAllClose(out, py.out, { atol: 1e-5, what: 'LeNet5 output vs PyTorch' });
  });
  net.dispose();
});

test('Module: parameter names, shapes and count of LeNet5', () => {
  torch.manualSeed(0);
  const net = new LeNet5();
  const named = net.namedParameters();
  assert.deepEqual(
    named.map(([n]) => n),
    PARAM_NAMES,
  );
  assert.deepEqual(
    named.map(([, p]) => p.shape),
    PARAM_SHAPES,
  );
  assert.ok(net.parameters().every((p) => p.requiresGrad && p.isLeaf && p.dtype === 'float32'));
  // 6*1*25+6 + 16*6*25+16 + 400*120+120 + 120*84+84 + 84*10+10
  assert.equal(net.parameterCount(), 156 + 2416 + 48120 + 10164 + 850);
  assert.equal(net.parameterCount(), 61706);
  assert.deepEqual(
    net.namedModules().map(([n]) => n),
    ['', 'conv1', 'conv2', 'fc1', 'fc2', 'fc3'],
  );
  // Sequential names children by position.
  const seq = new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2));
  assert.deepEqual(
    seq.namedParameters().map(([n]) => n),
    ['0.weight', '0.bias', '2.weight', '2.bias'],
  );
  assert.equal(seq.parameterCount(), 3 * 4 + 4 + 4 * 2 + 2);
  net.dispose();
  seq.dispose();
});

test('Module: stateDict/loadStateDict round trip, save/load to a file give identical outputs', () => {
  torch.manualSeed(0);
  const a = new LeNet5();
  torch.manualSeed(1);
  const b = new LeNet5();
  torch.manualSeed(2);
  const c = new LeNet5();
  const dir = mkdtempSync(join(tmpdir(), 'low-ts-nn-'));
  try {
    torch.tidy(() => {
      const x = inputTensor();
      const ya = a.forward(x).toNumbers();
      assert.notDeepEqual(b.forward(x).toNumbers(), ya);

      b.loadStateDict(a.stateDict());
      assert.deepEqual(weightsOf(b), weightsOf(a));
      assert.deepEqual(b.forward(x).toNumbers(), ya);
      // The copies are independent: changing a afterwards leaves b alone.
      const saved = a.fc3.bias!.clone();
      torch.noGrad(() => a.fc3.bias!.add_(1));
      assert.notDeepEqual(weightsOf(b).get('fc3.bias'), weightsOf(a).get('fc3.bias'));
      torch.noGrad(() => a.fc3.bias!.copy_(saved));

      const file = join(dir, 'lenet.lowt');
      a.save(file, { note: 'test' });
      c.load(file);
      assert.deepEqual(weightsOf(c), weightsOf(a));
      assert.deepEqual(c.forward(x).toNumbers(), ya);
      const { tensors, metadata } = torch.loadTensors(file);
      assert.deepEqual(metadata, { note: 'test' });
      assert.deepEqual([...tensors.keys()], PARAM_NAMES);
      assert.deepEqual(
        [...tensors.values()].map((t) => t.shape),
        PARAM_SHAPES,
      );
    });

    // Tensors of every stored dtype survive a file round trip.
    const file2 = join(dir, 'mixed.lowt');
    torch.tidy(() => {
      const original = {
        f32: torch.tensor([1.5, -2], { dtype: 'float32' }),
        f64: torch.tensor([0.1, 1e-300], { dtype: 'float64' }),
        i64: torch.tensor([2 ** 40 + 1, -7], { dtype: 'int64' }),
        i32: torch.tensor(
          [
            [1, 2],
            [3, 4],
          ],
          { dtype: 'int32' },
        ),
        u8: torch.tensor([0, 255], { dtype: 'uint8' }),
        b: torch.tensor([true, false, true], { dtype: 'bool' }),
        scalar: torch.scalar(3, { dtype: 'int64' }),
      };
      torch.saveTensors(file2, original);
      const { tensors } = torch.loadTensors(file2);
      for (const [name, t] of Object.entries(original)) {
        const back = tensors.get(name)!;
        assert.equal(back.dtype, t.dtype, name);
        assert.deepEqual(back.shape, t.shape, name);
        assert.deepEqual(back.toNumbers(), t.toNumbers(), name);
      }
    });

    // Arrays in JavaScript memory are written as tensors of their dtype and shape, without passing
    // through libtorch; a view (subarray) writes only its own elements.
    const file3 = join(dir, 'host.lowt');
    const rows = Float32Array.from([1, 2, 3, 4, 5, 6, NaN, NaN, NaN]);
    torch.saveTensors(file3, {
      rows: { dtype: 'float32', shape: [2, 3], data: rows.subarray(0, 6) },
      sums: { dtype: 'float64', shape: [2], data: Float64Array.from([0.1, 1e-300]) },
      counts: { dtype: 'int32', shape: [3], data: Int32Array.from([7, 0, -1]) },
      bytes: { dtype: 'uint8', shape: [2], data: Uint8Array.from([0, 255]) },
      t: torch.tensor([9, 8], { dtype: 'int64' }),
    });
    const back = torch.loadTensors(file3).tensors;
    assert.deepEqual(back.get('rows')!.shape, [2, 3]);
    assert.deepEqual(back.get('rows')!.toNumbers(), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(back.get('sums')!.toNumbers(), [0.1, 1e-300]);
    assert.equal(back.get('counts')!.dtype, 'int32');
    assert.deepEqual(back.get('counts')!.toNumbers(), [7, 0, -1]);
    assert.deepEqual(back.get('bytes')!.toNumbers(), [0, 255]);
    assert.deepEqual(back.get('t')!.toNumbers(), [9, 8]);
    for (const t of back.values()) t.dispose();
    // An array that does not fit its dtype or shape is refused, naming the entry; no file is written.
    const file4 = join(dir, 'bad.lowt');
    assert.throws(
      () => torch.saveTensors(file4, { w: { dtype: 'float32', shape: [2, 3], data: new Float32Array(5) } }),
      /'w' holds a Float32Array of 5 elements; dtype float32 and shape \[2, 3\] need 6/,
    );
    assert.throws(
      () => torch.saveTensors(file4, { w: { dtype: 'float64', shape: [2], data: new Float32Array(2) } }),
      /'w' holds a Float32Array/,
    );
    assert.throws(() => readFileSync(file4), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    for (const m of [a, b, c]) m.dispose();
  }
});

test('Module: loadStateDict refuses a wrong shape, a missing key and an unexpected key, naming them', () => {
  torch.manualSeed(0);
  const net = new LeNet5();
  const before = weightsOf(net);
  torch.tidy(() => {
    const state = new Map(net.stateDict());
    state.set('fc3.weight', torch.zeros([5, 84]));
    assert.throws(() => net.loadStateDict(state), /'fc3\.weight' has shape \[5x84\].*expects \[10x84\]/);

    const missing = new Map(net.stateDict());
    missing.delete('conv2.bias');
    assert.throws(() => net.loadStateDict(missing), /missing keys: conv2\.bias/);

    const extra = new Map(net.stateDict());
    extra.set('fc4.weight', torch.zeros([1]));
    assert.throws(() => net.loadStateDict(extra), /unexpected keys: fc4\.weight/);
    // Non-strict loading ignores the extra key.
    net.loadStateDict(extra, false);
  });
  assert.deepEqual(weightsOf(net), before);
  net.dispose();
});

test('loading a truncated or garbage file throws TensorFileError naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'low-ts-bad-'));
  torch.manualSeed(0);
  const net = new LeNet5();
  try {
    const good = join(dir, 'good.lowt');
    net.save(good);
    const bytes = readFileSync(good);
    const cases: [string, Buffer, RegExp][] = [
      ['truncated-data.lowt', bytes.subarray(0, bytes.length - 20), /truncated: tensor 'fc3\.bias'/],
      ['truncated-header.lowt', bytes.subarray(0, 40), /truncated: header/],
      ['short.lowt', bytes.subarray(0, 6), /not a low-ts tensor file/],
      ['garbage.lowt', Buffer.from(uniform(4096, 5, 0, 256).map(Math.floor)), /not a low-ts tensor file/],
      ['empty.lowt', Buffer.alloc(0), /not a low-ts tensor file/],
    ];
    // A file with the right magic but a header that is not JSON.
    const badJson = Buffer.alloc(12 + 8);
    badJson.write('LOWT', 0, 'latin1');
    badJson.writeUInt32LE(1, 4);
    badJson.writeUInt32LE(8, 8);
    badJson.write('{not json', 12, 'latin1');
    cases.push(['bad-header.lowt', badJson, /corrupt header/]);
    for (const [name, content, problem] of cases) {
      const file = join(dir, name);
      writeFileSync(file, content);
      for (const load of [() => torch.loadTensors(file), () => net.load(file)]) {
        assert.throws(load, (e: unknown) => {
          assert.ok(e instanceof TensorFileError, `${name}: expected a TensorFileError, got ${String(e)}`);
          assert.equal(e.file, file);
          assert.ok(e.message.includes(file), `${name}: message names the file: ${e.message}`);
          assert.match(e.message, problem);
          return true;
        });
      }
    }
    const absent = join(dir, 'absent.lowt');
    assert.throws(
      () => torch.loadTensors(absent),
      (e: unknown) => e instanceof TensorFileError && e.message.includes(absent) && /cannot read/.test(e.message),
    );
    // The failed loads left the model as it was.
    const after = new LeNet5();
    after.load(good);
    assert.deepEqual(weightsOf(after), weightsOf(net));
    after.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    net.dispose();
  }
});

test('train()/eval() switch dropout on and off throughout the module tree', () => {
  const drop = new Dropout(0.5);
  const model = new Sequential(new Linear(4, 4), new Sequential(drop));
  assert.ok(model.namedModules().every(([, m]) => m.training));
  torch.manualSeed(11);
  torch.tidy(() => {
    const x = torch.ones([2000]);
    const y = drop.forward(x).toNumbers();
    // Kept values are scaled by 1 / (1 - p) = 2.
    assert.ok(
      y.every((v) => v === 0 || v === 2),
      'dropout outputs are 0 or 2',
    );
    const zeros = y.filter((v) => v === 0).length;
    assert.ok(zeros > 900 && zeros < 1100, `about half dropped, got ${zeros}`);
    model.eval();
    assert.ok(model.namedModules().every(([, m]) => !m.training));
    assert.deepEqual(
      drop.forward(x).toNumbers(),
      y.map(() => 1),
    );
    model.train();
    assert.ok(drop.training);
    assert.ok(
      drop
        .forward(x)
        .toNumbers()
        .some((v) => v === 0),
    );
    // The functional form with training = false is the identity.
    assert.deepEqual(
      torch.F.dropout(x, 0.5, false).toNumbers(),
      y.map(() => 1),
    );
  });
  model.dispose();
});

// ---- SGD --------------------------------------------------------------------------------------

/** torch.optim.SGD's documented update, in plain JS over arrays. */
function sgdJs(
  p: number[],
  grads: number[][],
  lrs: number[],
  o: { momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean },
): number[] {
  const mu = o.momentum ?? 0;
  const damp = o.dampening ?? 0;
  const wd = o.weightDecay ?? 0;
  let x = p.slice();
  let buf: number[] | null = null;
  grads.forEach((grad, step) => {
    let g = grad.map((v, i) => v + wd * x[i]!);
    if (mu !== 0) {
      const prev = buf;
      buf = prev === null ? g.slice() : prev.map((b, i) => mu * b + (1 - damp) * g[i]!);
      const b = buf;
      g = o.nesterov ? g.map((v, i) => v + mu * b[i]!) : b.slice();
    }
    x = x.map((v, i) => v - lrs[step]! * g[i]!);
  });
  return x;
}

test('SGD: one and two steps with momentum, dampening, Nesterov and weight decay match the update formula', () => {
  // Worked by hand: p = 1, lr = 0.1, weight decay 0.01, momentum 0.9, grads 0.5 then 0.2.
  //   step 1: g = 0.5 + 0.01 = 0.51, buf = 0.51, p = 1 - 0.051 = 0.949
  //   step 2: g = 0.2 + 0.00949 = 0.20949, buf = 0.9 * 0.51 + 0.20949 = 0.66849, p = 0.949 - 0.066849 = 0.882151
  // Nesterov: step 1 g' = 0.51 + 0.9 * 0.51 = 0.969, p = 0.9031;
  //   step 2: g = 0.2 + 0.009031 = 0.209031, buf = 0.459 + 0.209031 = 0.668031,
  //   g' = 0.209031 + 0.9 * 0.668031 = 0.8102589, p = 0.9031 - 0.08102589 = 0.82207411
  const hand: [{ momentum: number; weightDecay: number; nesterov?: boolean }, number, number][] = [
    [{ momentum: 0.9, weightDecay: 0.01 }, 0.949, 0.882151],
    [{ momentum: 0.9, weightDecay: 0.01, nesterov: true }, 0.9031, 0.82207411],
  ];
  for (const [o, after1, after2] of hand) {
    const p = torch.tensor([1], { dtype: 'float64', requiresGrad: true });
    const opt = new SGD([p], { lr: 0.1, ...o });
    p.grad = torch.tensor([0.5], { dtype: 'float64' });
    opt.step();
    assertClose(p.item(), after1, 1e-12, `step 1 ${JSON.stringify(o)}`);
    p.grad = torch.tensor([0.2], { dtype: 'float64' });
    opt.step();
    assertClose(p.item(), after2, 1e-12, `step 2 ${JSON.stringify(o)}`);
    p.dispose();
  }

  // Vectors, with the lr changed between the steps, against the JS formula.
  const p0 = uniform(6, 91);
  const grads = [uniform(6, 92), uniform(6, 93), uniform(6, 94)];
  const lrs = [0.1, 0.05, 0.05];
  const configs = [
    {},
    { weightDecay: 0.1 },
    { momentum: 0.9 },
    { momentum: 0.8, dampening: 0.5 },
    { momentum: 0.9, nesterov: true },
    { momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  ];
  for (const o of configs) {
    for (const steps of [1, 2, 3]) {
      const p = torch.tensor(Float64Array.from(p0), { shape: [2, 3], requiresGrad: true });
      const frozen = torch.tensor([7], { dtype: 'float64', requiresGrad: true }); // no grad: untouched
      const opt = new SGD([p, frozen], { lr: lrs[0]!, ...o });
      for (let s = 0; s < steps; s++) {
        opt.lr = lrs[s]!;
        p.grad = torch.tensor(Float64Array.from(grads[s]!), { shape: [2, 3] });
        opt.step();
      }
      assertAllClose(p.toNumbers(), sgdJs(p0, grads.slice(0, steps), lrs, o), {
        atol: 1e-14,
        what: `SGD ${JSON.stringify(o)} after ${steps} steps`,
      });
      assert.deepEqual(frozen.toNumbers(), [7]);
      assert.ok(p.requiresGrad && p.isLeaf, 'the step did not detach the parameter');
      opt.zeroGrad();
      assert.equal(p.grad, null);
      p.dispose();
      frozen.dispose();
    }
  }
  assert.throws(() => new SGD([], { lr: 0.1, nesterov: true }), /Nesterov/);
  assert.throws(() => new SGD([], { lr: -1 }), /invalid lr/);
});

test('SGD drives a real backward pass: one step on a linear model equals p - lr * dL/dp', () => {
  torch.manualSeed(5);
  const model = new Linear(3, 2);
  const w0 = model.weight.toNumbers();
  const b0 = model.bias!.toNumbers();
  const xv = [1, 2, -1, 0.5, -0.5, 2];
  const opt = new SGD(model.parameters(), { lr: 0.5 });
  torch.tidy(() => {
    // L = mean over the 2 rows of sum(y); dL/dW[o][i] = mean_r x[r][i], dL/db[o] = 1.
    const loss = model
      .forward(torch.tensor(Float32Array.from(xv), { shape: [2, 3] }))
      .sum()
      .div(2);
    loss.backward();
    opt.step();
  });
  const meanX = [0, 1, 2].map((i) => (xv[i]! + xv[3 + i]!) / 2);
  assertAllClose(
    model.weight.toNumbers(),
    w0.map((w, q) => w - 0.5 * meanX[q % 3]!),
    { atol: 1e-6 },
  );
  assertAllClose(
    model.bias!.toNumbers(),
    b0.map((b) => b - 0.5),
    { atol: 1e-6 },
  );
  model.dispose();
});

test('learning-rate schedules: multiStepLr and cosineLr worked by hand', () => {
  // multiStepLr(0.1, [2, 4], 0.1): 0.1 for epochs 0-1, 0.01 for 2-3, 0.001 from 4.
  const ms = multiStepLr(0.1, [2, 4], 0.1);
  assertAllClose([0, 1, 2, 3, 4, 5, 100].map(ms), [0.1, 0.1, 0.01, 0.01, 0.001, 0.001, 0.001], { atol: 1e-15 });
  // gamma 0.5 with milestones [1, 3]: 1, 0.5, 0.5, 0.25.
  assertAllClose([0, 1, 2, 3].map(multiStepLr(1, [1, 3], 0.5)), [1, 0.5, 0.5, 0.25], { atol: 0 });

  // cosineLr(1, 4): (1 + cos(pi * e / 4)) / 2 = 1, (1 + sqrt(2)/2)/2, 1/2, (1 - sqrt(2)/2)/2, 0.
  const h = Math.SQRT2 / 2;
  assertAllClose([0, 1, 2, 3, 4].map(cosineLr(1, 4)), [1, (1 + h) / 2, 0.5, (1 - h) / 2, 0], { atol: 1e-15 });
  // Stays at the floor after the last epoch.
  assertClose(cosineLr(1, 4)(6), 0, 1e-15);
  // With a floor: minLr + (lr - minLr) (1 + cos(pi e / T)) / 2, lr 0.5, minLr 0.1, T 2: 0.5, 0.3, 0.1.
  assertAllClose([0, 1, 2].map(cosineLr(0.5, 2, 0.1)), [0.5, 0.3, 0.1], { atol: 1e-15 });
});
