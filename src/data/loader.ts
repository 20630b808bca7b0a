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
 * thread; `prefetch: 0` does everything inside next(), with no worker). Buffers travel by
 * transfer, not copy, and are reused. The first batch of an epoch is prepared on the main
 * thread while the worker starts.
 *
 * The worker reads the images from a SharedArrayBuffer: unless the dataset's images already
 * live in one, the loader copies them once (cached per images array, shared by every loader
 * over the same dataset). For very large datasets that copy doubles the memory; pass
 * `prefetch: 0`, or give the dataset SharedArrayBuffer-backed images ({@link shareImages}).
 *
 * Augmentation randomness. Batch k of epoch e is transformed with
 * `new SeededRandom(transformSeed, 'augment:e:k')`: the same seed gives the same augmented
 * batches whatever the strategy, and a run resumed at any batch sees what it would have seen.
 *
 * Lifetimes. Batch tensors are created outside any tidy scope; the consumer frees them with
 * `batch.dispose()`. When an epoch's iteration stops early (`break`, an exception) its worker is
 * terminated; when it completes, the idle worker is kept for the next epoch (no thread start-up
 * per epoch) until `loader.close()`. The worker never keeps the process alive unless the
 * consumer is waiting for one of its batches, so a forgotten loader cannot hang the process.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { Tensor, keep, tensor, tidy, affineFromBytes } from '../torch/index.js';
import { checkGeometry, normalizeOnBytes, splitGeometry, toFloat, type Geometry, type GeometricTransform, type Transform } from './augment.js';
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

