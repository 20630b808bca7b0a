// The Tensor API against plain-JavaScript references: creation round trips, broadcasting,
// reductions, matmul, shape and indexing operations, and seeded randomness.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as torch from '../src/torch/index.js';
import type { Tensor } from '../src/torch/index.js';
import { assertAllClose, numbers, prod, ravel, unravel, uniform } from './engine-helpers.js';

// Tiny tensors: one intra-op thread is faster on a shared machine and deterministic.
torch.setNumThreads(1);

/** A float64 tensor of the given values and shape. */
const f64 = (values: number[], shape: number[]): Tensor => torch.tensor(Float64Array.from(values), { shape });
const i64 = (values: number[], shape = [values.length]): Tensor => torch.tensor(BigInt64Array.from(values.map(BigInt)), { shape });

/** Plain-JS broadcasting of a binary function over two row-major arrays. */
function broadcast(
  a: number[],
  aShape: number[],
  b: number[],
  bShape: number[],
  fn: (x: number, y: number) => number,
): { values: number[]; shape: number[] } {
  const nd = Math.max(aShape.length, bShape.length);
  const pa = [...new Array<number>(nd - aShape.length).fill(1), ...aShape];
  const pb = [...new Array<number>(nd - bShape.length).fill(1), ...bShape];
  const shape = pa.map((n, d) => {
    const m = pb[d]!;
    if (n !== m && n !== 1 && m !== 1) throw new Error('not broadcastable');
    return Math.max(n, m);
  });
  const values: number[] = [];
  for (let f = 0; f < prod(shape); f++) {
    const idx = unravel(f, shape);
    const ia = idx.map((v, d) => (pa[d] === 1 ? 0 : v));
    const ib = idx.map((v, d) => (pb[d] === 1 ? 0 : v));
    values.push(fn(a[ravel(ia, pa)]!, b[ravel(ib, pb)]!));
  }
  return { values, shape };
}

/** Plain-JS reduction of `dims` (with keepdim) for an array of `shape`. */
function reduce(
  x: number[],
  shape: number[],
  dims: number[],
  keep: boolean,
  init: number,
  fn: (acc: number, v: number) => number,
): { values: number[]; shape: number[] } {
  const outFull = shape.map((n, d) => (dims.includes(d) ? 1 : n));
  const acc = new Array<number>(prod(outFull)).fill(init);
  for (let f = 0; f < x.length; f++) {
    const idx = unravel(f, shape).map((v, d) => (dims.includes(d) ? 0 : v));
    const o = ravel(idx, outFull);
    acc[o] = fn(acc[o]!, x[f]!);
  }
  return { values: acc, shape: keep ? outFull : shape.filter((_, d) => !dims.includes(d)) };
}

/** Plain-JS argmax (first occurrence) and max along one dim. */
function maxAlong(x: number[], shape: number[], dim: number): { values: number[]; indices: number[]; shape: number[] } {
  const outShape = shape.filter((_, d) => d !== dim);
  const values: number[] = [];
  const indices: number[] = [];
  for (let o = 0; o < prod(outShape); o++) {
    const base = unravel(o, outShape);
    let best = -Infinity;
    let arg = -1;
    for (let k = 0; k < shape[dim]!; k++) {
      const idx = [...base.slice(0, dim), k, ...base.slice(dim)];
      const v = x[ravel(idx, shape)]!;
      if (v > best) {
        best = v;
        arg = k;
      }
    }
    values.push(best);
    indices.push(arg);
  }
  return { values, indices, shape: outShape };
}

/** A plain-JS view of a row-major array: value at a multi-index. */
const at =
  (x: number[], shape: number[]) =>
  (...idx: number[]): number =>
    x[ravel(idx, shape)]!;

// ---- creation ---------------------------------------------------------------------------------

