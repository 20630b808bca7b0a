// The look-ahead strategies, Learning to Reweight and Meta-Weight-Net, and what they stand on:
// Module.functionalForward (checked against a forward written out in plain JavaScript and its
// gradient against finite differences), L2RW's weights against a per-sample gradient loop
// (w_i proportional to max(lr g_meta . g_i, 0)), MWN's weight net lowering the meta loss and its
// update against finite differences of the meta loss, and the meta set's carving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { BatchNorm2d, Conv2d, Linear, ReLU, Sequential } from '../src/nn/index.js';
import { learningToReweightStrategy } from '../src/weighting/learning-to-reweight.js';
import { metaWeightNetStrategy, WeightNet } from '../src/weighting/meta-weight-net.js';
import { MetaBatches, type MetaBatch } from '../src/weighting/look-ahead.js';
import type { BatchView, MetaSet } from '../src/weighting/strategy.js';
import { carveMetaSet, samplesNotIn } from '../src/data/meta-set.js';
import { DataError, subset, type ImageDataset } from '../src/data/dataset.js';

torch.setNumThreads(1);

const D = 4;
const H = 5;
const C = 3;

/** Deterministic inputs: class c sits near 1.5 e_c, with a sin-pattern spread. */
function points(labels: number[], phase: number): Float32Array {
  return Float32Array.from({ length: labels.length * D }, (_, k) => {
    const i = Math.floor(k / D);
    const d = k % D;
    return (d === labels[i]! ? 1.5 : 0) + 0.6 * Math.sin(2.3 * k + phase);
  });
}

const longs = (v: number[]) => torch.tensor(BigInt64Array.from(v.map(BigInt)));

function twoLayerNet(seed: number): Sequential {
  torch.manualSeed(seed);
  return new Sequential(new Linear(D, H), new ReLU(), new Linear(H, C));
}

function metaSet(labels: number[]): MetaSet {
  return {
    inputs: torch.keep(torch.tensor(points(labels, 0.7), { shape: [labels.length, D] })),
    labels: torch.keep(longs(labels)),
    ids: Int32Array.from(labels, (_, i) => 1000 + i),
  };
}

/** The BatchView trainStep would give for this model and batch. */
function batchView(model: Sequential, x: torch.Tensor, labels: number[], lr: number): BatchView {
  const logits = model.forward(x);
  const y = longs(labels);
  const perSample = torch.F.crossEntropy(logits, y, { reduction: 'none' });
  const ids = Int32Array.from(labels, (_, i) => i);
  return { logits, labels: y, ids, perSample, epoch: 0, epochs: 1, step: { model, inputs: x, lr } };
}

/**
 * The authors' construction of the look-ahead, as the reference: the meta batch's mean CE at
 * theta - lr * d(weightedLoss)/d(theta), with that gradient kept on the graph (create_graph), so
 * that the meta loss differentiates back through the virtual step (a double backward).
 */
function metaLossAfterVirtualStep(step: NonNullable<BatchView['step']>, weightedLoss: torch.Tensor, meta: MetaBatch): torch.Tensor {
  const named = step.model.namedParameters();
  const grads = torch.grad(
    weightedLoss,
    named.map(([, p]) => p),
    { createGraph: true, allowUnused: true },
  );
  const virtual = new Map<string, torch.Tensor>();
  named.forEach(([name, p], i) => {
    const g = grads[i];
    if (g) virtual.set(name, p.sub(g, step.lr));
  });
  return torch.F.crossEntropy(step.model.functionalForward(virtual, meta.inputs), meta.labels);
}

