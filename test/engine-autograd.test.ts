// Autograd against central finite differences in float64, and the network functions' forward
// values against plain-JS references; gradient modes; batch-norm statistics as PyTorch keeps them.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as torch from '../src/torch/index.js';
import { F, type Tensor } from '../src/torch/index.js';
import { BatchNorm2d, Linear } from '../src/nn/index.js';
import {
  adaptiveAvgPool2dJs,
  assertAllClose,
  conv2dJs,
  linearJs,
  logSoftmaxRows,
  pool2dJs,
  prod,
  uniform,
  type Nd,
} from './engine-helpers.js';

// Tiny tensors: one intra-op thread is faster (no pool wake-ups on a shared machine) and
// makes reductions deterministic.
torch.setNumThreads(1);

const f64 = (x: Nd): Tensor => torch.tensor(Float64Array.from(x.values), { shape: x.shape });
const nd = (shape: number[], seed: number, lo = -1, hi = 1): Nd => ({ values: uniform(prod(shape), seed, lo, hi), shape });
const i64 = (values: number[]): Tensor => torch.tensor(BigInt64Array.from(values.map(BigInt)));

const EPS = 1e-6;
const TOL = 1e-6;

/**
 * Checks the gradients of sum(fn(inputs) * R), R a fixed random tensor of the output's shape,
 * with respect to every input, against central differences (f(x + eps) - f(x - eps)) / 2 eps.
 * Returns the output values so the caller can also check the forward pass.
 */
function gradCheck(name: string, fn: (xs: Tensor[]) => Tensor, inputs: Nd[], seed = 99): number[] {
  return torch.tidy(() => {
    const leaves = inputs.map((x) => f64(x).requiresGrad_());
    const out = fn(leaves);
    assert.equal(out.dtype, 'float64', `${name}: output dtype`);
    const R = f64(nd(out.shape, seed));
    out.mul(R).sum().backward();
    const analytic = leaves.map((l) => l.grad!.toNumbers());
    const forward = out.toNumbers();

    const objective = (xs: Nd[]): number => torch.tidy(() => torch.noGrad(() => fn(xs.map(f64)).mul(R).sum().item()));
    inputs.forEach((x, i) => {
      const numeric = x.values.map((_, j) => {
        const at = (delta: number) =>
          inputs.map((y, k) => (k === i ? { shape: y.shape, values: y.values.map((v, q) => (q === j ? v + delta : v)) } : y));
        return (objective(at(EPS)) - objective(at(-EPS))) / (2 * EPS);
      });
      assertAllClose(analytic[i]!, numeric, { atol: TOL, rtol: TOL, what: `${name}: d/d(input ${i})` });
      // Guard against a vacuous check.
      assert.ok(
        numeric.some((v) => Math.abs(v) > 1e-3),
        `${name}: input ${i} has a non-trivial gradient`,
      );
    });
    return forward;
  });
}

test('conv2d: forward matches plain JS, gradients match finite differences (stride, padding, groups, bias)', () => {
  // Two groups, asymmetric stride and padding, bias.
  const x = nd([2, 4, 5, 6], 1);
  const w = nd([6, 2, 3, 3], 2);
  const b = nd([6], 3);
  const o = { stride: [2, 1] as [number, number], padding: [1, 2] as [number, number], groups: 2 };
  const out = gradCheck('conv2d groups', ([xt, wt, bt]) => F.conv2d(xt!, wt!, bt!, o), [x, w, b]);
  const ref = conv2dJs(x, w, b.values, o);
  assert.deepEqual(ref.shape, [2, 6, 3, 8]);
  assertAllClose(out, ref.values, { atol: 1e-12, what: 'conv2d forward' });

  // No bias, square stride 2, padding 1, dilation 2.
  const x2 = nd([1, 3, 7, 7], 4);
  const w2 = nd([4, 3, 2, 2], 5);
  const o2 = { stride: 2, padding: 1, dilation: 2 };
  const out2 = gradCheck('conv2d dilated', ([xt, wt]) => F.conv2d(xt!, wt!, null, o2), [x2, w2]);
  assertAllClose(out2, conv2dJs(x2, w2, null, { stride: [2, 2], padding: [1, 1], dilation: [2, 2] }).values, {
    atol: 1e-12,
    what: 'conv2d dilated forward',
  });
});

