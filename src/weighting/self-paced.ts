// Self-paced learning (Kumar et al. 2010). With v_i in {0, 1}, minimising
// sum_i v_i l_i - (1/K) sum_i v_i gives v_i = 1 exactly when l_i < 1/K: the model trains on the
// samples it already finds easy, and the threshold 1/K grows every epoch until all are in.
//
// Schedule (Kumar et al. leave the start to the user): in the first epoch the threshold is the
// `startQuantile` of each batch's own losses; from the second epoch on it is that quantile of all
// first-epoch losses, multiplied by `growth` once per further epoch. Weights are 0/1 and the loss
// is still divided by the batch size, so fewer selected samples also means a smaller step, as in
// the original formulation.
//
// Checkpoints: state() holds the start threshold once it is known and, in the first epoch, the
// losses seen so far (base64 float64), so a run resumed in the middle of the first epoch computes
// the same start threshold.
import { crossEntropyLoss, type PerSampleLoss } from './losses.js';
import type { BatchView, Strategy } from './strategy.js';
import { b64, fromB64 } from '../util/base64.js';
import { numberOption, type StrategyDefinition } from './strategy-definition.js';

interface SavedState {
  startThreshold: number | null;
  /** base64 Float64Array: the first epoch's losses so far (only while startThreshold is null). */
  firstEpochLosses?: string;
}

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
  return {
    label: `spl(q=${q},growth=${growth})`,
    loss,
    weigh(b: BatchView) {
      const l = b.perSample.detach().toFloat64Array();
      let t: number;
      if (startThreshold === null) {
        firstEpochLosses.push(...l);
        t = quantile(l, q);
      } else {
        t = startThreshold * growth ** Math.max(0, b.epoch - 1);
      }
      // With the threshold at the top quantile every sample is in: l <= t rather than l < t.
      return l.map((li) => (li <= t ? 1 : 0));
    },
    endEpoch(epoch) {
      if (startThreshold === null && epoch === 0) {
        startThreshold = quantile(firstEpochLosses, q);
        firstEpochLosses = [];
      }
    },
    state(): SavedState {
      const saved: SavedState = { startThreshold };
      if (firstEpochLosses.length > 0) saved.firstEpochLosses = b64(Float64Array.from(firstEpochLosses));
      return saved;
    },
    loadState(s) {
      const saved = s as SavedState;
      startThreshold = saved.startThreshold;
      firstEpochLosses = saved.firstEpochLosses === undefined ? [] : Array.from(fromB64(saved.firstEpochLosses, Float64Array));
    },
  };
}

export const selfPacedDefinition: StrategyDefinition = {
  name: 'spl',
  role: 'baseline',
  help:
    'self-paced learning (Kumar et al. 2010): 0/1 weights below a loss threshold ' +
    "that starts at the first epoch's q-quantile and grows by `growth` each epoch",
  options: {
    q: {
      type: 'number',
      default: 0.5,
      range: { min: 0, minOpen: true, max: 1 },
      expected: 'a number in (0, 1]',
      help: 'share of samples in at the start, as a loss quantile',
    },
    growth: {
      type: 'number',
      default: 1.3,
      range: { min: 1 },
      expected: 'a finite number >= 1',
      help: "the threshold's factor per epoch (Kumar's mu)",
    },
  },
  tuningGrid: { q: [0.5, 0.7], growth: [1.1, 1.3] },
  create: (options, _info, { label }) => ({
    ...selfPacedStrategy({
      startQuantile: numberOption(selfPacedDefinition, options, 'q'),
      growth: numberOption(selfPacedDefinition, options, 'growth'),
    }),
    label,
  }),
};
