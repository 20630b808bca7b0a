// Aggregates over seeds: convergence curves (mean and sample standard deviation per epoch), the
// final-epoch value of each run, and the final metric against LOW's lambda (of the final runs, or
// of the tuning record of a tuned experiment).
import { mean, sampleStd } from '../metrics/stats.js';
import type { MetricName, MetricsRow } from '../train/metrics-file.js';
import { tunedLabel, type TunedChoice } from '../train/tuning.js';
import { lambdaOf, strategyFamily } from './experiment-folder.js';

/** One run's metrics, tagged with what it was. */
export interface RunSeries {
  strategy: string;
  family: string;
  seed: number;
  rows: MetricsRow[];
}

export interface CurvePoint {
  strategy: string;
  epoch: number;
  mean: number;
  /** Sample standard deviation over seeds (n - 1); null with fewer than 2 seeds. */
  std: number | null;
  /** mean - std and mean + std; null with fewer than 2 seeds (no band). */
  lower: number | null;
  upper: number | null;
  /** Seeds that reached this epoch with a value for the metric. */
  n: number;
}

const finite = (v: number | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

function meanStd(values: number[]): { mean: number; std: number | null; lower: number | null; upper: number | null; n: number } {
  const m = mean(values);
  const s = values.length >= 2 ? sampleStd(values) : null;
  return { mean: m, std: s, lower: s === null ? null : m - s, upper: s === null ? null : m + s, n: values.length };
}

/** Mean ± one standard deviation over seeds of a metrics column, per strategy and epoch. */
export function convergenceCurves(series: RunSeries[], metric: MetricName): CurvePoint[] {
  const byStrategy = groupBy(series, (s) => s.strategy);
  const out: CurvePoint[] = [];
  for (const [strategy, runs] of byStrategy) {
    const epochs = Math.max(...runs.map((r) => r.rows.length));
    for (let e = 0; e < epochs; e++) {
      const values = runs.map((r) => r.rows[e]?.[metric]).filter(finite);
      if (values.length) out.push({ strategy, epoch: e + 1, ...meanStd(values) });
    }
  }
  return out;
}

export interface FinalValue {
  strategy: string;
  family: string;
  seed: number;
  value: number;
  /** Epochs the run completed (its last row is used). */
  epochs: number;
}

/** The last row's value of a metric for every run (runs without a finite value are left out). */
export function finalValues(series: RunSeries[], metric: MetricName): FinalValue[] {
  const out: FinalValue[] = [];
  for (const s of series) {
    const last = s.rows[s.rows.length - 1];
    const v = last?.[metric];
    if (finite(v)) out.push({ strategy: s.strategy, family: s.family, seed: s.seed, value: v, epochs: s.rows.length });
  }
  return out;
}

export interface LambdaPoint {
  /** LOW's family: "low", "low:scale=batch-mean", "low:base=focal", ... */
  family: string;
  lambda: number;
  mean: number;
  std: number | null;
  lower: number | null;
  upper: number | null;
  n: number;
}

/** Final metric against lambda for every LOW family (one point per family and lambda, mean over seeds). */
export function lambdaCurve(series: RunSeries[], metric: MetricName): LambdaPoint[] {
  const out: LambdaPoint[] = [];
  const lows = series.filter((s) => lambdaOf(s.strategy) !== null);
  for (const [family, runs] of groupBy(lows, (s) => s.family)) {
    for (const [lambda, group] of groupBy(runs, (s) => lambdaOf(s.strategy)!)) {
      const values = finalValues(group, metric).map((f) => f.value);
      if (values.length) out.push({ family, lambda, ...meanStd(values) });
    }
  }
  return out.sort((a, b) => (a.family < b.family ? -1 : a.family > b.family ? 1 : a.lambda - b.lambda));
}

/** Final metric of the runs without lambda, mean over seeds per strategy (reference lines beside the lambda curve). */
export function baselineFinals(series: RunSeries[], metric: MetricName): { strategy: string; mean: number; n: number }[] {
  const out: { strategy: string; mean: number; n: number }[] = [];
  for (const [strategy, runs] of groupBy(
    series.filter((s) => lambdaOf(s.strategy) === null),
    (s) => s.strategy,
  )) {
    const values = finalValues(runs, metric).map((f) => f.value);
    if (values.length) out.push({ strategy, mean: mean(values), n: values.length });
  }
  return out;
}

export interface TuningLambdaCurve {
  /** Validation score against lambda; family "low @ lr=0.01": one line per LOW family and learning rate. */
  points: LambdaPoint[];
  /** The chosen (best) validation score of each family without lambda. */
  baselines: { strategy: string; mean: number; n: number }[];
  /** LOW candidates without a score ("low:lambda=1 @ lr=0.1"), left out of the lines. */
  diverged: string[];
}

/**
 * Validation score against lambda from the tuning record (tuning.json). A tuned experiment's final
 * runs have one lambda per family, so only the tuning runs show how the score depends on lambda;
 * the learning rate is part of each line because the best lambda can move with it.
 */
export function tuningLambdaCurve(choices: TunedChoice[]): TuningLambdaCurve {
  const lows = choices.flatMap((c) => c.candidates).filter((k) => lambdaOf(k.strategy) !== null);
  const sorted = [...lows].sort((a, b) => {
    const fa = strategyFamily(a.strategy);
    const fb = strategyFamily(b.strategy);
    return fa < fb ? -1 : fa > fb ? 1 : a.lr - b.lr || lambdaOf(a.strategy)! - lambdaOf(b.strategy)!;
  });
  const points: LambdaPoint[] = [];
  const diverged: string[] = [];
  for (const k of sorted) {
    if (!Number.isFinite(k.valScore)) diverged.push(tunedLabel(k.strategy, k.lr));
    else {
      // Several tuning seeds: their mean and spread. One: the score itself, with no spread.
      const spread =
        k.valScores.length >= 2 ? meanStd(k.valScores) : { mean: k.valScore, std: 0, lower: k.valScore, upper: k.valScore, n: 1 };
      points.push({ family: tunedLabel(strategyFamily(k.strategy), k.lr), lambda: lambdaOf(k.strategy)!, ...spread });
    }
  }
  const baselines = choices
    .filter((c) => lambdaOf(c.strategy) === null && Number.isFinite(c.valScore))
    .map((c) => ({ strategy: tunedLabel(c.strategy, c.lr), mean: c.valScore, n: c.valScores.length }));
  return { points, baselines, diverged };
}

export function groupBy<T, K>(items: T[], key: (t: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}
