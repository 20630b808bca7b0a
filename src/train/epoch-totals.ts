// An epoch's running totals over its steps: what its metrics.csv row reports about training, and
// what a checkpoint taken in the middle of the epoch keeps (train/checkpoint.ts's OpenEpoch), so a
// resumed epoch ends with exactly the totals of an uninterrupted one.
import type { OpenEpoch } from './checkpoint.js';
import type { TrainColumns } from './metrics-file.js';
import type { StepResult } from './step.js';

export class EpochTotals {
  /** Sum over the batches of the batch's weighted loss times its size. */
  private weightedLoss = 0;
  /** Sum of the unweighted per-sample losses. */
  private plainLoss = 0;
  /** Samples trained on, and the misclassified ones among them. */
  private seen = 0;
  private errors = 0;
  /** Batches trained. */
  batches = 0;

  /** Totals restored from a checkpoint's open epoch (a run resumed in the middle of one). */
  static from(open: OpenEpoch | undefined): EpochTotals {
    const t = new EpochTotals();
    if (open) {
      t.weightedLoss = open.weightedLoss;
      t.plainLoss = open.plainLoss;
      t.seen = open.seen;
      t.errors = open.errors;
      t.batches = open.batches;
    }
    return t;
  }

  add(step: StepResult): void {
    const m = step.losses.length;
    this.weightedLoss += step.loss * m;
    for (let i = 0; i < m; i++) this.plainLoss += step.losses[i]!;
    this.errors += m - step.hits;
    this.seen += m;
    this.batches++;
  }

  /** The weighted training loss so far, per sample (the progress bar's figure). */
  get meanLoss(): number {
    return this.weightedLoss / this.seen;
  }

  get samples(): number {
    return this.seen;
  }

  /** What a checkpoint in the middle of the epoch stores. */
  toOpenEpoch(seconds: number, torchRng: Uint8Array): OpenEpoch {
    return {
      batches: this.batches,
      weightedLoss: this.weightedLoss,
      plainLoss: this.plainLoss,
      seen: this.seen,
      errors: this.errors,
      seconds,
      torchRng,
    };
  }

  /** The training columns of the epoch's metrics row. */
  toRow(o: { epoch: number; lr: number; weightStd: number; seconds: number }): TrainColumns {
    return {
      epoch: o.epoch,
      lr: o.lr,
      train_loss: this.weightedLoss / this.seen,
      train_loss_plain: this.plainLoss / this.seen,
      train_err: this.errors / this.seen,
      weight_std: o.weightStd,
      seconds: o.seconds,
    };
  }
}
