// The library's functions refuse arguments of the wrong kind in TypeScript, before the addon or
// libtorch sees them, with an error naming the function, the argument and what it got.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';

import * as torch from '../src/torch/index.js';
import { F } from '../src/torch/index.js';
import { lowWeights } from '../src/weighting/low-weights.js';
import { projectOntoSimplex } from '../src/weighting/simplex.js';
import { lowStrategy } from '../src/weighting/low.js';
import { lowLoss } from '../src/weighting/low-loss.js';
import { crossEntropyLoss } from '../src/weighting/losses.js';

torch.setNumThreads(1);

/** Asserts fn throws an instance of `type` whose message matches `message` exactly as given. */
function fails(fn: () => unknown, type: ErrorConstructor, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof type, `expected a ${type.name}, got ${String(e)}`);
    assert.match((e as Error).message, message);
    return true;
  });
}

const i64 = (v: number[]): torch.Tensor => torch.tensor(BigInt64Array.from(v.map(BigInt)));

test('ops given something other than a Tensor throw a TypeError naming the function and the argument', () => {
  torch.tidy(() => {
    const x = torch.ones([2, 3]);
    const bad: [() => unknown, RegExp][] = [
      [() => F.relu({} as never), /^F\.relu: x must be a Tensor, got a plain object$/],
      [() => F.relu(null as never), /^F\.relu: x must be a Tensor, got null$/],
      [() => F.relu(undefined as never), /^F\.relu: x must be a Tensor, got undefined$/],
      [() => F.softmax([1, 2] as never), /^F\.softmax: x must be a Tensor, got an array of 2 items$/],
      [() => F.linear(x, 'w' as never), /^F\.linear: weight must be a Tensor, got the string "w"$/],
      [() => F.linear(x, torch.ones([4, 3]), 5 as never), /^F\.linear: bias must be a Tensor or null, got the number 5$/],
      [() => F.crossEntropy(x, [0, 1] as never), /^F\.crossEntropy: target must be a Tensor, got an array of 2 items$/],
      [
        () => F.crossEntropy(x, i64([0, 1]), { weight: new Float32Array(3) as never }),
        /^F\.crossEntropy: options\.weight must be a Tensor or null, got a Float32Array of 3 items$/,
      ],
      [
        () => F.batchNorm(x, { training: true, runningMean: new Map() as never }),
        /^F\.batchNorm: options\.runningMean must be a Tensor or null, got a Map$/,
      ],
      [() => F.crossEntropyGradNormSq(x, 3 as never), /^F\.crossEntropyGradNormSq: target must be a Tensor, got the number 3$/],
      [() => x.add('1' as never), /^Tensor\.add: other must be a Tensor or a number, got the string "1"$/],
      [() => x.mul_(null as never), /^Tensor\.mul_: other must be a Tensor or a number, got null$/],
      [() => x.matmul(undefined as never), /^Tensor\.matmul: other must be a Tensor, got undefined$/],
      [() => x.indexSelect(0, [0] as never), /^Tensor\.indexSelect: index must be a Tensor, got an array of 1 item$/],
      [() => x.copy_(x.handle as never), /^Tensor\.copy_: src must be a Tensor, got /],
      [() => x.backward(1 as never), /^Tensor\.backward: gradient must be a Tensor or null, got the number 1$/],
      [() => (x.grad = {} as never), /^Tensor\.grad: the gradient must be a Tensor, got a plain object$/],
      [() => torch.cat([x, 3 as never]), /^cat: tensors\[1\] must be a Tensor, got the number 3$/],
      [() => torch.stack(x as never), /^stack: tensors must be an array of Tensors, got a Tensor$/],
      [() => torch.where(x.gt(0), x, 1 as never), /^where: b must be a Tensor, got the number 1$/],
      [() => torch.zerosLike('x' as never), /^zerosLike: t must be a Tensor, got the string "x"$/],
      [() => torch.grad(x.sum(), [{} as never]), /^grad: inputs\[0\] must be a Tensor, got a plain object$/],
      [() => torch.setRngState({} as never), /^setRngState: state must be a Tensor, got a plain object$/],
    ];
    for (const [fn, message] of bad) fails(fn, TypeError, message);
    assert.deepEqual(F.relu(x.neg()).toNumbers(), [0, 0, 0, 0, 0, 0]);
  });
});

