/**
 * Batches of an in-memory {@link ImageDataset} as tensors, prepared ahead of the training step.
 *
 * Order. Each epoch visits the dataset positions of {@link DataLoader.order}: a permutation
 * drawn from (seed, epoch) alone when shuffling — the same for the same seed and epoch whatever
 * else differs (the paper compares weighting strategies on an identical sample order) — the
 * file order otherwise, or whatever a `sampler` hook returns (strategies that choose their
 * samples: importance sampling's presampling, {@link weightedSampler}).
 *
 * Pipeline. The consumer's thread trains; a worker thread prepares the next `prefetch` batches
 * meanwhile: it gathers the bytes of each batch's samples from the shuffled index (plain
 * JavaScript) and, when the transform starts with geometric steps (crops, zero padding, flips:
 * see splitGeometry), copies the pixels through their row and column maps, so that the main
 * thread only turns ready bytes into a tensor and applies the rest of the transform (for the
 * standard pipelines: the per-channel normalisation, one pass). The random decisions are still
 * drawn on the main thread, from the batch's own generator, so the batches are identical with
 * and without the worker (`offload: false` keeps the geometric steps as tensor ops on the main
 * thread; `prefetch: 0` does everything inside next(), with no worker). Requests and batches
 * pass through rings of shared memory, not messages (see GatherWorker). The first batch of a
 * pass is prepared on the main thread while the worker starts.
 *
 * The worker reads the images from a SharedArrayBuffer: unless the dataset's images already
 * live in one, the loader copies them once (cached per images array, shared by every loader
 * over the same dataset). For very large datasets that copy doubles the memory; pass
 * `prefetch: 0`, or give the dataset SharedArrayBuffer-backed images ({@link shareImages}).
 *
 * Augmentation randomness. Batch k of epoch e is transformed with
 * `new SeededRandom(transformSeed, 'augment:e:k')`: the same seed gives the same augmented
 * batches whatever the strategy, and a run resumed at any batch sees what it would have seen.
 * `loader.epoch(e, { fromBatch: k })` starts a pass at batch k without preparing the earlier
 * ones (a run resumed in the middle of an epoch).
 *
 * Lifetimes. Batch tensors are created outside any tidy scope; the consumer frees them with
 * `batch.dispose()`. When an epoch's iteration stops early (`break`, an exception) its worker is
 * terminated; when it completes, the idle worker is kept for the next epoch (no thread start-up
 * per epoch) until `loader.close()`. The worker never keeps the process alive unless the
 * consumer is waiting for one of its batches, so a forgotten loader cannot hang the process.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { Tensor, keep, tensor, tidy, affineFromBytes } from '../torch/index.js';
import { asTransform, checkGeometry, splitGeometry, toFloat, type Geometry, type GeometricStep, type Transform, type TransformInput } from './augment.js';
import { datasetSize, imageSize, type ImageDataset } from './dataset.js';
import { SeededRandom } from './random.js';

/** One mini-batch. Free its tensors with `dispose()`. */
export interface Batch {
  /** Images, float32 [B, C, H', W'] (after the transform). */
  x: Tensor;
  /** Labels, int64 [B]. */
  y: Tensor;
  /** Stable sample ids (the dataset's `ids` of these samples). */
  ids: Int32Array;
  /** Positions of the samples in the dataset (indices into its arrays). */
  positions: Int32Array;
  /** Labels as plain numbers (the same values as `y`). */
  labels: Int32Array;
  /** Epoch this batch belongs to. */
  epoch: number;
  /** Index of the batch within its epoch, from 0. */
  index: number;
  /** Number of samples, B. */
  size: number;
  /** Frees `x` and `y`. Idempotent. */
  dispose(): void;
}

/** A batch transform as the loader accepts it: a tagged transform or a plain function (see transform.ts). */
export type BatchTransform = TransformInput;

/** Chooses the dataset positions an epoch visits, in order (repetitions allowed). */
export type Sampler = (epoch: number) => ArrayLike<number>;

