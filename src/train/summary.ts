// The experiment's summary, in the paper's format (summary-tables.ts writes it out): mean +- std over seeds per strategy of the
// final-epoch test metrics, with each strategy family's tuned value (LOW's lambda) chosen on the
// validation split, never on the test set; and paired comparisons of LOW against each baseline
// across seeds (wins, mean difference, Wilcoxon signed-rank and paired t-test), each LOW family
// against the loss it reweights first: LOW on logit adjustment minus logit adjustment is what LOW
// adds, the other pairs mix in the difference between the losses. A run that
// diverged is an outcome too: its metrics count as missing (left out of means and paired tests,
// with the number of seeds they rest on shown), and a configuration with a diverged seed is chosen
// only when every configuration of its family has one.
import { isProposedFamily, parseStrategy, strategyDefinition } from '../weighting/registry.js';
import { mean, meanIgnoringNaN, pairedTTest, wilcoxonSignedRank } from '../metrics/stats.js';
import type { RunOutcome } from './experiment.js';
import { validationScore } from './selection.js';
import type { MetricName, MetricsRow } from './metrics-file.js';

export const SUMMARY_METRICS = ['acc', 'bacc', 'mauc', 'mf1'] as const;
export type SummaryMetric = (typeof SUMMARY_METRICS)[number];

export interface StrategySummary {
  strategy: string;
  family: string;
  seeds: number[];
  /** Final-epoch test metrics per seed, in seed order; NaN for a seed that diverged. */
  test: Record<SummaryMetric, number[]>;
  /** Validation score used for selection (validationScore), mean over the seeds that did not diverge (NaN without validation). */
  valScore: number;
  /** Seeds whose run diverged (non-finite loss). */
  diverged: number[];
  /** Training seconds of each seed's run (its epochs' `seconds`, evaluation left out), in seed order; NaN for a seed that diverged. */
  trainSeconds: number[];
}

/**
 * What the baseline of a pair is to its LOW family: the loss LOW reweights (low:base=X's X, plain
 * LOW's Normal), Normal, the baseline with the best validation score, or another baseline.
 */
export type PairRole = 'base loss' | 'Normal' | 'best baseline' | 'other';

export interface PairedComparison {
  strategy: string;
  baseline: string;
  role: PairRole;
  metric: SummaryMetric;
  n: number;
  wins: number;
  ties: number;
  meanDifference: number;
  wilcoxonP: number;
  tTestP: number;
}

export interface ExperimentSummary {
  all: StrategySummary[];
  /** One per family: the value chosen on validation (or the only one). */
  selected: StrategySummary[];
  /** One per family: chosen on the test set, as the paper does (optimistic). */
  selectedOnTest: StrategySummary[];
  selectionMetric: SummaryMetric;
  /** The selection metric is averaged over each run's last this many epochs (1: the last epoch). */
  selectionEpochs: number;
  hasValidation: boolean;
  comparisons: PairedComparison[];
}

/** A run's last metrics row. */
export const lastRow = (rows: MetricsRow[]): MetricsRow => rows[rows.length - 1]!;
/** A run's training time: its epochs' seconds (evaluation left out). */
export const trainingSeconds = (rows: MetricsRow[]): number => rows.reduce((a, row) => a + row.seconds, 0);

