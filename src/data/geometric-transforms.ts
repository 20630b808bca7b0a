/**
 * Geometric transforms: crops, zero padding and flips of whole batches. Each is a 'geometric'
 * step: it only moves pixels, keeps the dtype (so it runs on the cheap uint8 bytes), and carries
 * its maps, so that a pipeline fuses a run of them into one gather and the loader's worker can
 * apply them as byte copies.
 *
 * Every per-sample random decision is drawn in JavaScript from the generator passed in, in this
 * documented order (so that results can be reproduced by hand):
 * - random crops: for each sample in batch order, the top offset, then the left offset
 *   (`rng.int(range + 1)` each);
 * - flips: one `rng.next()` per sample in batch order; the sample is flipped when it is < p.
 *   B numbers are drawn whatever p is.
 */
import type { Tensor } from '../torch/index.js';
import { batchDims, checkInteger } from './checks.js';
import { applyGeometry, cropGeometry, flipGeometry, identityGeometry } from './geometry.js';
import type { SeededRandom } from '../util/seeded-random.js';
import { geometric, type GeometricStep } from './transform.js';

function checkProbability(what: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${what}: p must be a probability in [0, 1], got ${p}`);
}

/** Height and width of a crop given as one number (square) or [height, width]. */
export type CropSize = number | [height: number, width: number];

function cropDims(what: string, size: CropSize, h: number, w: number): [number, number] {
  const [ch, cw] = typeof size === 'number' ? [size, size] : size;
  checkInteger(`${what}: crop height`, ch, 1);
  checkInteger(`${what}: crop width`, cw, 1);
  if (ch > h || cw > w) throw new RangeError(`${what}: crop ${ch}x${cw} is larger than the ${h}x${w} images`);
  return [ch, cw];
}

/**
 * Crops sample b of `x` to rows tops[b] .. tops[b] + height - 1 and columns lefts[b] ..
 * lefts[b] + width - 1 (inside the image). The deterministic primitive behind the random crops.
 */
export function cropBatch(x: Tensor, tops: ArrayLike<number>, lefts: ArrayLike<number>, height: number, width: number): Tensor {
  const [b, , h, w] = batchDims(x, 'cropBatch');
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
  const [b, , h, w] = batchDims(x, 'flipBatch');
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
export function randomCropWithPadding(pad: number): GeometricStep {
  checkInteger('randomCropWithPadding: pad', pad, 0);
  return geometric('randomCropWithPadding', (b, h, w, rng) => {
    const [tops, lefts] = drawOffsets(rng, b, 2 * pad, 2 * pad);
    for (let i = 0; i < b; i++) {
      tops[i]! -= pad;
      lefts[i]! -= pad;
    }
    return cropGeometry(b, tops, lefts, h, w, h, w);
  });
}

/** A random crop of `size` without padding, each sample at its own offset (ISIC: 300x300 -> 224x224). */
export function randomCrop(size: CropSize): GeometricStep {
  if (typeof size === 'number') checkInteger('randomCrop: size', size, 1);
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
export function centerCrop(size: CropSize): GeometricStep {
  if (typeof size === 'number') checkInteger('centerCrop: size', size, 1);
  return geometric('centerCrop', (b, h, w) => {
    const [ch, cw] = cropDims('centerCrop', size, h, w);
    const top = roundHalfEven((h - ch) / 2);
    const left = roundHalfEven((w - cw) / 2);
    return cropGeometry(b, new Int32Array(b).fill(top), new Int32Array(b).fill(left), h, w, ch, cw);
  });
}

/**
 * `crop` to at most size x size, for datasets whose image size is not known in advance (image
 * folders): images larger along either axis are cropped to min(size, H) x min(size, W); the
 * others pass unchanged, and nothing is drawn for them. A geometric step like the crop itself,
 * so a pipeline fuses it and the loader's worker applies it.
 */
function cropAtMost(label: string, size: number, crop: (fit: [number, number]) => GeometricStep): GeometricStep {
  checkInteger(`${label}: size`, size, 1);
  return geometric(label, (b, h, w, rng) =>
    h > size || w > size ? crop([Math.min(size, h), Math.min(size, w)]).geometry(b, h, w, rng) : identityGeometry(b, h, w),
  );
}

/** {@link randomCrop} of images larger than `size`, to at most size x size (see cropAtMost). */
export function randomCropAtMost(size: number): GeometricStep {
  return cropAtMost('randomCropAtMost', size, randomCrop);
}

/** {@link centerCrop} of images larger than `size`, to at most size x size (see cropAtMost). */
export function centerCropAtMost(size: number): GeometricStep {
  return cropAtMost('centerCropAtMost', size, centerCrop);
}

function randomFlip(what: string, dim: 2 | 3, p: number): GeometricStep {
  checkProbability(what, p);
  return geometric(what, (b, h, w, rng) => {
    const flip = new Uint8Array(b);
    for (let i = 0; i < b; i++) flip[i] = rng.next() < p ? 1 : 0;
    return flipGeometry(b, h, w, flip, dim);
  });
}

/** Mirrors each sample left-right with probability p (its own decision per sample). */
export function horizontalFlip(p = 0.5): GeometricStep {
  return randomFlip('horizontalFlip', 3, p);
}

/** Mirrors each sample top-bottom with probability p (its own decision per sample). */
export function verticalFlip(p = 0.5): GeometricStep {
  return randomFlip('verticalFlip', 2, p);
}
