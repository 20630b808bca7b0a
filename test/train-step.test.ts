// trainStep on a tiny model and a synthetic batch, checked against quantities worked out
// independently in plain JavaScript: the softmax, CE losses and their gradient norms at the
// logits, LOW's weights from lowWeights on those norms, and the SGD update of a linear layer,
// W' = W - lr (1/M) sum_i w_i (p_i - onehot_i) x_i^T.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { Linear } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import { lowWeights } from '../src/weighting/low-weights.js';
import { createStrategy, parseStrategy } from '../src/weighting/registry.js';
import { normalStrategy } from '../src/weighting/normal.js';
import type { Strategy } from '../src/weighting/strategy.js';
import { trainStep, NonFiniteLoss } from '../src/train/step.js';
import { EpochTotals } from '../src/train/epoch-totals.js';

const M = 6;
const D = 4;
const C = 3;
const X = Array.from({ length: M * D }, (_, i) => Math.sin(1.7 * i + 0.3));
const Y = [0, 1, 2, 1, 0, 2];
const progress = { epoch: 0, epochs: 1, batchSize: M };

function setup(): { model: Linear; W: number[]; b: number[]; batch: Parameters<typeof trainStep>[3] } {
  torch.manualSeed(3);
  const model = new Linear(D, C);
  const W = Array.from(model.weight.toFloat32Array());
  const b = Array.from(model.bias!.toFloat32Array());
  const batch = {
    x: torch.keep(torch.tensor(Float32Array.from(X)).reshape(M, D)),
    y: torch.keep(torch.tensor(BigInt64Array.from(Y.map(BigInt)))),
    ids: Int32Array.from([10, 11, 12, 13, 14, 15]),
    rows: Int32Array.from([5, 4, 3, 2, 1, 0]),
  };
  return { model, W, b, batch };
}

/** Softmax probabilities, CE losses and ||p - onehot||^2 per sample, in float64. */
function reference(W: number[], b: number[], rows: number[]) {
  return rows.map((i) => {
    const z = Array.from(
      { length: C },
      (_, c) => b[c]! + Array.from({ length: D }, (_, d) => W[c * D + d]! * X[i * D + d]!).reduce((s, v) => s + v, 0),
    );
    const max = Math.max(...z);
    const e = z.map((v) => Math.exp(v - max));
    const sum = e.reduce((s, v) => s + v, 0);
    const p = e.map((v) => v / sum);
    const y = Y[i]!;
    const g = p.map((pc, c) => pc - (c === y ? 1 : 0));
    const others = z.filter((_, c) => c !== y);
    return {
      i,
      z,
      p,
      g,
      loss: -Math.log(p[y]!),
      g2: g.reduce((s, v) => s + v * v, 0),
      margin: z[y]! - Math.max(...others),
      hit: z.indexOf(max) === y,
    };
  });
}

