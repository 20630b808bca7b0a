// LDAM-DRW as a strategy (Cao, Wei, Gaidon, Arechiga and Ma, NeurIPS 2019; kaidic/LDAM-DRW):
// the label-distribution-aware margin loss CE(s * (z - m_y e_y)) (long-tail-losses.ts), and
// deferred re-weighting: from a set point of training (the authors: epoch 160 of 200, so
// drw = 0.8) each sample is weighted by its class's effective-number weight (beta 0.9999,
// normalised to sum to C), before that every weight 1. The authors pass those class weights to
// F.cross_entropy, whose mean divides by the batch's sum of weights; the weights here are the
// same normalised the same way, w_i = M w_{y_i} / sum_j w_{y_j}, since the trainer divides by M.
// The authors pair LDAM with a cosine (normalised) last layer, NormedLinear: `--head cosine`
// (RunConfig.head, honoured by models/registry.ts) makes the model's last Linear layer one. s = 30
// is meant for those bounded logits; on a linear head it diverges (use s=1).
import { effectiveNumberWeights, ldamLoss } from './long-tail-losses.js';
import { uniformWeights, type BatchView, type Strategy } from './strategy.js';
import { numberOption, type NumberOption, type StrategyDefinition } from './strategy-definition.js';

export interface LdamOptions {
  /** The largest margin (the authors' max_m, 0.5). */
  maxM?: number;
  /** The logit scale (the authors' s, 30). */
  s?: number;
  /** The fraction of training after which DRW weighs the samples; 1: never (LDAM alone). */
  drw?: number;
  /** DRW's effective-number beta (0.9999). */
  beta?: number;
}

/** The epoch index from which DRW weighs: round(drw * epochs), the authors' 160 of 200 at 0.8. */
export function drwStartEpoch(drw: number, epochs: number): number {
  return Math.round(drw * epochs);
}

export function ldamStrategy(classCounts: ArrayLike<number>, o: LdamOptions = {}, label = 'ldam'): Strategy {
  const drw = o.drw ?? 0.8;
  if (!(drw >= 0 && drw <= 1)) throw new RangeError(`LDAM: drw = ${drw}, expected a fraction of training in [0, 1]`);
  const classWeights = effectiveNumberWeights(classCounts, o.beta ?? 0.9999);
  return {
    label,
    loss: ldamLoss(classCounts, { maxM: o.maxM, s: o.s }),
    weigh(b: BatchView): Float64Array {
      const m = b.ids.length;
      if (drw >= 1 || b.epoch < drwStartEpoch(drw, b.epochs)) return uniformWeights(m);
      const labels = b.labels.toInt32Array();
      const w = Float64Array.from(labels, (y) => classWeights[y]!);
      const sum = w.reduce((a, x) => a + x, 0);
      return sum > 0 ? w.map((x) => (x * m) / sum) : uniformWeights(m);
    },
  };
}

/** LDAM's logit scale s: 30 for the authors' cosine classifier; a linear head needs about 1. */
export const LDAM_SCALE_OPTION: NumberOption = {
  type: 'number',
  default: 30,
  range: { min: 0, minOpen: true },
  expected: 'a finite number > 0',
  help: 'the logit scale',
};

export const ldamDefinition: StrategyDefinition = {
  name: 'ldam',
  role: 'baseline',
  help: 'LDAM-DRW (Cao et al. 2019): margins proportional to n_c^(-1/4) on the true logit, CE(s z); from drw of training, class-balanced weights',
  options: {
    m: { type: 'number', default: 0.5, range: { min: 0 }, expected: 'a finite number >= 0', help: 'the largest class margin' },
    s: LDAM_SCALE_OPTION,
    drw: {
      type: 'number',
      default: 0.8,
      range: { min: 0, max: 1 },
      expected: 'a fraction in [0, 1]',
      help: 'deferred re-weighting from this fraction of the epochs on (1: never)',
    },
    beta: {
      type: 'number',
      default: 0.9999,
      range: { min: 0, max: 1, maxOpen: true },
      expected: 'a number in [0, 1)',
      help: "DRW's effective-number decay",
    },
  },
  tuningGrid: { drw: [0.8, 1] },
  create(options, info, { label }) {
    const n = (key: string) => numberOption(ldamDefinition, options, key);
    return ldamStrategy(info.classCounts, { maxM: n('m'), s: n('s'), drw: n('drw'), beta: n('beta') }, label);
  },
};
