/**
 * Geometric maps of image batches: where each output pixel of a crop, zero padding or flip (or
 * of any chain of them) comes from, as separable per-sample row and column maps. A chain of
 * such steps composes in O(B) into one map, so that the pixels are moved once: by
 * applyGeometry here (tensor ops), or by the loader's gather worker (byte copies).
 */
import { type Tensor, tensor, tidy, zeros } from '../torch/index.js';
import { batchDims, checkInteger } from './checks.js';

/**
 * One axis (rows or columns) of a geometric map, per sample b: output index o reads input index
 * `scale[b] * o + offset[b]` when `lo[b] <= o < hi[b]`, and is zero (padding) otherwise. Scale is
 * +1 or -1 (a flip). Crops, zero padding and flips are such maps, and so are their compositions,
 * which take O(B) to compute: a chain of geometric transforms costs one pass over the pixels.
 */
export interface AxisMap {
  scale: Int32Array;
  offset: Int32Array;
  lo: Int32Array;
  hi: Int32Array;
}

/** Where each output pixel of a geometric transform comes from: separable row and column maps. */
export interface Geometry {
  /** Output height and width. */
  height: number;
  width: number;
  rows: AxisMap;
  cols: AxisMap;
}

// One buffer for the four arrays: a geometry is built for every training batch, and allocating
// a typed array's buffer costs more than filling it.
function emptyAxis(b: number): AxisMap {
  const all = new Int32Array(4 * b);
  return { scale: all.subarray(0, b), offset: all.subarray(b, 2 * b), lo: all.subarray(2 * b, 3 * b), hi: all.subarray(3 * b) };
}

/** Sets sample i of `map` to out o <- in s*o + t, valid where 0 <= s*o + t < inSize and 0 <= o < size. */
function setAxis(map: AxisMap, i: number, s: number, t: number, size: number, inSize: number): void {
  map.scale[i] = s;
  map.offset[i] = t;
  const lo = Math.max(0, s === 1 ? -t : t - inSize + 1);
  const hi = Math.min(size, s === 1 ? inSize - t : t + 1);
  map.lo[i] = lo;
  map.hi[i] = Math.max(lo, hi);
}

/** The input index of every output index, per sample (B x size; -1 for padding). */
export function expandAxis(map: AxisMap, size: number): Int32Array {
  const b = map.scale.length;
  const out = new Int32Array(b * size).fill(-1);
  for (let i = 0; i < b; i++) {
    const s = map.scale[i]!;
    const t = map.offset[i]!;
    for (let o = map.lo[i]!; o < map.hi[i]!; o++) out[i * size + o] = s * o + t;
  }
  return out;
}

function chainAxis(first: AxisMap, second: AxisMap): AxisMap {
  const b = first.scale.length;
  const out = emptyAxis(b);
  for (let i = 0; i < b; i++) {
    const s1 = first.scale[i]!;
    const t1 = first.offset[i]!;
    const s2 = second.scale[i]!;
    const t2 = second.offset[i]!;
    out.scale[i] = s1 * s2;
    out.offset[i] = s1 * t2 + t1;
    // o is valid when second's output o is valid and its input m = s2*o + t2 is a valid output of first.
    const lo = Math.max(second.lo[i]!, s2 === 1 ? first.lo[i]! - t2 : t2 - first.hi[i]! + 1);
    const hi = Math.min(second.hi[i]!, s2 === 1 ? first.hi[i]! - t2 : t2 - first.lo[i]! + 1);
    out.lo[i] = lo;
    out.hi[i] = Math.max(lo, hi);
  }
  return out;
}

/** `second` applied to the output of `first`, as one map of the original input. */
export function chainGeometry(first: Geometry, second: Geometry): Geometry {
  return { height: second.height, width: second.width, rows: chainAxis(first.rows, second.rows), cols: chainAxis(first.cols, second.cols) };
}

/**
 * Throws a RangeError unless `g` is a well-formed geometry for a batch of b images of h x w:
 * maps for b samples, scales of +-1, and every valid output reading inside the input.
 */
export function checkGeometry(g: Geometry, b: number, h: number, w: number): void {
  checkInteger('geometry: height', g.height, 1);
  checkInteger('geometry: width', g.width, 1);
  checkAxis('rows', g.rows, b, g.height, h);
  checkAxis('cols', g.cols, b, g.width, w);
}

// Runs once per batch on the training thread when the loader offloads geometry: kept free of
// allocations (a destructuring or closure per sample made it cost as much as the crop itself).
function checkAxis(axis: string, map: AxisMap, b: number, size: number, inSize: number): void {
  const { scale, offset, lo, hi } = map;
  if (scale.length !== b || offset.length !== b || lo.length !== b || hi.length !== b)
    throw new RangeError(`geometry: ${axis} maps are not for a batch of ${b}`);
  for (let i = 0; i < b; i++) {
    const s = scale[i]!;
    const t = offset[i]!;
    const first = lo[i]!;
    const end = hi[i]!;
    const bad =
      (s !== 1 && s !== -1) ||
      first < 0 ||
      end < first ||
      end > size ||
      (first < end && (s * first + t < 0 || s * first + t >= inSize || s * (end - 1) + t < 0 || s * (end - 1) + t >= inSize));
    if (bad)
      throw new RangeError(
        `geometry: ${axis} map of sample ${i} (scale ${s}, offset ${t}, outputs ${first}..${end - 1}) reads outside 0..${inSize - 1}`,
      );
  }
}