test('linear: forward matches plain JS, gradients match finite differences (2-d and 3-d inputs)', () => {
  const x = nd([3, 5], 11);
  const w = nd([4, 5], 12);
  const b = nd([4], 13);
  const out = gradCheck('linear', ([xt, wt, bt]) => F.linear(xt!, wt!, bt!), [x, w, b]);
  assertAllClose(out, linearJs(x, w, b.values).values, { atol: 1e-12 });
  const x3 = nd([2, 3, 5], 14);
  const out3 = gradCheck('linear 3-d', ([xt, wt]) => F.linear(xt!, wt!), [x3, w]);
  assertAllClose(out3, linearJs(x3, w, null).values, { atol: 1e-12 });
});

/** Training-mode batch norm in plain JS: per channel, biased batch variance for normalization. */
function batchNormTrainJs(
  x: Nd,
  weight: number[],
  bias: number[],
  eps: number,
): { y: number[]; mean: number[]; biasedVar: number[]; unbiasedVar: number[] } {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const m = N * H * W;
  const mean: number[] = [];
  const biasedVar: number[] = [];
  const unbiasedVar: number[] = [];
  for (let c = 0; c < C; c++) {
    const vals: number[] = [];
    for (let n = 0; n < N; n++) for (let q = 0; q < H * W; q++) vals.push(x.values[(n * C + c) * H * W + q]!);
    const mu = vals.reduce((s, v) => s + v, 0) / m;
    const ss = vals.reduce((s, v) => s + (v - mu) ** 2, 0);
    mean.push(mu);
    biasedVar.push(ss / m);
    unbiasedVar.push(ss / (m - 1));
  }
  const y = x.values.map((v, f) => {
    const c = Math.floor(f / (H * W)) % C;
    return ((v - mean[c]!) / Math.sqrt(biasedVar[c]! + eps)) * weight[c]! + bias[c]!;
  });
  return { y, mean, biasedVar, unbiasedVar };
}

test('batchNorm (training mode): forward matches plain JS, input/weight/bias gradients match finite differences', () => {
  const x = nd([4, 3, 2, 3], 21, -2, 2);
  const w = nd([3], 22, 0.5, 1.5);
  const b = nd([3], 23);
  const out = gradCheck('batchNorm train', ([xt, wt, bt]) => F.batchNorm(xt!, { weight: wt!, bias: bt!, training: true }), [x, w, b]);
  assertAllClose(out, batchNormTrainJs(x, w.values, b.values, 1e-5).y, { atol: 1e-10 });
});

test('maxPool2d / avgPool2d / adaptiveAvgPool2d: forward matches plain JS, gradients match finite differences', () => {
  const x = nd([2, 2, 6, 7], 31, -3, 3);
  const mp = gradCheck('maxPool2d k3 s2 p1', ([xt]) => F.maxPool2d(xt!, 3, { stride: 2, padding: 1 }), [x]);
  assertAllClose(mp, pool2dJs(x, 'max', [3, 3], [2, 2], [1, 1]).values, { atol: 0 });
  // Overlapping windows: an input can be the max of several windows, and its gradient adds up.
  const mpo = gradCheck('maxPool2d k2 s1', ([xt]) => F.maxPool2d(xt!, 2, { stride: 1 }), [x]);
  assertAllClose(mpo, pool2dJs(x, 'max', [2, 2], [1, 1]).values, { atol: 0 });

  const ap = gradCheck('avgPool2d k3 s2 p1', ([xt]) => F.avgPool2d(xt!, 3, { stride: 2, padding: 1 }), [x]);
  assertAllClose(ap, pool2dJs(x, 'avg', [3, 3], [2, 2], [1, 1], true).values, { atol: 1e-12 });
  const apx = gradCheck(
    'avgPool2d no pad count',
    ([xt]) => F.avgPool2d(xt!, [2, 3], { stride: [2, 2], padding: [1, 1], countIncludePad: false }),
    [x],
  );
  assertAllClose(apx, pool2dJs(x, 'avg', [2, 3], [2, 2], [1, 1], false).values, { atol: 1e-12 });

  // Output sizes that do not divide the input: cells overlap.
  const xa = nd([2, 3, 7, 5], 32);
  const aa = gradCheck('adaptiveAvgPool2d 3x2', ([xt]) => F.adaptiveAvgPool2d(xt!, [3, 2]), [xa]);
  assertAllClose(aa, adaptiveAvgPool2dJs(xa, 3, 2).values, { atol: 1e-12 });
  const a1 = gradCheck('adaptiveAvgPool2d 1x1', ([xt]) => F.adaptiveAvgPool2d(xt!, 1), [xa]);
  assertAllClose(a1, adaptiveAvgPool2dJs(xa, 1, 1).values, { atol: 1e-12 });
});

