// Strategies on hand-checked cases: which samples self-paced learning keeps, importance
// sampling's variance-reduction estimate and unbiased weights, and the strategy spec parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { selfPacedStrategy } from '../src/weighting/self-paced.js';
import { importanceSamplingStrategy, varianceReduction } from '../src/weighting/importance-sampling.js';
import { parseStrategy, formatStrategy, createStrategy } from '../src/weighting/registry.js';
import type { BatchView } from '../src/weighting/strategy.js';

function view(losses: number[], epoch: number): BatchView {
  const t = torch.tensor(Float64Array.from(losses));
  return { logits: t, labels: t, ids: new Int32Array(losses.length), perSample: t, epoch, epochs: 10 };
}

test('self-paced learning: median of the batch in epoch 1, then the first epoch median times growth^(e-1)', () => {
  torch.tidy(() => {
    const spl = selfPacedStrategy({ startQuantile: 0.5, growth: 2 });
    // Batch 1: losses 1, 2, 3, 4, 5 -> median 3 -> v = [1, 1, 1, 0, 0] (l <= threshold).
    assert.deepEqual(Array.from(spl.weigh(view([1, 2, 3, 4, 5], 0))), [1, 1, 1, 0, 0]);
    // A checkpoint between the first epoch's batches keeps the losses seen so far.
    const midFirst = selfPacedStrategy({ startQuantile: 0.5, growth: 2 });
    midFirst.loadState!(JSON.parse(JSON.stringify(spl.state!())));
    // Batch 2: losses 10, 20, 30 -> its own median 20.
    for (const s of [spl, midFirst]) assert.deepEqual(Array.from(s.weigh(view([10, 20, 30], 0))), [1, 1, 0]);
    for (const s of [spl, midFirst]) s.endEpoch!(0);
    // First-epoch losses 1, 2, 3, 4, 5, 10, 20, 30: median (linear interpolation) = (4 + 5) / 2 = 4.5.
    for (const s of [spl, midFirst]) assert.deepEqual(Array.from(s.weigh(view([4, 4.5, 5], 1))), [1, 1, 0]);
    // Epoch 3 (index 2): threshold 4.5 * 2 = 9.
    assert.deepEqual(Array.from(spl.weigh(view([8.9, 9, 9.1], 2))), [1, 1, 0]);
    // The threshold survives a checkpoint.
    const restored = selfPacedStrategy({ startQuantile: 0.5, growth: 2 });
    restored.loadState!(JSON.parse(JSON.stringify(spl.state!())));
    assert.deepEqual(Array.from(restored.weigh(view([8.9, 9, 9.1], 2))), [1, 1, 0]);
  });
});

test('importance sampling: variance reduction worked by hand', () => {
  // Uniform scores: no reduction, 1.
  assert.equal(varianceReduction(Float64Array.from([2, 2, 2, 2])), 1);
  // Scores 3, 1: g = (3/4, 1/4), u = 1/2; ||g - u||^2 = 1/8, ||g||^2 = 10/16 -> ratio 1/5;
  // 1 / sqrt(1 - 1/5) = 1 / sqrt(0.8) = 1.118034.
  assert.ok(Math.abs(varianceReduction(Float64Array.from([3, 1])) - 1 / Math.sqrt(0.8)) < 1e-12);
});

test('importance sampling: uniform until tau passes the threshold, then proportional picks weighted 1/(B p)', () => {
  torch.tidy(() => {
    // Candidates whose CE gradient norms differ a lot: confident-correct rows vs wrong rows.
    const B = 12;
    const rows: number[][] = [];
    const labels: bigint[] = [];
    for (let i = 0; i < B; i++) {
      rows.push(i < 9 ? [8, 0, 0] : [0, 8, 0]);
      labels.push(0n);
    }
    const logits = torch.tensor(rows, { dtype: 'float64' });
    const y = torch.tensor(BigInt64Array.from(labels));
    const is = importanceSamplingStrategy({ presample: 3, momentum: 0, tauThreshold: 1.5, seed: 1 });
    const picked = is.sampling!.pick({ logits, labels: y, ids: new Int32Array(B) }, 4);
    // Scores: g_i = ||softmax - onehot|| per row; the estimate with momentum 0 is the batch's own.
    const p = torch.F.softmax(logits, 1).toFloat64Array();
    const scores = Array.from({ length: B }, (_, i) => Math.hypot(p[i * 3]! - 1, p[i * 3 + 1]!, p[i * 3 + 2]!));
    const total = scores.reduce((a, b) => a + b, 0);
    assert.ok(varianceReduction(Float64Array.from(scores)) > 1.5, 'the example is meant to switch sampling on');
    assert.equal(picked.picks.length, 4);
    picked.picks.forEach((pos, k) => {
      const expected = 1 / (B * (scores[pos]! / total));
      assert.ok(Math.abs(picked.weights[k]! - expected) < 1e-9 * expected, `weight of pick ${k}`);
    });
    // Below the threshold the picks are uniform (distinct candidates, weight 1).
    const off = importanceSamplingStrategy({ presample: 3, momentum: 0, tauThreshold: 1e9, seed: 1 });
    const uniform = off.sampling!.pick({ logits, labels: y, ids: new Int32Array(B) }, 4);
    assert.equal(new Set(uniform.picks).size, 4);
    assert.deepEqual(Array.from(uniform.weights), [1, 1, 1, 1]);
  });
});