test('functionalForward runs the model at substituted parameters: equal to the forward written out, gradients equal to finite differences', () => {
  const model = twoLayerNet(1);
  const own = new Map(model.namedParameters().map(([k, p]) => [k, Array.from(p.toFloat32Array())]));
  // float64 substitutes (other values than the model's) so that finite differences are exact to ~1e-9.
  const values = new Map([...own].map(([k, v]) => [k, v.map((x, i) => x + 0.1 * Math.cos(i + k.length))]));
  const x = Array.from(points([0, 1, 2], 0.2));
  const reference = (p: Map<string, number[]>) => {
    let out = 0;
    for (let n = 0; n < 3; n++) {
      const h = Array.from({ length: H }, (_, j) => {
        let s = p.get('0.bias')![j]!;
        for (let d = 0; d < D; d++) s += p.get('0.weight')![j * D + d]! * x[n * D + d]!;
        return Math.max(s, 0);
      });
      for (let c = 0; c < C; c++) {
        let s = p.get('2.bias')![c]!;
        for (let j = 0; j < H; j++) s += p.get('2.weight')![c * H + j]! * h[j]!;
        out += (c + 1) * s * s; // a smooth scalar of the outputs
      }
    }
    return out;
  };
  const shapes = new Map(model.namedParameters().map(([k, p]) => [k, p.shape]));
  const subs = new Map(
    [...values].map(([k, v]) => [k, torch.tensor(Float64Array.from(v), { shape: shapes.get(k)!, dtype: 'float64' }).requiresGrad_()]),
  );
  const xs = torch.tensor(Float64Array.from(x), { shape: [3, D], dtype: 'float64' });
  const out = model.functionalForward(subs, xs);
  const scalar = out
    .square()
    .mul(torch.tensor(Float64Array.from([1, 2, 3]), { dtype: 'float64' }))
    .sum();
  assert.ok(Math.abs(scalar.item() - reference(values)) < 1e-9, `${scalar.item()} vs ${reference(values)}`);
  const names = [...subs.keys()];
  const grads = torch.grad(scalar, [...subs.values()]);
  const h = 1e-6;
  names.forEach((name, g) => {
    const analytic = grads[g]!.toFloat64Array();
    values.get(name)!.forEach((_, i) => {
      const at = (delta: number) =>
        reference(new Map([...values].map(([k, v]) => [k, k === name ? v.map((y, j) => (j === i ? y + delta : y)) : v])));
      const fd = (at(h) - at(-h)) / (2 * h);
      assert.ok(Math.abs(analytic[i]! - fd) < 1e-6 * (1 + Math.abs(fd)), `${name}[${i}]: ${analytic[i]} vs ${fd}`);
    });
  });
  // The model's own parameters are untouched and back in use afterwards.
  for (const [k, p] of model.namedParameters()) assert.deepEqual(Array.from(p.toFloat32Array()), own.get(k));
  const plain = model.forward(torch.tensor(Float32Array.from(x), { shape: [3, D] }));
  const viaOwn = model.functionalForward(new Map(), torch.tensor(Float32Array.from(x), { shape: [3, D] }));
  assert.deepEqual(Array.from(viaOwn.toFloat32Array()), Array.from(plain.toFloat32Array()));
  model.dispose();
});

test('functionalForward leaves batch-norm running statistics as they were, and names a parameter it does not know or of another shape', () => {
  torch.manualSeed(2);
  const model = new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2));
  model.train();
  const x = torch.tensor(
    Float32Array.from({ length: 2 * 25 }, (_, i) => Math.sin(i)),
    { shape: [2, 1, 5, 5] },
  );
  const before = model.namedBuffers().map(([k, b]) => [k, Array.from(b.toFloat32Array())] as const);
  const subs = new Map(model.namedParameters().map(([k, p]) => [k, p.mul(1.5)]));
  model.functionalForward(subs, x);
  for (const [k, b] of model.namedBuffers()) {
    assert.deepEqual(Array.from(b.toFloat32Array()), before.find(([n]) => n === k)![1], `${k} restored`);
  }
  model.forward(x);
  assert.notDeepEqual(Array.from(model.namedBuffers()[0]![1].toFloat32Array()), before[0]![1], 'a plain forward does update them');
  assert.throws(
    () => model.functionalForward(new Map([['0.kernel', torch.zeros([2])]]), x),
    /functionalForward: the model has no parameter '0.kernel'/,
  );
  assert.throws(
    () => model.functionalForward(new Map([['1.weight', torch.zeros([3])]]), x),
    /functionalForward: '1.weight' has shape \[3\], the model's is \[2\]/,
  );
  model.dispose();
});

