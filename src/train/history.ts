// Per-sample history of a run: for every training sample and epoch, its mean weight, mean loss
// and mean margin (assigned logit minus the largest other logit) over the times it was seen.
// This is what the insight figures, the class curves and label-error detection are built from.
// The open epoch's running sums travel with it too (toArrays({ openEpoch: true })), so that a
// checkpoint taken in the middle of an epoch closes that epoch exactly as an uninterrupted run.
import type { HostTensor, Tensor } from '../torch/index.js';

export class SampleHistory {
  /** [epochs x samples], row-major by epoch; NaN where a sample was not seen that epoch. */
  readonly weight: Float32Array;
  readonly loss: Float32Array;
  readonly margin: Float32Array;
  private readonly sums: { w: Float64Array; l: Float64Array; m: Float64Array; n: Int32Array };

  constructor(
    readonly epochs: number,
    readonly samples: number,
    data?: { weight: Float32Array; loss: Float32Array; margin: Float32Array },
  ) {
    const size = epochs * samples;
    if (data && (data.weight.length !== size || data.loss.length !== size || data.margin.length !== size)) {
      throw new RangeError(`SampleHistory: stored arrays do not have ${epochs} x ${samples} entries`);
    }
    this.weight = data?.weight ?? new Float32Array(size).fill(NaN);
    this.loss = data?.loss ?? new Float32Array(size).fill(NaN);
    this.margin = data?.margin ?? new Float32Array(size).fill(NaN);
    this.sums = { w: new Float64Array(samples), l: new Float64Array(samples), m: new Float64Array(samples), n: new Int32Array(samples) };
  }

  /** Adds one batch: rows index the training set; arrays are aligned with them. */
  record(rows: Int32Array, weights: ArrayLike<number>, losses: ArrayLike<number>, margins: ArrayLike<number>): void {
    const s = this.sums;
    for (let i = 0; i < rows.length; i++) {
      const p = rows[i]!;
      s.w[p]! += weights[i]!;
      s.l[p]! += losses[i]!;
      s.m[p]! += margins[i]!;
      s.n[p]! += 1;
    }
  }

  /** Closes an epoch: stores the means and clears the accumulators. */
  endEpoch(epoch: number): void {
    const s = this.sums;
    const row = epoch * this.samples;
    for (let p = 0; p < this.samples; p++) {
      const n = s.n[p]!;
      this.weight[row + p] = n ? s.w[p]! / n : NaN;
      this.loss[row + p] = n ? s.l[p]! / n : NaN;
      this.margin[row + p] = n ? s.m[p]! / n : NaN;
    }
    s.w.fill(0);
    s.l.fill(0);
    s.m.fill(0);
    s.n.fill(0);
  }

  /** Mean weight per class per epoch, [epochs][classes] (NaN for unseen). */
  classMeans(labels: Int32Array, numClasses: number, upToEpoch = this.epochs): number[][] {
    const out: number[][] = [];
    for (let e = 0; e < upToEpoch; e++) {
      const sum = new Float64Array(numClasses);
      const n = new Float64Array(numClasses);
      for (let p = 0; p < this.samples; p++) {
        const w = this.weight[e * this.samples + p]!;
        if (Number.isNaN(w)) continue;
        sum[labels[p]!]! += w;
        n[labels[p]!]! += 1;
      }
      out.push(Array.from(sum, (s, c) => (n[c]! ? s / n[c]! : NaN)));
    }
    return out;
  }

  /**
   * The history as arrays to save (views of its own memory, not copies: save them before the
   * history changes); with `openEpoch`, also the open epoch's sums and counts (float64 and int32,
   * exact), for a checkpoint taken in the middle of an epoch. `epochs` keeps only the first rows (a
   * checkpoint needs the completed epochs; the later rows are all NaN), so the checkpoint written
   * after every epoch grows with the run instead of always holding all of it.
   */
  toArrays(o: { openEpoch?: boolean; epochs?: number } = {}): Record<string, HostTensor> {
    const epochs = Math.min(o.epochs ?? this.epochs, this.epochs);
    const shape = [epochs, this.samples];
    const rows = (a: Float32Array): HostTensor => ({ dtype: 'float32', shape, data: a.subarray(0, epochs * this.samples) });
    const out: Record<string, HostTensor> = {
      'history.weight': rows(this.weight),
      'history.loss': rows(this.loss),
      'history.margin': rows(this.margin),
    };
    if (o.openEpoch) {
      const s = this.sums;
      const n = [this.samples];
      Object.assign(out, {
        'history.open.weight': { dtype: 'float64', shape: n, data: s.w },
        'history.open.loss': { dtype: 'float64', shape: n, data: s.l },
        'history.open.margin': { dtype: 'float64', shape: n, data: s.m },
        'history.open.count': { dtype: 'int32', shape: n, data: s.n },
      });
    }
    return out;
  }

  /** This history with room for `epochs` epochs (a checkpoint stores only the completed ones); itself when it has them. */
  withEpochs(epochs: number): SampleHistory {
    if (epochs <= this.epochs) return this;
    const grown = new SampleHistory(epochs, this.samples);
    grown.weight.set(this.weight);
    grown.loss.set(this.loss);
    grown.margin.set(this.margin);
    grown.sums.w.set(this.sums.w);
    grown.sums.l.set(this.sums.l);
    grown.sums.m.set(this.sums.m);
    grown.sums.n.set(this.sums.n);
    return grown;
  }

  /** The history of a checkpoint; the open epoch's sums when it holds them, else empty ones (end-of-epoch checkpoints). */
  static fromTensors(t: Map<string, Tensor>): SampleHistory {
    const w = t.get('history.weight');
    const l = t.get('history.loss');
    const m = t.get('history.margin');
    if (!w || !l || !m) throw new RangeError('history tensors missing (history.weight, history.loss, history.margin)');
    const [epochs, samples] = w.shape as [number, number];
    const h = new SampleHistory(epochs, samples, { weight: w.toFloat32Array(), loss: l.toFloat32Array(), margin: m.toFloat32Array() });
    const open = ['weight', 'loss', 'margin', 'count'].map((k) => t.get(`history.open.${k}`));
    if (open.some((x) => x !== undefined)) {
      const [ow, ol, om, on] = open;
      const fits = (x: Tensor | undefined, dtype: string) => x !== undefined && x.dtype === dtype && x.ndim === 1 && x.size(0) === samples;
      if (!fits(ow, 'float64') || !fits(ol, 'float64') || !fits(om, 'float64') || !fits(on, 'int32')) {
        throw new RangeError(
          'open-epoch history tensors incomplete or malformed ' +
            `(expected history.open.weight, .loss, .margin as float64 and .count as int32, ${samples} each)`,
        );
      }
      h.sums.w.set(ow!.toFloat64Array());
      h.sums.l.set(ol!.toFloat64Array());
      h.sums.m.set(om!.toFloat64Array());
      h.sums.n.set(on!.toInt32Array());
    }
    return h;
  }
}
