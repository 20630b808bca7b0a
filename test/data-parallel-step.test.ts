// The step's one synchronisation (DataParallel.reduceStep) without processes: two ranks whose
// all-reduce is played by hand (rank 1's buffer is captured, then added into rank 0's), so that
// what rank 0 receives can be checked against what each rank sent: the gradients summed, the parts
// of the batch concatenated exactly in rank order (ids and rows up to 2^40 - 1, float64 weights,
// non-finite losses), any rank's stop request, and rank 0's batch-norm buffers on every rank.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import type { Tensor } from '../src/torch/index.js';
import { BatchNorm2d, Conv2d, Module } from '../src/nn/index.js';
import { DataParallel, type WeighedPart } from '../src/distributed/data-parallel.js';
import type { ProcessGroup } from '../src/distributed/process-group.js';

torch.setNumThreads(1);

/** A conv and a batch norm: gradients, and float buffers (running statistics) besides an int64 one. */
class Tiny extends Module {
  readonly conv = this.registerModule('conv', new Conv2d(1, 2, 3));
  readonly bn = this.registerModule('bn', new BatchNorm2d(2));
  forward(x: Tensor): Tensor {
    return this.bn.forward(this.conv.forward(x)).flatten(1);
  }
}

/** A group of two whose all-reduce is `onAllReduce` (the test plays the other rank). */
function handGroup(rank: number, onAllReduce: (t: Tensor) => void): ProcessGroup {
  return { rank, worldSize: 2, allReduceSum: onAllReduce } as unknown as ProcessGroup;
}

function part(n: number, numClasses: number, seed: number): WeighedPart {
  const r = (i: number) => Math.sin(seed * 1000 + i) * 10;
  return {
    logits: Float32Array.from({ length: n * numClasses }, (_, i) => r(i)),
    labels: Int32Array.from({ length: n }, (_, i) => (i + seed) % numClasses),
    // Ids and rows beyond float32's 2^24: each travels as two 16-bit halves.
    ids: Int32Array.from({ length: n }, (_, i) => 2 ** 31 - 1 - i * 7919 - seed),
    rows: Int32Array.from({ length: n }, (_, i) => 16_777_217 + i + seed * 100),
    losses: Float32Array.from({ length: n }, (_, i) => (i === 1 && seed === 1 ? Number.NaN : Math.abs(r(i + 50)))),
    weights: Float64Array.from({ length: n }, (_, i) => 1 / 3 + i * 1e-9 + seed),
  };
}

test('reduceStep: gradients summed; the parts concatenated exactly, in rank order; any stop request; rank 0 buffers', () => {
  torch.manualSeed(0);
  const models = [new Tiny(), new Tiny()];
  const x = torch.randn([4, 1, 5, 5]);
  for (const [r, m] of models.entries()) {
    torch.tidy(() =>
      m
        .forward(x.mul(r + 1))
        .square()
        .sum()
        .backward(),
    );
  }
  const grads = models.map((m) => m.parameters().map((p) => p.grad!.toFloat32Array()));
  const buffers0 = models[0]!.bn.runningMean!.toFloat32Array();
  assert.notDeepEqual(buffers0, models[1]!.bn.runningMean!.toFloat32Array());
  const numClasses = 3;
  const parts = [part(4, numClasses, 0), part(3, numClasses, 1)];

  let sent1: Float32Array | null = null;
  const rank1 = new DataParallel(handGroup(1, (t) => void (sent1 = t.toFloat32Array())));
  rank1.askToStop(true);
  rank1.reduceStep(models[1]!, { part: parts[1]!, capacity: 4, numClasses });
  const rank0 = new DataParallel(
    handGroup(0, (t) => {
      const sum = t.add(torch.tensor(sent1!));
      t.copy_(sum);
    }),
  );
  const whole = rank0.reduceStep(models[0]!, { part: parts[0]!, capacity: 4, numClasses })!;

  models[0]!.parameters().forEach((p, i) => {
    const expected = grads[0]![i]!.map((g, k) => g + grads[1]![i]![k]!);
    assert.deepEqual(p.grad!.toFloat32Array(), expected, `gradient ${i} is the sum of the ranks'`);
  });
  assert.equal(rank0.stopAgreed, true, "rank 1's stop request reaches rank 0");
  assert.deepEqual(models[0]!.bn.runningMean!.toFloat32Array(), buffers0, "rank 0 keeps its buffers (the others' were sent as zeros)");

  const concat = <T extends { length: number; [i: number]: number }>(a: T, b: T) => [
    ...Array.from(a as ArrayLike<number>),
    ...Array.from(b as ArrayLike<number>),
  ];
  const [p0, p1] = parts as [WeighedPart, WeighedPart];
  assert.deepEqual(Array.from(whole.ids), concat(p0.ids, p1.ids));
  assert.deepEqual(Array.from(whole.rows), concat(p0.rows, p1.rows));
  assert.deepEqual(Array.from(whole.labels), concat(p0.labels, p1.labels));
  assert.deepEqual(Array.from(whole.logits), concat(p0.logits, p1.logits));
  assert.deepEqual(Array.from(whole.losses), concat(p0.losses, p1.losses), 'the NaN loss of rank 1 arrives as NaN');
  const weights = concat(p0.weights, p1.weights);
  whole.weights.forEach((w, i) =>
    assert.ok(Math.abs(w - weights[i]!) < 1e-13 * Math.abs(weights[i]!), `weight ${i}: ${w} vs ${weights[i]}`),
  );

  // Without a part (the batch was gathered before weighing), nothing but the gradients, the stop flag and the buffers.
  const alone = new DataParallel(handGroup(0, () => {}));
  assert.equal(alone.reduceStep(models[0]!), null);
  assert.equal(alone.stopAgreed, false);
  // A part larger than the capacity every rank pads to is a programming error, refused.
  assert.throws(() => alone.reduceStep(models[0]!, { part: part(5, numClasses, 0), capacity: 4, numClasses }), /exceeds the capacity 4/);
});

test('rank 1 sends zeros in rank 0 slot and its buffers as zeros (the sum is a broadcast and a gather)', () => {
  torch.manualSeed(1);
  const model = new Tiny();
  torch.tidy(() =>
    model
      .forward(torch.randn([2, 1, 5, 5]))
      .sum()
      .backward(),
  );
  let sent: Float32Array | null = null;
  const rank1 = new DataParallel(handGroup(1, (t) => void (sent = t.toFloat32Array())));
  rank1.reduceStep(model, { part: part(2, 3, 1), capacity: 2, numClasses: 3 });
  const gradientCount = model.parameters().reduce((n, p) => n + p.numel(), 0);
  const floatBuffers = 2 * 2; // running mean and variance of 2 channels (num_batches_tracked is int64: not sent)
  const slot = 1 + 2 * (3 + 8);
  const control = sent!.subarray(gradientCount);
  assert.equal(control.length, 1 + floatBuffers + 2 * slot);
  assert.equal(control[0], 0, 'no stop requested');
  assert.deepEqual(Array.from(control.subarray(1, 1 + floatBuffers)), [0, 0, 0, 0], 'buffers: only rank 0 sends them');
  assert.ok(
    control.subarray(1 + floatBuffers, 1 + floatBuffers + slot).every((v) => v === 0),
    "rank 0's slot is left zero",
  );
  assert.equal(control[1 + floatBuffers + slot], 2, 'its own slot starts with its sample count');
});
