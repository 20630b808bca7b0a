// The data loader on small synthetic datasets: seeded order, every sample once per epoch, last
// batch kept or dropped, the sampler hook, identical batches with and without the worker, epochs
// started at a later batch, option errors, tensor lifetimes, and processes that exit after an
// early break.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as torch from '../src/torch/index.js';
import { DataLoader, batchTensors, weightedSampler, type Batch, type DataLoaderOptions, type EpochOptions } from '../src/data/loader.js';
import {
  applyGeometry,
  compose,
  horizontalFlip,
  normalize,
  randomCrop,
  randomCropWithPadding,
  verticalFlip,
  type GeometricTransform,
} from '../src/data/augment.js';
import { augmentationFor } from '../src/data/augment.js';
import { assertAllClose } from './engine-helpers.js';
import type { ImageDataset } from '../src/data/dataset.js';
import { benchLoader } from '../src/bench/loader.js';
import { SeededRandom } from '../src/util/seeded-random.js';

torch.setNumThreads(1);

/** n images of c x h x w whose bytes encode the sample (so batches can be checked), ids 1000 + i. */
function synthetic(n: number, shape: [number, number, number] = [1, 4, 4]): ImageDataset {
  const size = shape[0] * shape[1] * shape[2];
  const images = new Uint8Array(n * size);
  for (let i = 0; i < n; i++) for (let j = 0; j < size; j++) images[i * size + j] = (i * 7 + j * 3) % 256;
  return {
    name: 'synthetic',
    images,
    shape,
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
    ids: Int32Array.from({ length: n }, (_, i) => 1000 + i),
    classNames: ['a', 'b', 'c'],
  };
}

/** Every batch of one epoch as plain data (tensors disposed). */
async function collect(loader: DataLoader, epoch: number, options?: EpochOptions) {
  const out: { ids: number[]; rows: number[]; labels: number[]; y: number[]; x: number[]; shape: number[]; index: number }[] = [];
  for await (const b of loader.epoch(epoch, options)) {
    try {
      out.push({
        ids: Array.from(b.ids),
        rows: Array.from(b.rows),
        labels: Array.from(b.labels),
        y: b.y.toNumbers(),
        x: Array.from(b.x.toFloat32Array()),
        shape: b.x.shape,
        index: b.index,
      });
    } finally {
      b.dispose();
    }
  }
  return out;
}
const idsOf = async (loader: DataLoader, epoch: number) => (await collect(loader, epoch)).flatMap((b) => b.ids);

test('the same seed and epoch give the same order; other epochs and seeds another; batch size does not matter', async () => {
  const ds = synthetic(23);
  const a = new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 42 });
  const b = new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 42, prefetch: 0, transform: normalize([0.5], [0.5]) });
  const first = await idsOf(a, 3);
  assert.deepEqual(await idsOf(a, 3), first);
  assert.deepEqual(await idsOf(b, 3), first, 'order depends on (seed, epoch) only');
  assert.deepEqual(
    Array.from(a.order(3), (p) => 1000 + p),
    first,
  );
  assert.notDeepEqual(await idsOf(a, 4), first);
  assert.notDeepEqual(await idsOf(new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 43 }), 3), first);
  // Without shuffling: file order.
  assert.deepEqual(await idsOf(new DataLoader(ds, { batchSize: 5 }), 0), Array.from(ds.ids));
  a.close();
});

test('every sample exactly once per epoch; batches carry matching ids, rows, labels and pixels', async () => {
  const ds = synthetic(23);
  const loader = new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 1 });
  const batches = await collect(loader, 0);
  assert.deepEqual(
    batches.flatMap((b) => b.ids).sort((x, y) => x - y),
    Array.from(ds.ids),
  );
  assert.deepEqual(
    batches.map((b) => b.index),
    [0, 1, 2, 3, 4],
  );
  for (const b of batches) {
    assert.deepEqual(
      b.ids,
      b.rows.map((p) => ds.ids[p]),
    );
    assert.deepEqual(
      b.labels,
      b.rows.map((p) => ds.labels[p]),
    );
    assert.deepEqual(b.y, b.labels);
    // No transform: x is the bytes scaled to [0, 1].
    const expected = b.rows.flatMap((p) => Array.from(ds.images.subarray(p * 16, p * 16 + 16), (v) => Math.fround(v / 255)));
    assert.deepEqual(b.x, expected);
    assert.deepEqual(b.shape, [b.ids.length, 1, 4, 4]);
  }
  loader.close();
});