test('tensor(): typed arrays round-trip values, shape and dtype', () => {
  const cases: [ArrayBufferView & ArrayLike<number | bigint>, string][] = [
    [new Float32Array([1.5, -2.25, 3e-8, 1e30, -0, 7]), 'float32'],
    [new Float64Array([0.1, -1e-300, Math.PI, 1e300, -7.5, 2 ** 53]), 'float64'],
    [new BigInt64Array([0n, -1n, 2n ** 53n + 1n, -(2n ** 62n), 2n ** 63n - 1n, 42n]), 'int64'],
    [new Int32Array([0, -1, 2 ** 31 - 1, -(2 ** 31), 123456789, 9]), 'int32'],
    [new Uint8Array([0, 1, 127, 128, 255, 3]), 'uint8'],
  ];
  for (const [data, dtype] of cases) {
    const t = torch.tensor(data as never, { shape: [2, 3] });
    assert.equal(t.dtype, dtype);
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.ndim, 2);
    assert.equal(t.numel(), 6);
    const back = t.toArray();
    assert.equal(back.constructor, data.constructor, `${dtype} comes back as ${back.constructor.name}`);
    assert.deepEqual(Array.from(back as ArrayLike<number | bigint>), Array.from(data), dtype);
    // The tensor holds a copy: changing the source afterwards does not change it.
    (data as unknown as (number | bigint)[])[0] = typeof data[0] === 'bigint' ? 5n : 5;
    assert.notEqual(Number(t.toArray()[0]), 5, `${dtype}: tensor() copied the data`);
  }
  // Default shape is 1-d.
  assert.deepEqual(torch.tensor(new Float32Array(4)).shape, [4]);
  // bool from bytes: nonzero is true, and comes back as 0/1 bytes.
  const b = torch.tensor(new Uint8Array([0, 1, 2, 0, 255, 1]), { dtype: 'bool', shape: [3, 2] });
  assert.equal(b.dtype, 'bool');
  assert.deepEqual(b.shape, [3, 2]);
  const bytes = b.toArray();
  assert.ok(bytes instanceof Uint8Array);
  assert.deepEqual(Array.from(bytes), [0, 1, 1, 0, 1, 1]);
});

test('tensor(): nested arrays infer the shape and honour the dtype', () => {
  const a = torch.tensor([
    [1, 2, 3],
    [4, 5, 6.5],
  ]);
  assert.equal(a.dtype, 'float32');
  assert.deepEqual(a.shape, [2, 3]);
  assert.deepEqual(a.toNumbers(), [1, 2, 3, 4, 5, 6.5]);

  const third = torch.tensor([[[0.1]], [[1 / 3]]], { dtype: 'float64' });
  assert.deepEqual(third.shape, [2, 1, 1]);
  assert.deepEqual(Array.from(third.toArray() as Float64Array), [0.1, 1 / 3]);
  // float32 by default: values are rounded to single precision.
  assert.deepEqual(Array.from(torch.tensor([0.1]).toArray() as Float32Array), [Math.fround(0.1)]);

  // Integers beyond float32's 24-bit mantissa must survive exactly.
  const big = torch.tensor(
    [
      [16777217, -3],
      [2 ** 40 + 1, 0],
    ],
    { dtype: 'int64' },
  );
  assert.equal(big.dtype, 'int64');
  assert.deepEqual(Array.from(big.toArray() as BigInt64Array), [16777217n, -3n, 2n ** 40n + 1n, 0n]);
  const i32 = torch.tensor([2147483647, -2147483648, 16777217], { dtype: 'int32' });
  assert.equal(i32.dtype, 'int32');
  assert.deepEqual(Array.from(i32.toArray() as Int32Array), [2147483647, -2147483648, 16777217]);
  const u8 = torch.tensor([[0, 200, 255]], { dtype: 'uint8' });
  assert.equal(u8.dtype, 'uint8');
  assert.deepEqual(Array.from(u8.toArray() as Uint8Array), [0, 200, 255]);

  const bools = torch.tensor(
    [
      [true, false],
      [false, true],
    ],
    { dtype: 'bool' },
  );
  assert.equal(bools.dtype, 'bool');
  assert.deepEqual(Array.from(bools.toArray() as Uint8Array), [1, 0, 0, 1]);

  // A bare number is a 0-d tensor.
  const s = torch.tensor(3.5);
  assert.deepEqual(s.shape, []);
  assert.equal(s.item(), 3.5);
  // Ragged arrays and a wrong explicit shape are refused.
  assert.throws(() => torch.tensor([[1, 2], [3]]), /ragged/);
  assert.throws(() => torch.tensor(new Float32Array(5), { shape: [2, 3] }), /6 elements but the data has 5/);
});

