// Self-paced learning (Kumar et al. 2010). With v_i in {0, 1}, minimising
// sum_i v_i l_i - (1/K) sum_i v_i gives v_i = 1 exactly when l_i < 1/K: the model trains on the
// samples it already finds easy, and the threshold 1/K grows every epoch until all are in.
//
// Schedule (Kumar et al. leave the start to the user): in the first epoch the threshold is the
// `startQuantile` of each batch's own losses; from the second epoch on it is that quantile of all
// first-epoch losses, multiplied by `growth` once per further epoch. Weights are 0/1 and the loss
// is still divided by the batch size, so fewer selected samples also means a smaller step, as in
// the original formulation.
import { crossEntropyLoss, type PerSampleLoss } from './losses.js';
import type { BatchView, Strategy } from './strategy.js';

export interface SelfPacedOptions {
  /** Fraction of samples in at the start, as a loss quantile (default 0.5: the median). */
  startQuantile?: number;
  /** Factor the threshold 1/K is multiplied by each epoch (Kumar's mu; default 1.3). */
  growth?: number;
}

function quantile(values: Float64Array | number[], q: number): number {
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return NaN;
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function selfPacedStrategy(o: SelfPacedOptions = {}, loss: PerSampleLoss = crossEntropyLoss()): Strategy {
  const q = o.startQuantile ?? 0.5;
  const growth = o.growth ?? 1.3;
  if (!(q > 0 && q <= 1)) throw new RangeError(`spl: startQuantile = ${q}, expected a number in (0, 1]`);
  if (!(growth >= 1 && Number.isFinite(growth))) throw new RangeError(`spl: growth = ${growth}, expected a finite number >= 1`);
  let firstEpochLosses: number[] = [];
  let startThreshold: number | null = null;
  let threshold = NaN;
  let epoch = 0;
  return {
    label: `spl(q=${q},growth=${growth})`,
    loss,
    startEpoch(e) {
      epoch = e;
      if (startThreshold !== null) threshold = startThreshold * growth ** Math.max(0, e - 1);
    },
    weigh(b: BatchView) {
      const l = b.perSample.detach().toFloat64Array();
      let t = threshold;
      if (startThreshold === null) {
        firstEpochLosses.push(...l);
        t = quantile(l, q);
      }
      // With the threshold at the top quantile every sample is in: l <= t rather than l < t.
      return l.map((li) => (li <= t ? 1 : 0));
    },
    endEpoch() {
      if (startThreshold === null && epoch === 0) {
        startThreshold = quantile(firstEpochLosses, q);
        firstEpochLosses = [];
      }
    },
    state: () => ({ startThreshold }),
    loadState(s) {
      startThreshold = (s as { startThreshold: number | null }).startThreshold;
    },
  };
}