test('the last partial batch is kept by default and dropped with dropLast', async () => {
  const ds = synthetic(10);
  const keep = new DataLoader(ds, { batchSize: 4 });
  assert.equal(keep.numBatches, 3);
  assert.deepEqual(
    (await collect(keep, 0)).map((b) => b.ids.length),
    [4, 4, 2],
  );
  const drop = new DataLoader(ds, { batchSize: 4, dropLast: true });
  assert.equal(drop.numBatches, 2);
  assert.equal(drop.epoch(0).length, 2);
  assert.deepEqual(
    (await collect(drop, 0)).map((b) => b.ids.length),
    [4, 4],
  );
  const tooBig = new DataLoader(ds, { batchSize: 11, dropLast: true });
  assert.deepEqual(await collect(tooBig, 0), []);
  assert.deepEqual(
    (await collect(new DataLoader(ds, { batchSize: 11 }), 0)).map((b) => b.ids.length),
    [10],
  );
});

test('the sampler hook chooses the rows of each epoch (repeats allowed); bad rows throw', async () => {
  const ds = synthetic(10);
  const calls: number[] = [];
  const loader = new DataLoader(ds, {
    batchSize: 3,
    shuffle: true, // ignored: the sampler decides
    sampler: (epoch) => {
      calls.push(epoch);
      return epoch === 0 ? [9, 9, 0, 5, 2] : [1, 2, 3, 4, 5, 6, 7];
    },
  });
  const e0 = await collect(loader, 0);
  assert.deepEqual(
    e0.map((b) => b.rows),
    [
      [9, 9, 0],
      [5, 2],
    ],
  );
  assert.deepEqual(
    e0.flatMap((b) => b.ids),
    [1009, 1009, 1000, 1005, 1002],
  );
  const e1 = loader.epoch(1);
  assert.equal(e1.length, 3);
  assert.deepEqual(Array.from(e1.rows), [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(calls, [0, 1]);
  const bad = new DataLoader(ds, { batchSize: 3, sampler: () => [0, 10] });
  assert.throws(() => bad.epoch(0), /sampler\(0\) returned row 10/);
  assert.throws(() => new DataLoader(ds, { batchSize: 3, sampler: () => [0.5] }).epoch(0), RangeError);
});

test('weightedSampler draws in proportion to the weights, never a zero weight, reproducibly', () => {
  const weights = [1, 0, 3, 0, 6];
  const draws = weightedSampler(weights, 20_000, new SeededRandom(5, 'sample'));
  const counts = [0, 0, 0, 0, 0];
  for (const d of draws) counts[d]!++;
  assert.equal(counts[1], 0);
  assert.equal(counts[3], 0);
  // Binomial standard deviations are below 70 here.
  for (const [i, w] of weights.entries()) assert.ok(Math.abs(counts[i]! - 2000 * w) < 400, `row ${i}: ${counts[i]}`);
  assert.deepEqual(weightedSampler(weights, 50, new SeededRandom(5)), weightedSampler(weights, 50, new SeededRandom(5)));
  assert.deepEqual(Array.from(weightedSampler([0, 0, 2], 4, new SeededRandom(1))), [2, 2, 2, 2]);
  assert.throws(() => weightedSampler([0, 0], 1, new SeededRandom(1)), RangeError);
  assert.throws(() => weightedSampler([1, -1], 1, new SeededRandom(1)), RangeError);
  assert.equal(weightedSampler([0, 0], 0, new SeededRandom(1)).length, 0);
});

test('batches are identical with the worker (offloaded or not) and without it, and follow the transform seed', async () => {
  const ds = synthetic(37, [3, 6, 5]);
  const transform = compose(
    randomCropWithPadding(2),
    horizontalFlip(),
    verticalFlip(0.3),
    randomCrop([5, 4]),
    normalize([0.1, 0.2, 0.3], [0.5, 0.4, 0.3]),
  );
  const make = (o: Partial<DataLoaderOptions>) => new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 9, transform, ...o });
  const reference = await collect(make({ prefetch: 0 }), 2);
  assert.deepEqual(reference[0]!.shape, [8, 3, 5, 4]);
  for (const o of [{ prefetch: 2 }, { prefetch: 1, offload: false }, { prefetch: 3 }]) {
    const loader = make(o);
    assert.deepEqual(await collect(loader, 2), reference, JSON.stringify(o));
    loader.close();
  }
  // The transform seed changes the augmentation, not the order.
  const other = await collect(make({ transformSeed: 10 }), 2);
  assert.deepEqual(
    other.map((b) => b.ids),
    reference.map((b) => b.ids),
  );
  assert.notDeepEqual(
    other.map((b) => b.x),
    reference.map((b) => b.x),
  );
});