test('Learning to Reweight: the weights equal max(lr g_meta . g_i, 0) from a per-sample gradient loop, normalised to sum to M', () => {
  const labels = [0, 1, 2, 0, 1, 2, 2, 1];
  // Samples 1 and 6 carry labels that do not match their inputs (noise): their gradients oppose the meta set's.
  const inputs = points([0, 0, 2, 0, 1, 1, 2, 1], 0.1);
  const M = labels.length;
  const lr = 0.3;
  const model = twoLayerNet(5);
  const meta = metaSet([0, 1, 2, 0, 1, 2]);
  const x = torch.keep(torch.tensor(inputs, { shape: [M, D] }));
  const params = model.parameters();
  const flatGrad = (loss: torch.Tensor) => torch.grad(loss, params).flatMap((g) => Array.from(g!.toFloat32Array()));
  const gMeta = flatGrad(torch.F.crossEntropy(model.forward(meta.inputs), meta.labels));
  const expected = labels.map((y, i) => {
    const gi = flatGrad(torch.F.crossEntropy(model.forward(x.narrow(0, i, 1)), longs([y])));
    return Math.max(lr * gi.reduce((s, g, k) => s + g * gMeta[k]!, 0), 0);
  });
  const sum = expected.reduce((a, b) => a + b, 0);
  assert.ok(expected.filter((e) => e === 0).length >= 1, 'some sample is weighted 0 (the case is not trivial)');
  const strategy = learningToReweightStrategy(meta, { batchSize: 100, seed: 0 });
  const w = torch.tidy(() => strategy.weigh(batchView(model, x, labels, lr)));
  assert.equal(w.length, M);
  w.forEach((wi, i) => assert.ok(Math.abs(wi - (expected[i]! * M) / sum) < 1e-4, `w[${i}] = ${wi}, expected ${(expected[i]! * M) / sum}`));
  assert.ok(w[1]! < 0.5 && w[6]! < 0.5, `mislabelled samples weigh little: ${Array.from(w)}`);
  // And the authors' way: -d meta / d eps at eps = 0 through the virtual step (double backward).
  const viaVirtualStep = torch.tidy(() => {
    const b = batchView(model, x, labels, lr);
    const eps = torch.zeros([M]).requiresGrad_();
    const metaLoss = metaLossAfterVirtualStep(b.step!, b.perSample.mul(eps).sum(), { inputs: meta.inputs, labels: meta.labels });
    return Array.from(torch.grad(metaLoss, eps)[0]!.toFloat32Array(), (g) => Math.max(-g, 0));
  });
  viaVirtualStep.forEach((e, i) => assert.ok(Math.abs(e - expected[i]!) < 1e-6, `sample ${i}: ${e} vs ${expected[i]}`));
  // The model itself did not move.
  const after = model.parameters().flatMap((p) => Array.from(p.toFloat32Array()));
  assert.deepEqual(after.length, gMeta.length);
  strategy.dispose?.();
  x.dispose();
  model.dispose();
});

