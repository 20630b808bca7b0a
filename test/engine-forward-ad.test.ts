// Forward-mode AD (torch.dualLevel): tangents against their definitions. A tangent of f at x along
// v is the directional derivative J_f(x) v: checked against a hand-worked case, against reverse
// mode (a per-sample backward loop, g_i . v) through LeNet-5, whose 2x2 pools take low-ts's own
// kernel, and the own kernel's tangents against libtorch's op, bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { LeNet5 } from '../src/models/lenet5.js';

torch.setNumThreads(1);

test('dualLevel: the tangent of sum(x * x) along v is 2 x . v; a result without a dual input has none', () => {
  const x = torch.tensor(Float32Array.from([1, -2, 3]));
  const v = torch.tensor(Float32Array.from([0.5, 1, -1]));
  const [value, tangent, none] = torch.dualLevel((level) => {
    const d = level.makeDual(x, v);
    const y = d.mul(d).sum();
    return [y.item(), level.tangentOf(y)!.item(), level.tangentOf(x.add(1))];
  });
  assert.equal(value, 14);
  assert.equal(tangent, 2 * (0.5 - 2 - 3));
  assert.equal(none, null);
  assert.throws(
    () => torch.dualLevel((level) => level.makeDual(x, torch.zeros([2]))),
    /makeDual: tangent of shape \[2\] for a primal of shape \[3\]/,
  );
  // The level is released after an error too: a new one opens.
  assert.equal(
    torch.dualLevel((level) => level.tangentOf(level.makeDual(x, v).sum())!.item()),
    0.5,
  );
});

test("LeNet-5: per-sample CE tangents along a parameter direction equal each sample's gradient . direction (reverse mode, one sample at a time)", () => {
  torch.manualSeed(4);
  const model = new LeNet5();
  const x = torch.randn([5, 1, 28, 28]);
  const y = torch.tensor(BigInt64Array.from([3n, 1n, 4n, 1n, 5n]));
  const named = model.namedParameters();
  const direction = named.map(([, p]) => torch.randn(p.shape));
  const tangents = torch.dualLevel((level) =>
    torch.noGrad(() => {
      const duals = new Map(named.map(([name, p], i) => [name, level.makeDual(p, direction[i]!)]));
      const losses = torch.F.crossEntropy(model.functionalForward(duals, x), y, { reduction: 'none' });
      return Array.from(level.tangentOf(losses)!.toFloat32Array());
    }),
  );
  const params = named.map(([, p]) => p);
  for (let i = 0; i < 5; i++) {
    const loss = torch.F.crossEntropy(model.forward(x.narrow(0, i, 1)), y.narrow(0, i, 1));
    const grads = torch.grad(loss, params);
    const dot = grads.reduce((s, g, k) => s + g!.mul(direction[k]!).sum().item(), 0);
    assert.ok(Math.abs(tangents[i]! - dot) < 1e-4 * (1 + Math.abs(dot)), `sample ${i}: tangent ${tangents[i]} vs g . v ${dot}`);
  }
  model.dispose();
});

test("max pooling with a tangent: low-ts's kernel (gradient recording off) gives libtorch's values and tangents exactly", () => {
  torch.manualSeed(5);
  const x = torch.randn([3, 4, 10, 14]);
  const v = torch.randn([3, 4, 10, 14]);
  const pooled = (record: boolean) =>
    torch.dualLevel((level) => {
      const run = () => {
        const primal = record ? x.clone().requiresGrad_() : x;
        const out = torch.F.maxPool2d(level.makeDual(primal, v), 2);
        return [Array.from(out.detach().toFloat32Array()), Array.from(level.tangentOf(out)!.toFloat32Array())];
      };
      return record ? torch.enableGrad(run) : torch.noGrad(run);
    });
  // With recording on and an input that requires grad, libtorch's own op runs (it has both derivatives).
  assert.deepEqual(pooled(false), pooled(true));
});
