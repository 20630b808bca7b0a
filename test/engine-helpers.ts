// Plain-JavaScript references shared by the engine tests: a seeded generator for test data,
// row-major index arithmetic, and closeness assertions. Nothing here calls the engine.
import assert from 'node:assert/strict';

/** mulberry32: a small deterministic generator of floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform on [lo, hi) from a seeded generator. */
export function uniform(n: number, seed: number, lo = -1, hi = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * r());
}

export const prod = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Row-major strides of a shape. */
export function strides(shape: number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** The multi-index of flat position `flat` in `shape`. */
export function unravel(flat: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return idx;
}

/** The flat position of a multi-index in `shape`. */
export function ravel(idx: number[], shape: number[]): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d]! + idx[d]!;
  return flat;
}

/** Array.from for any typed array, BigInt64Array included (as numbers). */
export function numbers(a: ArrayLike<number | bigint>): number[] {
  return Array.from(a as ArrayLike<number | bigint>, (v) => Number(v));
}

/** Asserts |actual - expected| <= atol + rtol * |expected| elementwise. */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  o: { atol?: number; rtol?: number; what?: string } = {},
): void {
  const atol = o.atol ?? 1e-6;
  const rtol = o.rtol ?? 0;
  assert.equal(actual.length, expected.length, `${o.what ?? 'values'}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const ok = Math.abs(a - e) <= atol + rtol * Math.abs(e);
    if (!ok) assert.fail(`${o.what ?? 'values'}[${i}]: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
  }
}

export function assertClose(actual: number, expected: number, tol = 1e-9, what = 'value'): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} (tolerance ${tol})`);
}

// ---- plain-JS references of the network functions (float64, row-major, NCHW) -------------------

export interface Nd {
  values: number[];
  shape: number[];
}

/** PyTorch's conv2d: x [N, C, H, W], w [O, C/groups, kh, kw], optional bias [O]. */
export function conv2dJs(
  x: Nd,
  w: Nd,
  bias: number[] | null,
  o: { stride?: [number, number]; padding?: [number, number]; dilation?: [number, number]; groups?: number } = {},
): Nd {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [O, Cg, kh, kw] = w.shape as [number, number, number, number];
  const [sh, sw] = o.stride ?? [1, 1];
  const [ph, pw] = o.padding ?? [0, 0];
  const [dh, dw] = o.dilation ?? [1, 1];
  const groups = o.groups ?? 1;
  if (Cg * groups !== C) throw new Error('conv2dJs: channel mismatch');
  const OH = Math.floor((H + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  const Og = O / groups;
  const out = new Array<number>(N * O * OH * OW).fill(0);
  for (let n = 0; n < N; n++)
    for (let oc = 0; oc < O; oc++) {
      const g = Math.floor(oc / Og);
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let s = bias ? bias[oc]! : 0;
          for (let c = 0; c < Cg; c++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * sh - ph + ky * dh;
                const ix = ox * sw - pw + kx * dw;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                s += x.values[((n * C + g * Cg + c) * H + iy) * W + ix]! * w.values[((oc * Cg + c) * kh + ky) * kw + kx]!;
              }
          out[((n * O + oc) * OH + oy) * OW + ox] = s;
        }
    }
  return { values: out, shape: [N, O, OH, OW] };
}

/** Max or average pooling over windows (padding counts as -inf for max; for avg, see countIncludePad). */
export function pool2dJs(
  x: Nd,
  kind: 'max' | 'avg',
  k: [number, number],
  s: [number, number],
  p: [number, number] = [0, 0],
  countIncludePad = true,
): Nd {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const OH = Math.floor((H + 2 * p[0] - k[0]) / s[0]) + 1;
  const OW = Math.floor((W + 2 * p[1] - k[1]) / s[1]) + 1;
  const out: number[] = [];
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let best = -Infinity;
          let sum = 0;
          let count = 0;
          for (let ky = 0; ky < k[0]; ky++)
            for (let kx = 0; kx < k[1]; kx++) {
              const iy = oy * s[0] - p[0] + ky;
              const ix = ox * s[1] - p[1] + kx;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              const v = x.values[((n * C + c) * H + iy) * W + ix]!;
              best = Math.max(best, v);
              sum += v;
              count++;
            }
          if (kind === 'max') out.push(best);
          else {
            // With countIncludePad the divisor is the window clipped to the padded input.
            const y0 = oy * s[0] - p[0];
            const x0 = ox * s[1] - p[1];
            const padded = (Math.min(y0 + k[0], H + p[0]) - y0) * (Math.min(x0 + k[1], W + p[1]) - x0);
            out.push(sum / (countIncludePad ? padded : count));
          }
        }
  return { values: out, shape: [N, C, OH, OW] };
}

/** adaptive_avg_pool2d: cell i covers [floor(i*H/oh), ceil((i+1)*H/oh)). */
export function adaptiveAvgPool2dJs(x: Nd, oh: number, ow: number): Nd {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const out: number[] = [];
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          const y0 = Math.floor((i * H) / oh);
          const y1 = Math.ceil(((i + 1) * H) / oh);
          const x0 = Math.floor((j * W) / ow);
          const x1 = Math.ceil(((j + 1) * W) / ow);
          let s = 0;
          for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) s += x.values[((n * C + c) * H + y) * W + xx]!;
          out.push(s / ((y1 - y0) * (x1 - x0)));
        }
  return { values: out, shape: [N, C, oh, ow] };
}

/** y = x W^T + b for x [..., in], W [out, in]. */
export function linearJs(x: Nd, w: Nd, bias: number[] | null): Nd {
  const [O, I] = w.shape as [number, number];
  const rows = x.values.length / I;
  const out: number[] = [];
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < O; o++) {
      let s = bias ? bias[o]! : 0;
      for (let i = 0; i < I; i++) s += x.values[r * I + i]! * w.values[o * I + i]!;
      out.push(s);
    }
  return { values: out, shape: [...x.shape.slice(0, -1), O] };
}

export const reluJs = (x: Nd): Nd => ({ values: x.values.map((v) => Math.max(0, v)), shape: x.shape });

/** Row-wise log-softmax of a [rows, C] array. */
export function logSoftmaxRows(x: number[], C: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / C; r++) {
    const row = x.slice(r * C, r * C + C);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    out.push(...row.map((v) => v - lse));
  }
  return out;
}
