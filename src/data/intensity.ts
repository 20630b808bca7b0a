/**
 * Transforms of the pixel values (not their positions): the uint8-to-float scaling, the
 * per-channel normalisation (an 'affine' step, which the loader applies to raw bytes in one
 * native pass) and shades-of-gray colour constancy. They work on intensities in [0, 1] and
 * scale uint8 input by 1/255 themselves; none draws from the generator.
 */
import { type Tensor, tensor, tidy } from '../torch/index.js';
import { batchDims } from './checks.js';
import { affine, tensorStep, type AffineStep, type TensorStep } from './transform.js';

/**
 * uint8 values 0..255 to float32 in [0, 1]. Float32 input is returned unchanged; other dtypes
 * are converted to float32 without scaling.
 */
export const toFloat: TensorStep = tensorStep('toFloat', (x) => asFloat(x));

export function asFloat(x: Tensor): Tensor {
  if (x.dtype === 'float32') return x;
  if (x.dtype === 'uint8') return tidy(() => x.float().div_(255));
  return x.float();
}

/**
 * Per-channel standardisation: (x - mean[c]) / std[c]. `mean` and `std` have one entry per
 * channel (or a single entry for all channels) and describe intensities in [0, 1]: uint8 input
 * is scaled by 1/255 in the same pass (x * (1 / (255 std)) - mean / std).
 */
export function normalize(mean: readonly number[], std: readonly number[]): AffineStep {
  if (mean.length === 0 || mean.length !== std.length) {
    throw new RangeError(`normalize: mean (${mean.length} values) and std (${std.length} values) must have the same, non-zero length`);
  }
  for (const s of std)
    if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`normalize: std values must be positive and finite, got ${s}`);
  for (const m of mean) if (!Number.isFinite(m)) throw new RangeError(`normalize: mean values must be finite, got ${m}`);
  const onBytes = { scale: std.map((s) => 1 / (255 * s)), shift: mean.map((m, i) => -m / std[i]!) };
  return affine('normalize', onBytes, (x) => {
    const [, c] = batchDims(x, 'normalize');
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
  });
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
export function shadesOfGray(p = 6): TensorStep {
  if (!(p >= 1)) throw new RangeError(`shadesOfGray: p must be >= 1 (or Infinity), got ${p}`);
  return tensorStep('shadesOfGray', (x) => {
    const [b, c] = batchDims(x, 'shadesOfGray');
    return tidy(() => {
      const xf = asFloat(x);
      const e =
        p === Infinity
          ? xf.reshape(b, c, -1).max(2, true).values.unsqueeze(3)
          : xf
              .pow(p)
              .mean([2, 3], true)
              .pow(1 / p);
      const norm = e.square().sum(1, true).sqrt().clamp(1e-12);
      const scale = e.div(norm).clamp(1e-12).mul(Math.sqrt(c)).reciprocal();
      return xf.mul(scale).clamp(0, 1);
    });
  });
}
