// The long-tail losses against hand computations and finite differences: logit adjustment,
// Balanced Softmax (the same gradients as logit adjustment at tau = 1), and the effective-number
// class weights of Cui et al., on CE and focal loss, LDAM's margins and DRW's switch, post-hoc
// logit adjustment's evaluation logits, LOW on each of them; and their strategy specs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import {
  balancedSoftmaxLoss,
  effectiveNumberLoss,
  effectiveNumberWeights,
  ldamLoss,
  ldamMargins,
  logitAdjustedLoss,
  logitAdjustments,
} from '../src/weighting/long-tail-losses.js';
import { drwStartEpoch, ldamStrategy } from '../src/weighting/ldam.js';
import { lowWeights } from '../src/weighting/low-weights.js';
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

test('LDAM: margins n_c^(-1/4) scaled to max 0.5 by hand; the loss CE(s (z - m_y e_y)) by hand; gradient norms by finite differences', () => {
  const margins = Array.from(ldamMargins([100, 10, 1]));
  close(margins, [0.5 * 100 ** -0.25, 0.5 * 10 ** -0.25, 0.5], 1e-12, 'margins');
  const m = Array.from(ldamMargins(COUNTS));
  for (const s of [1, 30]) {
    const loss = ldamLoss(COUNTS, { s });
    const byHand = LOGITS.map((z, i) =>
      ce(
        z.map((v, c) => s * (c === LABELS[i] ? v - m[c]! : v)),
        LABELS[i]!,
      ),
    );
    close(perSample(loss, LOGITS), byHand, 1e-6, `losses, s ${s}`);
    close(closedFormGradNormSq(loss), finiteDifferenceGradNormSq(loss), s === 1 ? 1e-5 : 1e-4, `gradient norms, s ${s}`);
  }
});

test("DRW: every weight 1 before round(drw x epochs), then each class's effective-number weight, normalised to mean 1 over the batch", () => {
  const strategy = ldamStrategy(COUNTS, { drw: 0.8, beta: 0.999 });
  const w = effectiveNumberWeights(COUNTS, 0.999);
  const view = (epoch: number) =>
    ({
      logits: torch.tensor(LOGITS),
      labels: labelTensor(),
      ids: Int32Array.from([0, 1, 2]),
      perSample: torch.zeros([3]),
      epoch,
      epochs: 10,
    }) as const;
  assert.equal(drwStartEpoch(0.8, 10), 8);
  assert.equal(drwStartEpoch(0.8, 200), 160, "the authors' epoch 160 of 200");
  assert.deepEqual(Array.from(torch.tidy(() => strategy.weigh(view(7)))), [1, 1, 1]);
  const raw = LABELS.map((y) => w[y]!);
  const total = raw.reduce((a, b) => a + b, 0);
  close(
    Array.from(torch.tidy(() => strategy.weigh(view(8)))),
    raw.map((x) => (3 * x) / total),
    1e-12,
    'weights from epoch 8',
  );
  assert.deepEqual(Array.from(torch.tidy(() => ldamStrategy(COUNTS, { drw: 1 }).weigh(view(9)))), [1, 1, 1], 'drw=1: never');
  // drw=0: from the first epoch (the authors' train_rule 'Reweight').
  const fromStart = Array.from(torch.tidy(() => ldamStrategy(COUNTS, { drw: 0, beta: 0.999 }).weigh(view(0))));
  close(
    fromStart,
    raw.map((x) => (3 * x) / total),
    1e-12,
    'drw=0: weights from epoch 0',
  );
});

test('post-hoc logit adjustment: evaluation scores z - tau log pi; training weights are all 1', () => {
  const strategy = createStrategy(parseStrategy('posthoc-la:tau=2'), { classCounts: COUNTS, size: 10, batchSize: 3 });
  const adjusted = torch.tidy(() => Array.from(strategy.evaluationLogits!(torch.tensor(LOGITS)).toFloat32Array()));
  const byHand = LOGITS.flatMap((z) => z.map((v, c) => v - 2 * Math.log(COUNTS[c]! / 10)));
  close(adjusted, byHand, 1e-6, 'adjusted logits');
  const view = {
    logits: torch.tensor(LOGITS),
    labels: labelTensor(),
    ids: Int32Array.from([0, 1, 2]),
    perSample: torch.zeros([3]),
    epoch: 0,
    epochs: 1,
  };
  assert.deepEqual(Array.from(strategy.weigh(view)), [1, 1, 1]);
  strategy.dispose?.();
});

test("LOW on each long-tail loss: its weights are the exact QP on that loss's gradient norms (finite differences); norms=ce takes plain CE's; LDAM's s is taken", () => {
  const info = { classCounts: COUNTS, size: 10, batchSize: 3 };
  const cases: [string, PerSampleLoss][] = [
    ['logit-adjust', logitAdjustedLoss(COUNTS, 1)],
    ['balanced-softmax', balancedSoftmaxLoss(COUNTS)],
    ['ldam', ldamLoss(COUNTS)],
    ['ldam,s=1', ldamLoss(COUNTS, { s: 1 })],
    ['cb', effectiveNumberLoss(COUNTS)],
  ];
  const plainCe = LOGITS.map((z, i) => {
    const max = Math.max(...z);
    const e = z.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.reduce((a, v, c) => a + (v / sum - (c === LABELS[i] ? 1 : 0)) ** 2, 0);
  });
  for (const [base, loss] of cases) {
    for (const norms of ['base', 'ce'] as const) {
      const strategy = createStrategy(parseStrategy(`low:lambda=0.5,base=${base}${norms === 'ce' ? ',norms=ce' : ''}`), info);
      assert.equal(strategy.loss.name, loss.name, `${base}: trains on the base loss`);
      const view = {
        logits: torch.tensor(LOGITS, { dtype: 'float64' }),
        labels: labelTensor(),
        ids: Int32Array.from([0, 1, 2]),
        perSample: torch.zeros([3]),
        epoch: 0,
        epochs: 1,
      };
      const w = torch.tidy(() => Array.from(strategy.weigh(view)));
      const g2 = norms === 'ce' ? plainCe : finiteDifferenceGradNormSq(loss);
      close(w, Array.from(lowWeights(Float64Array.from(g2), { lambda: 0.5 })), 1e-4, `low:base=${base},norms=${norms}`);
    }
  }
});