test('an epoch started at batch k delivers batches k.. of a full pass, without preparing the earlier ones', async () => {
  const ds = synthetic(37, [3, 6, 5]);
  // Counts the batches the loader prepares: its geometric decisions are drawn once per batch,
  // on the main thread, whether the worker or the main thread then applies them.
  let prepared = 0;
  const crop = randomCropWithPadding(2);
  const geometry = (b: number, h: number, w: number, rng: SeededRandom) => {
    prepared++;
    return crop.geometry(b, h, w, rng);
  };
  const counted: GeometricTransform = Object.assign(
    (x: torch.Tensor, rng: SeededRandom) => applyGeometry(x, geometry(x.shape[0]!, x.shape[2]!, x.shape[3]!, rng)),
    { geometry },
  );
  const transform = compose(counted, horizontalFlip(), normalize([0.1, 0.2, 0.3], [0.5, 0.4, 0.3]));
  const make = (o: Partial<DataLoaderOptions>) => new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 9, transform, ...o });
  const reference = await collect(make({ prefetch: 0 }), 2);
  assert.equal(reference.length, 5);
  for (const o of [{ prefetch: 0 }, { prefetch: 1 }, { prefetch: 2 }, { prefetch: 3, offload: false }]) {
    const loader = make(o);
    for (const fromBatch of [0, 1, 3, 4, 5]) {
      prepared = 0;
      const rest = await collect(loader, 2, { fromBatch });
      assert.deepEqual(rest, reference.slice(fromBatch), `${JSON.stringify(o)}, from batch ${fromBatch}`);
      assert.equal(prepared, 5 - fromBatch, `${JSON.stringify(o)}, from batch ${fromBatch}: batches prepared`);
    }
    // A full pass after a partial one (the kept worker) is still the reference.
    assert.deepEqual(await collect(loader, 2), reference);
    loader.close();
  }
  // With a sampler (importance sampling's presampled order) too.
  const sampler = (e: number) => new SeededRandom(e, 'sampler').permutation(37);
  const sampled = await collect(make({ sampler }), 1);
  assert.deepEqual(await collect(make({ sampler, prefetch: 2 }), 1, { fromBatch: 2 }), sampled.slice(2));
  const loader = make({});
  for (const bad of [-1, 6, 1.5, Number.NaN])
    assert.throws(
      () => loader.epoch(2, { fromBatch: bad }),
      (e: Error) => e instanceof RangeError && /fromBatch must be an integer in 0\.\.5/.test(e.message),
      String(bad),
    );
});

test('the folder pipeline: its crop and flip run in the worker, with the tensors of the closure-based crop it replaces', async () => {
  const ds = synthetic(21, [3, 12, 10]);
  const imagenet = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
  const transform = augmentationFor('folder', true, { cropSize: 8 });
  const offloaded = new DataLoader(ds, { batchSize: 6, shuffle: true, seed: 4, transform, prefetch: 2 });
  assert.equal(offloaded.plan.geometric?.kind, 'geometric');
  assert.equal(offloaded.plan.rest?.kind, 'affine');
  const batches = await collect(offloaded, 1);
  offloaded.close();
  // The crop as it was written before: a closure, opaque to the loader (nothing offloaded).
  const closure = compose(
    (x: torch.Tensor, rng: SeededRandom) =>
      x.size(2) > 8 || x.size(3) > 8 ? randomCrop([Math.min(8, x.size(2)), Math.min(8, x.size(3))])(x, rng) : x,
    horizontalFlip(),
    normalize(imagenet.mean, imagenet.std),
  );
  const before = new DataLoader(ds, { batchSize: 6, shuffle: true, seed: 4, transform: closure, prefetch: 2 });
  assert.equal(before.plan.geometric, null);
  assert.deepEqual(await collect(before, 1), batches);
  before.close();
  // And against the documented draws, in plain JavaScript: per sample the top then the left
  // offset, then one flip decision per sample; then (v / 255 - mean) / std.
  for (const b of batches) {
    const rng = new SeededRandom(4, `augment:1:${b.index}`);
    const offsets = b.rows.map(() => [rng.int(12 - 8 + 1), rng.int(10 - 8 + 1)] as const);
    const flips = b.rows.map(() => rng.next() < 0.5);
    const expected: number[] = [];
    b.rows.forEach((p, s) => {
      const [top, left] = offsets[s]!;
      for (let c = 0; c < 3; c++) {
        for (let r = 0; r < 8; r++) {
          for (let q = 0; q < 8; q++) {
            const col = left + (flips[s] ? 7 - q : q);
            const v = ds.images[p * 360 + c * 120 + (top + r) * 10 + col]!;
            expected.push((v / 255 - imagenet.mean[c]!) / imagenet.std[c]!);
          }
        }
      }
    });
    assert.deepEqual(b.shape, [b.rows.length, 3, 8, 8]);
    assertAllClose(b.x, expected, { atol: 1e-5, what: `batch ${b.index}` });
  }
});