test('factories: zeros/ones/full/arange/eye give the expected values', () => {
  assert.deepEqual(torch.zeros([2, 2]).toNumbers(), [0, 0, 0, 0]);
  assert.deepEqual(torch.ones([3], { dtype: 'int32' }).toArray(), new Int32Array([1, 1, 1]));
  assert.deepEqual(torch.full([2], 2.5, { dtype: 'float64' }).toNumbers(), [2.5, 2.5]);
  const r = torch.arange(5);
  assert.equal(r.dtype, 'int64');
  assert.deepEqual(r.toNumbers(), [0, 1, 2, 3, 4]);
  assert.deepEqual(torch.arange(1, 2, 0.25).toNumbers(), [1, 1.25, 1.5, 1.75]);
  assert.deepEqual(torch.eye(3).toNumbers(), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
});

// ---- arithmetic -------------------------------------------------------------------------------

test('broadcasting arithmetic matches plain JS', () => {
  const aShape = [2, 3, 1];
  const bShape = [4];
  const av = uniform(6, 1, 0.5, 2);
  const bv = uniform(4, 2, 0.5, 2);
  const a = f64(av, aShape);
  const b = f64(bv, bShape);
  const ops: [string, Tensor, (x: number, y: number) => number][] = [
    ['add', a.add(b), (x, y) => x + y],
    ['add alpha', a.add(b, 2.5), (x, y) => x + 2.5 * y],
    ['sub', a.sub(b), (x, y) => x - y],
    ['sub alpha', a.sub(b, -3), (x, y) => x + 3 * y],
    ['mul', a.mul(b), (x, y) => x * y],
    ['div', a.div(b), (x, y) => x / y],
    ['pow', a.pow(b), (x, y) => x ** y],
    ['maximum', a.maximum(b), Math.max],
    ['minimum', a.minimum(b), Math.min],
    ['lt', a.lt(b), (x, y) => Number(x < y)],
    ['ge', a.ge(b), (x, y) => Number(x >= y)],
  ];
  for (const [name, t, fn] of ops) {
    const ref = broadcast(av, aShape, bv, bShape, fn);
    assert.deepEqual(t.shape, [2, 3, 4], name);
    assertAllClose(t.toNumbers(), ref.values, { atol: 1e-12, rtol: 1e-12, what: name });
  }
  assert.equal(a.lt(b).dtype, 'bool');

  // [3, 1] with [1, 4] and [2, 1, 4] with [3, 1].
  const cv = uniform(3, 3);
  const dv = uniform(8, 4);
  const ref1 = broadcast(cv, [3, 1], dv.slice(0, 4), [1, 4], (x, y) => x * y - y);
  const c = f64(cv, [3, 1]);
  const d = f64(dv.slice(0, 4), [1, 4]);
  assertAllClose(c.mul(d).sub(d).toNumbers(), ref1.values, { atol: 1e-12 });
  const ref2 = broadcast(dv, [2, 1, 4], cv, [3, 1], (x, y) => x + y);
  const sum2 = f64(dv, [2, 1, 4]).add(c);
  assert.deepEqual(sum2.shape, ref2.shape);
  assertAllClose(sum2.toNumbers(), ref2.values, { atol: 1e-12 });

  // Scalars.
  assertAllClose(
    a.add(3).toNumbers(),
    av.map((x) => x + 3),
    { atol: 1e-12 },
  );
  assertAllClose(
    a.rsub(1).toNumbers(),
    av.map((x) => 1 - x),
    { atol: 1e-12 },
  );
  assertAllClose(
    a.mul(-2).div(4).toNumbers(),
    av.map((x) => (x * -2) / 4),
    { atol: 1e-12 },
  );
  assertAllClose(a.pow(2).sqrt().toNumbers(), av, { atol: 1e-12 });
  assertAllClose(
    a.neg().exp().log().toNumbers(),
    av.map((x) => -x),
    { atol: 1e-12 },
  );
  // int64 stays int64 with integer scalars, and float tensors promote int ones.
  const ints = i64([1, -2, 3]);
  assert.equal(ints.mul(2).dtype, 'int64');
  assert.deepEqual(ints.mul(2).toNumbers(), [2, -4, 6]);
  const mixed = ints.add(torch.tensor([0.5, 0.5, 0.5]));
  assert.equal(mixed.dtype, 'float32');
  assert.deepEqual(mixed.toNumbers(), [1.5, -1.5, 3.5]);
  // As with Python numbers: a non-integral scalar promotes, true division gives floats.
  assert.equal(ints.add(0.5).dtype, 'float32');
  assert.deepEqual(ints.add(0.5).toNumbers(), [1.5, -1.5, 3.5]);
  assert.equal(ints.div(2).dtype, 'float32');
  assert.deepEqual(ints.div(2).toNumbers(), [0.5, -1, 1.5]);
  // int + int (alpha 1) and in-place integer updates stay int64.
  assert.equal(ints.add(ints).dtype, 'int64');
  assert.deepEqual(ints.add(ints, 3).toNumbers(), [4, -8, 12]);
  const counter = torch.scalar(0, { dtype: 'int64' });
  counter.add_(1).add_(1).mul_(5);
  assert.equal(counter.dtype, 'int64');
  assert.equal(counter.item(), 10);
  // Float tensors stay float32 with integral scalars.
  assert.equal(torch.tensor([1.5]).mul(2).dtype, 'float32');
  assert.deepEqual(torch.tensor([1.5]).mul(2).toNumbers(), [3]);
});

// ---- reductions -------------------------------------------------------------------------------

test('reductions: sum/mean/max/min/argmax along dims with keepdim match plain JS', () => {
  const shape = [2, 3, 4];
  const xv = uniform(24, 7, -5, 5); // distinct values, so arg-max has no ties
  const x = f64(xv, shape);
  const add = (a: number, v: number) => a + v;

  assertAllClose([x.sum().item()], [xv.reduce(add, 0)], { atol: 1e-12 });
  assertAllClose([x.mean().item()], [xv.reduce(add, 0) / 24], { atol: 1e-12 });
  for (const dims of [[0], [1], [2], [0, 2], [-1]]) {
    const pos = dims.map((d) => (d < 0 ? d + 3 : d));
    for (const keep of [false, true]) {
      const s = x.sum(dims, keep);
      const ref = reduce(xv, shape, pos, keep, 0, add);
      assert.deepEqual(s.shape, ref.shape, `sum ${dims} keep=${keep}`);
      assertAllClose(s.toNumbers(), ref.values, { atol: 1e-12, what: `sum ${dims}` });
      const m = x.mean(dims, keep);
      const n = pos.reduce((k, d) => k * shape[d]!, 1);
      assert.deepEqual(m.shape, ref.shape);
      assertAllClose(
        m.toNumbers(),
        ref.values.map((v) => v / n),
        { atol: 1e-12, what: `mean ${dims}` },
      );
    }
  }
  for (let dim = 0; dim < 3; dim++) {
    const ref = maxAlong(xv, shape, dim);
    const { values, indices } = x.max(dim);
    assert.deepEqual(values.shape, ref.shape);
    assert.equal(indices.dtype, 'int64');
    assert.deepEqual(values.toNumbers(), ref.values);
    assert.deepEqual(indices.toNumbers(), ref.indices);
    assert.deepEqual(x.argmax(dim).toNumbers(), ref.indices);
    const kept = x.max(dim, true);
    const keptShape = shape.map((n, d) => (d === dim ? 1 : n));
    assert.deepEqual(kept.values.shape, keptShape);
    assert.deepEqual(kept.indices.shape, keptShape);
    assert.deepEqual(x.argmax(dim, true).shape, keptShape);
    // min through the negated values
    const negRef = maxAlong(
      xv.map((v) => -v),
      shape,
      dim,
    );
    assert.deepEqual(
      x.min(dim).values.toNumbers(),
      negRef.values.map((v) => -v),
    );
    assert.deepEqual(x.argmin(dim).toNumbers(), negRef.indices);
  }
  assert.equal(x.max().item(), Math.max(...xv));
  assert.equal(x.min().item(), Math.min(...xv));
  assert.equal(x.argmax().item(), xv.indexOf(Math.max(...xv)));
  // Unbiased variance along the last dim.
  const v = x.var(2).toNumbers();
  for (let r = 0; r < 6; r++) {
    const row = xv.slice(r * 4, r * 4 + 4);
    const mu = row.reduce(add, 0) / 4;
    assertAllClose([v[r]!], [row.reduce((a, y) => a + (y - mu) ** 2, 0) / 3], { atol: 1e-12 });
  }
});

// ---- matmul -----------------------------------------------------------------------------------

function matmulJs(a: number[], b: number[], n: number, k: number, m: number): number[] {
  const out = new Array<number>(n * m).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let p = 0; p < k; p++) out[i * m + j]! += a[i * k + p]! * b[p * m + j]!;
  return out;
}

