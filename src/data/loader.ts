/**
 * Batches of an in-memory {@link ImageDataset} as tensors, prepared ahead of the training step.
 *
 * Order. Each epoch visits the dataset rows of {@link DataLoader.order}: a permutation
 * drawn from (seed, epoch) alone when shuffling — the same for the same seed and epoch whatever
 * else differs (the paper compares weighting strategies on an identical sample order) — the
 * file order otherwise, or whatever a `sampler` hook returns (strategies that choose their
 * samples: importance sampling's presampling, {@link weightedSampler}).
 *
 * Pipeline. The consumer's thread trains; a worker thread prepares the next `prefetch` batches
 * meanwhile: it gathers the bytes of each batch's samples from the shuffled index (plain
 * JavaScript) and, when the transform starts with geometric steps (crops, zero padding, flips:
 * the {@link DataLoader.plan}, from the transform's tags, see transform.ts), copies the pixels
 * through their row and column maps, so that the main thread only turns ready bytes into a
 * tensor and applies the rest of the transform (for the standard pipelines: the per-channel
 * normalisation, an 'affine' step, in the same native pass). The random decisions are still
 * drawn on the main thread, from the batch's own generator, so the batches are identical with
 * and without the worker (`offload: false` keeps the geometric steps as tensor ops on the main
 * thread; `prefetch: 0` does everything inside next(), with no worker). Requests and batches
 * pass through rings of shared memory, not messages (gather-protocol.ts). The first batch of a
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
import { Tensor, keep, tensor, tidy, affineFromBytes } from '../torch/index.js';
import { checkInteger } from './checks.js';
import { datasetSize, imageSize, type ImageDataset } from './dataset.js';
import { GatherWorker, type Ticket } from './gather-client.js';
import { checkGeometry, type Geometry } from './geometry.js';
import { IdleWorkerSlot } from './idle-worker.js';
import { InlineGather } from './inline-gather.js';
import { toFloat } from './intensity.js';
import { SeededRandom } from '../util/seeded-random.js';
import type { Sampler } from './samplers.js';
import { asTransform, splitGeometry, type GeometricStep, type Transform, type TransformInput } from './transform.js';

// Kept importable from the loader's module, where its users have always found them.
export { batchTensors } from './evaluation-batches.js';
export { weightedSampler, type Sampler } from './samplers.js';
export { shareImages } from './shared-images.js';

/** One mini-batch. Free its tensors with `dispose()`. */
export interface Batch {
  /** Images, float32 [B, C, H', W'] (after the transform). */
  x: Tensor;
  /** Labels, int64 [B]. */
  y: Tensor;
  /** Stable sample ids (the dataset's `ids` of these samples). */
  ids: Int32Array;
  /** Rows of the samples in the dataset (indices into its arrays). */
  rows: Int32Array;
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
  /** Chooses the rows of each epoch (replaces the shuffled or file order). */
  sampler?: Sampler | null;
  /** Batches gathered ahead by the worker thread. Default 2; 0: no worker, all work inside next(). */
  prefetch?: number;
  /**
   * Let the worker also apply the transform's leading geometric steps (crops, padding, flips:
   * see splitGeometry), copying bytes in JavaScript instead of running tensor ops on the main
   * thread. The batches are identical either way. Default true (only matters with prefetch > 0).
   */
  offload?: boolean;
  /**
   * Data-parallel training: this process is rank `rank` of `count`, and each batch it delivers is
   * its share of the global batch of batchSize (rank r takes positions floor(r b / count) to
   * floor((r + 1) b / count) of a batch of b), so that the ranks' parts, in rank order, are the
   * batch one process would take. The order, the batches' random decisions and resuming at a batch
   * are those of the global batches.
   */
  shard?: { rank: number; count: number } | null;
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

/**
 * How the transform is divided between the worker and the consumer's thread: `geometric`, the
 * leading geometric step the worker applies as byte copies (null: there is none, or offloading
 * is off), and `rest`, what the consumer's thread applies to the bytes the worker returns.
 */
export interface TransformPlan {
  readonly geometric: GeometricStep | null;
  readonly rest: Transform | null;
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
  readonly shard: { rank: number; count: number } | null;
  readonly prefetch: number;
  readonly offload: boolean;
  readonly plan: TransformPlan;
  readonly #workers: IdleWorkerSlot;

