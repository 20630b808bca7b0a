// Data-parallel training over a process group, as PyTorch's DistributedDataParallel does it:
// every rank holds the same model (rank 0's parameters and buffers broadcast at the start), takes
// its share of each global batch, and the gradients are summed over the ranks in buckets before
// the optimizer step, so every rank takes the same step. What DDP does not do, and LOW needs: the
// step's per-sample quantities (logits, labels, ids, losses) are gathered from every rank, so a
// strategy can weigh the global batch exactly as a single process with the same batch would.
//
// Each collective makes every rank wait for the slowest, so a step synchronises as few times as
// it can: once (reduceStep) where the weights need no other rank's samples, and twice (gatherBatch
// first) where they do. What the step shares besides the gradients rides in the same all-reduce.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { BatchNorm2d, type Module } from '../nn/index.js';
import type { ProcessGroup } from './process-group.js';

/** PyTorch DDP's default bucket cap: 25 MiB of gradients per all-reduce. */
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

/** One rank's part of a step's batch, as host arrays (what a strategy's global view is built from). */
export interface BatchPart {
  /** [n x numClasses] row-major. */
  logits: Float32Array;
  labels: Int32Array;
  ids: Int32Array;
  rows: Int32Array;
  losses: Float32Array;
}

/** One rank's part of the batch with the weight each of its samples got. */
export interface WeighedPart extends BatchPart {
  weights: Float64Array;
}

/** Time spent in collectives, for `low bench dist`. */
export interface CollectiveStats {
  steps: number;
  gradientMs: number;
  gatherMs: number;
  buckets: number;
}

export class DataParallel {
  readonly rank: number;
  readonly worldSize: number;
  readonly stats: CollectiveStats = { steps: 0, gradientMs: 0, gatherMs: 0, buckets: 0 };
  /** This rank asks to stop (Ctrl-C), told to the others by the next reduceStep. */
  private stopAsked = false;
  /** Whether any rank asked to stop in the last reduceStep: every rank stops after the same batch. */
  stopAgreed = false;

  constructor(
    readonly group: ProcessGroup,
    readonly o: {
      /** Gradients per all-reduce (default DDP's 25 MiB). */
      bucketBytes?: number;
      /** Batch norm over the global batch (SyncBatchNorm) instead of each rank's part (DDP's default). */
      syncBatchNorm?: boolean;
    } = {},
  ) {
    this.rank = group.rank;
    this.worldSize = group.worldSize;
  }

  /** This rank's share [start, end) of n items dealt out in rank order: rank r takes floor(rn/N) up to floor((r+1)n/N). */
  share(n: number): [number, number] {
    return [Math.floor((this.rank * n) / this.worldSize), Math.floor(((this.rank + 1) * n) / this.worldSize)];
  }

  get bucketBytes(): number {
    return this.o.bucketBytes ?? DEFAULT_BUCKET_BYTES;
  }

  get syncBatchNorm(): boolean {
    return this.o.syncBatchNorm ?? false;
  }

  /**
   * Every rank starts from rank 0's parameters and buffers (DDP's broadcast at construction); with
   * syncBatchNorm, the model's batch norms take their statistics over the global batch from now on.
   */
  syncModel(model: Module): void {
    torch.noGrad(() => this.onHost([...model.parameters(), ...model.namedBuffers().map(([, b]) => b)], (t) => this.group.broadcast(t, 0)));
    if (!this.syncBatchNorm) return;
    const sync = { sum: (t: Tensor) => this.group.allReduceSumDifferentiable(t) };
    for (const [, m] of model.namedModules()) if (m instanceof BatchNorm2d) m.sync = sync;
  }

  /**
   * Rank 0's buffers (batch-norm running statistics) on every rank, as DDP broadcasts them before
   * each forward: with per-rank batch norm they would drift apart, and evaluation (each rank a
   * share of the samples) must use one model.
   */
  syncBuffers(model: Module): void {
    const buffers = model.namedBuffers().map(([, b]) => b);
    if (buffers.length) torch.noGrad(() => this.onHost(buffers, (t) => this.group.broadcast(t, 0)));
  }

  /**
   * This rank's stop request (Ctrl-C reaches each rank on its own time): the next reduceStep tells
   * every rank, and `stopAgreed` is then the same everywhere, so they stop after the same batch.
   */
  askToStop(stop: boolean): void {
    this.stopAsked = stop;
  }

  /**
   * Every rank's part of the batch, concatenated in rank order: with the global batch dealt out by
   * share(), the batch a single process would take. `capacity` bounds any rank's part (parts are
   * padded to it, as an all-gather needs equal sizes).
   */
  gatherBatch(part: BatchPart, numClasses: number, capacity: number): BatchPart {
    const t0 = performance.now();
    // This rank's slot of reduceStep's layout, all-gathered (weights left zero): the slots side by side.
    const slot = slotLength(capacity, numClasses);
    const packed = new Float64Array(slot);
    packSlot({ ...part, weights: new Float64Array(part.labels.length) }, capacity, numClasses, packed, 0, 'gatherBatch');
    const flat = new Float64Array(slot * this.worldSize);
    this.allGatherFloat64(packed).forEach((p, r) => flat.set(p, r * slot));
    const { weights: _zeros, ...whole } = unpackSlots(flat, this.worldSize, slot, numClasses);
    this.stats.gatherMs += performance.now() - t0;
    return whole;
  }