test('logSoftmax: forward matches plain JS, gradients match finite differences', () => {
  const x = nd([4, 6], 41, -3, 3);
  const out = gradCheck('logSoftmax dim 1', ([xt]) => F.logSoftmax(xt!, 1), [x]);
  assertAllClose(out, logSoftmaxRows(x.values, 6), { atol: 1e-12 });
  // Along dim 0: the transpose of the row-wise result.
  const out0 = gradCheck('logSoftmax dim 0', ([xt]) => F.logSoftmax(xt!, 0), [x]);
  const t = (v: number[], r: number, c: number) => Array.from({ length: r * c }, (_, q) => v[(q % r) * c + Math.floor(q / r)]!);
  assertAllClose(out0, t(logSoftmaxRows(t(x.values, 4, 6), 4), 6, 4), { atol: 1e-12 });
  const sm = F.softmax(f64(x), 1).toNumbers();
  assertAllClose(sm, logSoftmaxRows(x.values, 6).map(Math.exp), { atol: 1e-12 });
});

test('crossEntropy: values match the formula, gradients match finite differences (none/mean/sum, class weights)', () => {
  const C = 4;
  const x = nd([5, C], 51, -2, 2);
  const labels = [3, 0, 2, 2, 1];
  const classWeights = [0.5, 2, 1, 1.5];
  const y = i64(labels);
  const logp = logSoftmaxRows(x.values, C);
  const plain = labels.map((c, i) => -logp[i * C + c]!);
  const weighted = labels.map((c, i) => classWeights[c]! * plain[i]!);
  const wsum = labels.reduce((s, c) => s + classWeights[c]!, 0);

  for (const weight of [null, classWeights]) {
    const per = weight ? weighted : plain;
    const expected = {
      none: per,
      sum: [per.reduce((s, v) => s + v, 0)],
      // PyTorch's weighted mean divides by the sum of the targets' class weights.
      mean: [per.reduce((s, v) => s + v, 0) / (weight ? wsum : labels.length)],
    };
    for (const reduction of ['none', 'mean', 'sum'] as const) {
      const name = `crossEntropy ${reduction}${weight ? ' weighted' : ''}`;
      const out = gradCheck(
        name,
        ([xt]) => F.crossEntropy(xt!, y, { reduction, weight: weight ? f64({ values: weight, shape: [C] }) : null }),
        [x],
      );
      assertAllClose(out, expected[reduction], { atol: 1e-12, what: name });
      // nllLoss of logSoftmax is the same thing.
      const nll = F.nllLoss(F.logSoftmax(f64(x), 1), y, { reduction, weight: weight ? f64({ values: weight, shape: [C] }) : null });
      assertAllClose(nll.toNumbers(), expected[reduction], { atol: 1e-12, what: `nll ${name}` });
    }
  }
});

