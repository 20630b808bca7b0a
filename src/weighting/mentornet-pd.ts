// MentorNet-PD, the predefined curriculum of Jiang et al. 2018 ("MentorNet: Learning Data-Driven
// Curriculum for Very Deep Neural Networks on Corrupted Labels", section 2.2). Their curriculum
// regulariser
//   G(v; lambda1, lambda2) = sum_i (1/2) lambda2 v_i^2 - (lambda1 + lambda2) v_i,  v_i in [0, 1]
// makes min_v sum_i v_i l_i + G(v) separable, with the closed form
//   v*(l) = 1[l <= lambda1]                                   if lambda2 = 0 (self-paced),
//   v*(l) = min(max(1 - (l - lambda1) / lambda2, 0), 1)       if lambda2 > 0 (linear weighting:
//           1 below lambda1, falling linearly to 0 at lambda1 + lambda2).
// (Setting the derivative l + lambda2 v - lambda1 - lambda2 to 0 gives v = 1 - (l - lambda1)/lambda2,
// clipped to [0, 1]; with lambda2 = 0 the objective is linear in v and v is 0/1.)
//
// lambda1 moves with training as in the authors' code (utils.mentornet): each batch, lambda1 is an
// exponential moving average of the batch's p-th loss percentile,
//   lambda1 <- decay * lambda1 + (1 - decay) * percentile_p(batch losses)
// (updated before it is used; the first batch starts it at its own percentile instead of their 0).
// Percentiles interpolate linearly between order statistics (numpy's default).
// During a burn-in (the first `burnin` fraction of the epochs; their predefined curriculum uses
// the first 18 % of training) every weight is 1; lambda1 is still tracked.
//
// Normalisation (ours, not the authors'): their student minimises mean_i(v_i l_i). Here the weights
// are rescaled so the batch mean weight is 1 whenever any sample is selected,
// w_i = M v_i / sum_j v_j, as LOW's weights are (sum w = M), so the step size does not shrink with
// the number of samples kept. When no sample is selected every weight is 0 (no step from the data).
import { crossEntropyLoss, type PerSampleLoss } from './losses.js';
import type { BatchView, Strategy } from './strategy.js';
import { numberOption, type StrategyDefinition } from './strategy-definition.js';

export interface MentorNetPDOptions {
  /** Loss percentile (0..1) whose moving average is lambda1 (default 0.7, the authors' default). */
  percentile?: number;
  /** Decay of the moving average (default 0.9, utils.mentornet's default). */
  decay?: number;
  /** lambda2: 0 for the self-paced 0/1 rule (default), > 0 for linear weighting. */
  lambda2?: number;
  /** Fraction of the epochs, from the start, in which every weight is 1 (default 0.2). */
  burnin?: number;
}

/** The p-quantile (0..1) by linear interpolation between order statistics. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return NaN;
  const pos = p * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** The closed-form v*(l) for lambda1, lambda2 (see the header). */
export function mentorNetPDWeight(loss: number, lambda1: number, lambda2: number): number {
  if (lambda2 === 0) return loss <= lambda1 ? 1 : 0;
  return Math.min(Math.max(1 - (loss - lambda1) / lambda2, 0), 1);
}

/** Rescales v so that its mean is 1 (sum = M), or leaves all zeros. */
export function normaliseToMeanOne(v: Float64Array): Float64Array {
  let sum = 0;
  for (const x of v) sum += x;
  if (!(sum > 0)) return v.fill(0);
  const scale = v.length / sum;
  return v.map((x) => x * scale);
}

export function mentorNetPDStrategy(o: MentorNetPDOptions = {}, loss: PerSampleLoss = crossEntropyLoss()): Strategy {
  const p = o.percentile ?? 0.7;
  const decay = o.decay ?? 0.9;
  const lambda2 = o.lambda2 ?? 0;
  const burnin = o.burnin ?? 0.2;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`mentornet-pd: p = ${p}, expected a fraction in [0, 1]`);
  if (!(decay >= 0 && decay < 1)) throw new RangeError(`mentornet-pd: decay = ${decay}, expected a number in [0, 1)`);
  if (!(lambda2 >= 0 && Number.isFinite(lambda2)))
    throw new RangeError(`mentornet-pd: lambda2 = ${lambda2}, expected a finite number >= 0`);
  if (!(burnin >= 0 && burnin <= 1)) throw new RangeError(`mentornet-pd: burnin = ${burnin}, expected a fraction in [0, 1]`);
  let lambda1: number | null = null;
  return {
    label: `mentornet-pd(p=${p},decay=${decay},lambda2=${lambda2},burnin=${burnin})`,
    loss,
    weigh(b: BatchView) {
      const l = b.perSample.detach().toFloat64Array();
      const q = percentile(l, p);
      lambda1 = lambda1 === null ? q : decay * lambda1 + (1 - decay) * q;
      if (b.epoch < burnin * b.epochs) return new Float64Array(l.length).fill(1);
      const t = lambda1;
      return normaliseToMeanOne(l.map((li) => mentorNetPDWeight(li, t, lambda2)));
    },
    state: () => ({ lambda1 }),
    loadState(s) {
      lambda1 = (s as { lambda1: number | null }).lambda1;
    },
  };
}

const fraction = { range: { min: 0, max: 1 }, expected: 'a fraction in [0, 1]' } as const;

export const mentorNetPDDefinition: StrategyDefinition = {
  name: 'mentornet-pd',
  role: 'baseline',
  help:
    'MentorNet-PD (Jiang et al. 2018), the predefined curriculum: ' +
    "v = 1[l <= lambda1], lambda1 a moving average of the batch's p-th loss percentile",
  options: {
    p: { type: 'number', default: 0.7, ...fraction, help: 'loss percentile whose moving average is lambda1' },
    decay: {
      type: 'number',
      default: 0.9,
      range: { min: 0, max: 1, maxOpen: true },
      expected: 'a number in [0, 1)',
      help: 'decay of the moving average',
    },
    lambda2: {
      type: 'number',
      default: 0,
      range: { min: 0 },
      expected: 'a finite number >= 0',
      help: '0: 0/1 weights; > 0: linear weighting',
    },
    burnin: { type: 'number', default: 0.2, ...fraction, help: 'share of the epochs, from the start, with every weight 1' },
  },
  // The loss percentile below which samples count as clean: its main knob, as lambda is LOW's.
  tuningGrid: { p: [0.5, 0.7, 0.9] },
  create: (options, _info, { label }) => {
    const n = (key: string) => numberOption(mentorNetPDDefinition, options, key);
    return { ...mentorNetPDStrategy({ percentile: n('p'), decay: n('decay'), lambda2: n('lambda2'), burnin: n('burnin') }), label };
  },
};