/** The SGD step (no momentum) on a linear layer for weights w: W - lr * (1/M) sum_i w_i g_i x_i^T. */
function expectedUpdate(W: number[], b: number[], ref: ReturnType<typeof reference>, weights: ArrayLike<number>, lr: number) {
  const W2 = W.slice();
  const b2 = b.slice();
  const m = ref.length;
  ref.forEach((r, k) => {
    for (let c = 0; c < C; c++) {
      b2[c]! -= (lr * weights[k]! * r.g[c]!) / m;
      for (let d = 0; d < D; d++) W2[c * D + d]! -= (lr * weights[k]! * r.g[c]! * X[r.i * D + d]!) / m;
    }
  });
  return { W2, b2 };
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

const lowTrainStepTitle =
  'trainStep with LOW: weights are lowWeights of the CE gradient norms at the logits, and the SGD step is that of the weighted mean loss';
test(lowTrainStepTitle, () => {
  const { model, W, b, batch } = setup();
  const lr = 0.5;
  const optimizer = new SGD(model.parameters(), { lr });
  const strategy = createStrategy(parseStrategy('low:lambda=0.05'), { classCounts: [2, 2, 2], size: M, batchSize: M });
  const ref = reference(W, b, [0, 1, 2, 3, 4, 5]);
  const expectedWeights = lowWeights(Float64Array.from(ref.map((r) => r.g2)), { lambda: 0.05 });
  assert.ok(Math.max(...expectedWeights) - Math.min(...expectedWeights) > 0.5, 'the example is meant to reweight');

  const step = trainStep(model, optimizer, strategy, batch, progress);
  close(step.weights, expectedWeights, 1e-5, 'weights');
  close(
    step.losses,
    ref.map((r) => r.loss),
    1e-5,
    'losses',
  );
  close(
    step.margins,
    ref.map((r) => r.margin),
    1e-5,
    'margins',
  );
  assert.equal(step.hits, ref.filter((r) => r.hit).length);
  assert.deepEqual(Array.from(step.rows), [5, 4, 3, 2, 1, 0]);
  const weightedMean = ref.reduce((s, r, k) => s + expectedWeights[k]! * r.loss, 0) / M;
  assert.ok(Math.abs(step.loss - weightedMean) < 1e-5, `loss ${step.loss} vs ${weightedMean}`);
  const { W2, b2 } = expectedUpdate(W, b, ref, expectedWeights, lr);
  close(model.weight.toFloat32Array(), W2, 1e-5, 'weight after the step');
  close(model.bias!.toFloat32Array(), b2, 1e-5, 'bias after the step');

  // The epoch's totals from the step: the weighted loss per sample, the plain mean loss, the error rate.
  const totals = new EpochTotals();
  totals.add(step);
  const row = totals.toRow({ epoch: 1, lr, weightStd: 0, seconds: 1 });
  assert.ok(Math.abs(row.train_loss - weightedMean) < 1e-5);
  assert.ok(Math.abs(row.train_loss_plain - ref.reduce((s, r) => s + r.loss, 0) / M) < 1e-5);
  assert.equal(row.train_err, (M - step.hits) / M);
  model.dispose();
});

test('trainStep with a sampling strategy trains on the picked candidates, each weight multiplied by its pick weight', () => {
  const { model, W, b, batch } = setup();
  const lr = 0.1;
  const optimizer = new SGD(model.parameters(), { lr });
  const picks = Int32Array.from([4, 1]);
  const pickWeights = Float64Array.from([0.5, 3]);
  const sampler: Strategy = { ...normalStrategy(), sampling: { presample: 3, pick: () => ({ picks, weights: pickWeights }) } };
  const step = trainStep(model, optimizer, sampler, batch, { ...progress, batchSize: 2 });
  assert.deepEqual(Array.from(step.rows), [1, 4]);
  assert.deepEqual(Array.from(step.weights), [0.5, 3]);
  const ref = reference(W, b, [4, 1]);
  close(
    step.losses,
    ref.map((r) => r.loss),
    1e-5,
    'losses of the picks',
  );
  const { W2, b2 } = expectedUpdate(W, b, ref, pickWeights, lr);
  close(model.weight.toFloat32Array(), W2, 1e-5, 'weight after the step');
  close(model.bias!.toFloat32Array(), b2, 1e-5, 'bias after the step');
  model.dispose();
});

test('trainStep refuses a non-finite loss before stepping: NonFiniteLoss names the sample, the parameters are unchanged', () => {
  const { model, batch } = setup();
  torch.noGrad(() => model.bias!.fill_(Number.NaN));
  const before = Array.from(model.weight.toFloat32Array());
  const optimizer = new SGD(model.parameters(), { lr: 0.1 });
  assert.throws(
    () => trainStep(model, optimizer, normalStrategy(), batch, progress),
    (e: Error) => e instanceof NonFiniteLoss && /the loss of sample 0 of the batch is NaN/.test(e.message),
  );
  assert.deepEqual(Array.from(model.weight.toFloat32Array()), before);
  model.dispose();
});