export interface DataLoaderOptions {
  /** Samples per batch, an integer >= 1. */
  batchSize: number;
  /** Visit the samples in a seeded random order, new each epoch. Default false (file order). Ignored when `sampler` is given. */
  shuffle?: boolean;
  /** Seed of the order, a safe integer. Default 0. */
  seed?: number;
  /** Drop the last batch when it is smaller than batchSize. Default false (it is kept). */
  dropLast?: boolean;
  /**
   * Applied to each batch. It receives the raw bytes, uint8 [B, C, H, W]; a result still in
   * uint8 is scaled to float32 [0, 1]. Default: that scaling only.
   */
  transform?: TransformInput | null;
  /** Seed of the transform's random decisions. Default: `seed`. */
  transformSeed?: number;
  /** Chooses the positions of each epoch (replaces the shuffled or file order). */
  sampler?: Sampler | null;
  /** Batches gathered ahead by the worker thread. Default 2; 0: no worker, all work inside next(). */
  prefetch?: number;
  /**
   * Let the worker also apply the transform's leading geometric steps (crops, padding, flips:
   * see splitGeometry), copying bytes in JavaScript instead of running tensor ops on the main
   * thread. The batches are identical either way. Default true (only matters with prefetch > 0).
   */
  offload?: boolean;
}

/** Time spent by the loader on the consumer's thread during one pass over an epoch. */
export interface EpochStats {
  /** Batches delivered so far. */
  batches: number;
  /** Milliseconds waiting for gathered bytes (the worker), or gathering them inline. */
  gatherMs: number;
  /** Milliseconds turning bytes into tensors and transforming them. */
  prepareMs: number;
  /** Milliseconds asking the worker for a later batch (drawing its geometric decisions, sending the request). */
  requestMs: number;
}

/** Where a pass over an epoch starts. */
export interface EpochOptions {
  /** Index of the first batch delivered (default 0); the earlier batches are not prepared. */
  fromBatch?: number;
}

/** The number of batches `count` samples make. */
export function batchCount(count: number, batchSize: number, dropLast: boolean): number {
  return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}

function checkInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

export class DataLoader {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** The transform, tagged (a plain function given as an option runs as an opaque step). */
  readonly transform: Transform | null;
  readonly transformSeed: number;
  readonly sampler: Sampler | null;
  readonly prefetch: number;
  readonly offload: boolean;
  /** The transform's leading geometric steps and the rest (see splitGeometry). */
  private readonly parts: { geometric: GeometricStep | null; rest: Transform | null };

  constructor(
    readonly dataset: ImageDataset,
    options: DataLoaderOptions,
  ) {
    if (options === null || typeof options !== 'object') throw new RangeError('DataLoader: options with at least batchSize are required');
    this.batchSize = checkInteger('batchSize', options.batchSize, 1);
    this.seed = options.seed === undefined ? 0 : checkInteger('seed', options.seed, Number.MIN_SAFE_INTEGER);
    this.transformSeed = options.transformSeed === undefined ? this.seed : checkInteger('transformSeed', options.transformSeed, Number.MIN_SAFE_INTEGER);
    this.prefetch = options.prefetch === undefined ? 2 : checkInteger('prefetch', options.prefetch, 0);
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.offload = options.offload ?? true;
    if (typeof this.offload !== 'boolean') throw new RangeError(`offload must be a boolean, got ${String(this.offload)}`);
    if (typeof this.shuffle !== 'boolean') throw new RangeError(`shuffle must be a boolean, got ${String(this.shuffle)}`);
    if (typeof this.dropLast !== 'boolean') throw new RangeError(`dropLast must be a boolean, got ${String(this.dropLast)}`);
    const transform = options.transform ?? null;
    if (transform !== null && typeof transform !== 'function') throw new RangeError('transform must be a function (x, rng) => Tensor');
    this.transform = transform === null ? null : asTransform(transform, 'transform');
    this.sampler = options.sampler ?? null;
    if (this.sampler !== null && typeof this.sampler !== 'function') throw new RangeError('sampler must be a function (epoch) => positions');
    this.parts = this.transform === null ? { geometric: null, rest: null } : splitGeometry(this.transform);

    const [c, h, w] = dataset.shape;
    const n = datasetSize(dataset);
    if (![c, h, w].every((d) => Number.isInteger(d) && d >= 1)) throw new RangeError(`dataset: bad image shape [${dataset.shape.join(', ')}]`);
    if (dataset.images.length !== n * c * h * w) {
      throw new RangeError(`dataset: ${dataset.images.length} image bytes for ${n} samples of ${c}x${h}x${w}`);
    }
    if (dataset.ids.length !== n) throw new RangeError(`dataset: ${dataset.ids.length} ids for ${n} labels`);
  }