test('a geometric step that enlarges the images: the worker grows its output ring, batches stay identical', async () => {
  // Zero padding by 2 on every side, then a random flip: the worker's output slots must hold
  // batches larger than the dataset's images.
  const pad = 2;
  const geometry = (b: number, h: number, w: number) => {
    const axis = (size: number) => ({
      scale: new Int32Array(b).fill(1),
      offset: new Int32Array(b).fill(-pad),
      lo: new Int32Array(b).fill(pad),
      hi: new Int32Array(b).fill(size + pad),
    });
    return { height: h + 2 * pad, width: w + 2 * pad, rows: axis(h), cols: axis(w) };
  };
  const padding: GeometricTransform = Object.assign(
    (x: torch.Tensor) => applyGeometry(x, geometry(x.shape[0]!, x.shape[2]!, x.shape[3]!)),
    { geometry },
  );
  const ds = synthetic(21, [2, 5, 4]);
  const transform = compose(padding, horizontalFlip());
  const make = (prefetch: number) => new DataLoader(ds, { batchSize: 6, shuffle: true, seed: 3, transform, prefetch });
  const reference = await collect(make(0), 1);
  assert.deepEqual(reference[0]!.shape, [6, 2, 9, 8]);
  // The padding is zero and the centre holds the image (the flip mirrors columns only).
  const first = reference[0]!;
  const plane = 9 * 8;
  assert.equal(first.x[0], 0);
  assert.equal(first.x[plane - 1], 0);
  const loader = make(2);
  assert.deepEqual(await collect(loader, 1), reference);
  assert.deepEqual(await collect(loader, 2), await collect(make(0), 2), 'the grown ring serves the next epoch too');
  loader.close();
});

test('the worker is reused across completed epochs and batches free their tensors', async () => {
  const ds = synthetic(50);
  const loader = new DataLoader(ds, { batchSize: 8, shuffle: true, transform: compose(randomCropWithPadding(1), normalize([0.5], [0.5])) });
  await collect(loader, 0); // warm-up
  const before = torch.memoryStats().handles;
  for (let e = 1; e < 4; e++) assert.equal((await collect(loader, e)).length, 7);
  assert.equal(torch.memoryStats().handles, before, 'no tensor outlives its batch');
  // An interrupted epoch (break) does not disturb the next one.
  for await (const b of loader.epoch(4)) {
    b.dispose();
    break;
  }
  assert.deepEqual(
    (await idsOf(loader, 5)).sort((x, y) => x - y),
    Array.from(ds.ids),
  );
  loader.close();
});

test('bad options are RangeErrors that name the option', () => {
  const ds = synthetic(4);
  const cases: [Partial<DataLoaderOptions>, RegExp][] = [
    [{ batchSize: 0 }, /batchSize/],
    [{ batchSize: 2.5 }, /batchSize/],
    [{ batchSize: 2, prefetch: -1 }, /prefetch/],
    [{ batchSize: 2, seed: 0.5 }, /seed/],
    [{ batchSize: 2, transformSeed: Number.NaN }, /transformSeed/],
    [{ batchSize: 2, dropLast: 'yes' as unknown as boolean }, /dropLast/],
    [{ batchSize: 2, transform: 3 as unknown as null }, /transform/],
  ];
  for (const [o, message] of cases)
    assert.throws(
      () => new DataLoader(ds, o as DataLoaderOptions),
      (e: Error) => e instanceof RangeError && message.test(e.message),
      JSON.stringify(o),
    );
  assert.throws(() => new DataLoader(ds, undefined as unknown as DataLoaderOptions), RangeError);
  assert.throws(() => new DataLoader({ ...ds, images: new Uint8Array(3) }, { batchSize: 2 }), /dataset/);
  const loader = new DataLoader(ds, { batchSize: 2 });
  assert.throws(() => loader.epoch(-1), /epoch/);
  assert.throws(() => loader.epoch(1.5), /epoch/);
});