test('grad() of per-sample losses w.r.t. detached logits returns softmax - onehot and leaves parameter .grad null', () => {
  torch.manualSeed(3);
  const model = new Linear(5, 3);
  const x = torch.tensor(Float32Array.from(uniform(4 * 5, 61)), { shape: [4, 5] });
  const labels = [2, 0, 1, 2];
  const y = i64(labels);
  torch.tidy(() => {
    const logits = model.forward(x);
    assert.ok(logits.requiresGrad);
    const z = logits.detach().requiresGrad_();
    const losses = F.crossEntropy(z, y, { reduction: 'none' });
    assert.deepEqual(losses.shape, [4]);
    const [g] = torch.grad(losses, z, { gradOutputs: [torch.ones([4])] });
    assert.ok(g);
    assert.deepEqual(g.shape, [4, 3]);
    // d CE_i / d z_i = softmax(z_i) - onehot(y_i), computed in JS from the logits' values.
    const zv = z.toNumbers();
    const expected = logSoftmaxRows(zv, 3).map((lp, q) => Math.exp(lp) - (labels[Math.floor(q / 3)] === q % 3 ? 1 : 0));
    assertAllClose(g.toNumbers(), expected, { atol: 1e-6 });
    // Nothing accumulated anywhere.
    assert.equal(model.weight.grad, null);
    assert.equal(model.bias!.grad, null);
    assert.equal(z.grad, null);
    // The model's own graph is intact: a backward through the logits now fills the parameters.
    logits.sum().backward();
    assert.ok(model.weight.grad);
    // d sum(xW^T + b) / db = N for every output.
    assert.deepEqual(model.bias!.grad!.toNumbers(), [4, 4, 4]);
  });
  // grad of a scalar without gradOutputs, and weighted gradOutputs as a vector-Jacobian product.
  torch.tidy(() => {
    const a = f64({ values: [1, -2, 3], shape: [3] }).requiresGrad_();
    const [ga] = torch.grad(a.mul(a).sum(), a);
    assert.deepEqual(ga!.toNumbers(), [2, -4, 6]);
    const [gv] = torch.grad(a.mul(a), a, { gradOutputs: [f64({ values: [1, 0.5, -1], shape: [3] })] });
    assert.deepEqual(gv!.toNumbers(), [2, -2, -6]);
    assert.equal(a.grad, null);
    // An input the output does not depend on: null with allowUnused.
    const unused = f64({ values: [1], shape: [1] }).requiresGrad_();
    const res = torch.grad(a.sum(), [a, unused], { allowUnused: true });
    assert.deepEqual(res[0]!.toNumbers(), [1, 1, 1]);
    assert.equal(res[1], null);
  });
  model.dispose();
});

test('backward with a gradient argument computes the vector-Jacobian product, and accumulates', () => {
  torch.tidy(() => {
    const xv = [0.5, -1, 2, 3, -0.25, 1.5];
    const vv = [1, 2, -1, 0.5, 4, -3];
    const x = f64({ values: xv, shape: [2, 3] }).requiresGrad_();
    const y = x.mul(x).mul(3); // dy/dx = 6x, elementwise
    y.backward(f64({ values: vv, shape: [2, 3] }), { retainGraph: true });
    assertAllClose(
      x.grad!.toNumbers(),
      xv.map((v, i) => 6 * v * vv[i]!),
      { atol: 1e-12 },
    );
    // A second backward adds to .grad.
    y.backward(f64({ values: vv, shape: [2, 3] }));
    assertAllClose(
      x.grad!.toNumbers(),
      xv.map((v, i) => 12 * v * vv[i]!),
      { atol: 1e-12 },
    );
    // Clearing.
    x.grad = null;
    assert.equal(x.grad, null);
    x.sum().backward();
    assert.deepEqual(x.grad!.toNumbers(), [1, 1, 1, 1, 1, 1]);
    assert.ok(x.isLeaf);
    assert.equal(y.isLeaf, false);
  });
});

test('noGrad disables recording and restores the mode (also after a throw); enableGrad re-enables inside', () => {
  torch.tidy(() => {
    const x = f64({ values: [1, 2], shape: [2] }).requiresGrad_();
    assert.equal(torch.isGradEnabled(), true);
    const y = torch.noGrad(() => {
      assert.equal(torch.isGradEnabled(), false);
      const inner = torch.enableGrad(() => x.mul(2));
      assert.equal(inner.requiresGrad, true);
      assert.equal(torch.isGradEnabled(), false);
      return x.mul(2);
    });
    assert.equal(y.requiresGrad, false);
    assert.equal(torch.isGradEnabled(), true);
    assert.throws(
      () =>
        torch.noGrad(() => {
          throw new Error('boom');
        }),
      /boom/,
    );
    assert.equal(torch.isGradEnabled(), true);
    assert.equal(x.mul(2).requiresGrad, true);
    // detach() cuts the graph.
    assert.equal(x.mul(2).detach().requiresGrad, false);
  });
});

