// Data-parallel training over a process group, as PyTorch's DistributedDataParallel does it:
// every rank holds the same model (rank 0's parameters and buffers broadcast at the start), takes
// its share of each global batch, and the gradients are summed over the ranks in buckets before
// the optimizer step, so every rank takes the same step. What DDP does not do, and LOW needs: the
// step's per-sample quantities (logits, labels, ids, losses) are gathered from every rank, so a
// strategy can weigh the global batch exactly as a single process with the same batch would.
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
    torch.noGrad(() => this.group.broadcast([...model.parameters(), ...model.namedBuffers().map(([, b]) => b)], 0));
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
    if (buffers.length) torch.noGrad(() => this.group.broadcast(buffers, 0));
  }

  /** Whether any rank asks to stop (Ctrl-C reaches each rank on its own time: they must stop after the same batch). */
  anyStop(stop: boolean): boolean {
    return torch.tidy(() => {
      const flag = torch.tensor(Float32Array.from([stop ? 1 : 0]));
      this.group.allReduceSum(flag);
      return flag.item() > 0;
    });
  }

  /**
   * Every rank's part of the batch, concatenated in rank order: with the global batch dealt out by
   * share(), the batch a single process would take. `capacity` bounds any rank's part (parts are
   * padded to it, as an all-gather needs equal sizes).
   */
  gatherBatch(part: BatchPart, numClasses: number, capacity: number): BatchPart {
    const t0 = performance.now();
    const n = part.labels.length;
    if (n > capacity) throw new RangeError(`gatherBatch: a part of ${n} samples exceeds the capacity ${capacity}`);
    // One float64 row per sample: its logits, label, id, row and loss (integers below 2^53 are exact); row 0 holds n.
    const width = numClasses + 4;
    const packed = new Float64Array((capacity + 1) * width);
    packed[0] = n;
    for (let i = 0; i < n; i++) {
      const at = (i + 1) * width;
      for (let c = 0; c < numClasses; c++) packed[at + c] = part.logits[i * numClasses + c]!;
      packed[at + numClasses] = part.labels[i]!;
      packed[at + numClasses + 1] = part.ids[i]!;
      packed[at + numClasses + 2] = part.rows[i]!;
      packed[at + numClasses + 3] = part.losses[i]!;
    }
    const parts = this.allGatherFloat64(packed);
    const total = parts.reduce((a, p) => a + p[0]!, 0);
    const out: BatchPart = {
      logits: new Float32Array(total * numClasses),
      labels: new Int32Array(total),
      ids: new Int32Array(total),
      rows: new Int32Array(total),
      losses: new Float32Array(total),
    };
    let k = 0;
    for (const p of parts) {
      for (let i = 0; i < p[0]!; i++, k++) {
        const at = (i + 1) * width;
        for (let c = 0; c < numClasses; c++) out.logits[k * numClasses + c] = p[at + c]!;
        out.labels[k] = p[at + numClasses]!;
        out.ids[k] = p[at + numClasses + 1]!;
        out.rows[k] = p[at + numClasses + 2]!;
        out.losses[k] = p[at + numClasses + 3]!;
      }
    }
    this.stats.gatherMs += performance.now() - t0;
    return out;
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
      const lengths = this.group.allGather(torch.tensor(Float64Array.from([bytes.length]), { dtype: 'float64' }));
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
      const t = torch.tensor(Float64Array.from([value]), { dtype: 'float64' });
      this.group.allReduceSum(t);
      return t.item();
    });
  }

  /**
   * Sums every parameter's gradient over the ranks, in buckets of at most bucketBytes (in reverse
   * order of the parameters, as DDP buckets them: the last layers' gradients are ready first). A
   * parameter without a gradient on this rank counts as zero, so every rank reduces the same buckets.
   */
  reduceGradients(params: Tensor[]): void {
    const t0 = performance.now();
    torch.noGrad(() => {
      const order = [...params].reverse();
      let bucket: Tensor[] = [];
      let bytes = 0;
      const flush = () => {
        if (!bucket.length) return;
        torch.tidy(() => {
          const grads = bucket.map((p) => {
            if (!p.grad) p.grad = torch.zerosLike(p);
            return p.grad;
          });
          const flat = torch.cat(grads.map((g) => g.reshape(-1)));
          this.group.allReduceSum(flat);
          let at = 0;
          for (const g of grads) {
            const n = g.numel();
            g.copy_(flat.narrow(0, at, n).reshape(...g.shape));
            at += n;
          }
        });
        this.stats.buckets++;
        bucket = [];
        bytes = 0;
      };
      for (const p of order) {
        const size = p.numel() * 4;
        if (bucket.length && bytes + size > this.bucketBytes) flush();
        bucket.push(p);
        bytes += size;
      }
      flush();
    });
    this.stats.gradientMs += performance.now() - t0;
    this.stats.steps++;
  }

  private allGatherFloat64(values: Float64Array): Float64Array[] {
    return torch.tidy(() => this.group.allGather(torch.tensor(values, { dtype: 'float64' })).map((t) => t.toFloat64Array()));
  }
}
