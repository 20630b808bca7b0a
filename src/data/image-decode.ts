import sharp, { type OutputInfo } from 'sharp';
import { DataError } from './dataset.js';

/** Output size of decoded images, in pixels. */
export interface ImageSize {
  width: number;
  height: number;
}

/**
 * The paper's preprocessing for ISIC: images resized to 300 x 300 before a random
 * 224 x 224 crop during training.
 */
export const DEFAULT_IMAGE_SIZE: ImageSize = { width: 300, height: 300 };

/** How many images are decoded at once; sharp runs each on its own worker thread. */
const DECODE_CONCURRENCY = 4;

/**
 * Decodes an image file (JPEG, PNG, WebP, ...) to RGB, resized to exactly `size`
 * (stretched, aspect ratio not kept, like torchvision's Resize((h, w))), and returns
 * 3 x height x width bytes, channel-first. Grey images are expanded to RGB and an
 * alpha channel is dropped.
 */
export async function decodeImage(path: string, size: ImageSize): Promise<Uint8Array> {
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(path)
      .removeAlpha()
      .toColourspace('srgb')
      .resize(size.width, size.height, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new DataError(`${path}: cannot decode image (${(error as Error).message})`);
  }
  const { data, info } = decoded;
  if (info.channels !== 3 || info.width !== size.width || info.height !== size.height) {
    throw new DataError(
      `${path}: decoded to ${info.width} x ${info.height} x ${info.channels}, expected ${size.width} x ${size.height} x 3`,
    );
  }
  return interleavedToPlanar(data, size.width * size.height);
}

/**
 * Decodes many image files into one N x 3 x height x width buffer, in the order given,
 * a few at a time.
 */
export async function decodeImages(paths: readonly string[], size: ImageSize): Promise<Uint8Array> {
  const imageBytes = 3 * size.width * size.height;
  const images = new Uint8Array(paths.length * imageBytes);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const index = next++;
      images.set(await decodeImage(paths[index]!, size), index * imageBytes);
    }
  };
  await Promise.all(Array.from({ length: Math.min(DECODE_CONCURRENCY, paths.length) }, worker));
  return images;
}

/** Checks an image size option: positive whole pixels. */
export function checkImageSize(size: ImageSize): ImageSize {
  for (const [key, value] of Object.entries(size)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`image ${key} must be a positive integer, got ${value}`);
    }
  }
  return size;
}

/** RGBRGB... (height x width x 3) to RRR...GGG...BBB... (3 x height x width). */
function interleavedToPlanar(data: Uint8Array, pixels: number): Uint8Array {
  const planar = new Uint8Array(3 * pixels);
  for (let p = 0; p < pixels; p++) {
    planar[p] = data[3 * p]!;
    planar[pixels + p] = data[3 * p + 1]!;
    planar[2 * pixels + p] = data[3 * p + 2]!;
  }
  return planar;
}
