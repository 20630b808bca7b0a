// Per-sample scores from a run's history, for ranking training samples by how suspicious they
// look (label errors, outliers). Every score has a direction: which raw values are suspicious.
//
// LOW's weights solve max_w w.g^2 - lambda ||w - 1||^2 (eq. 9): the larger a sample's gradient
// norm at the logits, the larger its weight. A mislabeled sample keeps a large loss, hence a large
// gradient, so *persistently high* weights point at it (the paper's conclusion says as much).
// The baselines are the mean loss (high = suspicious) and the area under the margin of Pleiss et
// al. 2020 (the mean over epochs of assigned logit minus largest other logit; low = suspicious).
import type { SampleHistory } from '../train/history.js';

export const SCORE_NAMES = ['weight-late', 'weight-mean', 'weight-above-1', 'loss', 'aum'] as const;
export type ScoreName = (typeof SCORE_NAMES)[number];

export interface ScoreInfo {
  name: ScoreName;
  description: string;
  /** Which raw values are suspicious. */
  suspicious: 'high' | 'low';
  /** Built from LOW's weights (constant, hence useless, for strategies that do not reweight). */
  fromWeights: boolean;
}

export const SCORES: Record<ScoreName, ScoreInfo> = {
  'weight-late': {
    name: 'weight-late',
    description: 'mean weight over the later half of the epochs',
    suspicious: 'high',
    fromWeights: true,
  },
  'weight-mean': {
    name: 'weight-mean',
    description: 'mean weight over all epochs (area under the weight curve)',
    suspicious: 'high',
    fromWeights: true,
  },
  'weight-above-1': {
    name: 'weight-above-1',
    description: 'fraction of epochs with mean weight above 1',
    suspicious: 'high',
    fromWeights: true,
  },
  loss: { name: 'loss', description: 'mean loss over all epochs', suspicious: 'high', fromWeights: false },
  aum: {
    name: 'aum',
    description: 'area under the margin (mean margin over all epochs; Pleiss et al. 2020)',
    suspicious: 'low',
    fromWeights: false,
  },
};

export function isScoreName(s: string): s is ScoreName {
  return (SCORE_NAMES as readonly string[]).includes(s);
}

/** Mean over epochs [from, to) of each sample's values, ignoring epochs where it was not seen (NaN). */
export function meanOverEpochs(values: Float32Array, samples: number, from: number, to: number): Float64Array {
  const sum = new Float64Array(samples);
  const n = new Int32Array(samples);
  for (let e = from; e < to; e++) {
    const row = e * samples;
    for (let p = 0; p < samples; p++) {
      const v = values[row + p]!;
      if (Number.isNaN(v)) continue;
      sum[p]! += v;
      n[p]! += 1;
    }
  }
  for (let p = 0; p < samples; p++) sum[p] = n[p] ? sum[p]! / n[p]! : NaN;
  return sum;
}

/** First epoch (0-based) of the later half: epochs floor(E/2) .. E-1 (all of them for E = 1). */
export function laterHalfStart(epochs: number): number {
  return Math.floor(epochs / 2);
}

/** The raw score of every sample (NaN for a sample never seen). */
export function scoreValues(h: SampleHistory, name: ScoreName): Float64Array {
  if (h.epochs === 0) return new Float64Array(h.samples).fill(NaN);
  switch (name) {
    case 'weight-late':
      return meanOverEpochs(h.weight, h.samples, laterHalfStart(h.epochs), h.epochs);
    case 'weight-mean':
      return meanOverEpochs(h.weight, h.samples, 0, h.epochs);
    case 'weight-above-1': {
      const above = new Float32Array(h.weight.length);
      for (let i = 0; i < above.length; i++) above[i] = Number.isNaN(h.weight[i]!) ? NaN : h.weight[i]! > 1 ? 1 : 0;
      return meanOverEpochs(above, h.samples, 0, h.epochs);
    }
    case 'loss':
      return meanOverEpochs(h.loss, h.samples, 0, h.epochs);
    case 'aum':
      return meanOverEpochs(h.margin, h.samples, 0, h.epochs);
  }
}

/** Oriented so that higher = more suspicious; a sample never seen gets -Infinity (least suspicious). */
export function suspicionOf(values: Float64Array, name: ScoreName): Float64Array {
  const sign = SCORES[name].suspicious === 'high' ? 1 : -1;
  return values.map((v) => (Number.isNaN(v) ? -Infinity : sign * v));
}

export interface Ranking {
  score: ScoreName;
  /** Raw score per sample (training-set order). */
  values: Float64Array;
  /** Higher = more suspicious, per sample. */
  suspicion: Float64Array;
  /** Sample positions, most suspicious first (ties: lower position first). */
  order: Int32Array;
  /** Whether every sample has the same score (the ranking then means nothing). */
  constant: boolean;
}

export function rankSamples(h: SampleHistory, name: ScoreName): Ranking {
  const values = scoreValues(h, name);
  const suspicion = suspicionOf(values, name);
  const order = Int32Array.from({ length: h.samples }, (_, i) => i);
  order.sort((a, b) => suspicion[b]! - suspicion[a]! || a - b);
  const first = suspicion[0];
  const constant = suspicion.every((s) => s === first);
  return { score: name, values, suspicion, order, constant };
}