test("Meta-Weight-Net: the weight net's update is Nesterov SGD on the meta loss's gradient (finite differences), and repeated steps lower the meta loss", () => {
  const labels = [0, 1, 2, 0, 1, 2, 2, 1, 0, 0];
  const inputs = points([0, 0, 2, 0, 1, 1, 2, 1, 2, 0], 0.4); // samples 1, 5 and 8 mislabelled
  const M = labels.length;
  const lr = 0.5;
  const model = twoLayerNet(7);
  const x = torch.keep(torch.tensor(inputs, { shape: [M, D] }));
  const metaLabels = [0, 1, 2, 0, 1, 2];

  // The meta loss as a function of V's parameters, forward only, for finite differences.
  const metaLossAt = (values: Map<string, Float32Array>) =>
    torch.tidy(() => {
      const v = new WeightNet(100, 0);
      torch.noGrad(() => {
        for (const [k, p] of v.namedParameters()) p.copy_(torch.tensor(values.get(k)!, { shape: p.shape }));
      });
      const b = batchView(model, x, labels, lr);
      const losses = b.perSample.unsqueeze(1);
      const weights = v.forward(losses);
      const meta = metaSet(metaLabels);
      const loss = metaLossAfterVirtualStep(b.step!, losses.mul(weights.div(weights.sum())).sum(), meta).item();
      meta.inputs.dispose();
      meta.labels.dispose();
      v.dispose();
      return loss;
    });

  const vlr = 1e-2;
  const strategy = metaWeightNetStrategy(metaSet(metaLabels), { batchSize: 100, seed: 0, lr: vlr });
  const p0 = new Map(strategy.net.namedParameters().map(([k, p]) => [k, p.toFloat32Array().slice()]));
  torch.tidy(() => strategy.weigh(batchView(model, x, labels, lr)));
  assert.ok(Math.abs(strategy.lastMetaLoss - metaLossAt(p0)) < 1e-5, 'the meta loss is the look-ahead loss at V before its update');
  // First step of SGD with momentum 0.9, Nesterov, weight decay 5e-4: p1 = p0 - vlr * 1.9 * (g + 5e-4 p0).
  const h = 1e-2;
  let checked = 0;
  for (const [k, p] of strategy.net.namedParameters()) {
    const start = p0.get(k)!;
    const now = p.toFloat32Array();
    for (const i of [0, 3, 17, 42, 99, 61, 8]) {
      if (i >= start.length) continue;
      const g = (start[i]! - now[i]!) / (vlr * 1.9) - 5e-4 * start[i]!;
      const at = (delta: number) =>
        metaLossAt(new Map([...p0].map(([n, v]) => [n, n === k ? v.map((y, j) => (j === i ? y + delta : y)) : v])));
      const [left, mid, right] = [at(-h), at(0), at(h)];
      // A ReLU of V switching within +-h makes the one-sided slopes disagree: no derivative to compare there.
      if (Math.abs((right - mid) / h - (mid - left) / h) > 1e-3 + 0.1 * Math.abs((right - left) / (2 * h))) continue;
      const fd = (right - left) / (2 * h);
      assert.ok(Math.abs(g - fd) < 2e-4 + 0.05 * Math.abs(fd), `${k}[${i}]: update implies ${g}, finite differences ${fd}`);
      checked++;
    }
  }
  assert.ok(checked >= 10);

  // The weight net trains: with a larger rate, the meta loss falls over repeated steps on this batch.
  const fast = metaWeightNetStrategy(metaSet(metaLabels), { batchSize: 100, seed: 0, lr: 3 });
  const losses: number[] = [];
  for (let k = 0; k < 30; k++) {
    torch.tidy(() => fast.weigh(batchView(model, x, labels, lr)));
    losses.push(fast.lastMetaLoss);
  }
  assert.ok(losses.at(-1)! < losses[0]! - 0.01, `meta loss ${losses[0]} -> ${losses.at(-1)}`);
  const w = torch.tidy(() => fast.weigh(batchView(model, x, labels, lr)));
  assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - M) < 1e-4, 'weights sum to M');
  strategy.dispose?.();
  fast.dispose?.();
  x.dispose();
  model.dispose();
});

