/**
 * Evaluation batches: contiguous ranges of a dataset in file order, as tensors in the caller's
 * scope, built synchronously (an evaluation pass needs no order, prefetching or worker).
 */
import { tensor, tidy, type Tensor } from '../torch/index.js';
import { checkInteger } from './checks.js';
import { datasetSize, imageSize, type ImageDataset } from './dataset.js';
import { toFloat } from './intensity.js';
import { SeededRandom } from '../util/seeded-random.js';
import type { TransformInput } from './transform.js';

/**
 * The samples at rows start..end-1, in file order, as tensors in the current scope:
 * x float32 [B, ...] (transformed), y int64 [B]. The transform gets a fixed generator
 * (evaluation transforms draw nothing).
 */
export function batchTensors(ds: ImageDataset, start: number, end: number, transform?: TransformInput | null): { x: Tensor; y: Tensor } {
  const n = datasetSize(ds);
  checkInteger('start', start, 0);
  checkInteger('end', end, start);
  if (end > n) throw new RangeError(`end must be at most the dataset size ${n}, got ${end}`);
  const size = imageSize(ds);
  const b = end - start;
  const rng = new SeededRandom(0, 'evaluation');
  const x = tidy(() => {
    const raw = tensor(ds.images.subarray(start * size, end * size), { shape: [b, ...ds.shape] });
    let out = transform ? transform(raw, rng) : raw;
    if (out.dtype === 'uint8') out = toFloat(out, rng);
    return out;
  });
  const y = tensor(ds.labels.subarray(start, end), { dtype: 'int64' });
  return { x, y };
}