test('setNumThreads refuses a count that is not a whole number from 1 to the cores, naming the cores', () => {
  const cores = availableParallelism();
  const threads = torch.getNumThreads();
  for (const n of [0, -1, 1.5, NaN, Infinity, cores + 1, 100000, '2' as never]) {
    fails(
      () => torch.setNumThreads(n),
      RangeError,
      new RegExp(
        `^setNumThreads\\(${String(n)}\\): expected a whole number of threads from 1 to ${cores} \\(the cores this process can use\\)$`,
      ),
    );
  }
  assert.equal(torch.getNumThreads(), threads);
  torch.setNumThreads(cores);
  assert.equal(torch.getNumThreads(), cores);
  torch.setNumThreads(1);
  assert.equal(torch.getNumThreads(), 1);
});

test('configure refuses bad settings before changing anything', () => {
  const cores = availableParallelism();
  fails(() => torch.configure(null as never), TypeError, /^configure: expected an object of settings, got null$/);
  fails(
    () => torch.configure({ keepFreedMemory: 'yes' as never }),
    TypeError,
    /^configure: keepFreedMemory must be true or false, got yes$/,
  );
  fails(() => torch.configure({ threads: 0 }), RangeError, /^setNumThreads\(0\)/);
  const saved = process.env.LOW_NUM_THREADS;
  try {
    process.env.LOW_NUM_THREADS = 'many';
    fails(
      () => torch.configure({ keepFreedMemory: false }),
      RangeError,
      new RegExp(`^LOW_NUM_THREADS=many: setNumThreads\\(NaN\\): expected a whole number of threads from 1 to ${cores}`),
    );
    process.env.LOW_NUM_THREADS = String(cores + 1);
    fails(() => torch.configure({ keepFreedMemory: false }), RangeError, new RegExp(`^LOW_NUM_THREADS=${cores + 1}: `));
  } finally {
    if (saved === undefined) delete process.env.LOW_NUM_THREADS;
    else process.env.LOW_NUM_THREADS = saved;
  }
  assert.equal(torch.getNumThreads(), 1);
});

test('lowWeights and projectOntoSimplex accept only Float64Array, Float32Array or arrays of numbers', () => {
  fails(
    () => lowWeights(['1', '2', 'x'] as never, { lambda: 1 }),
    TypeError,
    /^lowWeights: gradNormSq\[0\] is the string "1"; expected a number$/,
  );
  fails(() => lowWeights([1, 2, null] as never, { lambda: 1 }), TypeError, /^lowWeights: gradNormSq\[2\] is null; expected a number$/);
  // A hole in a sparse array is undefined.
  fails(
    () => lowWeights([1, undefined, 3] as never, { lambda: 1 }),
    TypeError,
    /^lowWeights: gradNormSq\[1\] is undefined; expected a number$/,
  );
  fails(
    () => lowWeights('123' as never, { lambda: 1 }),
    TypeError,
    /^lowWeights: gradNormSq must be a Float64Array, a Float32Array or an array of numbers, got the string "123"$/,
  );
  fails(() => lowWeights(Int32Array.of(1, 2) as never, { lambda: 1 }), TypeError, /got an Int32Array of 2 items$/);
  fails(() => lowWeights([1, 2], undefined as never), TypeError, /^lowWeights: options must be an object with lambda, got undefined$/);
  fails(() => projectOntoSimplex([1, '2'] as never, 1), TypeError, /^projectOntoSimplex: v\[1\] is the string "2"; expected a number$/);
  // What is accepted: the exact solution for two samples, w = 1 +- (g2_1 - g2_0) / (4 lambda), here 1 -+ 0.25.
  for (const g2 of [[1, 2], Float32Array.of(1, 2), Float64Array.of(1, 2)])
    assert.deepEqual(Array.from(lowWeights(g2, { lambda: 1 })), [0.75, 1.25]);
});