  /**
   * Batches per epoch when an epoch visits every sample once (no sampler). With a sampler the
   * count follows what it returns: see {@link Epoch.length}.
   */
  get numBatches(): number {
    return batchCount(datasetSize(this.dataset), this.batchSize, this.dropLast);
  }

  /**
   * The dataset positions epoch `epoch` visits, in order: the sampler's choice, else a
   * permutation seeded by (seed, epoch) when shuffling, else 0..N-1.
   */
  order(epoch: number): Int32Array {
    checkInteger('epoch', epoch, 0);
    const n = datasetSize(this.dataset);
    if (this.sampler !== null) {
      const chosen = this.sampler(epoch);
      if (chosen === null || typeof chosen !== 'object' || typeof chosen.length !== 'number') {
        throw new RangeError(`sampler(${epoch}) must return an array of dataset positions`);
      }
      const positions = new Int32Array(chosen.length);
      for (let i = 0; i < chosen.length; i++) {
        const p = chosen[i]!;
        if (!Number.isInteger(p) || p < 0 || p >= n) throw new RangeError(`sampler(${epoch}) returned position ${p} at ${i}, outside 0..${n - 1}`);
        positions[i] = p;
      }
      return positions;
    }
    if (this.shuffle) return new SeededRandom(this.seed, `order:${epoch}`).permutation(n);
    const positions = new Int32Array(n);
    for (let i = 0; i < n; i++) positions[i] = i;
    return positions;
  }

  /**
   * One epoch: `for await (const batch of loader.epoch(e))`. The order is fixed when this is
   * called (the sampler, if any, runs now); each iteration of the returned object is a new pass.
   * With `fromBatch: k` each pass starts at batch k (index k, the same batch a full pass
   * delivers there), for resuming in the middle of an epoch; k may equal the number of batches
   * (an empty pass).
   */
  epoch(epoch: number, options: EpochOptions = {}): Epoch {
    return new Epoch(this, epoch, this.order(epoch), options.fromBatch ?? 0);
  }

  private idleWorker: GatherWorker | null = null;
  /** Token under which the idle worker is registered for termination when this loader is collected. */
  private readonly token = {};

  /** A gather worker for one pass: the idle one kept from the previous epoch, or a new one. */
  acquireWorker(): GatherWorker {
    const kept = this.idleWorker;
    this.idleWorker = null;
    idleWorkers.unregister(this.token);
    if (kept !== null && kept.usable) return kept;
    kept?.close();
    // One slot per batch requested ahead, and one for the batch being turned into tensors.
    return new GatherWorker(this.dataset.images, this.dataset.shape, this.batchSize, this.prefetch + 1);
  }

  /** Takes a worker back after a pass: kept (idle, not keeping the process alive) if the pass completed, else terminated. */
  releaseWorker(worker: GatherWorker, completed: boolean): void {
    if (completed && worker.usable && this.idleWorker === null) {
      this.idleWorker = worker;
      // A loader dropped without close() must not leave its thread behind.
      idleWorkers.unregister(this.token);
      idleWorkers.register(this, worker, this.token);
    } else {
      worker.close();
    }
  }

