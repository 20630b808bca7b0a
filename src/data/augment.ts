/**
 * Preprocessing and augmentation of whole batches of images held as tensors [B, C, H, W].
 *
 * A transform is a function `(x, rng) => Tensor`. Every per-sample random decision (a crop
 * offset, whether to flip) is drawn in JavaScript from the {@link SeededRandom} the caller
 * passes, B draws at a time, and then applied to the whole batch with a few tensor ops: no
 * per-pixel JavaScript loops. Randomness never comes from torch's generator, so the same seed
 * gives the same augmentation whatever a weighting strategy draws from torch, and a resumed run
 * sees exactly the batches it would have seen.
 *
 * Draw order (documented so that results can be reproduced by hand):
 * - random crops: for each sample in batch order, the top offset, then the left offset
 *   (`rng.int(range + 1)` each);
 * - flips: one `rng.next()` per sample in batch order; the sample is flipped when it is < p.
 *   B numbers are drawn whatever p is.
 *
 * Transforms accept uint8 or float32 batches. Geometric ones (crops, padding, flips) keep the
 * dtype, so they run on the cheaper uint8 bytes, and {@link compose} fuses a run of them into a
 * single gather. `normalize` and `shadesOfGray` work on intensities in [0, 1] and scale uint8
 * input by 1/255 themselves. A transform may return its input unchanged (a flip that flips no
 * sample); it never changes its input in place, and frees the intermediate tensors it creates.
 */
import { Tensor, tensor, tidy, zeros } from '../torch/index.js';
import type { SeededRandom } from './random.js';

/** A batch transform: takes a batch [B, C, H, W] and the generator for its random decisions. */
export type Transform = (x: Tensor, rng: SeededRandom) => Tensor;

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
  checkInt('geometry: height', g.height, 1);
  checkInt('geometry: width', g.width, 1);
  checkAxis('rows', g.rows, b, g.height, h);
  checkAxis('cols', g.cols, b, g.width, w);
}