test('a transform error surfaces from next() and ends the epoch', async () => {
  const ds = synthetic(20);
  let calls = 0;
  const loader = new DataLoader(ds, {
    batchSize: 4,
    transform: (x) => {
      if (++calls === 3) throw new Error('boom');
      return x;
    },
  });
  const seen: Batch[] = [];
  await assert.rejects(async () => {
    for await (const b of loader.epoch(0)) {
      seen.push(b);
      b.dispose();
    }
  }, /boom/);
  assert.equal(seen.length, 2);
});

test('batchTensors: a contiguous range as tensors in the current scope', () => {
  const ds = synthetic(6);
  torch.tidy(() => {
    const { x, y } = batchTensors(ds, 2, 5, normalize([0], [1]));
    assert.deepEqual(x.shape, [3, 1, 4, 4]);
    assert.deepEqual(y.toNumbers(), [2, 0, 1]);
    assert.deepEqual(
      Array.from(x.toFloat32Array()),
      Array.from(ds.images.subarray(32, 80), (v) => Math.fround(Math.fround(v * Math.fround(1 / 255)))),
    );
  });
  assert.throws(() => batchTensors(ds, 4, 7), RangeError);
});

test('a process exits after break, after a throw, and with an abandoned iterator (the worker never hangs it)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'low-loader-'));
  try {
    const src = (file: string) => JSON.stringify(fileURLToPath(new URL(`../src/${file}`, import.meta.url)));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    const script = `
import { DataLoader } from ${src('data/loader.ts')};
import { compose, randomCropWithPadding, horizontalFlip } from ${src('data/augment.ts')};
const n = 64;
const ds = {
  name: 's',
  images: new Uint8Array(n * 16).fill(7),
  shape: [1, 4, 4],
  labels: new Int32Array(n),
  ids: Int32Array.from({ length: n }, (_, i) => i),
  classNames: ['a'],
};
const transform = compose(randomCropWithPadding(1), horizontalFlip());
const loader = new DataLoader(ds, { batchSize: 4, shuffle: true, prefetch: 2, transform });
const mode = process.argv[2];
if (mode === 'break') {
  for await (const b of loader.epoch(0)) { b.dispose(); if (b.index === 2) break; }
} else if (mode === 'throw') {
  try { for await (const b of loader.epoch(0)) { b.dispose(); if (b.index === 3) throw new Error('stop'); } } catch {}
} else {
  const it = loader.epoch(0)[Symbol.asyncIterator]();
  // The first batch is prepared inline while the worker starts and works ahead: abandoned here.
  (await it.next()).value.dispose();
}
console.log('done ' + mode);
`;
    writeFileSync(join(dir, 'script.ts'), script);
    for (const mode of ['break', 'throw', 'abandon']) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', join(dir, 'script.ts'), mode], {
        encoding: 'utf8',
        timeout: 20_000,
        cwd: fileURLToPath(new URL('..', import.meta.url)),
      });
      assert.equal(run.error, undefined, `${mode}: ${String(run.error)}`);
      assert.equal(run.status, 0, `${mode}: exit ${run.status}, stderr ${run.stderr}`);
      assert.match(run.stdout, new RegExp(`done ${mode}`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('benchLoader times the wait for batches in a short LeNet-5 run', async () => {
  const lines: string[] = [];
  const result = await benchLoader({
    dataset: synthetic(64, [1, 28, 28]),
    batch: 16,
    epochs: 1,
    prefetch: [2, 0],
    log: (l) => lines.push(l),
  });
  assert.equal(result.rows.length, 2);
  for (const row of result.rows) {
    assert.equal(row.batches, 4);
    assert.ok(row.wait_s >= 0 && row.wait_s <= row.epoch_s);
    assert.ok(row.wait_share >= 0 && row.wait_share <= 1);
  }
  assert.ok(
    lines.some((l) => /\|\s*share\s*\|/.test(l)),
    'prints a markdown table',
  );
  await assert.rejects(benchLoader({ dataset: synthetic(16, [1, 28, 28]), epochs: 0, log: () => {} }), RangeError);
});
