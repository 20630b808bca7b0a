/**
 * Dataset images in shared memory, which the loader's gather worker reads without a copy per
 * batch. Images not already in a SharedArrayBuffer are copied there once, and the copy is cached
 * per images array, so every loader over the same dataset shares it.
 */
import type { ImageDataset } from './dataset.js';

const sharedCopies = new WeakMap<Uint8Array, Uint8Array>();

/** The images as a view of a SharedArrayBuffer: themselves if they are one, else a cached copy. */
export function sharedImages(images: Uint8Array): Uint8Array {
  if (images.buffer instanceof SharedArrayBuffer) return images;
  let shared = sharedCopies.get(images);
  if (shared === undefined) {
    shared = new Uint8Array(new SharedArrayBuffer(images.byteLength));
    shared.set(images);
    sharedCopies.set(images, shared);
  }
  return shared;
}

/**
 * The dataset with its images in a SharedArrayBuffer (the same object if they already are),
 * so that loaders hand them to their worker without copying. The original bytes are copied once.
 */
export function shareImages(ds: ImageDataset): ImageDataset {
  if (ds.images.buffer instanceof SharedArrayBuffer) return ds;
  return { ...ds, images: sharedImages(ds.images) };
}
