// The Optimizer interface: SGD's and Adam's state as named tensors, restored into a fresh
// optimizer, continues exactly as the original would (the checkpoint's contract), and foreign or
// misshapen state is refused with a message naming the entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { SGD, Adam, type Optimizer } from '../src/optim/index.js';

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
