// Misuse must surface as a JavaScript Error with a useful message, and the process must go on:
// each test ends with a normal operation whose result is checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as torch from '../src/torch/index.js';
import { F, type Tensor } from '../src/torch/index.js';
import { native } from '../src/torch/native.js';
import { LeNet5 } from '../src/models/lenet5.js';

torch.setNumThreads(1);

/** Asserts fn throws an Error (a real JavaScript Error object) whose message matches `message`. */
function throwsError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, `expected an Error, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

/** A normal operation after the failures: the engine still works. */
function stillWorks(): void {
  torch.tidy(() => {
    const y = torch
      .tensor([
        [1, 2],
        [3, 4],
      ])
      .matmul(torch.tensor([[1], [1]]));
    assert.deepEqual(y.toNumbers(), [3, 7]);
  });
}

const i64 = (v: number[]): Tensor => torch.tensor(BigInt64Array.from(v.map(BigInt)));

test('mismatched shapes: matmul, non-broadcastable add, conv2d with the wrong channel count, reshape, view', () => {
  torch.tidy(() => {
    const a = torch.ones([2, 3]);
    throwsError(() => a.matmul(torch.ones([4, 5])), /^matmul: .*shapes cannot be multiplied \(2x3 and 4x5\)/);
    throwsError(() => a.add(torch.ones([4])), /^add: The size of tensor a \(3\) must match the size of tensor b \(4\)/);
    throwsError(() => a.mul(torch.ones([3, 3])), /^mul: The size of tensor a/);
    throwsError(
      () => F.conv2d(torch.ones([1, 3, 8, 8]), torch.ones([4, 2, 3, 3])),
      /^conv2d: .*expected input\[1, 3, 8, 8\] to have 2 channels, but got 3 channels/,
    );
    throwsError(() => F.linear(a, torch.ones([4, 5])), /^linear: .*cannot be multiplied/);
    throwsError(() => a.reshape(4, 2), /^reshape: shape '\[4, 2\]' is invalid for input of size 6/);
    throwsError(() => a.t().view(6), /^view: .*Use \.reshape/);
    throwsError(() => torch.cat([a, torch.ones([2, 4])], 0), /^cat: /);
    throwsError(() => a.copy_(torch.ones([5])), /^copy_: /);
    // A LeNet5 fed a 3-channel image names the channel problem.
    torch.manualSeed(0);
    const net = new LeNet5();
    throwsError(() => net.forward(torch.ones([1, 3, 28, 28])), /^conv2d: .*to have 1 channels, but got 3 channels/);
    net.dispose();
    // JS-side checks.
    throwsError(() => torch.tensor(new Float32Array(5), { shape: [2, 3] }), /6 elements but the data has 5/);
    throwsError(() => torch.tensor([[1, 2], [3]]), /ragged/);
  });
  stillWorks();
});

test('wrong dtypes: crossEntropy with float targets, index with float indices, where with a float condition', () => {
  torch.tidy(() => {
    const logits = torch.randn([2, 3]);
    throwsError(() => F.crossEntropy(logits, torch.tensor([0, 1])), /^crossEntropy: expected scalar type Long but found Float/);
    throwsError(() => F.nllLoss(logits, torch.tensor([0, 1])), /^nllLoss: expected scalar type Long but found Float/);
    throwsError(() => logits.indexSelect(1, torch.tensor([1])), /^indexSelect: .*Expected dtype int32 or int64 for index/);
    throwsError(() => torch.where(logits, logits, logits), /^where: .*boolean/);
    throwsError(() => F.crossEntropy(logits, i64([0, 3])), /^crossEntropy: Target 3 is out of bounds/);
    throwsError(() => F.crossEntropy(logits, i64([0, 1]), { reduction: 'avg' as never }), /reduction 'avg'/);
    // A gradient of the wrong dtype or shape is refused, as in PyTorch.
    const p = torch.zeros([2, 3], { requiresGrad: true });
    throwsError(
      () => (p.grad = torch.zeros([2, 3], { dtype: 'float64' })),
      /grad: the assigned gradient is float64 \[2, 3\].*float32 \[2, 3\]/,
    );
    throwsError(() => (p.grad = torch.zeros([3])), /grad: the assigned gradient is float32 \[3\]/);
    assert.equal(p.grad, null);
  });
  stillWorks();
});

test('out-of-range indices: indexSelect, gather, select, index, narrow, dims', () => {
  torch.tidy(() => {
    const a = torch.ones([2, 3]);
    throwsError(() => a.indexSelect(1, i64([0, 3])), /^indexSelect: .*out of .*bounds.*3/);
    throwsError(() => a.indexSelect(1, i64([-1])), /^indexSelect: .*out of .*bounds/);
    throwsError(
      () => a.gather(1, torch.tensor([[0, 5]], { dtype: 'int64' })),
      /^gather: index 5 is out of bounds for dimension 1 with size 3/,
    );
    throwsError(() => a.select(0, 2), /^select: .*index 2 out of range for tensor of size \[2, 3\] at dimension 0/);
    throwsError(() => a.select(3, 0), /^select: Dimension out of range \(expected to be in range of \[-2, 1\], but got 3\)/);
    throwsError(() => a.index(i64([5])), /^index: index 5 is out of bounds for dimension 0 with size 2/);
    throwsError(() => a.narrow(0, 1, 5), /^narrow: start \(1\) \+ length \(5\) exceeds dimension size \(2\)/);
    throwsError(() => a.sum(4), /^sum: Dimension out of range/);
    throwsError(() => a.size(2), /size\(2\): dimension out of range for a 2-d tensor/);
    throwsError(() => a.item(), /^item: item\(\) needs a tensor with one element, got shape \[2, 3\]/);
  });
  stillWorks();
});

test('using a disposed tensor throws; dispose is idempotent', () => {
  const t = torch.ones([2, 2]);
  const other = torch.ones([2, 2]);
  t.dispose();
  assert.equal(t.isDisposed, true);
  t.dispose(); // idempotent
  throwsError(() => t.add(1), /^addScalar: argument 0: tensor was disposed/);
  throwsError(() => other.add(t), /^add: argument 1: tensor was disposed/);
  throwsError(() => t.toArray(), /^toArray: argument 0: tensor was disposed/);
  throwsError(() => t.sum(), /^sumAll: argument 0: tensor was disposed/);
  throwsError(() => torch.cat([other, t]), /^cat: argument 0: tensor was disposed/);
  // A parameter disposed with its module.
  torch.manualSeed(0);
  const net = new LeNet5();
  net.dispose();
  throwsError(() => net.forward(torch.ones([1, 1, 28, 28])), /tensor was disposed/);
  assert.deepEqual(other.add(1).toNumbers(), [2, 2, 2, 2]);
  other.dispose();
  stillWorks();
});

test('autograd misuse: backward of a non-scalar without a gradient, twice through a freed graph, in place on a leaf', () => {
  torch.tidy(() => {
    const p = torch.ones([2]).requiresGrad_();
    throwsError(() => p.mul(2).backward(), /^backward: grad can be implicitly created only for scalar outputs/);
    throwsError(
      () => p.mul(2).backward(torch.ones([3])),
      /^backward: invalid gradient at index 0 - got \[3\] but expected shape compatible with \[2\]/,
    );
    const l = p.mul(p).sum();
    l.backward();
    throwsError(() => l.backward(), /^backward: Trying to backward through the graph a second time/);
    throwsError(() => torch.ones([2]).sum().backward(), /does not require grad/);
    throwsError(() => p.add_(1), /^addScalar_: a leaf Variable that requires grad is being used in an in-place operation/);
    throwsError(() => torch.grad(p.mul(2), p, { gradOutputs: [null, null] }), /grad\(\): 2 gradOutputs for 1 outputs/);
    throwsError(() => torch.grad(p.sum(), torch.ones([1]).requiresGrad_()), /^autogradGrad: .*(not have been used|unused)/);
  });
  stillWorks();
});

test('raw native functions: wrong argument types and counts, non-tensor objects', () => {
  const a = torch.ones([2, 3]);
  const h = a.handle;
  const raw = native as unknown as Record<string, (...args: unknown[]) => unknown>;
  const cases: [() => unknown, RegExp][] = [
    // With several bad arguments any of them may be named (C++ argument conversion order is unspecified).
    [() => raw.add!(1, 2, 1), /^add: argument [01]: expected a tensor/],
    [() => raw.add!(1, h, 1), /^add: argument 0: expected a tensor/],
    [() => raw.add!(h, 2, 1), /^add: argument 1: expected a tensor/],
    [() => raw.add!(h), /^add: expected 3 arguments, got 1/],
    [() => raw.add!(h, h, 1, 5), /^add: expected 3 arguments, got 4/],
    [() => raw.add!(), /^add: expected 3 arguments, got 0/],
    [() => raw.add!({}, h, 1), /^add: argument 0: expected a tensor/],
    [() => raw.add!(a, h, 1), /^add: argument 0: expected a tensor/], // the wrapper, not its handle
    [() => raw.add!(Symbol('t'), h, 1), /^add: argument 0: expected a tensor/],
    [() => raw.add!(h, h, '1'), /^add: argument 2: expected a number/],
    [() => raw.neg!(null), /^neg: argument 0: expected a tensor/],
    [() => raw.mulScalar!(h, 'x'), /^mulScalar: argument 1: expected a number/],
    [() => raw.sum!(h, [0], 'yes'), /^sum: argument 2: expected a boolean/],
    [() => raw.reshape!(h, 'abc'), /^reshape: argument 1: expected an array of integers/],
    [() => raw.reshape!(h, [1.5, 4]), /^reshape: argument 1: expected an integer .*got 1\.5/],
    [() => raw.select!(h, NaN, 0), /^select: argument 1: expected an integer .*got nan/],
    [() => raw.select!(h, 0, 1e300), /^select: argument 2: expected an integer .*got 1e\+300/],
    [() => raw.cat!([h, 3], 0), /^cat: argument 0: expected a tensor/],
    [() => raw.cat!(h, 0), /^cat: argument 0: expected an array of tensors/],
    [() => raw.cat!([], 0), /^cat: .*non-empty list/],
    [() => raw.zeros!([2], 'float99', 'cpu'), /^zeros: unknown dtype 'float99'/],
    [() => raw.zeros!([2], 'float32', 'gpu'), /^zeros: .*device string: gpu/],
    [() => raw.zeros!([-2], 'float32', 'cpu'), /^zeros: .*negative dimension -2/],
    [() => raw.zeros!(2, 'float32', 'cpu'), /^zeros: argument 0: expected an array of integers/],
    [() => raw.fromArray!([1, 2], [2]), /^fromArray: .*expected a typed array/],
    [() => raw.fromArray!(new Float32Array(3), [2]), /^fromArray: .*shape has 2 elements but the array has 3/],
    [() => raw.fromArray!(new Uint16Array(3), [3]), /^fromArray: .*unsupported typed array/],
    [() => raw.fromArray!(new Float32Array(2), [-1, -2]), /^fromArray: .*negative dimension/],
    [() => raw.toArray!(), /^toArray: .*expected 1 argument/],
    [() => raw.toArray!({}), /^toArray: argument 0: expected a tensor/],
    [() => raw.dispose!({}), /^dispose: argument 0: expected a tensor/],
    [() => raw.isDisposed!(), /^isDisposed: argument 0: expected a tensor/],
    [() => raw.conv2d!(h, h, null, [0, 0], [0, 0], [1, 1], 1), /^conv2d: /],
    [() => raw.maxPool2d!(torch.ones([1, 1, 4, 4]).handle, [2, 2], [0, 0], [0, 0], [1, 1], false), /^maxPool2d: stride should not be zero/],
    [
      () => raw.avgPool2d!(torch.ones([1, 1, 4, 4]).handle, [0, 0], [1, 1], [0, 0], false, true),
      /^avgPool2d: kernel size should be greater than zero/,
    ],
    [() => raw.setNumThreads!(0), /^setNumThreads: expected a thread count from 1 to \d+ \(the cores this process can use\), got 0$/],
    [() => raw.setNumThreads!(100000), /^setNumThreads: expected a thread count from 1 to \d+ .*got 100000$/],
    // The guard alone names the function: one prefix, not two.
    [() => raw.fromArray!(new Float32Array(3), [2]), /^fromArray: shape has 2 elements but the array has 3$/],
    [() => raw.fromArray!(new Float32Array(3)), /^fromArray: expected 2 arguments \(typedArray, shape\), got 1$/],
    [
      () => raw.fromArray!(new Float32Array(0), [2 ** 40, 2 ** 40]),
      /^fromArray: argument 1: shape has more elements than int64 can count$/,
    ],
    [() => raw.ceGradNormSq!(h, h), /^ceGradNormSq: labels must be 1-d with 2 entries, got shape \[2, 3\]$/],
    [() => raw.ceGradNormSq!(h), /^ceGradNormSq: expected 2 arguments \(logits, labels\), got 1$/],
    [() => raw.dispose!(), /^dispose: expected 1 argument \(tensor\), got 0$/],
    [() => raw.autogradGrad!([h], [h], [null], false, false, false), /^autogradGrad: .*does not require grad/],
  ];
  for (const [fn, message] of cases) throwsError(fn, message);
  // The TS-side guards.
  throwsError(() => torch.manualSeed(-1), /manualSeed\(-1\): expected a non-negative integer/);
  throwsError(() => torch.setNumThreads(0), /setNumThreads\(0\)/);
  // A JavaScript exception raised while the addon reads an argument reaches the caller as it was.
  const trap: number[] = [2, 3];
  Object.defineProperty(trap, 0, {
    get: () => {
      throw new RangeError('from a getter');
    },
  });
  assert.throws(
    () => raw.reshape!(h, trap),
    (e: unknown) => e instanceof RangeError && e.message === 'from a getter',
  );
  // No message anywhere in these cases names its function twice.
  for (const [fn] of cases) {
    try {
      fn();
    } catch (e) {
      assert.doesNotMatch((e as Error).message, /^(\w+): \1: /, 'a doubled prefix');
    }
  }
  assert.deepEqual(a.toNumbers(), [1, 1, 1, 1, 1, 1]);
  a.dispose();
  stillWorks();
});