test('strategy specs: parse, format, defaults and errors that name the bad part', () => {
  assert.deepEqual(parseStrategy('low'), { name: 'low', options: { lambda: 0.1 } });
  assert.equal(formatStrategy(parseStrategy('low:lambda=0.5,scale=batch-mean')), 'low:lambda=0.5,scale=batch-mean');
  assert.equal(formatStrategy(parseStrategy('low:scale=sample,lambda=1')), 'low:lambda=1');
  assert.equal(formatStrategy(parseStrategy('focal:gamma=1')), 'focal:gamma=1');
  assert.throws(() => parseStrategy('lowish'), /unknown strategy 'lowish'.*normal, focal/);
  assert.throws(() => parseStrategy('low:lamda=1'), /bad option 'lamda=1'.*lambda, scale, base, gamma/);
  assert.throws(() => parseStrategy('low:scale=mean'), /scale must be 'sample' or 'batch-mean'/);
  assert.throws(() => parseStrategy('focal:gamma=x'), /gamma must be a number/);
  // Out of range: refused when the spec is parsed (before a run writes anything), and by the strategy itself for a spec built by hand.
  assert.throws(() => parseStrategy('low:lambda=-1'), /strategy 'low:lambda=-1': lambda must be a finite number > 0, got -1/);
  assert.throws(
    () => createStrategy({ name: 'low', options: { lambda: -1 } }, { classCounts: [1, 1], size: 2, batchSize: 2 }),
    /lambda = -1/,
  );
  const s = createStrategy(parseStrategy('low:base=bce,lambda=0.5'), { classCounts: [3, 1], size: 4, batchSize: 2 });
  assert.equal(s.loss.name, 'bce');
  // norms: its default (base) and the redundant norms=ce on a CE base name the same run.
  assert.equal(formatStrategy(parseStrategy('low:base=bce,norms=base,lambda=1')), 'low:base=bce,lambda=1');
  assert.equal(formatStrategy(parseStrategy('low:norms=ce,lambda=1')), 'low:lambda=1');
  assert.equal(formatStrategy(parseStrategy('low:base=bce,norms=ce,lambda=1')), 'low:base=bce,norms=ce,lambda=1');
  assert.throws(() => parseStrategy('low:norms=bce'), /norms must be base .* or ce .*got 'bce'/);
});

test("low on class-balanced CE: weights from the base loss's norms (class weights squared in) or, with norms=ce, from plain CE's", () => {
  // Two samples, two classes with counts 3 and 1: class weights 4 / (2 * 3) = 2/3 and 4 / (2 * 1) = 2.
  const logits = torch.keep(
    torch.tensor([
      [1, 0],
      [0.5, 0.5],
    ]),
  );
  const labels = torch.keep(torch.tensor(BigInt64Array.from([0n, 1n])));
  const info = { classCounts: [3, 1], size: 4, batchSize: 2 };
  // CE's gradient at the logits is softmax - onehot; in two classes its squared norm is 2 (1 - p_y)^2.
  const p0 = 1 / (1 + Math.exp(-1));
  const ce = [2 * (1 - p0) ** 2, 2 * 0.5 ** 2];
  const bce = [ce[0]! * (2 / 3) ** 2, ce[1]! * 2 ** 2];
  // With M = 2 the projection of 1 + g / (2 lambda) onto {w >= 0, w1 + w2 = 2} is w1 = 1 + (g1 - g2) / (4 lambda), clipped to [0, 2].
  const expected = (g: number[], lambda: number) => {
    const w1 = Math.min(2, Math.max(0, 1 + (g[0]! - g[1]!) / (4 * lambda)));
    return [w1, 2 - w1];
  };
  const weigh = (text: string) => {
    const s = createStrategy(parseStrategy(text), info);
    assert.equal(s.loss.name, 'bce', `${text}: the loss is class-balanced CE either way`);
    return torch.tidy(() =>
      Array.from(
        s.weigh({ logits, labels, ids: Int32Array.from([0, 1]), perSample: s.loss.perSample(logits, labels), epoch: 0, epochs: 1 }),
      ),
    );
  };
  const close = (a: number[], b: number[]) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-6, `${a} vs ${b}`));
  close(weigh('low:base=bce,lambda=2'), expected(bce, 2));
  close(weigh('low:base=bce,norms=ce,lambda=2'), expected(ce, 2));
});
