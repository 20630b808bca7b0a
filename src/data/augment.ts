/**
 * Preprocessing and augmentation of whole batches of images held as tensors [B, C, H, W]: the
 * named pipelines of each dataset ({@link augmentationFor}), and, re-exported here, the
 * transforms they are made of (geometric-transforms.ts, intensity.ts) and the tagged transform
 * values and pipelines (transform.ts).
 *
 * Every per-sample random decision (a crop offset, whether to flip) is drawn in JavaScript from
 * the SeededRandom the caller passes, B draws at a time, and then applied to the whole
 * batch with a few tensor ops: no per-pixel JavaScript loops. Randomness never comes from
 * torch's generator, so the same seed gives the same augmentation whatever a weighting strategy
 * draws from torch, and a resumed run sees exactly the batches it would have seen.
 *
 * Transforms accept uint8 or float32 batches. A transform may return its input unchanged (a flip
 * that flips no sample); it never changes its input in place, and frees the intermediate tensors
 * it creates.
 */
import { checkInteger } from './checks.js';
import {
  centerCrop,
  centerCropAtMost,
  horizontalFlip,
  randomCrop,
  randomCropAtMost,
  randomCropWithPadding,
  verticalFlip,
} from './geometric-transforms.js';
import { normalize, shadesOfGray } from './intensity.js';
import { compose, type Transform } from './transform.js';

export {
  affine,
  asTransform,
  compose,
  geometric,
  identity,
  pipeline,
  splitGeometry,
  tensorStep,
  type AffineStep,
  type BatchFunction,
  type GeometricStep,
  type GeometricTransform,
  type GeometryOf,
  type Pipeline,
  type Step,
  type TensorStep,
  type Transform,
  type TransformInput,
} from './transform.js';
export { applyGeometry, chainGeometry, checkGeometry, expandAxis, type AxisMap, type Geometry } from './geometry.js';
export {
  centerCrop,
  centerCropAtMost,
  cropBatch,
  flipBatch,
  horizontalFlip,
  randomCrop,
  randomCropAtMost,
  randomCropWithPadding,
  verticalFlip,
  type CropSize,
} from './geometric-transforms.js';
export { normalize, shadesOfGray, toFloat } from './intensity.js';

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
 * | dataset | train, 'standard' |
 * |---|---|
 * | fashion-mnist | crop with padding 2, horizontal flip, normalise |
 * | mnist | crop with padding 2 (no flip: digits are not mirror-symmetric), normalise |
 * | cifar10, cifar100 | crop with padding 4, horizontal flip, normalise |
 * | isic2017, isic2018 | shades of gray (p 6), random crop 224, horizontal and vertical flips, ImageNet normalise |
 * | folder | random crop 224 when the images are larger, horizontal flip, ImageNet normalise |
 *
 * | dataset | train 'none' and evaluation |
 * |---|---|
 * | fashion-mnist, mnist, cifar10, cifar100 | normalise |
 * | isic2017, isic2018 | shades of gray, center crop 224, ImageNet normalise |
 * | folder | center crop 224 when larger, ImageNet normalise |
 *
 * Folder datasets are decoded as RGB, so the ImageNet constants apply.
 */
export function augmentationFor(dataset: string, train: boolean, o: AugmentationOptions = {}): Transform {
  const known = ['fashion-mnist', 'mnist', 'cifar10', 'cifar100', 'isic2017', 'isic2018', 'folder'];
  if (!known.includes(dataset)) throw new RangeError(`augmentationFor: unknown dataset "${dataset}"; known: ${known.join(', ')}`);
  const gray = dataset === 'mnist' || dataset === 'fashion-mnist';
  const level = o.augment ?? (gray ? 'none' : 'standard');
  if (level !== 'none' && level !== 'standard')
    throw new RangeError(`augmentationFor: augment must be 'none' or 'standard', got "${String(level)}"`);
  const cropSize = o.cropSize ?? 224;
  checkInteger('augmentationFor: cropSize', cropSize, 1);
  const augment = train && level === 'standard';

  switch (dataset) {
    case 'mnist':
    case 'fashion-mnist': {
      const stats = CHANNEL_STATS[dataset];
      const norm = normalize(stats.mean, stats.std);
      if (!augment) return norm;
      return dataset === 'mnist' ? compose(randomCropWithPadding(2), norm) : compose(randomCropWithPadding(2), horizontalFlip(), norm);
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
      return augment ? compose(randomCropAtMost(cropSize), horizontalFlip(), norm) : compose(centerCropAtMost(cropSize), norm);
    }
  }
}