test('meta batches: the whole meta set when it fits a batch, else seeded slices reshuffled each pass, resumable', () => {
  const meta = metaSet([0, 1, 2, 0, 1, 2, 0]);
  const whole = new MetaBatches(meta, 10, 3);
  assert.equal(whole.next().labels.shape[0], 7);
  const sliced = new MetaBatches(meta, 3, 3);
  const seen: number[][] = [];
  for (let k = 0; k < 4; k++) seen.push(Array.from(sliced.next().inputs.toFloat32Array()));
  const state = sliced.state();
  assert.deepEqual(state, { pass: 1, cursor: 6 });
  const later = [Array.from(sliced.next().inputs.toFloat32Array())];
  const resumed = new MetaBatches(meta, 3, 3);
  resumed.loadState(state);
  assert.deepEqual([Array.from(resumed.next().inputs.toFloat32Array())], later);
  // Each pass uses 2 full slices of 3 (the 7th sample waits for another shuffle), no sample twice in a pass.
  const rowsOf = (flat: number[]) => Array.from({ length: flat.length / D }, (_, r) => flat.slice(r * D, r * D + D).join());
  const firstPass = [...rowsOf(seen[0]!), ...rowsOf(seen[1]!)];
  assert.equal(new Set(firstPass).size, 6);
  assert.throws(() => resumed.loadState({ pass: -1, cursor: 0 }), /meta batches: checkpoint state .* expected \{ pass, cursor \}/);
  meta.inputs.dispose();
  meta.labels.dispose();
});

/** A tiny dataset: n samples, ids from `firstId`, labels from the list, 2x2 images. */
function dataset(labels: number[], firstId = 0): ImageDataset {
  const n = labels.length;
  return {
    name: 'tiny',
    classNames: ['a', 'b', 'c'],
    shape: [1, 2, 2],
    images: Uint8Array.from({ length: n * 4 }, (_, k) => (Math.floor(k / 4) + firstId) % 256),
    labels: Int32Array.from(labels),
    ids: Int32Array.from(labels, (_, i) => firstId + i),
  };
}

test('the meta set: perClass per class, first from samples the run does not train on, then out of training; never both', () => {
  const full = dataset([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 0, 0]);
  // Training keeps 7 samples; the rest of the split (ids 7..14) is unused, except id 14 taken for validation.
  const train = subset(full, [0, 1, 2, 3, 4, 5, 6]);
  const val = subset(full, [14]);
  const unused = samplesNotIn(full, [train, val]);
  assert.deepEqual(Array.from(unused.ids), [7, 8, 9, 10, 11, 12, 13]);
  const { meta, train: kept } = carveMetaSet(train, unused, 2, 9);
  assert.equal(meta.labels.length, 6);
  assert.equal(meta.name, 'tiny (meta set part)');
  assert.deepEqual(
    [0, 1, 2].map((c) => Array.from(meta.labels).filter((l) => l === c).length),
    [2, 2, 2],
  );
  // Classes 0 and 1 have >= 2 unused samples (ids 9, 12, 13 and 7, 10), class 2 has 8 and 11: none comes out of training.
  assert.equal(kept, train);
  for (const id of meta.ids) assert.ok(id >= 7 && id !== 14, `meta sample ${id} is neither trained nor validated on`);
  assert.deepEqual(
    Array.from(meta.ids),
    [...meta.ids].sort((a, b) => a - b),
    'in id order',
  );
  // Images travel with their ids.
  meta.ids.forEach((id, i) => assert.equal(meta.images[i * 4], id % 256));
  // Without spare samples (balanced data), the meta set comes out of training and is removed from it.
  const carved = carveMetaSet(train, null, 1, 9);
  assert.equal(carved.meta.labels.length, 3);
  assert.equal(carved.train.labels.length, 4);
  const trainIds = new Set(carved.train.ids);
  for (const id of carved.meta.ids) assert.ok(!trainIds.has(id), `meta sample ${id} is not trained on`);
  assert.deepEqual(
    [...new Set([...carved.train.ids, ...carved.meta.ids])].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6],
  );
  // The same seed carves the same set; another seed may not.
  assert.deepEqual(Array.from(carveMetaSet(train, null, 1, 9).meta.ids), Array.from(carved.meta.ids));
  // A class that would keep no training sample is refused, naming it.
  assert.throws(
    () => carveMetaSet(train, null, 2, 9),
    (e: Error) =>
      e instanceof DataError &&
      /meta set: class [12] \('[bc]'\) has 2 training samples; --meta-per-class 2 needs 2 of them/.test(e.message),
  );
  assert.throws(() => carveMetaSet(train, null, 0, 9), /meta set: perClass = 0, expected a positive integer/);
});
