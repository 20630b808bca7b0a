/**
 * Gathering a batch's bytes on the loader's own thread: the first batch of a pass (while the
 * worker starts), and every batch when the loader has no worker (`prefetch: 0`).
 */

/** Copies the images at `positions` into `out`, one after the other. */
function gatherInto(images: Uint8Array, bytesPerImage: number, positions: ArrayLike<number>, out: Uint8Array): void {
  for (let i = 0; i < positions.length; i++) {
    const from = positions[i]! * bytesPerImage;
    out.set(images.subarray(from, from + bytesPerImage), i * bytesPerImage);
  }
}

/** A reusable buffer for one batch's bytes. */
export class InlineGather {
  #buffer: Uint8Array | null = null;
  readonly #images: Uint8Array;
  readonly #bytesPerImage: number;
  readonly #batchSize: number;

  constructor(images: Uint8Array, bytesPerImage: number, batchSize: number) {
    this.#images = images;
    this.#bytesPerImage = bytesPerImage;
    this.#batchSize = batchSize;
  }

  /** The bytes of the samples at `positions`, valid until the next call. */
  gather(positions: Int32Array): Uint8Array {
    this.#buffer ??= new Uint8Array(this.#batchSize * this.#bytesPerImage);
    const bytes = this.#buffer.subarray(0, positions.length * this.#bytesPerImage);
    gatherInto(this.#images, this.#bytesPerImage, positions, bytes);
    return bytes;
  }
}