  /** Every rank's values (each at most `capacity` long), concatenated in rank order. */
  gatherValues(values: Float64Array, capacity: number): Float64Array {
    const t0 = performance.now();
    const packed = new Float64Array(capacity + 1);
    packed[0] = values.length;
    packed.set(values, 1);
    const parts = this.allGatherFloat64(packed);
    const out = new Float64Array(parts.reduce((a, p) => a + p[0]!, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p.subarray(1, 1 + p[0]!), at);
      at += p[0]!;
    }
    this.stats.gatherMs += performance.now() - t0;
    return out;
  }

  /** Every rank's JSON-serialisable value, in rank order (strategy states and generators for a checkpoint). */
  gatherJson(value: unknown): unknown[] {
    const bytes = new TextEncoder().encode(JSON.stringify(value ?? null));
    const longest = torch.tidy(() => {
      const lengths = this.group.allGather(torch.tensor(Float64Array.from([bytes.length]), { dtype: 'float64', device: 'cpu' }));
      return Math.max(...lengths.map((t) => t.item()));
    });
    const padded = new Float64Array(longest + 1);
    padded[0] = bytes.length;
    padded.set(bytes, 1);
    return this.allGatherFloat64(padded).map((p) => JSON.parse(new TextDecoder().decode(Uint8Array.from(p.subarray(1, 1 + p[0]!)))));
  }

  /** The sum over the ranks of one number each. */
  sum(value: number): number {
    return torch.tidy(() => {
      const t = torch.tensor(Float64Array.from([value]), { dtype: 'float64', device: 'cpu' });
      this.group.allReduceSum(t);
      return t.item();
    });
  }

  /**
   * The step's one synchronisation. Sums every parameter's gradient over the ranks, in buckets of
   * at most bucketBytes (in reverse order of the parameters, as DDP buckets them: the last layers'
   * gradients are ready first; a parameter without a gradient on this rank counts as zero, so
   * every rank reduces the same buckets). Appended to the last bucket: each rank's stop request
   * (askToStop), rank 0's floating-point buffers (what DDP broadcasts before each forward: the
   * ranks' batch-norm statistics would drift apart), and, when given, `part`, this rank's weighed
   * part of the batch. Every rank writes its part into its own slot and leaves the others zero, so
   * the sum is the concatenation of the parts in rank order (integers split in two 16-bit halves
   * and weights in a float and its remainder, so float32 carries them exactly). Returns the global
   * batch when `part` was given.
   */
  reduceStep(model: Module, part?: { part: WeighedPart; capacity: number; numClasses: number }): WeighedPart | null {
    const t0 = performance.now();
    const params = model.parameters();
    const dtype = params[0]?.dtype ?? 'float32';
    const device = params[0]?.device ?? 'cpu';
    const buffers = model
      .namedBuffers()
      .map(([, b]) => b)
      .filter((b) => b.dtype === 'float32' || b.dtype === 'float64');
    const slot = part ? slotLength(part.capacity, part.numClasses) : 0;
    let whole: WeighedPart | null = null;
    torch.noGrad(() => {
      const order = [...params].reverse();
      const buckets: Tensor[][] = [[]];
      let bytes = 0;
      for (const p of order) {
        const size = p.numel() * 4;
        const bucket = buckets[buckets.length - 1]!;
        if (bucket.length && bytes + size > this.bucketBytes) {
          buckets.push([p]);
          bytes = size;
        } else {
          bucket.push(p);
          bytes += size;
        }
      }
      buckets.forEach((bucket, i) => {
        torch.tidy(() => {
          const grads = bucket.map((p) => {
            if (!p.grad) p.grad = torch.zerosLike(p);
            return p.grad;
          });
          const pieces = grads.map((g) => g.reshape(-1));
          const last = i === buckets.length - 1;
          if (last) {
            pieces.push(torch.tensor(Float64Array.from([this.stopAsked ? 1 : 0]), { dtype, device }));
            for (const b of buffers) pieces.push(this.rank === 0 ? b.reshape(-1).to(dtype) : torch.zeros([b.numel()], { dtype, device }));
            if (part) {
              // This rank's slot filled, the others' left zero: the sum over the ranks is every slot filled.
              const slots = dtype === 'float64' ? new Float64Array(slot * this.worldSize) : new Float32Array(slot * this.worldSize);
              packSlot(part.part, part.capacity, part.numClasses, slots, this.rank * slot, 'reduceStep');
              pieces.push(torch.tensor(slots, { dtype, device }));
            }
          }
          const flat = torch.cat(pieces);
          this.onHost([flat], ([t]) => this.group.allReduceSum(t!));
          let at = 0;
          for (const g of grads) {
            const n = g.numel();
            g.copy_(flat.narrow(0, at, n).reshape(...g.shape));
            at += n;
          }
          if (!last) return;
          this.stopAgreed = flat.narrow(0, at, 1).item() > 0;
          at += 1;
          for (const b of buffers) {
            const n = b.numel();
            b.copy_(flat.narrow(0, at, n).reshape(...b.shape));
            at += n;
          }
          if (part) whole = unpackSlots(flat.narrow(0, at, slot * this.worldSize).toFloat64Array(), this.worldSize, slot, part.numClasses);
        });
        this.stats.buckets++;
      });
    });
    this.stopAsked = false;
    this.stats.gradientMs += performance.now() - t0;
    this.stats.steps++;
    return whole;
  }