test('matmul matches a JS triple loop (2-d, batched, vector, float32)', () => {
  const av = uniform(12, 11);
  const bv = uniform(20, 12);
  const c = f64(av, [3, 4]).matmul(f64(bv, [4, 5]));
  assert.deepEqual(c.shape, [3, 5]);
  assertAllClose(c.toNumbers(), matmulJs(av, bv, 3, 4, 5), { atol: 1e-12 });

  // Batched [2, 3, 4] @ [4, 5] broadcasts the matrix.
  const bav = uniform(24, 13);
  const batched = f64(bav, [2, 3, 4]).matmul(f64(bv, [4, 5]));
  assert.deepEqual(batched.shape, [2, 3, 5]);
  assertAllClose(batched.toNumbers(), [...matmulJs(bav.slice(0, 12), bv, 3, 4, 5), ...matmulJs(bav.slice(12), bv, 3, 4, 5)], {
    atol: 1e-12,
  });

  // Vector @ matrix.
  const vec = f64(av.slice(0, 4), [4]).matmul(f64(bv, [4, 5]));
  assert.deepEqual(vec.shape, [5]);
  assertAllClose(vec.toNumbers(), matmulJs(av.slice(0, 4), bv, 1, 4, 5), { atol: 1e-12 });

  // float32 through BLAS, against the float64 reference.
  const big1 = uniform(37 * 29, 14);
  const big2 = uniform(29 * 23, 15);
  const f = torch.tensor(Float32Array.from(big1), { shape: [37, 29] }).matmul(torch.tensor(Float32Array.from(big2), { shape: [29, 23] }));
  assertAllClose(f.toNumbers(), matmulJs(big1.map(Math.fround), big2.map(Math.fround), 37, 29, 23), { atol: 1e-5 });
});

