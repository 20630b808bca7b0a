// Max pooling: the addon's own loop (native/max_pool.h, used without padding, dilation or ceil
// mode on float32) against a reference written here from the definition (the first maximum of
// each window in row-major order; a NaN wins), and against libtorch's own kernel: the same
// values, the same indices, and so the same gradients, which is what keeps training bit for bit
// what libtorch's max_pool2d gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import * as torch from '../src/torch/index.js';

torch.setNumThreads(1);

interface Pooled {
  values: Float32Array;
  /** Index of each window's maximum within its H x W plane. */
  indices: number[];
  shape: number[];
}

/** The definition: scan each window row by row; a strictly greater value or any NaN takes the place. */
function maxPoolReference(x: Float32Array, [n, c, h, w]: number[], [kh, kw]: number[], [sh, sw]: number[]): Pooled {
  const oh = Math.floor((h! - kh!) / sh!) + 1;
  const ow = Math.floor((w! - kw!) / sw!) + 1;
  const values = new Float32Array(n! * c! * oh * ow);
  const indices: number[] = [];
  let o = 0;
  for (let p = 0; p < n! * c!; p++) {
    for (let r = 0; r < oh; r++) {
      for (let q = 0; q < ow; q++) {
        let best = -Infinity;
        let at = r * sh! * w! + q * sw!;
        for (let i = r * sh!; i < r * sh! + kh!; i++) {
          for (let j = q * sw!; j < q * sw! + kw!; j++) {
            const v = x[p * h! * w! + i * w! + j]!;
            if (v > best || Number.isNaN(v)) {
              best = v;
              at = i * w! + j;
            }
          }
        }
        values[o++] = best;
        indices.push(at);
      }
    }
  }
  return { values, indices, shape: [n!, c!, oh, ow] };
}

/** Small integers, so that windows are full of ties; ReLU's zeros, a few NaN and -Infinity. */
function tieRich(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed;
  for (let i = 0; i < size; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const r = s % 100;
    out[i] = r < 3 ? NaN : r < 6 ? -Infinity : r < 40 ? 0 : r % 4;
  }
  return out;
}

const sameFloats = (a: Float32Array, b: Float32Array, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i])))
      assert.fail(`${what}: element ${i} is ${a[i]}, expected ${b[i]}`);
  }
};

const CASES: { shape: number[]; k: [number, number]; stride: [number, number] }[] = [
  { shape: [2, 3, 28, 28], k: [2, 2], stride: [2, 2] }, // LeNet-5's first pool: four outputs at a time, then two one by one
  { shape: [2, 3, 10, 10], k: [2, 2], stride: [2, 2] }, // its second
  { shape: [2, 3, 7, 9], k: [2, 2], stride: [2, 2] }, // odd sizes: the last row and column are dropped
  { shape: [1, 2, 9, 9], k: [3, 3], stride: [2, 2] }, // overlapping windows: gradients add up
  { shape: [3, 1, 6, 10], k: [2, 3], stride: [1, 2] }, // rectangular kernel, unequal strides
];

for (const { shape, k, stride } of CASES) {
  const pooling = `maxPool2d ${shape.join('x')}, kernel ${k}, stride ${stride}`;
  test(`${pooling}: values, indices and gradient as defined and as libtorch's kernel`, () => {
    torch.tidy(() => {
      const data = tieRich(
        shape.reduce((a, b) => a * b, 1),
        shape[2]! * 31 + k[1]!,
      );
      const ref = maxPoolReference(data, shape, k, stride);
      const x = torch.tensor(data, { shape }).requiresGrad_();
      const y = torch.F.maxPool2d(x, k, { stride });
      assert.deepEqual(y.shape, ref.shape);
      sameFloats(y.toFloat32Array(), ref.values, 'values against the definition');

      // libtorch's kernel agrees with the definition, indices included.
      const lib = torch.noGrad(() => torch.F.maxPool2dWithIndices(x, k, { stride }));
      sameFloats(lib.values.toFloat32Array(), ref.values, "libtorch's values");
      assert.deepEqual(lib.indices.toNumbers(), ref.indices, "libtorch's indices");

      // The gradient lands on each window's maximum (summed where windows overlap): distinct upstream values show where each went.
      const upstream = Float32Array.from({ length: ref.values.length }, (_, i) => 1 + i);
      y.backward(torch.tensor(upstream, { shape: ref.shape }));
      const expected = new Float32Array(data.length);
      const planeOut = ref.shape[2]! * ref.shape[3]!;
      ref.indices.forEach((at, o) => (expected[Math.floor(o / planeOut) * shape[2]! * shape[3]! + at]! += upstream[o]!));
      sameFloats(x.grad!.toFloat32Array(), expected, 'gradient');
    });
  });
}

test('maxPool2d with two threads gives what one thread gives', {
  skip: availableParallelism() < 2 ? 'one core: setNumThreads refuses a second thread' : false,
}, () => {
  torch.tidy(() => {
    const shape = [4, 16, 12, 12];
    const x = torch.tensor(tieRich(4 * 16 * 12 * 12, 7), { shape });
    const one = torch.F.maxPool2d(x, 2).toFloat32Array();
    torch.setNumThreads(2);
    try {
      sameFloats(torch.F.maxPool2d(x, 2).toFloat32Array(), one, 'two threads');
    } finally {
      torch.setNumThreads(1);
    }
  });
});

test("maxPool2d outside the addon's loop (padding, ceil mode, dilation, float64, a non-contiguous input) is libtorch's", () => {
  torch.tidy(() => {
    const data = tieRich(2 * 2 * 7 * 7, 3);
    const x = torch.tensor(data, { shape: [2, 2, 7, 7] });
    for (const o of [{ padding: 1 as const }, { ceilMode: true }, { dilation: 2 as const }]) {
      sameFloats(
        torch.F.maxPool2d(x, 2, o).toFloat32Array(),
        torch.F.maxPool2dWithIndices(x, 2, o).values.toFloat32Array(),
        JSON.stringify(o),
      );
    }
    const x64 = x.double();
    assert.equal(torch.F.maxPool2d(x64, 2).dtype, 'float64');
    const t = x.transpose(2, 3);
    const ref = maxPoolReference(t.contiguous().toFloat32Array(), [2, 2, 7, 7], [2, 2], [2, 2]);
    sameFloats(torch.F.maxPool2d(t, 2).toFloat32Array(), ref.values, 'transposed input');
    // A window without any finite value keeps -Infinity and points at its first element.
    const empty = torch.full([1, 1, 2, 2], -Infinity).requiresGrad_();
    const pooled = torch.F.maxPool2d(empty, 2);
    assert.deepEqual(Array.from(pooled.toFloat32Array()), [-Infinity]);
    pooled.sum().backward();
    assert.deepEqual(Array.from(empty.grad!.toFloat32Array()), [1, 0, 0, 0]);
  });
});
