/**
 * Gathering a batch's bytes on the loader's own thread: the first batch of a pass (while the
 * worker starts), and every batch when the loader has no worker (`prefetch: 0`).
 */

/** Copies the images at `rows` into `out`, one after the other. */
function gatherInto(images: Uint8Array, bytesPerImage: number, rows: ArrayLike<number>, out: Uint8Array): void {
  for (let i = 0; i < rows.length; i++) {
    const from = rows[i]! * bytesPerImage;
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

  /** The bytes of the samples at `rows`, valid until the next call. */
  gather(rows: Int32Array): Uint8Array {
    this.#buffer ??= new Uint8Array(this.#batchSize * this.#bytesPerImage);
    const bytes = this.#buffer.subarray(0, rows.length * this.#bytesPerImage);
    gatherInto(this.#images, this.#bytesPerImage, rows, bytes);
    return bytes;
  }
}