// ---- shape and indexing -----------------------------------------------------------------------

test('reshape/permute/transpose/flatten/slice/select match plain JS', () => {
  const shape = [2, 3, 4];
  const xv = Array.from({ length: 24 }, (_, i) => i * 1.5 - 7);
  const x = f64(xv, shape);
  const X = at(xv, shape);

  const r = x.reshape(4, 6);
  assert.deepEqual(r.shape, [4, 6]);
  assert.deepEqual(r.toNumbers(), xv);
  assert.deepEqual(x.reshape(-1, 8).shape, [3, 8]);
  assert.deepEqual(x.view(6, 4).shape, [6, 4]);

  const p = x.permute(2, 0, 1);
  assert.deepEqual(p.shape, [4, 2, 3]);
  const pRef: number[] = [];
  for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) pRef.push(X(i, j, k));
  assert.deepEqual(p.toNumbers(), pRef);
  assert.equal(p.isContiguous(), false);

  const tr = x.transpose(0, 2);
  assert.deepEqual(tr.shape, [4, 3, 2]);
  const tRef: number[] = [];
  for (let k = 0; k < 4; k++) for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) tRef.push(X(i, j, k));
  assert.deepEqual(tr.toNumbers(), tRef);

  assert.deepEqual(x.flatten().shape, [24]);
  const f1 = x.flatten(1);
  assert.deepEqual(f1.shape, [2, 12]);
  assert.deepEqual(f1.toNumbers(), xv);
  // flatten of a permuted (non-contiguous) tensor follows the permuted order.
  assert.deepEqual(p.flatten().toNumbers(), pRef);

  const s = x.slice(2, 1, 4, 2); // [:, :, 1:4:2] -> k = 1, 3
  assert.deepEqual(s.shape, [2, 3, 2]);
  const sRef: number[] = [];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (const k of [1, 3]) sRef.push(X(i, j, k));
  assert.deepEqual(s.toNumbers(), sRef);
  const tail = x.slice(1, -2); // [:, -2:]
  assert.deepEqual(tail.shape, [2, 2, 4]);
  const tailRef: number[] = [];
  for (let i = 0; i < 2; i++) for (const j of [1, 2]) for (let k = 0; k < 4; k++) tailRef.push(X(i, j, k));
  assert.deepEqual(tail.toNumbers(), tailRef);
  assert.deepEqual(x.narrow(0, 1, 1).toNumbers(), xv.slice(12));

  const sel = x.select(1, 2);
  assert.deepEqual(sel.shape, [2, 4]);
  const selRef: number[] = [];
  for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) selRef.push(X(i, 2, k));
  assert.deepEqual(sel.toNumbers(), selRef);
  const last = x.select(-1, 3);
  assert.deepEqual(last.shape, [2, 3]);
  assert.deepEqual(
    last.toNumbers(),
    [0, 1, 2, 3, 4, 5].map((q) => xv[q * 4 + 3]!),
  );

  assert.deepEqual(x.unsqueeze(1).shape, [2, 1, 3, 4]);
  assert.deepEqual(x.unsqueeze(1).squeeze(1).shape, [2, 3, 4]);
});