  /**
   * Terminates the idle worker kept between epochs. It never keeps the process alive, and is
   * terminated when the loader is garbage-collected; this frees it now.
   */
  close(): void {
    idleWorkers.unregister(this.token);
    this.idleWorker?.close();
    this.idleWorker = null;
  }

  /** The generator of batch `index`'s random decisions in epoch `epoch`. */
  augmentationRandom(epoch: number, index: number): SeededRandom {
    return new SeededRandom(this.transformSeed, `augment:${epoch}:${index}`);
  }

  /**
   * The geometric steps the worker may apply (null: none, or offloading is off), and the
   * transform that remains for the main thread.
   */
  offloadParts(): { geometric: GeometricStep | null; rest: Transform | null } {
    return this.offload && this.parts.geometric !== null ? this.parts : { geometric: null, rest: this.transform };
  }

  /**
   * Builds batch `index` of `epoch` from its gathered bytes, [B, ...shape], applying `transform`
   * with `rng` (used by Epoch).
   */
  makeBatch(epoch: number, index: number, positions: Int32Array, bytes: Uint8Array, shape: number[], transform: Transform | null, rng: SeededRandom): Batch {
    const ds = this.dataset;
    const b = positions.length;
    // One buffer for both (allocating typed-array buffers is costly on the training thread).
    const both = new Int32Array(2 * b);
    const ids = both.subarray(0, b);
    const labels = both.subarray(b);
    for (let i = 0; i < b; i++) {
      ids[i] = ds.ids[positions[i]!]!;
      labels[i] = ds.labels[positions[i]!]!;
    }
    const x = keep(
      tidy(() => {
        if (transform?.kind === 'affine') return affineFromBytes(bytes, [b, ...shape], [...transform.onBytes.scale], [...transform.onBytes.shift]);
        const raw = tensor(bytes, { shape: [b, ...shape] });
        let out = transform === null ? raw : transform(raw, rng);
        if (!(out instanceof Tensor)) throw new TypeError('DataLoader: the transform must return a Tensor');
        if (out.dtype === 'uint8') out = toFloat(out, rng);
        if (out.dtype !== 'float32') throw new TypeError(`DataLoader: the transform returned ${out.dtype}, expected float32 or uint8`);
        if (out.ndim < 1 || out.size(0) !== b) throw new RangeError(`DataLoader: the transform changed the batch size from ${b} to shape [${out.shape.join(', ')}]`);
        return out;
      }),
    );
    let y: Tensor;
    try {
      y = keep(tensor(labels, { dtype: 'int64' }));
    } catch (e) {
      x.dispose();
      throw e;
    }
    return {
      x,
      y,
      ids,
      positions,
      labels,
      epoch,
      index,
      size: b,
      dispose() {
        x.dispose();
        y.dispose();
      },
    };
  }
}

/** Idle workers of loaders that may be collected without close(). */
const idleWorkers = new FinalizationRegistry<GatherWorker>((worker) => worker.close());

/** One epoch of a {@link DataLoader}: an async iterable of batches with a fixed order. */
export class Epoch implements AsyncIterable<Batch> {
  /** Number of batches in the whole epoch (a pass delivers those from `fromBatch` on). */
  readonly length: number;
  /** Timing of the most recent (or current) pass. */
  stats: EpochStats = { batches: 0, gatherMs: 0, prepareMs: 0, requestMs: 0 };