// Runs once per batch on the training thread when the loader offloads geometry: kept free of
// allocations (a destructuring or closure per sample made it cost as much as the crop itself).
function checkAxis(axis: string, map: AxisMap, b: number, size: number, inSize: number): void {
  const { scale, offset, lo, hi } = map;
  if (scale.length !== b || offset.length !== b || lo.length !== b || hi.length !== b) throw new RangeError(`geometry: ${axis} maps are not for a batch of ${b}`);
  for (let i = 0; i < b; i++) {
    const s = scale[i]!;
    const t = offset[i]!;
    const first = lo[i]!;
    const end = hi[i]!;
    const bad =
      (s !== 1 && s !== -1) || first < 0 || end < first || end > size || (first < end && (s * first + t < 0 || s * first + t >= inSize || s * (end - 1) + t < 0 || s * (end - 1) + t >= inSize));
    if (bad) throw new RangeError(`geometry: ${axis} map of sample ${i} (scale ${s}, offset ${t}, outputs ${first}..${end - 1}) reads outside 0..${inSize - 1}`);
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

/** A transform that only moves pixels (crop, pad, flip); compose fuses runs of them into one gather. */
export interface GeometricTransform extends Transform {
  /** The maps this transform applies to a batch of b images of h x w, drawing its random decisions from rng. */
  geometry(b: number, h: number, w: number, rng: SeededRandom): Geometry;
}

function isGeometric(t: Transform): t is GeometricTransform {
  return typeof (t as Partial<GeometricTransform>).geometry === 'function';
}

function geometric(what: string, geometry: (b: number, h: number, w: number, rng: SeededRandom) => Geometry): GeometricTransform {
  const transform = ((x: Tensor, rng: SeededRandom) => {
    const [b, , h, w] = dims4(x, what);
    return applyGeometry(x, geometry(b, h, w, rng));
  }) as GeometricTransform;
  transform.geometry = geometry;
  return transform;
}

/**
 * Applies a geometry to a batch. Rows and columns are selected separately, each as an
 * index_select of whole rows (the columns through a transposed copy): the index tensors have
 * B x C x height (or width) entries only, so no per-pixel index is ever built. An axis on which
 * every sample takes the same window is a narrow; the identity returns x itself. Padding reads
 * from a copy with one extra zero row and/or column.
 */
export function applyGeometry(x: Tensor, g: Geometry): Tensor {
  const [b, c, h, w] = dims4(x, 'applyGeometry');
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
      y = y.reshape(b * c * hs, ws).indexSelect(0, tensor(index).long()).view(b, c, height, ws);
    }
    if (left !== null) {
      if (left !== 0 || width !== ws) y = y.narrow(3, left, width);
      return y.contiguous();
    }
    const index = lineIndex(cols, b, c, width, ws, w);
    const columns = y.transpose(2, 3).contiguous().view(b * c * ws, height);
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

/**
 * Applies transforms left to right, freeing each intermediate result. Consecutive geometric
 * transforms are fused into one gather; their random draws happen in the same order as when
 * applied one by one, so the result is the same.
 */
export function compose(...transforms: Transform[]): Transform {
  const chainOf = (run: GeometricTransform[]) => (b: number, h: number, w: number, rng: SeededRandom): Geometry => {
    let g = run[0]!.geometry(b, h, w, rng);
    for (let i = 1; i < run.length; i++) g = chainGeometry(g, run[i]!.geometry(b, g.height, g.width, rng));
    return g;
  };
  // Runs of geometric transforms become one step.
  const steps: Transform[] = [];
  for (let i = 0; i < transforms.length; ) {
    if (typeof transforms[i] !== 'function') throw new RangeError(`compose: argument ${i} is not a transform`);
    if (!isGeometric(transforms[i]!)) {
      steps.push(transforms[i++]!);
      continue;
    }
    const run: GeometricTransform[] = [];
    while (i < transforms.length && isGeometric(transforms[i]!)) run.push(transforms[i++] as GeometricTransform);
    steps.push(run.length === 1 ? run[0]! : geometric('compose', chainOf(run)));
  }
  if (steps.length === 1 && isGeometric(steps[0]!)) return steps[0]!;
  const run: Transform = (x, rng) => applySteps(steps, x, rng);
  composedSteps.set(run, steps);
  return run;
}

function applySteps(steps: readonly Transform[], x: Tensor, rng: SeededRandom): Tensor {
  let current = x;
  for (const step of steps) {
    const next = step(current, rng);
    if (next !== current && current !== x) current.dispose();
    current = next;
  }
  return current;
}

/** The fused steps of each transform made by compose. */
const composedSteps = new WeakMap<Transform, readonly Transform[]>();

/**
 * A transform as its leading geometric part and the rest: `rest(apply(geometric), rng)` with
 * the same generator gives exactly `transform(x, rng)`, because the geometric part draws first.
 * The loader uses it to apply the geometric part in its worker thread.
 */
export function splitGeometry(transform: Transform): { geometric: GeometricTransform | null; rest: Transform | null } {
  if (isGeometric(transform)) return { geometric: transform, rest: null };
  const steps = composedSteps.get(transform);
  if (steps === undefined || !isGeometric(steps[0]!)) return { geometric: null, rest: transform };
  const others = steps.slice(1);
  const rest: Transform | null = others.length === 0 ? null : others.length === 1 ? others[0]! : (x, rng) => applySteps(others, x, rng);
  return { geometric: steps[0], rest };
}

/** The identity transform. */
export const identity: Transform = (x) => x;

function dims4(x: Tensor, what: string): [number, number, number, number] {
  if (x.ndim !== 4) throw new RangeError(`${what}: expected a batch [B, C, H, W], got shape [${x.shape.join(', ')}]`);
  return x.shape as [number, number, number, number];
}

function checkInt(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
}

function checkProbability(what: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${what}: p must be a probability in [0, 1], got ${p}`);
}

/** Height and width of a crop given as one number (square) or [height, width]. */
export type CropSize = number | [height: number, width: number];

function cropDims(what: string, size: CropSize, h: number, w: number): [number, number] {
  const [ch, cw] = typeof size === 'number' ? [size, size] : size;
  checkInt(`${what}: crop height`, ch, 1);
  checkInt(`${what}: crop width`, cw, 1);
  if (ch > h || cw > w) throw new RangeError(`${what}: crop ${ch}x${cw} is larger than the ${h}x${w} images`);
  return [ch, cw];
}

// ---- intensities --------------------------------------------------------------------------

/**
 * uint8 values 0..255 to float32 in [0, 1]. Float32 input is returned unchanged; other dtypes
 * are converted to float32 without scaling.
 */
export const toFloat: Transform = (x) => asFloat(x);

function asFloat(x: Tensor): Tensor {
  if (x.dtype === 'float32') return x;
  if (x.dtype === 'uint8') return tidy(() => x.float().div_(255));
  return x.float();
}

/**
 * Per-channel standardisation: (x - mean[c]) / std[c]. `mean` and `std` have one entry per
 * channel (or a single entry for all channels) and describe intensities in [0, 1]: uint8 input
 * is scaled by 1/255 in the same pass (x * (1 / (255 std)) - mean / std).
 */
/**
 * The per-channel affine map of each normalize transform, for uint8 input (scale includes the
 * 1/255): the loader applies it in one native pass while turning gathered bytes into a tensor.
 */
export const normalizeOnBytes = new WeakMap<Transform, { scale: number[]; shift: number[] }>();

export function normalize(mean: readonly number[], std: readonly number[]): Transform {
  if (mean.length === 0 || mean.length !== std.length) {
    throw new RangeError(`normalize: mean (${mean.length} values) and std (${std.length} values) must have the same, non-zero length`);
  }
  for (const s of std) if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`normalize: std values must be positive and finite, got ${s}`);
  for (const m of mean) if (!Number.isFinite(m)) throw new RangeError(`normalize: mean values must be finite, got ${m}`);
  const transform: Transform = (x) => {
    const [, c] = dims4(x, 'normalize');
    if (mean.length !== 1 && mean.length !== c) {
      throw new RangeError(`normalize: ${mean.length} mean/std values for a batch with ${c} channels`);
    }
    const range = x.dtype === 'uint8' ? 255 : 1;
    const scale = std.map((s) => 1 / (range * s));
    const shift = mean.map((m, i) => -m / std[i]!);
    return tidy(() => {
      const xf = x.dtype === 'float32' ? x.clone() : x.float();
      if (mean.length === 1) return xf.mul_(scale[0]!).add_(shift[0]!);
      const shape = [1, c, 1, 1];
      return xf.mul_(tensor(Float32Array.from(scale), { shape })).add_(tensor(Float32Array.from(shift), { shape }));
    });
  };
  normalizeOnBytes.set(transform, { scale: std.map((s) => 1 / (255 * s)), shift: mean.map((m, i) => -m / std[i]!) });
  return transform;
}

/**
 * Shades-of-gray colour constancy (Finlayson & Trezzi 2004; the LOW paper's reference [43],
 * the colour normalisation of its ISIC experiments). Per image and channel the illuminant is
 * estimated by the Minkowski p-norm mean of the pixels,
 *
 *     e_c = (mean over pixels of I_c^p)^(1/p),
 *
 * e is scaled to unit L2 norm, and each channel is divided by sqrt(C) * e_c (sqrt(3) for RGB),
 * so that a neutral (gray) illuminant, e_c = 1/sqrt(C), leaves the image unchanged. Results are
 * clipped to the valid range [0, 1]. p = 1 is the gray-world assumption, p = Infinity max-RGB;
 * 6 is the usual choice. This is the same computation as the widely used NumPy version for ISIC
 * (`shade_of_gray_cc`), except that it stays in float instead of truncating to uint8.
 * uint8 input is scaled to [0, 1] first. Deterministic: it draws nothing from `rng`. An all-black
 * channel or image stays black (no division by zero).
 */
export function shadesOfGray(p = 6): Transform {
  if (!(p >= 1)) throw new RangeError(`shadesOfGray: p must be >= 1 (or Infinity), got ${p}`);
  return (x) => {
    const [b, c] = dims4(x, 'shadesOfGray');
    return tidy(() => {
      const xf = asFloat(x);
      const e = p === Infinity ? xf.reshape(b, c, -1).max(2, true).values.unsqueeze(3) : xf.pow(p).mean([2, 3], true).pow(1 / p);
      const norm = e.square().sum(1, true).sqrt().clamp(1e-12);
      const scale = e.div(norm).clamp(1e-12).mul(Math.sqrt(c)).reciprocal();
      return xf.mul(scale).clamp(0, 1);
    });
  };
}

// ---- geometry -----------------------------------------------------------------------------

/** The maps of a crop of height x width at per-sample offsets; offsets may reach into zero padding. */
function cropGeometry(b: number, tops: ArrayLike<number>, lefts: ArrayLike<number>, h: number, w: number, height: number, width: number): Geometry {
  const rows = emptyAxis(b);
  const cols = emptyAxis(b);
  for (let i = 0; i < b; i++) {
    setAxis(rows, i, 1, tops[i]!, height, h);
    setAxis(cols, i, 1, lefts[i]!, width, w);
  }
  return { height, width, rows, cols };
}

/** The maps of flipping the samples whose `flip` entry is set, along rows (dim 2) or columns (dim 3). */
function flipGeometry(b: number, h: number, w: number, flip: ArrayLike<number | boolean>, dim: 2 | 3): Geometry {
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

/**
 * Crops sample b of `x` to rows tops[b] .. tops[b] + height - 1 and columns lefts[b] ..
 * lefts[b] + width - 1 (inside the image). The deterministic primitive behind the random crops.
 */
export function cropBatch(x: Tensor, tops: ArrayLike<number>, lefts: ArrayLike<number>, height: number, width: number): Tensor {
  const [b, , h, w] = dims4(x, 'cropBatch');
  if (tops.length !== b || lefts.length !== b) {
    throw new RangeError(`cropBatch: ${tops.length} top and ${lefts.length} left offsets for a batch of ${b}`);
  }
  cropDims('cropBatch', [height, width], h, w);
  for (let i = 0; i < b; i++) {
    const top = tops[i]!;
    const left = lefts[i]!;
    if (!Number.isInteger(top) || top < 0 || top + height > h || !Number.isInteger(left) || left < 0 || left + width > w) {
      throw new RangeError(`cropBatch: offset (${top}, ${left}) of sample ${i} puts a ${height}x${width} crop outside the ${h}x${w} image`);
    }
  }
  return applyGeometry(x, cropGeometry(b, tops, lefts, h, w, height, width));
}

/**
 * Flips, along `dim` (2 rows, 3 columns), the samples whose entry of `flip` is true (non-zero).
 * The deterministic primitive behind the random flips.
 */
export function flipBatch(x: Tensor, flip: ArrayLike<number | boolean>, dim: 2 | 3): Tensor {
  const [b, , h, w] = dims4(x, 'flipBatch');
  if (dim !== 2 && dim !== 3) throw new RangeError(`flipBatch: dim must be 2 (rows) or 3 (columns), got ${String(dim)}`);
  if (flip.length !== b) throw new RangeError(`flipBatch: ${flip.length} flip decisions for a batch of ${b}`);
  let count = 0;
  for (let i = 0; i < b; i++) if (flip[i]) count++;
  if (count === 0) return x;
  if (count === b) return x.flip(dim);
  return applyGeometry(x, flipGeometry(b, h, w, flip, dim));
}

/** Offsets for a batch of random crops, drawn in the documented order. */
function drawOffsets(rng: SeededRandom, b: number, rowRange: number, colRange: number): [Int32Array, Int32Array] {
  const both = new Int32Array(2 * b);
  const tops = both.subarray(0, b);
  const lefts = both.subarray(b);
  for (let i = 0; i < b; i++) {
    tops[i] = rng.int(rowRange + 1);
    lefts[i] = rng.int(colRange + 1);
  }
  return [tops, lefts];
}

/**
 * Zero-pads every image by `pad` pixels on each side and takes a random crop of the original
 * size, each sample at its own offset in 0..2*pad of the padded image (CIFAR's standard
 * augmentation with pad 4).
 */
export function randomCropWithPadding(pad: number): GeometricTransform {
  checkInt('randomCropWithPadding: pad', pad, 0);
  return geometric('randomCropWithPadding', (b, h, w, rng) => {
    const [tops, lefts] = drawOffsets(rng, b, 2 * pad, 2 * pad);
    for (let i = 0; i < b; i++) {
      tops[i] -= pad;
      lefts[i] -= pad;
    }
    return cropGeometry(b, tops, lefts, h, w, h, w);
  });
}

/** A random crop of `size` without padding, each sample at its own offset (ISIC: 300x300 -> 224x224). */
export function randomCrop(size: CropSize): GeometricTransform {
  if (typeof size === 'number') checkInt('randomCrop: size', size, 1);
  return geometric('randomCrop', (b, h, w, rng) => {
    const [ch, cw] = cropDims('randomCrop', size, h, w);
    const [tops, lefts] = drawOffsets(rng, b, h - ch, w - cw);
    return cropGeometry(b, tops, lefts, h, w, ch, cw);
  });
}

/** Python's round(): halves go to the even neighbour (as torchvision's center_crop computes offsets). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const diff = v - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The central crop of `size` (deterministic, for evaluation). Offsets as torchvision's center_crop. */
export function centerCrop(size: CropSize): GeometricTransform {
  if (typeof size === 'number') checkInt('centerCrop: size', size, 1);
  return geometric('centerCrop', (b, h, w) => {
    const [ch, cw] = cropDims('centerCrop', size, h, w);
    const top = roundHalfEven((h - ch) / 2);
    const left = roundHalfEven((w - cw) / 2);
    return cropGeometry(b, new Int32Array(b).fill(top), new Int32Array(b).fill(left), h, w, ch, cw);
  });
}

function randomFlip(what: string, dim: 2 | 3, p: number): GeometricTransform {
  checkProbability(what, p);
  return geometric(what, (b, h, w, rng) => {
    const flip = new Uint8Array(b);
    for (let i = 0; i < b; i++) flip[i] = rng.next() < p ? 1 : 0;
    return flipGeometry(b, h, w, flip, dim);
  });
}

/** Mirrors each sample left-right with probability p (its own decision per sample). */
export function horizontalFlip(p = 0.5): GeometricTransform {
  return randomFlip('horizontalFlip', 3, p);
}

/** Mirrors each sample top-bottom with probability p (its own decision per sample). */
export function verticalFlip(p = 0.5): GeometricTransform {
  return randomFlip('verticalFlip', 2, p);
}

// ---- named pipelines ----------------------------------------------------------------------

/** Per-channel mean and standard deviation of intensities in [0, 1]. */
export interface ChannelStats {
  mean: readonly number[];
  std: readonly number[];
}

/**
 * Normalisation constants. MNIST's and the CIFARs' are the usual published training-set
 * values; Fashion-MNIST's were computed from Debian's training file (0.28604, 0.35302);
 * ImageNet's are what ImageNet-pretrained networks (the paper's DenseNet-161) expect.
 */
export const CHANNEL_STATS = {
  mnist: { mean: [0.1307], std: [0.3081] },
  'fashion-mnist': { mean: [0.286], std: [0.353] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  cifar100: { mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762] },
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
} as const satisfies Record<string, ChannelStats>;

/** 'none': preprocessing only; 'standard': the dataset's usual training augmentation. */
export type AugmentLevel = 'none' | 'standard';

export interface AugmentationOptions {
  /** Default: 'none' for MNIST and Fashion-MNIST, 'standard' for CIFAR, ISIC and folders. */
  augment?: AugmentLevel;
  /** ISIC and folder datasets: crop size, default 224 (images are decoded at 300x300). */
  cropSize?: number;
}

/**
 * The preprocessing (and, for training, augmentation) of a named dataset. Evaluation transforms
 * are deterministic.
 *
 * | dataset | train, 'standard' | train 'none' and evaluation |
 * |---|---|---|
 * | fashion-mnist | crop with padding 2, horizontal flip, normalise | normalise |
 * | mnist | crop with padding 2 (no flip: digits are not mirror-symmetric), normalise | normalise |
 * | cifar10, cifar100 | crop with padding 4, horizontal flip, normalise | normalise |
 * | isic2017, isic2018 | shades of gray (p 6), random crop 224, horizontal and vertical flips, ImageNet normalise | shades of gray, center crop 224, ImageNet normalise |
 * | folder | random crop 224 when the images are larger, horizontal flip, ImageNet normalise | center crop 224 when larger, ImageNet normalise |
 *
 * Folder datasets are decoded as RGB, so the ImageNet constants apply.
 */
export function augmentationFor(dataset: string, train: boolean, o: AugmentationOptions = {}): Transform {
  const known = ['fashion-mnist', 'mnist', 'cifar10', 'cifar100', 'isic2017', 'isic2018', 'folder'];
  if (!known.includes(dataset)) throw new RangeError(`augmentationFor: unknown dataset "${dataset}"; known: ${known.join(', ')}`);
  const gray = dataset === 'mnist' || dataset === 'fashion-mnist';
  const level = o.augment ?? (gray ? 'none' : 'standard');
  if (level !== 'none' && level !== 'standard') throw new RangeError(`augmentationFor: augment must be 'none' or 'standard', got "${String(level)}"`);
  const cropSize = o.cropSize ?? 224;
  checkInt('augmentationFor: cropSize', cropSize, 1);
  const augment = train && level === 'standard';

  switch (dataset) {
    case 'mnist':
    case 'fashion-mnist': {
      const stats = CHANNEL_STATS[dataset];
      const norm = normalize(stats.mean, stats.std);
      if (!augment) return norm;
      return dataset === 'mnist'
        ? compose(randomCropWithPadding(2), norm)
        : compose(randomCropWithPadding(2), horizontalFlip(), norm);
    }
    case 'cifar10':
    case 'cifar100': {
      const stats = CHANNEL_STATS[dataset];
      const norm = normalize(stats.mean, stats.std);
      return augment ? compose(randomCropWithPadding(4), horizontalFlip(), norm) : norm;
    }
    case 'isic2017':
    case 'isic2018': {
      const norm = normalize(CHANNEL_STATS.imagenet.mean, CHANNEL_STATS.imagenet.std);
      return augment
        ? compose(shadesOfGray(6), randomCrop(cropSize), horizontalFlip(), verticalFlip(), norm)
        : compose(shadesOfGray(6), centerCrop(cropSize), norm);
    }
    default: {
      // 'folder': crop only images larger than the crop size.
      const norm = normalize(CHANNEL_STATS.imagenet.mean, CHANNEL_STATS.imagenet.std);
      const crop = (inner: Transform): Transform => (x, rng) => (x.size(2) > cropSize || x.size(3) > cropSize ? inner(x, rng) : x);
      const fit = (x: Tensor): CropSize => [Math.min(cropSize, x.size(2)), Math.min(cropSize, x.size(3))];
      return augment
        ? compose(crop((x, rng) => randomCrop(fit(x))(x, rng)), horizontalFlip(), norm)
        : compose(crop((x, rng) => centerCrop(fit(x))(x, rng)), norm);
    }
  }
}