test('indexSelect/gather/index/maskedSelect/cat/stack match plain JS', () => {
  const shape = [2, 3, 4];
  const xv = uniform(24, 21);
  const x = f64(xv, shape);
  const X = at(xv, shape);

  // indexSelect along dim 1 with repeats.
  const picks = [2, 0, 2];
  const isel = x.indexSelect(1, i64(picks));
  assert.deepEqual(isel.shape, [2, 3, 4]);
  const iselRef: number[] = [];
  for (let i = 0; i < 2; i++) for (const j of picks) for (let k = 0; k < 4; k++) iselRef.push(X(i, j, k));
  assert.deepEqual(isel.toNumbers(), iselRef);

  // gather along the last dim: out[i][j][k] = x[i][j][idx[i][j][k]].
  const gidx = [3, 0, 1, 1, 2, 2, 0, 3, 3, 3, 1, 0];
  const gathered = x.gather(2, i64(gidx, [2, 3, 2]));
  assert.deepEqual(gathered.shape, [2, 3, 2]);
  const gRef: number[] = [];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) gRef.push(X(i, j, gidx[(i * 3 + j) * 2 + k]!));
  assert.deepEqual(gathered.toNumbers(), gRef);
  // gather along dim 0.
  const g0idx = [1, 0, 1, 0, 0, 1, 1, 1];
  const g0 = x.gather(0, i64(g0idx, [1, 2, 4]));
  const g0Ref: number[] = [];
  for (let j = 0; j < 2; j++) for (let k = 0; k < 4; k++) g0Ref.push(X(g0idx[j * 4 + k]!, j, k));
  assert.deepEqual(g0.toNumbers(), g0Ref);

  // index with integers (rows of the first dim, with repeats and negatives).
  const rows = x.index(i64([1, 0, -1]));
  assert.deepEqual(rows.shape, [3, 3, 4]);
  assert.deepEqual(rows.toNumbers(), [...xv.slice(12), ...xv.slice(0, 12), ...xv.slice(12)]);
  // index with a boolean mask over the first dim, and over the first two dims.
  const m1 = x.index(torch.tensor([false, true], { dtype: 'bool' }));
  assert.deepEqual(m1.shape, [1, 3, 4]);
  assert.deepEqual(m1.toNumbers(), xv.slice(12));
  const mask2 = [true, false, true, false, false, true];
  const m2 = x.index(torch.tensor(mask2, { dtype: 'bool' }).reshape(2, 3));
  assert.deepEqual(m2.shape, [3, 4]);
  assert.deepEqual(
    m2.toNumbers(),
    mask2.flatMap((on, q) => (on ? xv.slice(q * 4, q * 4 + 4) : [])),
  );

  // maskedSelect keeps row-major order.
  const sel = x.maskedSelect(x.gt(0));
  assert.deepEqual(
    sel.toNumbers(),
    xv.filter((v) => v > 0),
  );
  // maskedSelect with a broadcast mask [4].
  const colMask = [true, false, false, true];
  const selCols = x.maskedSelect(torch.tensor(colMask, { dtype: 'bool' }));
  assert.deepEqual(
    selCols.toNumbers(),
    xv.filter((_, q) => colMask[q % 4]),
  );

  // cat along dims 0 and 2.
  const yv = uniform(12, 22);
  const y = f64(yv, [1, 3, 4]);
  const c0 = torch.cat([x, y], 0);
  assert.deepEqual(c0.shape, [3, 3, 4]);
  assert.deepEqual(c0.toNumbers(), [...xv, ...yv]);
  const zv = uniform(12, 23);
  const z = f64(zv, [2, 3, 2]);
  const c2 = torch.cat([x, z], 2);
  assert.deepEqual(c2.shape, [2, 3, 6]);
  const c2Ref: number[] = [];
  for (let r = 0; r < 6; r++) c2Ref.push(...xv.slice(r * 4, r * 4 + 4), ...zv.slice(r * 2, r * 2 + 2));
  assert.deepEqual(c2.toNumbers(), c2Ref);

  // stack along a new first and a new last dim.
  const a = f64(xv.slice(0, 6), [2, 3]);
  const b = f64(xv.slice(6, 12), [2, 3]);
  const s0 = torch.stack([a, b], 0);
  assert.deepEqual(s0.shape, [2, 2, 3]);
  assert.deepEqual(s0.toNumbers(), xv.slice(0, 12));
  const s2 = torch.stack([a, b], 2);
  assert.deepEqual(s2.shape, [2, 3, 2]);
  const s2Ref: number[] = [];
  for (let q = 0; q < 6; q++) s2Ref.push(xv[q]!, xv[6 + q]!);
  assert.deepEqual(s2.toNumbers(), s2Ref);

  // where picks elementwise.
  const w = torch.where(a.gt(b), a, b);
  assert.deepEqual(
    w.toNumbers(),
    xv.slice(0, 6).map((v, q) => Math.max(v, xv[6 + q]!)),
  );
});