/** A batch transform (the loader's name for {@link Transform}). */
export type BatchTransform = Transform;

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
  transform?: Transform | null;
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
  readonly transform: Transform | null;
  readonly transformSeed: number;
  readonly sampler: Sampler | null;
  readonly prefetch: number;
  readonly offload: boolean;
  /** The transform's leading geometric steps and the rest (see splitGeometry). */
  private readonly parts: { geometric: GeometricTransform | null; rest: Transform | null };

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
    this.transform = options.transform ?? null;
    if (this.transform !== null && typeof this.transform !== 'function') throw new RangeError('transform must be a function (x, rng) => Tensor');
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
   */
  epoch(epoch: number): Epoch {
    return new Epoch(this, epoch, this.order(epoch));
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
    return new GatherWorker(this.dataset.images, this.dataset.shape);
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
  offloadParts(): { geometric: GeometricTransform | null; rest: Transform | null } {
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
        const affine = transform === null ? undefined : normalizeOnBytes.get(transform);
        if (affine) return affineFromBytes(bytes, [b, ...shape], affine.scale, affine.shift);
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
  /** Number of batches. */
  readonly length: number;
  /** Timing of the most recent (or current) pass. */
  stats: EpochStats = { batches: 0, gatherMs: 0, prepareMs: 0, requestMs: 0 };

  constructor(
    readonly loader: DataLoader,
    readonly epoch: number,
    /** The dataset positions this epoch visits, in order. */
    readonly positions: Int32Array,
  ) {
    this.length = batchCount(positions.length, loader.batchSize, loader.dropLast);
  }

  [Symbol.asyncIterator](): AsyncGenerator<Batch, void, undefined> {
    return this.run();
  }

  private async *run(): AsyncGenerator<Batch, void, undefined> {
    const { loader, epoch, positions, length } = this;
    const stats: EpochStats = { batches: 0, gatherMs: 0, prepareMs: 0, requestMs: 0 };
    this.stats = stats;
    const bs = loader.batchSize;
    const ds = loader.dataset;
    const slice = (k: number) => positions.slice(k * bs, Math.min((k + 1) * bs, positions.length));
    const inline = new InlineGather(ds.images, imageSize(ds), bs);
    // The first batch is prepared here (while a new worker starts); the worker does the rest.
    const worker = loader.prefetch > 0 && length > 1 ? loader.acquireWorker() : null;
    const { geometric, rest } = loader.offloadParts();
    // Batches requested from the worker: the generator (which already drew the geometric
    // decisions, if offloaded) and the shape of the bytes that will come back.
    const pending = new Map<number, { rng: SeededRandom; shape: number[]; positions: Int32Array }>();
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
      pending.set(k, { rng, shape, positions: chosen });
      worker.request(k, chosen, geometry);
    };
    let completed = false;
    try {
      for (let k = 1; k <= loader.prefetch; k++) request(k);
      for (let k = 0; k < length; k++) {
        const t0 = performance.now();
        const ahead = pending.get(k);
        const chosen = ahead !== undefined ? ahead.positions : slice(k);
        const chunk = ahead !== undefined ? await worker!.get(k) : inline.gather(chosen);
        const t1 = performance.now();
        let batch: Batch;
        try {
          batch =
            ahead !== undefined
              ? loader.makeBatch(epoch, k, chosen, chunk.bytes, ahead.shape, geometric !== null ? rest : loader.transform, ahead.rng)
              : loader.makeBatch(epoch, k, chosen, chunk.bytes, [...ds.shape], loader.transform, loader.augmentationRandom(epoch, k));
        } finally {
          chunk.release();
          pending.delete(k);
        }
        const t2 = performance.now();
        if (k > 0) request(k + loader.prefetch);
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
export function batchTensors(ds: ImageDataset, start: number, end: number, transform?: Transform | null): { x: Tensor; y: Tensor } {
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

/** Bytes of a batch, and how to hand their buffer back. */
interface Chunk {
  bytes: Uint8Array;
  release(): void;
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
  gather(positions: Int32Array): Chunk {
    this.buffer ??= new Uint8Array(this.batchSize * this.bytesPerImage);
    const bytes = this.buffer.subarray(0, positions.length * this.bytesPerImage);
    gatherInto(this.images, this.bytesPerImage, positions, bytes);
    return { bytes, release: () => {} };
  }
}

/** Niceness of the gather worker thread (0 normal .. 19 lowest). */
const WORKER_NICE = 10;

// The worker is a small CommonJS script (no TypeScript, no imports of this package), so it runs
// the same from sources under tsx and from the compiled package, and starts fast. Each request
// names a batch, optionally carries a buffer to fill and the row and column maps of the
// transform's geometric steps; the worker copies the samples' bytes (through the maps) and sends
// the buffer back on a MessageChannel that the main thread reads synchronously
// (receiveMessageOnPort): a ready batch costs no event-loop turn. When nothing is ready yet, the
// main thread waits asynchronously (Atomics.waitAsync) on a counter the worker bumps per reply.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
// Linux niceness is per thread: this lowers the worker's priority only. On a busy machine the
// worker then no longer preempts the training thread each time it is woken with a request
// (measured: postMessage cost 0.8 ms per batch at nice 0, 0.08 ms at nice 10).
// (Elsewhere the call would lower the whole process, so it is made on Linux only.)
if (process.platform === 'linux') {
  try {
    require('node:os').setPriority(${WORKER_NICE});
  } catch {}
}
const { buffer, byteOffset, byteLength, shape, port, seq } = workerData;
const images = new Uint8Array(buffer, byteOffset, byteLength);
const [C, H, W] = shape;
const imageBytes = C * H * W;
port.on('message', ({ id, positions, buffer: out, geometry }) => {
  const count = positions.length;
  const height = geometry ? geometry.height : H;
  const width = geometry ? geometry.width : W;
  const outImage = C * height * width;
  const length = count * outImage;
  if (out === undefined || out === null || out.byteLength < length) out = new ArrayBuffer(length);
  const bytes = new Uint8Array(out, 0, length);
  for (let s = 0; s < count; s++) {
    const from = positions[s] * imageBytes;
    if (!geometry) {
      bytes.set(images.subarray(from, from + imageBytes), s * outImage);
      continue;
    }
    // The sample's row and column maps: out o <- in scale*o + offset for lo <= o < hi, else 0.
    const R = geometry.rows;
    const Q = geometry.cols;
    const rs = R.scale[s], rt = R.offset[s], rlo = R.lo[s], rhi = R.hi[s];
    const cs = Q.scale[s], ct = Q.offset[s], clo = Q.lo[s], chi = Q.hi[s];
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
  port.postMessage({ id, buffer: out, length }, [out]);
  // Tell a waiting main thread that a reply is queued (it reads replies synchronously).
  Atomics.add(seq, 0, 1);
  Atomics.notify(seq, 0);
});
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

interface Delivery {
  buffer: ArrayBuffer;
  length: number;
}

/**
 * A worker thread that gathers (and, given maps, crops and flips) the batches it is asked for.
 * It lives across epochs when a pass completes, and never keeps the process alive unless the
 * consumer is waiting for one of its batches.
 */
export class GatherWorker {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  /** Replies sent by the worker so far (bumped by it after each reply, and by fail()). */
  private readonly replies = new Int32Array(new SharedArrayBuffer(4));
  private readonly ready = new Map<number, Delivery>();
  private readonly pool: ArrayBuffer[] = [];
  private inFlight = 0;
  private failure: Error | null = null;
  private closed = false;

  constructor(images: Uint8Array, shape: [number, number, number]) {
    const shared = sharedImages(images);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { buffer: shared.buffer, byteOffset: shared.byteOffset, byteLength: shared.byteLength, shape, port: port2, seq: this.replies },
      transferList: [port2],
    });
    this.worker.unref();
    this.worker.on('error', (e) => this.fail(e instanceof Error ? e : new Error(String(e))));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`DataLoader: the gather worker exited unexpectedly (code ${code})`));
    });
  }

  /** Not closed, not failed, and nothing in flight. */
  get usable(): boolean {
    return !this.closed && this.failure === null && this.inFlight === 0 && this.ready.size === 0;
  }

  private fail(e: Error): void {
    this.failure ??= e;
    // Wake a waiting get() so that it sees the failure.
    Atomics.add(this.replies, 0, 1);
    Atomics.notify(this.replies, 0);
  }

  /** Asks for the samples at `positions` (through `geometry` if given), to be collected with get(id). */
  request(id: number, positions: Int32Array, geometry: Geometry | null): void {
    if (this.closed) throw new Error('DataLoader: the gather worker is closed');
    const buffer = this.pool.pop();
    this.inFlight++;
    // The maps are small and copied (a transform may keep them); the pixel buffer is moved.
    this.port.postMessage({ id, positions, buffer, geometry }, buffer === undefined ? [] : [buffer]);
  }

  /** Moves every reply already queued into `ready`, without an event-loop turn. */
  private drain(): void {
    for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
      const reply = m.message as { id: number; buffer: ArrayBuffer; length: number };
      this.inFlight--;
      this.ready.set(reply.id, { buffer: reply.buffer, length: reply.length });
    }
  }

  async get(id: number): Promise<Chunk> {
    for (;;) {
      if (this.closed) throw new Error('DataLoader: the gather worker is closed');
      const seen = Atomics.load(this.replies, 0);
      this.drain();
      const delivery = this.ready.get(id);
      if (delivery !== undefined) {
        this.ready.delete(id);
        const { buffer, length } = delivery;
        return {
          bytes: new Uint8Array(buffer, 0, length),
          release: () => {
            if (!this.closed) this.pool.push(buffer);
          },
        };
      }
      if (this.failure !== null) throw this.failure;
      // Only a pending get() keeps the process alive, so an abandoned iteration cannot hang it.
      this.worker.ref();
      try {
        const wait = waitAsync(this.replies, 0, seen);
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
    this.ready.clear();
    this.pool.length = 0;
    this.fail(new Error('DataLoader: the gather worker was closed'));
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
