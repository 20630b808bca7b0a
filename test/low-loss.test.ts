// LOW on tensors: per-sample losses, gradient norms at the logits, class-balanced weights and the
// LOW loss, checked against finite differences, autograd and values worked by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { crossEntropyLoss, classBalancedLoss, classBalancedWeights, focalLoss } from '../src/weighting/losses.js';
import { gradNormSq, gradNormSqAutograd } from '../src/weighting/grad-norms.js';
import { lowLoss } from '../src/weighting/low-loss.js';

const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

function batch(seed: number, m = 16, c = 5) {
  torch.manualSeed(seed);
  return { logits: torch.randn([m, c], { dtype: 'float64' }).mul(2), labels: torch.randint(0, c, [m]) };
}

test('CE gradient norms: closed form equals autograd and finite differences', () => {
  torch.tidy(() => {
    const { logits, labels } = batch(1);
    const ce = crossEntropyLoss();
    const closed = gradNormSq(ce, logits, labels);
    const auto = gradNormSqAutograd(ce, logits, labels);
    closed.forEach((v, i) => close(v, auto[i]!, 1e-12, `row ${i}`));
    // Finite differences of sample 0's own loss with respect to its 5 logits.
    const z = logits.toFloat64Array();
    const y = labels.toNumbers()[0]!;
    const lossOf = (row: Float64Array) => {
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0));
      return lse - row[y]!;
    };
    let g2 = 0;
    for (let k = 0; k < 5; k++) {
      const plus = z.slice(0, 5);
      const minus = z.slice(0, 5);
      plus[k]! += 1e-6;
      minus[k]! -= 1e-6;
      g2 += ((lossOf(plus) - lossOf(minus)) / 2e-6) ** 2;
    }
    close(closed[0]!, g2, 1e-6, 'finite differences');
  });
});

test("gradScale 'batch-mean' is the per-sample g^2 divided by M^2 (the released code's scaling)", () => {
  torch.tidy(() => {
    const { logits, labels } = batch(2, 8);
    const ce = crossEntropyLoss();
    const sample = gradNormSq(ce, logits, labels, 'sample');
    const mean = gradNormSq(ce, logits, labels, 'batch-mean');
    // Independently: autograd of the batch-mean loss, as LOW.py does it.
    const z = logits.detach().requiresGrad_();
    const [g] = torch.grad(torch.F.crossEntropy(z, labels, { reduction: 'mean' }), z);
    const reference = g!.square().sum(1).toFloat64Array();
    sample.forEach((v, i) => close(mean[i]!, v / 64, 1e-12, `row ${i}`));
    mean.forEach((v, i) => close(v, reference[i]!, 1e-12, `autograd row ${i}`));
  });
});

test('focal loss with gamma = 0 equals cross-entropy; a value worked by hand', () => {
  torch.tidy(() => {
    const { logits, labels } = batch(3);
    const ce = crossEntropyLoss().perSample(logits, labels).toFloat64Array();
    const fl0 = focalLoss({ gamma: 0 }).perSample(logits, labels).toFloat64Array();
    ce.forEach((v, i) => close(fl0[i]!, v, 1e-12, `row ${i}`));
    // Two classes, logits [0, ln 3]: p_1 = 3/4. FL = -(1 - 3/4)^2 ln(3/4) = 0.0625 * 0.2876821 = 0.01798013.
    const z = torch.tensor([[0, Math.log(3)]], { dtype: 'float64' });
    const fl = focalLoss({ gamma: 2 })
      .perSample(z, torch.tensor(new BigInt64Array([1n])))
      .item();
    close(fl, 0.0625 * -Math.log(0.75), 1e-12, 'focal by hand');
    // With alpha = [0.25, 0.75] the same sample is scaled by alpha_1 = 0.75.
    const fla = focalLoss({ gamma: 2, alpha: [0.25, 0.75] })
      .perSample(z, torch.tensor(new BigInt64Array([1n])))
      .item();
    close(fla, 0.75 * 0.0625 * -Math.log(0.75), 1e-6, 'focal with alpha');
  });
});

