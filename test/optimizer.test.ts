// The Optimizer interface: SGD's and Adam's state as named tensors, restored into a fresh
// optimizer, continues exactly as the original would (the checkpoint's contract), and foreign or
// misshapen state is refused with a message naming the entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { SGD, Adam, clipGradNorm, GradClipping, type Optimizer } from '../src/optim/index.js';

/** Three parameters, one never given a gradient (its state stays absent). */
function params(): torch.Tensor[] {
  return [torch.tensor([1, -2, 3]), torch.tensor([[0.5, 0.25]]), torch.tensor([7])].map((t) => torch.keep(t.requiresGrad_(true)));
}

/** Gradients of sum((p * k)^2) for the first two parameters: a fixed, parameter-dependent gradient. */
function step(opt: Optimizer, k: number): void {
  torch.tidy(() => {
    opt.zeroGrad();
    const [a, b] = opt.params as [torch.Tensor, torch.Tensor];
    a.mul(torch.tensor([k]))
      .pow(torch.tensor([2]))
      .sum()
      .add(
        b
          .mul(torch.tensor([k]))
          .pow(torch.tensor([2]))
          .sum(),
      )
      .backward();
    opt.step();
  });
}

const values = (ps: torch.Tensor[]) => ps.map((p) => Array.from(p.toFloat64Array()));

for (const [name, make] of [
  ['SGD (Nesterov, weight decay)', (ps: torch.Tensor[]) => new SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 })],
  ['Adam', (ps: torch.Tensor[]) => new Adam(ps, { lr: 0.05, weightDecay: 0.01 })],
] as const) {
  test(`${name}: state saved after 2 steps and loaded into a fresh optimizer continues exactly as the original`, () => {
    const pa = params();
    const a = make(pa);
    step(a, 1);
    step(a, 2);
    const pb = params();
    pb.forEach((p, i) => torch.noGrad(() => p.copy_(pa[i]!)));
    const b = make(pb);
    const saved = new Map<string, torch.Tensor>();
    for (const [k, v] of a.stateTensors()) saved.set(k, v instanceof torch.Tensor ? v : torch.keep(torch.tensor(v.data as Float64Array)));
    assert.ok(![...saved.keys()].some((k) => k.endsWith('.2')), `no state for the parameter without a gradient: ${[...saved.keys()]}`);
    b.loadStateTensors(saved);
    step(a, 3);
    step(b, 3);
    assert.deepEqual(values(pb), values(pa));
    // Foreign or misshapen state is refused, naming the entry.
    const foreign = name === 'Adam' ? 'momentum.0' : 'm.0';
    assert.throws(() => b.loadStateTensors(new Map([[foreign, pa[0]!]])), new RegExp(`unknown state '${foreign.replace('.', '\\.')}'`));
    const misshapen = name === 'Adam' ? 'm.1' : 'momentum.1';
    assert.throws(
      () => b.loadStateTensors(new Map([[misshapen, pa[0]!]])),
      new RegExp(`'${misshapen.replace('.', '\\.')}' has shape \\[3\\], parameter 1 has \\[1,2\\]`),
    );
    assert.throws(
      () => b.loadStateTensors(new Map([[misshapen.replace('1', '9'), pa[0]!]])),
      /for parameter 9, but there are 3 parameters/,
    );
    a.dispose();
    b.dispose();
  });
}

test('gradient clipping: the joint norm is scaled to maxNorm (by hand: norm 13 of grads (3, 4) and (12)); below it nothing changes', () => {
  const make = () => [torch.tensor([1, 1]), torch.tensor([1]), torch.tensor([5])].map((t) => torch.keep(t.requiresGrad_(true)));
  /** Gradients (3, 4) and (12) for the first two parameters; the third gets none. */
  const backward = (ps: torch.Tensor[]) =>
    torch.tidy(() =>
      ps[0]!
        .mul(torch.tensor([3, 4]))
        .sum()
        .add(ps[1]!.mul(torch.tensor([12])).sum())
        .backward(),
    );
  const grads = (ps: torch.Tensor[]) => ps.slice(0, 2).map((p) => Array.from(p.grad!.toFloat64Array()));
  const close = (got: number[][], want: number[][]) =>
    got.flat().forEach((g, i) => assert.ok(Math.abs(g - want.flat()[i]!) < 1e-5, `${got} against ${want}`));

  const ps = make();
  backward(ps);
  clipGradNorm(ps, 6.5);
  const factor = 6.5 / (13 + 1e-6); // PyTorch's clip_grad_norm_ factor
  close(grads(ps), [[3 * factor, 4 * factor], [12 * factor]]);
  assert.equal(ps[2]!.grad, null, 'a parameter without a gradient is left alone');

  const below = make();
  backward(below);
  clipGradNorm(below, 20);
  assert.deepEqual(grads(below), [[3, 4], [12]]);

  // GradClipping around SGD: one step of lr 0.1 moves the parameters by lr times the clipped gradients.
  const stepped = make();
  const opt = new GradClipping(new SGD(stepped, { lr: 0.1 }), 6.5);
  backward(stepped);
  opt.step();
  close(values(stepped).slice(0, 2), [[1 - 0.3 * factor, 1 - 0.4 * factor], [1 - 1.2 * factor]]);
  opt.lr = 0.5;
  assert.equal((opt.inner as SGD).lr, 0.5, 'the schedule sets the inner optimizer rate');
  assert.throws(() => clipGradNorm(stepped, 0), /maxNorm 0, expected a positive number/);
  assert.throws(() => new GradClipping(new SGD(stepped, { lr: 0.1 }), Number.NaN), /maxNorm NaN/);
  opt.dispose();
});