test('batch norm eval mode normalizes with the running statistics', () => {
  const C = 3;
  const x = nd([2, C, 2, 2], 71, -2, 2);
  const rm = [0.3, -0.2, 1.0];
  const rv = [0.5, 2.0, 1.5];
  const w = [1.2, 0.7, -0.4];
  const b = [0.1, -0.3, 0.25];
  const eps = 1e-3;
  const expected = x.values.map((v, f) => {
    const c = Math.floor(f / 4) % C;
    return ((v - rm[c]!) / Math.sqrt(rv[c]! + eps)) * w[c]! + b[c]!;
  });
  torch.tidy(() => {
    const runningMean = f64({ values: rm, shape: [C] });
    const runningVar = f64({ values: rv, shape: [C] });
    const y = F.batchNorm(f64(x), {
      weight: f64({ values: w, shape: [C] }),
      bias: f64({ values: b, shape: [C] }),
      runningMean,
      runningVar,
      training: false,
      eps,
    });
    assertAllClose(y.toNumbers(), expected, { atol: 1e-12 });
    // Eval mode leaves the running statistics alone.
    assert.deepEqual(runningMean.toNumbers(), rm);
    assert.deepEqual(runningVar.toNumbers(), rv);
  });

  // The module in eval mode, float32, with running statistics loaded into its buffers.
  const bn = new BatchNorm2d(C, { eps });
  torch.noGrad(() => {
    bn.runningMean!.copy_(torch.tensor(rm));
    bn.runningVar!.copy_(torch.tensor(rv));
    bn.weight!.copy_(torch.tensor(w));
    bn.bias!.copy_(torch.tensor(b));
  });
  bn.eval();
  torch.tidy(() => {
    const y = bn.forward(torch.tensor(Float32Array.from(x.values), { shape: x.shape }));
    assertAllClose(y.toNumbers(), expected, { atol: 1e-5 });
  });
  assert.equal(bn.stateDict().get('num_batches_tracked')!.item(), 0);
  bn.dispose();
});

test('batch norm train mode updates running statistics as PyTorch (momentum, unbiased variance)', () => {
  const C = 3;
  const momentum = 0.1;
  const bn = new BatchNorm2d(C);
  assert.equal(bn.training, true);
  let rm = [0, 0, 0];
  let rv = [1, 1, 1];
  for (const [step, seed] of [
    [1, 81],
    [2, 82],
    [3, 83],
  ] as const) {
    const x = nd([4, C, 3, 2], seed, -1 + step, 2 + step); // shifting mean, so the update shows
    const ref = batchNormTrainJs(x, [1, 1, 1], [0, 0, 0], 1e-5);
    torch.tidy(() => {
      const y = bn.forward(f64(x).float());
      assertAllClose(y.toNumbers(), ref.y, { atol: 1e-4, what: `step ${step} output` });
    });
    rm = rm.map((r, c) => (1 - momentum) * r + momentum * ref.mean[c]!);
    rv = rv.map((r, c) => (1 - momentum) * r + momentum * ref.unbiasedVar[c]!);
    assertAllClose(bn.runningMean!.toNumbers(), rm, { atol: 1e-6, rtol: 1e-6, what: `step ${step} running_mean` });
    assertAllClose(bn.runningVar!.toNumbers(), rv, { atol: 1e-6, rtol: 1e-6, what: `step ${step} running_var` });
    const nbt = bn.stateDict().get('num_batches_tracked')!;
    assert.equal(nbt.dtype, 'int64');
    assert.equal(nbt.item(), step);
  }
  // Through the functional form with another momentum, in float64.
  torch.tidy(() => {
    const x = nd([5, 2, 2, 2], 84, 0, 3);
    const ref = batchNormTrainJs(x, [1, 1], [0, 0], 1e-5);
    const m0 = [0.5, -0.5];
    const v0 = [2, 0.25];
    const runningMean = f64({ values: m0, shape: [2] });
    const runningVar = f64({ values: v0, shape: [2] });
    F.batchNorm(f64(x), { runningMean, runningVar, training: true, momentum: 0.3 });
    assertAllClose(
      runningMean.toNumbers(),
      m0.map((r, c) => 0.7 * r + 0.3 * ref.mean[c]!),
      { atol: 1e-12 },
    );
    assertAllClose(
      runningVar.toNumbers(),
      v0.map((r, c) => 0.7 * r + 0.3 * ref.unbiasedVar[c]!),
      { atol: 1e-12 },
    );
  });
  bn.dispose();
});
