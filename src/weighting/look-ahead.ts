// What Learning to Reweight (Ren et al., ICML 2018) and Meta-Weight-Net (Shu et al., NeurIPS 2019)
// share: both ask how the loss of a clean, balanced meta batch would change if the model took one
// plain SGD step (no momentum, no weight decay, as both authors' code) on a weighted training
// loss, and differentiate that meta loss with respect to the weights. The model runs at other
// parameter values through Module.functionalForward, which leaves it untouched. This file holds
// the context trainStep gives them and the meta batches they draw.
import { tensor, type Tensor } from '../torch/index.js';
import { SeededRandom } from '../util/seeded-random.js';
import type { BatchView, MetaSet } from './strategy.js';

/** The look-ahead context trainStep gives; a clear error for a caller of weigh() that did not. */
export function requireStep(b: BatchView, who: string): NonNullable<BatchView['step']> {
  if (!b.step) throw new TypeError(`${who}: weigh() needs the batch's step (model, inputs, lr), which trainStep gives`);
  return b.step;
}

export interface MetaBatch {
  inputs: Tensor;
  labels: Tensor;
}

/**
 * Meta batches drawn from the meta set: the whole set when it fits in one batch (10 samples per
 * class of a 10-class set, as Meta-Weight-Net's CIFAR-10 runs with batch 100), else consecutive
 * slices of a seeded shuffle, reshuffled after each pass, as a shuffling loader. The position is
 * the state a checkpoint keeps.
 */
export class MetaBatches {
  private pass = 0;
  private cursor = 0;
  private order: Int32Array;

  constructor(
    readonly meta: MetaSet,
    readonly batchSize: number,
    readonly seed: number,
  ) {
    if (meta.ids.length === 0) throw new RangeError('meta set: it is empty; expected at least one sample per class');
    this.order = this.orderOf(0);
  }

  get size(): number {
    return this.meta.ids.length;
  }

  /** The next meta batch, as tensors in the caller's scope. */
  next(): MetaBatch {
    if (this.size <= this.batchSize) return { inputs: this.meta.inputs, labels: this.meta.labels };
    if (this.cursor + this.batchSize > this.size) {
      this.pass++;
      this.cursor = 0;
      this.order = this.orderOf(this.pass);
    }
    const rows = this.order.subarray(this.cursor, this.cursor + this.batchSize);
    this.cursor += this.batchSize;
    const index = tensor(rows).long();
    return { inputs: this.meta.inputs.indexSelect(0, index), labels: this.meta.labels.indexSelect(0, index) };
  }

  state(): { pass: number; cursor: number } {
    return { pass: this.pass, cursor: this.cursor };
  }

  loadState(s: unknown): void {
    const { pass, cursor } = (s ?? {}) as { pass?: unknown; cursor?: unknown };
    if (!Number.isSafeInteger(pass) || (pass as number) < 0 || !Number.isSafeInteger(cursor) || (cursor as number) < 0)
      throw new RangeError(`meta batches: checkpoint state ${JSON.stringify(s)}, expected { pass, cursor } non-negative integers`);
    this.pass = pass as number;
    this.cursor = Math.min(cursor as number, this.size);
    this.order = this.orderOf(this.pass);
  }

  private orderOf(pass: number): Int32Array {
    return new SeededRandom(this.seed, `meta-batches-${pass}`).permutation(this.size);
  }
}