export function summarize(outcomes: RunOutcome[], selectionMetric: SummaryMetric = 'acc', selectionEpochs = 1): ExperimentSummary {
  const byStrategy = new Map<string, RunOutcome[]>();
  for (const o of outcomes) {
    const list = byStrategy.get(o.run.strategy) ?? [];
    list.push(o);
    byStrategy.set(o.run.strategy, list);
  }
  const all: StrategySummary[] = [];
  for (const [strategy, list] of byStrategy) {
    list.sort((a, b) => a.run.seed - b.run.seed);
    const finalValue = (o: RunOutcome, column: string) => (o.diverged ? NaN : (lastRow(o.rows)[column as MetricName] ?? NaN));
    const test = Object.fromEntries(SUMMARY_METRICS.map((m) => [m, list.map((o) => finalValue(o, `test_${m}`))])) as Record<
      SummaryMetric,
      number[]
    >;
    const val = list.filter((o) => !o.diverged).map((o) => validationScore(o, selectionMetric, selectionEpochs));
    const diverged = list.filter((o) => o.diverged).map((o) => o.run.seed);
    all.push({
      strategy,
      family: list[0]!.run.family,
      seeds: list.map((o) => o.run.seed),
      test,
      valScore: val.length ? mean(val) : NaN,
      diverged,
      trainSeconds: list.map((o) => (o.diverged ? NaN : trainingSeconds(o.rows))),
    });
  }
  const hasValidation = all.every((s) => s.diverged.length === s.seeds.length || Number.isFinite(s.valScore));
  // Fewest diverged seeds first, then the score; a score that is NaN (every seed diverged) never wins.
  const pickBest = (score: (s: StrategySummary) => number) => {
    const better = (a: StrategySummary, b: StrategySummary) =>
      a.diverged.length !== b.diverged.length
        ? a.diverged.length < b.diverged.length
        : score(a) > score(b) || (Number.isNaN(score(b)) && !Number.isNaN(score(a)));
    const best = new Map<string, StrategySummary>();
    for (const s of all) {
      const current = best.get(s.family);
      if (!current || better(s, current)) best.set(s.family, s);
    }
    return [...best.values()];
  };
  const testScore = (s: StrategySummary) => meanIgnoringNaN(s.test[selectionMetric]);
  const selected = hasValidation ? pickBest((s) => s.valScore) : pickBest(testScore);
  const selectedOnTest = pickBest(testScore);

  const comparisons: PairedComparison[] = [];
  const lows = selected.filter((s) => isProposedFamily(s.family));
  const baselines = selected.filter((s) => !isProposedFamily(s.family));
  // The best baseline by the score that chose the settings (validation), never by the test set.
  const best = hasValidation
    ? baselines.reduce<StrategySummary | undefined>((a, b) => (a && !(b.valScore > a.valScore) ? a : b), undefined)
    : undefined;
  for (const low of lows) {
    const ownBase = baseFamilyOf(
      low.family,
      baselines.map((b) => b.family),
    );
    const role = (b: StrategySummary): PairRole =>
      b.family === ownBase ? 'base loss' : b.family === 'normal' ? 'Normal' : b === best ? 'best baseline' : 'other';
    const order: PairRole[] = ['base loss', 'Normal', 'best baseline', 'other'];
    const ranked = [...baselines].sort((a, b) => order.indexOf(role(a)) - order.indexOf(role(b)));
    for (const base of ranked) {
      for (const metric of SUMMARY_METRICS) comparisons.push({ ...pairedComparison(low, base, metric), role: role(base) });
    }
  }
  return { all, selected, selectedOnTest, selectionMetric, selectionEpochs, hasValidation, comparisons };
}

/**
 * `a` minus `b` on one test metric, paired by seed over the seeds where both ran to the end (a
 * diverged run has no metric to pair): wins, ties, the mean difference, and both tests' p-values.
 */
export function pairedComparison(a: StrategySummary, b: StrategySummary, metric: SummaryMetric): Omit<PairedComparison, 'role'> {
  const seeds = a.seeds.filter((seed) => b.seeds.includes(seed) && !a.diverged.includes(seed) && !b.diverged.includes(seed));
  const x = seeds.map((seed) => a.test[metric][a.seeds.indexOf(seed)]!);
  const y = seeds.map((seed) => b.test[metric][b.seeds.indexOf(seed)]!);
  const diffs = x.map((v, i) => v - y[i]!);
  return {
    strategy: a.strategy,
    baseline: b.strategy,
    metric,
    n: seeds.length,
    wins: diffs.filter((d) => d > 0).length,
    ties: diffs.filter((d) => d === 0).length,
    meanDifference: diffs.length ? mean(diffs) : NaN,
    wilcoxonP: seeds.length >= 1 ? safe(() => wilcoxonSignedRank(x, y).pValue) : NaN,
    tTestP: seeds.length >= 2 ? safe(() => pairedTTest(x, y).pValue) : NaN,
  };
}

/**
 * The baseline family among `families` that a LOW family reweights: low:base=X's X, plain LOW's
 * (cross-entropy's) Normal, with every option of X at the value LOW's loss has: the value LOW's
 * spec gives for an option both strategies have (low:base=ldam,s=1 is built on ldam:s=1, not on
 * ldam at s 30), the default for any other (LOW's LDAM has the default margins, so ldam:m=0 is
 * not its base). undefined when the experiment has no such family.
 */
export function baseFamilyOf(lowFamily: string, families: string[]): string | undefined {
  const parsed = (text: string) => {
    try {
      return parseStrategy(text);
    } catch {
      return undefined; // a family of an older spelling: no base to find
    }
  };
  const low = parsed(lowFamily);
  if (!low) return undefined;
  const lowDef = strategyDefinition(low.name);
  const baseName = String(low.options.base ?? lowDef.options.base?.default ?? 'ce');
  const wanted = baseName === 'ce' ? 'normal' : baseName;
  return families.find((family) => {
    const base = parsed(family);
    if (!base || base.name !== wanted) return false;
    const def = strategyDefinition(base.name);
    return Object.entries(def.options).every(([key, option]) => {
      // `base` is LOW's choice of loss; cb's own base (ce or focal) is another option of that name.
      const shared = key !== 'base' && key in lowDef.options;
      const lowValue = shared ? (low.options[key] ?? lowDef.options[key]!.default) : option.default;
      return (base.options[key] ?? option.default) === lowValue;
    });
  });
}

function safe(f: () => number): number {
  try {
    return f();
  } catch {
    return NaN;
  }
}