// ---- randomness -------------------------------------------------------------------------------

test('seeded randomness: same seed gives identical draws, another seed different ones', () => {
  const draw = (seed: number) => {
    torch.manualSeed(seed);
    return {
      rand: torch.rand([200]).toNumbers(),
      randn: torch.randn([3, 50], { dtype: 'float64' }).toNumbers(),
      perm: torch.randperm(100).toNumbers(),
      ints: torch.randint(-3, 7, [100]).toNumbers(),
    };
  };
  const a = draw(1234);
  const b = draw(1234);
  assert.deepEqual(a, b);
  const c = draw(1235);
  assert.notDeepEqual(a.rand, c.rand);
  assert.notDeepEqual(a.randn, c.randn);
  assert.notDeepEqual(a.perm, c.perm);
  assert.notDeepEqual(a.ints, c.ints);

  for (const d of [a, c]) {
    // rand on [0, 1), randint on [lo, hi), randperm a permutation of 0..n-1.
    assert.ok(d.rand.every((v) => v >= 0 && v < 1));
    assert.ok(d.ints.every((v) => Number.isInteger(v) && v >= -3 && v < 7));
    assert.deepEqual(
      [...d.perm].sort((p, q) => p - q),
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.notDeepEqual(
      d.perm,
      Array.from({ length: 100 }, (_, i) => i),
    );
  }
  // Rough moments of a large seeded sample (deterministic under the fixed seed).
  torch.manualSeed(7);
  const n = torch.randn([20000], { dtype: 'float64' }).toNumbers();
  const mean = n.reduce((s, v) => s + v, 0) / n.length;
  const variance = n.reduce((s, v) => s + (v - mean) ** 2, 0) / n.length;
  assert.ok(Math.abs(mean) < 0.03, `randn mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.05, `randn variance ${variance}`);
  const u = torch.rand([20000], { dtype: 'float64' }).toNumbers();
  const umean = u.reduce((s, v) => s + v, 0) / u.length;
  assert.ok(Math.abs(umean - 0.5) < 0.01, `rand mean ${umean}`);
  assert.deepEqual(numbers(torch.randperm(1).toArray()), [0]);
});

test('generator state: the draws after setRngState(s) repeat those after s = getRngState(), dropout included', () => {
  const draws = () => ({
    rand: torch.rand([13]).toNumbers(),
    randn: torch.randn([3]).toNumbers(),
    randn64: torch.randn([9], { dtype: 'float64' }).toNumbers(),
    dropout: torch.F.dropout(torch.ones([64]), 0.5, true).toNumbers(),
    perm: torch.randperm(50).toNumbers(),
  });
  torch.manualSeed(11);
  torch.rand([7]);
  torch.randn([5], { dtype: 'float64' }); // an odd count: the generator may hold a spare normal sample
  const state = torch.getRngState();
  assert.equal(state.dtype, 'uint8');
  const saved = state.toNumbers();
  const after = draws();
  assert.deepEqual(state.toNumbers(), saved, 'the state is a copy, not a view of the generator');
  torch.manualSeed(99);
  torch.rand([3]);
  torch.setRngState(state);
  assert.deepEqual(draws(), after);
  // A restore is not a reseed: the draws continue from where the state was taken.
  torch.manualSeed(11);
  assert.notDeepEqual(draws().rand, after.rand);
  assert.throws(
    () => torch.setRngState(torch.zeros([4])),
    /setRngState: state must be the uint8 tensor getRngState returned, got a float32 tensor$/,
  );
  assert.throws(() => torch.setRngState(torch.zeros([4], { dtype: 'uint8' })));
});