  constructor(
    readonly dataset: ImageDataset,
    options: DataLoaderOptions,
  ) {
    if (options === null || typeof options !== 'object') throw new RangeError('DataLoader: options with at least batchSize are required');
    this.batchSize = checkInteger('batchSize', options.batchSize, 1);
    this.seed = options.seed === undefined ? 0 : checkInteger('seed', options.seed, Number.MIN_SAFE_INTEGER);
    this.transformSeed =
      options.transformSeed === undefined ? this.seed : checkInteger('transformSeed', options.transformSeed, Number.MIN_SAFE_INTEGER);
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
    const shard = options.shard ?? null;
    if (shard !== null) {
      const count = checkInteger('shard.count', shard.count, 1);
      checkInteger('shard.rank', shard.rank, 0);
      if (shard.rank >= count) throw new RangeError(`shard.rank must be below shard.count (${count}), got ${shard.rank}`);
    }
    this.shard = shard;
    if (this.sampler !== null && typeof this.sampler !== 'function') throw new RangeError('sampler must be a function (epoch) => rows');
    const split = this.transform === null ? null : splitGeometry(this.transform);
    this.plan = Object.freeze(
      this.offload && split !== null && split.geometric !== null ? split : { geometric: null, rest: this.transform },
    );

    const [c, h, w] = dataset.shape;
    const n = datasetSize(dataset);
    if (![c, h, w].every((d) => Number.isInteger(d) && d >= 1))
      throw new RangeError(`dataset: bad image shape [${dataset.shape.join(', ')}]`);
    if (dataset.images.length !== n * c * h * w) {
      throw new RangeError(`dataset: ${dataset.images.length} image bytes for ${n} samples of ${c}x${h}x${w}`);
    }
    if (dataset.ids.length !== n) throw new RangeError(`dataset: ${dataset.ids.length} ids for ${n} labels`);
    // One slot per batch requested ahead, and one for the batch being turned into tensors.
    const { batchSize, prefetch } = this;
    this.#workers = new IdleWorkerSlot(() => new GatherWorker(dataset.images, dataset.shape, batchSize, prefetch + 1));
  }

  /**
   * Batches per epoch when an epoch visits every sample once (no sampler). With a sampler the
   * count follows what it returns: see {@link Epoch.length}.
   */
  get numBatches(): number {
    return batchCount(datasetSize(this.dataset), this.batchSize, this.dropLast);
  }

  /**
   * The dataset rows epoch `epoch` visits, in order: the sampler's choice, else a
   * permutation seeded by (seed, epoch) when shuffling, else 0..N-1.
   */
  order(epoch: number): Int32Array {
    checkInteger('epoch', epoch, 0);
    const n = datasetSize(this.dataset);
    if (this.sampler !== null) {
      const chosen = this.sampler(epoch);
      if (chosen === null || typeof chosen !== 'object' || typeof chosen.length !== 'number') {
        throw new RangeError(`sampler(${epoch}) must return an array of dataset rows`);
      }
      const rows = new Int32Array(chosen.length);
      for (let i = 0; i < chosen.length; i++) {
        const p = chosen[i]!;
        if (!Number.isInteger(p) || p < 0 || p >= n)
          throw new RangeError(`sampler(${epoch}) returned row ${p} at ${i}, outside 0..${n - 1}`);
        rows[i] = p;
      }
      return rows;
    }
    if (this.shuffle) return new SeededRandom(this.seed, `order:${epoch}`).permutation(n);
    const rows = new Int32Array(n);
    for (let i = 0; i < n; i++) rows[i] = i;
    return rows;
  }