test('lowStrategy refuses a missing or malformed base loss and options', () => {
  const ce = crossEntropyLoss();
  fails(
    () => lowStrategy(undefined as never, { lambda: 1 }),
    TypeError,
    /^lowStrategy: base must be a per-sample loss \(an object with a name and perSample\(logits, labels\)\), got undefined$/,
  );
  fails(
    () => lowStrategy({ name: 'ce' } as never, { lambda: 1 }),
    TypeError,
    /^lowStrategy: base must be a per-sample loss .*got a plain object$/,
  );
  fails(() => lowStrategy(ce, undefined as never), TypeError, /^lowStrategy: options must be an object with lambda, got undefined$/);
  fails(() => lowStrategy(ce, { lambda: '1' as never }), RangeError, /^lowStrategy: options\.lambda = 1, expected a finite number > 0$/);
  fails(
    () => lowStrategy(ce, { lambda: 1, gradScale: 'mean' as never }),
    RangeError,
    /^lowStrategy: options\.gradScale is the string "mean"; expected 'sample' or 'batch-mean'$/,
  );
  fails(
    () => lowStrategy(ce, { lambda: 1, normsFrom: 'ce' as never }),
    TypeError,
    /^lowStrategy: options\.normsFrom must be a per-sample loss .*got the string "ce"$/,
  );
  fails(() => lowStrategy(ce, { lambda: 1 }, 7 as never), TypeError, /^lowStrategy: label must be a string, got the number 7$/);
  assert.equal(lowStrategy(ce, { lambda: 0.5 }).label, 'low(lambda=0.5)');
});

test('lowLoss says logits must be [M, C] and labels [M] int64, naming what it was given', () => {
  torch.tidy(() => {
    const logits = torch.tensor([
      [1, 2, 3],
      [0, 0, 0],
    ]);
    const labels = i64([2, 0]);
    const o = { lambda: 1 };
    const expected = /^lowLoss: logits must be \[M, C\] and labels \[M\] int64; got /;
    fails(
      () => lowLoss(torch.tensor([1, 2, 3, 4]), i64([0, 1, 2, 3]), o),
      RangeError,
      /^lowLoss: logits must be \[M, C\] and labels \[M\] int64; got logits float32 \[4\] and labels int64 \[4\]$/,
    );
    fails(() => lowLoss(logits, labels.float(), o), RangeError, /got logits float32 \[2, 3\] and labels float32 \[2\]$/);
    fails(() => lowLoss(logits, i64([2, 0, 1]), o), RangeError, /got logits float32 \[2, 3\] and labels int64 \[3\]$/);
    fails(() => lowLoss(logits, i64([2, 0]).reshape(2, 1), o), RangeError, /and labels int64 \[2, 1\]$/);
    fails(() => lowLoss([[1, 2]] as never, labels, o), TypeError, /got logits an array of 1 item$/);
    fails(() => lowLoss(logits, [2, 0] as never, o), TypeError, expected);
    fails(() => lowLoss(logits, labels, null as never), TypeError, /^lowLoss: options must be an object with lambda, got null$/);
    // Accepted: with a huge lambda the weights are uniform, so the loss is plain mean cross-entropy,
    // here (log(e + e^2 + e^3) - 3 + log 3) / 2 computed in float64.
    const { loss, weights } = lowLoss(logits, labels, { lambda: 1e12 });
    const reference = (Math.log(Math.E + Math.E ** 2 + Math.E ** 3) - 3 + Math.log(3)) / 2;
    assert.ok(Math.abs(loss.item() - reference) < 1e-6, `loss ${loss.item()}, expected ${reference}`);
    assert.ok(weights.every((w) => Math.abs(w - 1) < 1e-9));
  });
});
