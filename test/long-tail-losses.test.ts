// The long-tail losses against hand computations and finite differences: logit adjustment,
// Balanced Softmax (the same gradients as logit adjustment at tau = 1), and the effective-number
// class weights of Cui et al., on CE and focal loss; and their strategy specs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import {
  balancedSoftmaxLoss,
  effectiveNumberLoss,
  effectiveNumberWeights,
  logitAdjustedLoss,
  logitAdjustments,
} from '../src/weighting/long-tail-losses.js';
import { createStrategy, parseStrategy } from '../src/weighting/registry.js';
import type { PerSampleLoss } from '../src/weighting/losses.js';

const COUNTS = [6, 3, 1];
/** The labels as the int64 tensor the losses take. */
const labelTensor = () => torch.tensor(BigInt64Array.from(LABELS.map(BigInt)));
const LOGITS = [
  [1, 0, -1],
  [0.2, 0.5, 0.1],
  [-0.3, 0.8, 1.5],
];
const LABELS = [2, 0, 1];

/** CE of one row of logits in float64 plain JS. */
const ce = (z: number[], y: number) => {
  const max = Math.max(...z);
  const lse = max + Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0));
  return lse - z[y]!;
};

/** The loss's per-sample values on float64 logits. */
function perSample(loss: PerSampleLoss, rows: number[][]): number[] {
  return torch.tidy(() => Array.from(loss.perSample(torch.tensor(rows, { dtype: 'float64' }), labelTensor()).toFloat64Array()));
}

/** ||d loss_i / d z_i||^2 by central differences on the loss itself. */
function finiteDifferenceGradNormSq(loss: PerSampleLoss): number[] {
  const h = 1e-6;
  return LOGITS.map((row, i) => {
    let sum = 0;
    for (let c = 0; c < row.length; c++) {
      const plus = LOGITS.map((r) => [...r]);
      const minus = LOGITS.map((r) => [...r]);
      plus[i]![c]! += h;
      minus[i]![c]! -= h;
      const d = (perSample(loss, plus)[i]! - perSample(loss, minus)[i]!) / (2 * h);
      sum += d * d;
    }
    return sum;
  });
}

const closedFormGradNormSq = (loss: PerSampleLoss) =>
  torch.tidy(() => Array.from(loss.gradNormSq!(torch.tensor(LOGITS, { dtype: 'float64' }), labelTensor())));

const close = (a: number[], b: number[], tol: number, what: string) =>
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${v} vs ${b[i]}`));

const LOGIT_ADJUSTMENT =
  'logit adjustment: offsets tau log(n_c / N), the loss CE(z + offsets) by hand, gradient norms by finite differences';
test(LOGIT_ADJUSTMENT, () => {
  close(Array.from(logitAdjustments(COUNTS, 1)), [Math.log(0.6), Math.log(0.3), Math.log(0.1)], 1e-15, 'offsets');
  close(Array.from(logitAdjustments(COUNTS, 2)), [2 * Math.log(0.6), 2 * Math.log(0.3), 2 * Math.log(0.1)], 1e-15, 'offsets, tau 2');
  const loss = logitAdjustedLoss(COUNTS, 2);
  const byHand = LOGITS.map((z, i) =>
    ce(
      z.map((v, c) => v + 2 * Math.log(COUNTS[c]! / 10)),
      LABELS[i]!,
    ),
  );
  close(perSample(loss, LOGITS), byHand, 1e-6, 'losses');
  close(closedFormGradNormSq(loss), finiteDifferenceGradNormSq(loss), 1e-5, 'gradient norms');
  // An absent class counts once, so its logit is shifted by a finite amount.
  assert.ok(logitAdjustments([4, 0]).every(Number.isFinite));
});

test('Balanced Softmax equals logit adjustment at tau 1 in gradients (its logits differ by log N, which softmax ignores)', () => {
  const bs = balancedSoftmaxLoss(COUNTS);
  const la = logitAdjustedLoss(COUNTS, 1);
  close(perSample(bs, LOGITS), perSample(la, LOGITS), 1e-6, 'losses');
  const grads = (loss: PerSampleLoss) =>
    torch.tidy(() => {
      const z = torch.tensor(LOGITS, { dtype: 'float64' }).requiresGrad_(true);
      loss.perSample(z, labelTensor()).sum().backward();
      return Array.from(z.grad!.toFloat64Array());
    });
  close(grads(bs), grads(la), 1e-6, 'gradients');
  close(closedFormGradNormSq(bs), finiteDifferenceGradNormSq(bs), 1e-5, 'gradient norms');
});

test('effective-number weights by hand; the class-balanced loss on CE and focal scales each sample by its class weight', () => {
  // beta 0.5, counts 2 and 1: (1 - 0.5) / (1 - 0.25) = 2/3 and 0.5 / 0.5 = 1; normalised to sum 2: 0.8 and 1.2.
  close(Array.from(effectiveNumberWeights([2, 1], 0.5)), [0.8, 1.2], 1e-12, 'weights');
  // beta 0: every class weight 1 (plain CE); an absent class gets weight 0.
  close(Array.from(effectiveNumberWeights([5, 1, 2], 0)), [1, 1, 1], 1e-12, 'beta 0');
  const withAbsent = effectiveNumberWeights([3, 0, 1], 0.9);
  assert.equal(withAbsent[1], 0);
  assert.ok(Math.abs(withAbsent[0]! + withAbsent[2]! - 3) < 1e-12);
  const w = effectiveNumberWeights(COUNTS, 0.9);
  const cb = effectiveNumberLoss(COUNTS, { beta: 0.9 });
  close(
    perSample(cb, LOGITS),
    LOGITS.map((z, i) => w[LABELS[i]!]! * ce(z, LABELS[i]!)),
    1e-6,
    'CE losses',
  );
  close(closedFormGradNormSq(cb), finiteDifferenceGradNormSq(cb), 1e-5, 'gradient norms');
  // Focal (gamma 2): -w_y (1 - p_y)^2 log p_y.
  const focal = effectiveNumberLoss(COUNTS, { beta: 0.9, base: 'focal', gamma: 2 });
  const focalByHand = LOGITS.map((z, i) => {
    const l = ce(z, LABELS[i]!);
    return w[LABELS[i]!]! * (1 - Math.exp(-l)) ** 2 * l;
  });
  close(perSample(focal, LOGITS), focalByHand, 1e-6, 'focal losses');
});

test('long-tail strategy specs: defaults, ranges and options that apply only with base=focal', () => {
  const info = { classCounts: COUNTS, size: 10, batchSize: 4 };
  assert.equal(createStrategy(parseStrategy('logit-adjust'), info).loss.name, 'logit-adjust');
  assert.equal(createStrategy(parseStrategy('balanced-softmax'), info).loss.name, 'balanced-softmax');
  assert.equal(createStrategy(parseStrategy('cb:base=focal,gamma=1'), info).loss.name, 'cb-focal');
  assert.throws(() => parseStrategy('logit-adjust:tau=-1'), /tau must be a finite number >= 0, got -1/);
  assert.throws(() => parseStrategy('cb:beta=1'), /beta must be a number in \[0, 1\), got 1/);
  assert.throws(() => parseStrategy('cb:gamma=1'), /option gamma applies only with base=focal/);
  assert.throws(() => parseStrategy('balanced-softmax:tau=1'), /bad option 'tau=1'/);
});