  /**
   * One epoch: `for await (const batch of loader.epoch(e))`. The order is fixed when this is
   * called (the sampler, if any, runs now); each iteration of the returned object is a new pass.
   * With `fromBatch: k` each pass starts at batch k (index k, the same batch a full pass
   * delivers there), for resuming in the middle of an epoch; k may equal the number of batches
   * (an empty pass).
   */
  epoch(epoch: number, options: EpochOptions = {}): Epoch {
    return new Epoch(this, epoch, this.order(epoch), options.fromBatch ?? 0, this.#workers);
  }

  /**
   * Terminates the idle worker kept between epochs. It never keeps the process alive, and is
   * terminated when the loader is garbage-collected; this frees it now.
   */
  close(): void {
    this.#workers.close();
  }
}

/** The generator of batch `index`'s random decisions in epoch `epoch`. */
function batchRandom(transformSeed: number, epoch: number, index: number): SeededRandom {
  return new SeededRandom(transformSeed, `augment:${epoch}:${index}`);
}

/**
 * Builds batch `index` of `epoch` from its gathered bytes, [B, ...shape], applying `transform`
 * with `rng`. An affine transform (normalisation) alone goes straight from the bytes to floats.
 */
function makeBatch(
  ds: ImageDataset,
  epoch: number,
  index: number,
  rows: Int32Array,
  bytes: Uint8Array,
  shape: number[],
  transform: Transform | null,
  rng: SeededRandom,
): Batch {
  const b = rows.length;
  // One buffer for both (allocating typed-array buffers is costly on the training thread).
  const both = new Int32Array(2 * b);
  const ids = both.subarray(0, b);
  const labels = both.subarray(b);
  for (let i = 0; i < b; i++) {
    ids[i] = ds.ids[rows[i]!]!;
    labels[i] = ds.labels[rows[i]!]!;
  }
  const x = keep(
    tidy(() => {
      if (transform?.kind === 'affine')
        return affineFromBytes(bytes, [b, ...shape], [...transform.onBytes.scale], [...transform.onBytes.shift]);
      const raw = tensor(bytes, { shape: [b, ...shape] });
      let out = transform === null ? raw : transform(raw, rng);
      if (!(out instanceof Tensor)) throw new TypeError('DataLoader: the transform must return a Tensor');
      if (out.dtype === 'uint8') out = toFloat(out, rng);
      if (out.dtype !== 'float32') throw new TypeError(`DataLoader: the transform returned ${out.dtype}, expected float32 or uint8`);
      if (out.ndim < 1 || out.size(0) !== b)
        throw new RangeError(`DataLoader: the transform changed the batch size from ${b} to shape [${out.shape.join(', ')}]`);
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
    rows,
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

/** One epoch of a {@link DataLoader}: an async iterable of batches with a fixed order. */
export class Epoch implements AsyncIterable<Batch> {
  /** Number of batches in the whole epoch (a pass delivers those from `fromBatch` on). */
  readonly length: number;
  /** Timing of the most recent (or current) pass. */
  stats: EpochStats = { batches: 0, gatherMs: 0, prepareMs: 0, requestMs: 0 };
  readonly #workers: IdleWorkerSlot;

  /** Made by {@link DataLoader.epoch}; `workers` is the loader's slot for its idle worker. */
  constructor(
    readonly loader: DataLoader,
    readonly epoch: number,
    /** The dataset rows this epoch visits, in order. */
    readonly rows: Int32Array,
    /** Index of the first batch a pass delivers. */
    readonly fromBatch: number,
    workers: IdleWorkerSlot,
  ) {
    this.#workers = workers;
    this.length = batchCount(rows.length, loader.batchSize, loader.dropLast);
    if (!Number.isSafeInteger(fromBatch) || fromBatch < 0 || fromBatch > this.length) {
      throw new RangeError(
        `fromBatch must be an integer in 0..${this.length} (epoch ${epoch} has ${this.length} batches), got ${String(fromBatch)}`,
      );
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Batch, void, undefined> {
    return this.#run();
  }

  async *#run(): AsyncGenerator<Batch, void, undefined> {
    const { loader, epoch, rows, length, fromBatch: first } = this;
    const stats: EpochStats = { batches: 0, gatherMs: 0, prepareMs: 0, requestMs: 0 };
    this.stats = stats;
    const bs = loader.batchSize;
    const ds = loader.dataset;
    const shard = loader.shard;
    const slice = (k: number) => {
      const global = rows.subarray(k * bs, Math.min((k + 1) * bs, rows.length));
      if (shard === null) return global.slice();
      const b = global.length;
      return global.slice(Math.floor((shard.rank * b) / shard.count), Math.floor(((shard.rank + 1) * b) / shard.count));
    };
    const inline = new InlineGather(ds.images, imageSize(ds), bs);
    // The first batch is prepared here (while a new worker starts); the worker does the rest.
    const worker = loader.prefetch > 0 && length - first > 1 ? this.#workers.take() : null;
    const { geometric, rest } = loader.plan;
    // Batches requested from the worker: the generator (which already drew the geometric
    // decisions, if offloaded) and the shape of the bytes that will come back.
    const pending = new Map<number, { rng: SeededRandom; shape: number[]; rows: Int32Array; ticket: Ticket }>();
    const request = (k: number) => {
      if (worker === null || k >= length) return;
      const rng = batchRandom(loader.transformSeed, epoch, k);
      const chosen = slice(k);
      let geometry: Geometry | null = null;
      let shape: number[] = [...ds.shape];
      if (geometric !== null) {
        const b = chosen.length;
        geometry = geometric.geometry(b, ds.shape[1], ds.shape[2], rng);
        checkGeometry(geometry, b, ds.shape[1], ds.shape[2]); // the worker trusts the maps
        shape = [ds.shape[0], geometry.height, geometry.width];
      }
      pending.set(k, { rng, shape, rows: chosen, ticket: worker.request(chosen, geometry) });
    };
    let completed = false;
    try {
      for (let k = first + 1; k <= first + loader.prefetch; k++) request(k);
      for (let k = first; k < length; k++) {
        const t0 = performance.now();
        const ahead = pending.get(k);
        const chosen = ahead !== undefined ? ahead.rows : slice(k);
        const bytes = ahead !== undefined ? await worker!.get(ahead.ticket) : inline.gather(chosen);
        const t1 = performance.now();
        let batch: Batch;
        try {
          batch =
            ahead !== undefined
              ? makeBatch(ds, epoch, k, chosen, bytes, ahead.shape, rest, ahead.rng)
              : makeBatch(ds, epoch, k, chosen, bytes, [...ds.shape], loader.transform, batchRandom(loader.transformSeed, epoch, k));
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
      if (worker !== null) this.#workers.giveBack(worker, completed);
    }
  }
}