  constructor(
    readonly loader: DataLoader,
    readonly epoch: number,
    /** The dataset positions this epoch visits, in order. */
    readonly positions: Int32Array,
    /** Index of the first batch a pass delivers. */
    readonly fromBatch = 0,
  ) {
    this.length = batchCount(positions.length, loader.batchSize, loader.dropLast);
    if (!Number.isSafeInteger(fromBatch) || fromBatch < 0 || fromBatch > this.length) {
      throw new RangeError(`fromBatch must be an integer in 0..${this.length} (epoch ${epoch} has ${this.length} batches), got ${String(fromBatch)}`);
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Batch, void, undefined> {
    return this.run();
  }

  private async *run(): AsyncGenerator<Batch, void, undefined> {
    const { loader, epoch, positions, length, fromBatch: first } = this;
    const stats: EpochStats = { batches: 0, gatherMs: 0, prepareMs: 0, requestMs: 0 };
    this.stats = stats;
    const bs = loader.batchSize;
    const ds = loader.dataset;
    const slice = (k: number) => positions.slice(k * bs, Math.min((k + 1) * bs, positions.length));
    const inline = new InlineGather(ds.images, imageSize(ds), bs);
    // The first batch is prepared here (while a new worker starts); the worker does the rest.
    const worker = loader.prefetch > 0 && length - first > 1 ? loader.acquireWorker() : null;
    const { geometric, rest } = loader.offloadParts();
    // Batches requested from the worker: the generator (which already drew the geometric
    // decisions, if offloaded) and the shape of the bytes that will come back.
    const pending = new Map<number, { rng: SeededRandom; shape: number[]; positions: Int32Array; ticket: Ticket }>();
    const request = (k: number) => {
      if (worker === null || k >= length) return;
      const rng = loader.augmentationRandom(epoch, k);
      let geometry: Geometry | null = null;
      let shape: number[] = [...ds.shape];
      if (geometric !== null) {
        const b = Math.min(bs, positions.length - k * bs);
        geometry = geometric.geometry(b, ds.shape[1], ds.shape[2], rng);
        checkGeometry(geometry, b, ds.shape[1], ds.shape[2]); // the worker trusts the maps
        shape = [ds.shape[0], geometry.height, geometry.width];
      }
      const chosen = slice(k);
      pending.set(k, { rng, shape, positions: chosen, ticket: worker.request(chosen, geometry) });
    };
    let completed = false;
    try {
      for (let k = first + 1; k <= first + loader.prefetch; k++) request(k);
      for (let k = first; k < length; k++) {
        const t0 = performance.now();
        const ahead = pending.get(k);
        const chosen = ahead !== undefined ? ahead.positions : slice(k);
        const bytes = ahead !== undefined ? await worker!.get(ahead.ticket) : inline.gather(chosen);
        const t1 = performance.now();
        let batch: Batch;
        try {
          batch =
            ahead !== undefined
              ? loader.makeBatch(epoch, k, chosen, bytes, ahead.shape, geometric !== null ? rest : loader.transform, ahead.rng)
              : loader.makeBatch(epoch, k, chosen, bytes, [...ds.shape], loader.transform, loader.augmentationRandom(epoch, k));
        } finally {
          pending.delete(k);
        }
        const t2 = performance.now();
        if (k > first) request(k + loader.prefetch);
        stats.gatherMs += t1 - t0;
        stats.prepareMs += t2 - t1;
        stats.requestMs += performance.now() - t2;
        stats.batches++;
        yield batch;
      }
      completed = true;
    } finally {
      // A finished epoch leaves the worker idle for the next one; an interrupted one (break,
      // an exception) may leave requests in flight, so its worker is terminated.
      if (worker !== null) loader.releaseWorker(worker, completed);
    }
  }
}

/**
 * The samples at positions start..end-1, in file order, as tensors in the current scope:
 * x float32 [B, ...] (transformed), y int64 [B]. Synchronous, for evaluation passes; the
 * transform gets a fixed generator (evaluation transforms draw nothing).
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

/** Copies the images at `positions` into `out`, one after the other. */
function gatherInto(images: Uint8Array, bytesPerImage: number, positions: ArrayLike<number>, out: Uint8Array): void {
  for (let i = 0; i < positions.length; i++) {
    const from = positions[i]! * bytesPerImage;
    out.set(images.subarray(from, from + bytesPerImage), i * bytesPerImage);
  }
}

class InlineGather {
  private buffer: Uint8Array | null = null;
  constructor(
    private readonly images: Uint8Array,
    private readonly bytesPerImage: number,
    private readonly batchSize: number,
  ) {}
  /** The bytes of the samples at `positions`, valid until the next call. */
  gather(positions: Int32Array): Uint8Array {
    this.buffer ??= new Uint8Array(this.batchSize * this.bytesPerImage);
    const bytes = this.buffer.subarray(0, positions.length * this.bytesPerImage);
    gatherInto(this.images, this.bytesPerImage, positions, bytes);
    return bytes;
  }
}

/** Niceness of the gather worker thread (0 normal .. 19 lowest). */
const WORKER_NICE = 10;

// Shared control words: requests written by the training thread, requests completed by the
// worker, and a stop flag.
const REQUESTED = 0;
const DONE = 1;
const STOP = 2;
/** Per request slot: count, output height, width (0: no geometry), output buffer replaced (0/1). */
const HEADER = 4;

// The worker is a small CommonJS script (no TypeScript, no imports of this package), so it runs
// the same from sources under tsx and from the compiled package, and starts fast. It talks to the
// training thread through shared memory only, because messages cost more than the work itself
// (cloning or even moving typed arrays through postMessage took 0.1-0.2 ms per batch on this
// 2-core machine, as much as gathering the batch): the training thread writes each request (the
// positions and, for geometric steps, the row and column maps) into a slot of a shared ring and
// bumps REQUESTED; the worker, blocked in Atomics.wait, takes the requests in order, writes the
// batch's bytes into the matching slot of a shared output ring, and bumps DONE. A ready batch
// costs the training thread one Atomics.load; when it is not ready, the thread waits
// asynchronously (Atomics.waitAsync) on DONE. The one message on the port is a larger output
// ring, sent when a batch no longer fits.
const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
// Linux niceness is per thread: this lowers the worker's priority only. On a busy machine the
// worker then no longer preempts the training thread each time it is woken with a request.
// (Elsewhere the call would lower the whole process, so it is made on Linux only.)
if (process.platform === 'linux') {
  try {
    require('node:os').setPriority(${WORKER_NICE});
  } catch {}
}
const { images: imageBuffer, byteOffset, byteLength, shape, port, control, requests, slots, slotInts } = workerData;
const images = new Uint8Array(imageBuffer, byteOffset, byteLength);
const ctrl = new Int32Array(control);
const req = new Int32Array(requests);
let out = null;
let slotBytes = 0;
const [C, H, W] = shape;
const imageBytes = C * H * W;
for (let done = 0; ; done++) {
  while (Atomics.load(ctrl, ${REQUESTED}) === done && Atomics.load(ctrl, ${STOP}) === 0) Atomics.wait(ctrl, ${REQUESTED}, done);
  if (Atomics.load(ctrl, ${STOP}) !== 0) break;
  const slot = done % slots;
  const base = slot * slotInts;
  const count = req[base], outHeight = req[base + 1], outWidth = req[base + 2];
  if (req[base + 3] !== 0) {
    const m = receiveMessageOnPort(port).message;
    out = new Uint8Array(m.buffer);
    slotBytes = m.slotBytes;
  }
  const p = base + ${HEADER};
  const geometry = outHeight > 0;
  const height = geometry ? outHeight : H;
  const width = geometry ? outWidth : W;
  const outImage = C * height * width;
  const bytes = out.subarray(slot * slotBytes, slot * slotBytes + count * outImage);
  for (let s = 0; s < count; s++) {
    const from = req[p + s] * imageBytes;
    if (!geometry) {
      bytes.set(images.subarray(from, from + imageBytes), s * outImage);
      continue;
    }
    // The sample's row and column maps: out o <- in scale*o + offset for lo <= o < hi, else 0.
    const rs = req[p + count + s], rt = req[p + 2 * count + s], rlo = req[p + 3 * count + s], rhi = req[p + 4 * count + s];
    const cs = req[p + 5 * count + s], ct = req[p + 6 * count + s], clo = req[p + 7 * count + s], chi = req[p + 8 * count + s];
    for (let ch = 0; ch < C; ch++) {
      for (let r = 0; r < height; r++) {
        const o = s * outImage + (ch * height + r) * width;
        if (r < rlo || r >= rhi || clo >= chi) {
          bytes.fill(0, o, o + width);
          continue;
        }
        const rowStart = from + (ch * H + rs * r + rt) * W;
        if (clo > 0) bytes.fill(0, o, o + clo);
        if (chi < width) bytes.fill(0, o + chi, o + width);
        if (cs === 1) {
          bytes.set(images.subarray(rowStart + ct + clo, rowStart + ct + chi), o + clo);
        } else {
          for (let q = clo; q < chi; q++) bytes[o + q] = images[rowStart + ct - q];
        }
      }
    }
  }
  Atomics.store(ctrl, ${DONE}, done + 1);
  Atomics.notify(ctrl, ${DONE});
}
`;

const sharedCopies = new WeakMap<Uint8Array, Uint8Array>();

/** The images as a view of a SharedArrayBuffer: themselves if they are one, else a cached copy. */
function sharedImages(images: Uint8Array): Uint8Array {
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

/** A request in flight: where its bytes will be. */
interface Ticket {
  /** Its sequence number (the worker completes requests in this order). */
  seq: number;
  /** The output ring it is written to, and its byte range there. */
  ring: Uint8Array<ArrayBufferLike>;
  start: number;
  length: number;
}

/**
 * A worker thread that gathers (and, given maps, crops and flips) the batches it is asked for,
 * in the order asked, through shared memory (see WORKER_SOURCE). At most `slots` requests are in
 * flight; the bytes of a completed request stay valid until `slots` later requests. It lives
 * across epochs when a pass completes, and never keeps the process alive unless the consumer is
 * waiting for one of its batches.
 */
export class GatherWorker {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly control = new Int32Array(new SharedArrayBuffer(3 * 4));
  private readonly requests: Int32Array;
  private readonly slotInts: number;
  private ring: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  private slotBytes = 0;
  private requested = 0;
  private failure: Error | null = null;
  private closed = false;

  /**
   * @param maxCount the most samples one request holds (the batch size)
   * @param slots requests that may be in flight at once, at least 1
   */
  constructor(
    images: Uint8Array,
    private readonly shape: [number, number, number],
    private readonly maxCount: number,
    private readonly slots: number,
  ) {
    const shared = sharedImages(images);
    this.slotInts = HEADER + 9 * maxCount;
    this.requests = new Int32Array(new SharedArrayBuffer(slots * this.slotInts * 4));
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: {
        images: shared.buffer,
        byteOffset: shared.byteOffset,
        byteLength: shared.byteLength,
        shape,
        port: port2,
        control: this.control.buffer,
        requests: this.requests.buffer,
        slots,
        slotInts: this.slotInts,
      },
      transferList: [port2],
    });
    this.worker.unref();
    this.worker.on('error', (e) => this.fail(e instanceof Error ? e : new Error(String(e))));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`DataLoader: the gather worker exited unexpectedly (code ${code})`));
    });
  }

  /** Requests sent and not yet completed. */
  private get inFlight(): number {
    return this.requested - Atomics.load(this.control, DONE);
  }

  /** Not closed, not failed, and nothing in flight. */
  get usable(): boolean {
    return !this.closed && this.failure === null && this.inFlight === 0;
  }

  private fail(e: Error): void {
    this.failure ??= e;
    // Wake a waiting get() so that it sees the failure.
    Atomics.notify(this.control, DONE);
  }

  /**
   * Asks for the samples at `positions` (through `geometry` if given; the caller has checked it),
   * to be collected with get(). At most `slots` requests may be in flight.
   */
  request(positions: Int32Array, geometry: Geometry | null): Ticket {
    if (this.closed) throw new Error('DataLoader: the gather worker is closed');
    if (this.failure !== null) throw this.failure;
    const count = positions.length;
    if (count > this.maxCount) throw new RangeError(`DataLoader: a request of ${count} samples, more than the ${this.maxCount} a slot holds`);
    if (this.inFlight >= this.slots) throw new Error(`DataLoader: more than ${this.slots} batches requested ahead`);
    const [c, h, w] = this.shape;
    const length = count * c * (geometry?.height ?? h) * (geometry?.width ?? w);
    // A batch larger than the slots (a geometry that enlarges the images) gets a larger ring; the
    // worker picks it up with this request. Earlier requests keep writing to the old one.
    const grow = length > this.slotBytes;
    if (grow) {
      this.slotBytes = Math.max(length, this.maxCount * c * h * w);
      this.ring = new Uint8Array(new SharedArrayBuffer(this.slots * this.slotBytes));
      this.port.postMessage({ buffer: this.ring.buffer, slotBytes: this.slotBytes });
    }
    const seq = this.requested;
    const slot = seq % this.slots;
    const base = slot * this.slotInts;
    const req = this.requests;
    req[base] = count;
    req[base + 1] = geometry?.height ?? 0;
    req[base + 2] = geometry?.width ?? 0;
    req[base + 3] = grow ? 1 : 0;
    req.set(positions, base + HEADER);
    if (geometry !== null) {
      const maps = [geometry.rows.scale, geometry.rows.offset, geometry.rows.lo, geometry.rows.hi, geometry.cols.scale, geometry.cols.offset, geometry.cols.lo, geometry.cols.hi];
      for (let k = 0; k < maps.length; k++) req.set(maps[k]!, base + HEADER + (k + 1) * count);
    }
    this.requested++;
    Atomics.store(this.control, REQUESTED, this.requested);
    Atomics.notify(this.control, REQUESTED);
    return { seq, ring: this.ring, start: slot * this.slotBytes, length };
  }

  /** The bytes of a request, once the worker has written them. */
  async get(ticket: Ticket): Promise<Uint8Array> {
    for (;;) {
      if (this.closed) throw new Error('DataLoader: the gather worker is closed');
      const done = Atomics.load(this.control, DONE);
      if (done > ticket.seq) return ticket.ring.subarray(ticket.start, ticket.start + ticket.length);
      if (this.failure !== null) throw this.failure;
      // Only a pending get() keeps the process alive, so an abandoned iteration cannot hang it.
      this.worker.ref();
      try {
        const wait = waitAsync(this.control, DONE, done);
        if (wait.async) await wait.value;
      } finally {
        this.worker.unref();
      }
    }
  }

  /** Terminates the thread. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.fail(new Error('DataLoader: the gather worker was closed'));
    // The worker leaves its loop at the stop flag; terminate() also ends a wait.
    Atomics.store(this.control, STOP, 1);
    Atomics.notify(this.control, REQUESTED);
    this.port.close();
    void this.worker.terminate();
  }
}

/** Atomics.waitAsync (ES2024; in Node since 16), typed here because the project's lib is ES2022. */
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

/**
 * `count` dataset positions drawn with replacement, position i with probability
 * weights[i] / sum(weights) (a sampler for strategies that sample by importance). Draws
 * `count` numbers from `rng`, in order.
 */
export function weightedSampler(weights: ArrayLike<number>, count: number, rng: SeededRandom): Int32Array {
  checkInteger('count', count, 0);
  const n = weights.length;
  const cumulative = new Float64Array(n);
  let total = 0;
  let last = -1;
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (!Number.isFinite(w) || w < 0) throw new RangeError(`weights[${i}] = ${w}: weights must be finite and non-negative`);
    total += w;
    cumulative[i] = total;
    if (w > 0) last = i;
  }
  if (count > 0 && !(total > 0)) throw new RangeError('weights: at least one weight must be positive');
  const out = new Int32Array(count);
  for (let s = 0; s < count; s++) {
    const u = rng.next() * total;
    // The first i with cumulative[i] > u: never a zero-weight position.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    out[s] = cumulative[lo]! > u ? lo : last;
  }
  return out;
}