test('focal loss gradient norms from autograd match finite differences', () => {
  torch.tidy(() => {
    const { logits, labels } = batch(4, 4, 3);
    const g2 = gradNormSq(focalLoss({ gamma: 2 }), logits, labels);
    const z = logits.toFloat64Array();
    const y = labels.toNumbers();
    const fl = (row: number[], c: number) => {
      const mx = Math.max(...row);
      const s = row.reduce((a, v) => a + Math.exp(v - mx), 0);
      const p = Math.exp(row[c]! - mx) / s;
      return -((1 - p) ** 2) * Math.log(p);
    };
    for (let i = 0; i < 4; i++) {
      let sum = 0;
      for (let k = 0; k < 3; k++) {
        const plus = Array.from(z.slice(i * 3, i * 3 + 3));
        const minus = plus.slice();
        plus[k]! += 1e-6;
        minus[k]! -= 1e-6;
        sum += ((fl(plus, y[i]!) - fl(minus, y[i]!)) / 2e-6) ** 2;
      }
      close(g2[i]!, sum, 1e-5, `row ${i}`);
    }
  });
});

test('class-balanced weights worked by hand on 3 classes', () => {
  // Counts 6, 3, 1 (N = 10, C = 3): w_c = N / (C n_c) = 10/18, 10/9, 10/3.
  // Averaged over the 10 samples: (6 * 10/18 + 3 * 10/9 + 1 * 10/3) / 10 = (10/3 + 10/3 + 10/3) / 10 = 1.
  const w = classBalancedWeights([6, 3, 1]);
  close(w[0]!, 10 / 18, 1e-15, 'class 0');
  close(w[1]!, 10 / 9, 1e-15, 'class 1');
  close(w[2]!, 10 / 3, 1e-15, 'class 2');
  assert.equal(classBalancedWeights([4, 0, 4])[1], 0, 'an absent class gets weight 0');
  assert.throws(() => classBalancedWeights([1, -1]), /class 1 has count -1/);
  torch.tidy(() => {
    const z = torch.tensor(
      [
        [0.5, 0, 0],
        [0, 0, 1],
      ],
      { dtype: 'float64' },
    );
    const y = torch.tensor(new BigInt64Array([0n, 2n]));
    const bce = classBalancedLoss([6, 3, 1]);
    const ce = crossEntropyLoss().perSample(z, y).toFloat64Array();
    const got = bce.perSample(z, y).toFloat64Array();
    close(got[0]!, ce[0]! * (10 / 18), 1e-6, 'sample 0');
    close(got[1]!, ce[1]! * (10 / 3), 1e-6, 'sample 1');
    const auto = gradNormSqAutograd(bce, z, y);
    const closed = gradNormSq(bce, z, y);
    closed.forEach((v, i) => close(v, auto[i]!, 1e-6, `bce g2 row ${i}`));
  });
});

test('lowLoss: weights average 1 and the loss is sum(w * l) / M, with w constant for backward', () => {
  torch.tidy(() => {
    const { logits, labels } = batch(5, 32, 10);
    const z = logits.detach().requiresGrad_();
    const r = lowLoss(z, labels, { lambda: 0.1 });
    const l = r.perSample.detach().toFloat64Array();
    const mean = r.weights.reduce((a, b) => a + b, 0) / 32;
    close(mean, 1, 1e-12, 'mean weight');
    close(r.loss.item(), l.reduce((a, li, i) => a + li * r.weights[i]!, 0) / 32, 1e-9, 'weighted loss');
    // d loss / d z_i = w_i / M * (softmax - onehot): the weights are constants.
    r.loss.backward();
    const grad = z.grad!.toFloat64Array();
    const p = torch.F.softmax(z.detach(), 1).toFloat64Array();
    const y = labels.toNumbers();
    for (let i = 0; i < 32; i++) {
      for (let k = 0; k < 10; k++) {
        const expected = (r.weights[i]! / 32) * (p[i * 10 + k]! - (k === y[i] ? 1 : 0));
        close(grad[i * 10 + k]!, expected, 1e-9, `grad ${i},${k}`);
      }
    }
  });
});

test('the fused CE gradient-norm kernel matches the tensor formula in float32 and rejects bad labels', () => {
  torch.tidy(() => {
    torch.manualSeed(6);
    const z = torch.randn([64, 7]).mul(3);
    const y = torch.randint(0, 7, [64]);
    const fused = torch.F.crossEntropyGradNormSq(z, y);
    const formula = torch.F.softmax(z.double(), 1).sub(torch.F.oneHot(y, 7).double()).square().sum(1).toFloat64Array();
    fused.forEach((v, i) => close(v, formula[i]!, 1e-12, `row ${i}`));
    assert.throws(
      () => torch.F.crossEntropyGradNormSq(z, torch.full([64], 7, { dtype: 'int64' })),
      /label 7 of row 0 is out of range for 7 classes/,
    );
    assert.throws(() => torch.F.crossEntropyGradNormSq(z, y.float()), /labels must be integers/);
    assert.throws(() => torch.F.crossEntropyGradNormSq(z.flatten(), y), /logits must be 2-d/);
  });
});