/** The start of the window every sample takes along this axis unchanged (a narrow does it), or null. */
function uniformWindow(map: AxisMap, size: number): number | null {
  const t = map.offset[0] ?? 0;
  for (let i = 0; i < map.scale.length; i++) {
    if (map.scale[i] !== 1 || map.offset[i] !== t || map.lo[i] !== 0 || map.hi[i] !== size) return null;
  }
  return t;
}

/**
 * Applies a geometry to a batch. Rows and columns are selected separately, each as an
 * index_select of whole rows (the columns through a transposed copy): the index tensors have
 * B x C x height (or width) entries only, so no per-pixel index is ever built. An axis on which
 * every sample takes the same window is a narrow; the identity returns x itself. Padding reads
 * from a copy with one extra zero row and/or column.
 */
export function applyGeometry(x: Tensor, g: Geometry): Tensor {
  const [b, c, h, w] = batchDims(x, 'applyGeometry');
  checkGeometry(g, b, h, w);
  const { height, width } = g;
  const rows = expandAxis(g.rows, height);
  const cols = expandAxis(g.cols, width);
  const padRows = rows.includes(-1);
  const padCols = cols.includes(-1);
  if (b === 0) return zeros([0, c, height, width], { dtype: x.dtype });
  const top = uniformWindow(g.rows, height);
  const left = uniformWindow(g.cols, width);
  if (top === 0 && left === 0 && height === h && width === w) return x;
  return tidy(() => {
    // Padding reads from a copy with one extra zero row (index h) and/or column (index w).
    const hs = padRows ? h + 1 : h;
    const ws = padCols ? w + 1 : w;
    let y = x;
    if (padRows || padCols) {
      y = zeros([b, c, hs, ws], { dtype: x.dtype });
      y.narrow(2, 0, h).narrow(3, 0, w).copy_(x);
    }
    if (top !== null) {
      if (top !== 0 || height !== hs) y = y.narrow(2, top, height);
    } else {
      const index = lineIndex(rows, b, c, height, hs, h);
      y = y
        .reshape(b * c * hs, ws)
        .indexSelect(0, tensor(index).long())
        .view(b, c, height, ws);
    }
    if (left !== null) {
      if (left !== 0 || width !== ws) y = y.narrow(3, left, width);
      return y.contiguous();
    }
    const index = lineIndex(cols, b, c, width, ws, w);
    const columns = y
      .transpose(2, 3)
      .contiguous()
      .view(b * c * ws, height);
    return columns.indexSelect(0, tensor(index).long()).view(b, c, width, height).transpose(2, 3).contiguous();
  });
}

/**
 * For applyGeometry: the index of every output line (row or column) of every sample and channel
 * among the B x C x `stride` input lines, from the expanded map (B x `size`, -1 for padding, which
 * reads the zero line `zero`).
 */
function lineIndex(map: Int32Array, b: number, c: number, size: number, stride: number, zero: number): Int32Array {
  const index = new Int32Array(b * c * size);
  for (let i = 0; i < b; i++) {
    for (let k = 0; k < c; k++) {
      const base = (i * c + k) * stride;
      const at = (i * c + k) * size;
      for (let o = 0; o < size; o++) {
        const from = map[i * size + o]!;
        index[at + o] = base + (from < 0 ? zero : from);
      }
    }
  }
  return index;
}

/** The maps of a crop of height x width at per-sample offsets; offsets may reach into zero padding. */
export function cropGeometry(
  b: number,
  tops: ArrayLike<number>,
  lefts: ArrayLike<number>,
  h: number,
  w: number,
  height: number,
  width: number,
): Geometry {
  const rows = emptyAxis(b);
  const cols = emptyAxis(b);
  for (let i = 0; i < b; i++) {
    setAxis(rows, i, 1, tops[i]!, height, h);
    setAxis(cols, i, 1, lefts[i]!, width, w);
  }
  return { height, width, rows, cols };
}

/** The maps of flipping the samples whose `flip` entry is set, along rows (dim 2) or columns (dim 3). */
export function flipGeometry(b: number, h: number, w: number, flip: ArrayLike<number | boolean>, dim: 2 | 3): Geometry {
  const rows = emptyAxis(b);
  const cols = emptyAxis(b);
  for (let i = 0; i < b; i++) {
    const mirror = Boolean(flip[i]);
    if (dim === 2 && mirror) setAxis(rows, i, -1, h - 1, h, h);
    else setAxis(rows, i, 1, 0, h, h);
    if (dim === 3 && mirror) setAxis(cols, i, -1, w - 1, w, w);
    else setAxis(cols, i, 1, 0, w, w);
  }
  return { height: h, width: w, rows, cols };
}

/** The maps that leave every sample as it is (a step that has nothing to do for these images). */
export function identityGeometry(b: number, h: number, w: number): Geometry {
  const zero = new Int32Array(b);
  return cropGeometry(b, zero, zero, h, w, h, w);
}