  private allGatherFloat64(values: Float64Array): Float64Array[] {
    return torch.tidy(() => this.group.allGather(torch.tensor(values, { dtype: 'float64', device: 'cpu' })).map((t) => t.toFloat64Array()));
  }

  /**
   * A collective on tensors that may live on a GPU, run on CPU copies (Gloo's CPU algorithms,
   * whichever libtorch low-ts was built against) and copied back. NCCL would reduce on the GPU
   * itself; this addon has no NCCL group (see the README).
   */
  private onHost(tensors: Tensor[], collective: (host: Tensor[]) => void): void {
    if (tensors.every((t) => t.device === 'cpu')) {
      collective(tensors);
      return;
    }
    torch.tidy(() => {
      const host = tensors.map((t) => (t.device === 'cpu' ? t : t.to({ device: 'cpu' })));
      collective(host);
      tensors.forEach((t, i) => {
        if (host[i] !== t) t.copy_(host[i]!);
      });
    });
  }
}

/** A sample's entries in a rank's slot: logits, label, id (2), row (2), loss, weight (2). */
const slotWidth = (numClasses: number) => numClasses + 8;

/** A rank's slot: its sample count, then `capacity` samples. */
const slotLength = (capacity: number, numClasses: number) => 1 + capacity * slotWidth(numClasses);

/** Writes a rank's part into its slot of `out`, which starts at `base`: [n, then n rows of slotWidth]. */
function packSlot(
  part: WeighedPart,
  capacity: number,
  numClasses: number,
  out: Float32Array | Float64Array,
  base: number,
  what: string,
): void {
  const n = part.labels.length;
  if (n > capacity) throw new RangeError(`${what}: a part of ${n} samples exceeds the capacity ${capacity}`);
  const width = slotWidth(numClasses);
  out[base] = n;
  for (let i = 0; i < n; i++) {
    const at = base + 1 + i * width;
    for (let c = 0; c < numClasses; c++) out[at + c] = part.logits[i * numClasses + c]!;
    out[at + numClasses] = part.labels[i]!;
    splitInteger(part.ids[i]!, out, at + numClasses + 1);
    splitInteger(part.rows[i]!, out, at + numClasses + 3);
    out[at + numClasses + 5] = part.losses[i]!;
    splitDouble(part.weights[i]!, out, at + numClasses + 6);
  }
}

/** A non-negative integer below 2^40 as two halves that float32 holds exactly. */
function splitInteger(v: number, out: Float32Array | Float64Array, at: number): void {
  if (!(Number.isInteger(v) && v >= 0 && v < 2 ** 40))
    throw new RangeError(`data-parallel: a sample id or row ${v} is not an integer in [0, 2^40)`);
  out[at] = Math.floor(v / 65536);
  out[at + 1] = v % 65536;
}

/** A float64 as the float32 (or float64) nearest it and the remainder: their sum is 48 bits or more of it. */
function splitDouble(v: number, out: Float32Array | Float64Array, at: number): void {
  out[at] = v;
  out[at + 1] = Number.isFinite(v) ? v - out[at]! : 0;
}

/** The parts every rank wrote into its slot, concatenated in rank order. */
function unpackSlots(flat: Float64Array, worldSize: number, slot: number, numClasses: number): WeighedPart {
  const width = slotWidth(numClasses);
  let total = 0;
  for (let r = 0; r < worldSize; r++) total += flat[r * slot]!;
  const out: WeighedPart = {
    logits: new Float32Array(total * numClasses),
    labels: new Int32Array(total),
    ids: new Int32Array(total),
    rows: new Int32Array(total),
    losses: new Float32Array(total),
    weights: new Float64Array(total),
  };
  let k = 0;
  for (let r = 0; r < worldSize; r++) {
    const n = flat[r * slot]!;
    for (let i = 0; i < n; i++, k++) {
      const at = r * slot + 1 + i * width;
      for (let c = 0; c < numClasses; c++) out.logits[k * numClasses + c] = flat[at + c]!;
      out.labels[k] = flat[at + numClasses]!;
      out.ids[k] = flat[at + numClasses + 1]! * 65536 + flat[at + numClasses + 2]!;
      out.rows[k] = flat[at + numClasses + 3]! * 65536 + flat[at + numClasses + 4]!;
      out.losses[k] = flat[at + numClasses + 5]!;
      out.weights[k] = flat[at + numClasses + 6]! + flat[at + numClasses + 7]!;
    }
  }
  return out;
}
