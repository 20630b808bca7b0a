// The summary as tables: summary.md (what `low compare` prints), the tuning record, summary.csv,
// and the rows and notes the HTML report shares with them.
import { median, sampleStd, mean } from '../metrics/stats.js';
import { markdownTable } from '../util/markdown-table.js';
import { csvText } from '../io/csv-writer.js';
import type { RunOutcome } from './experiment.js';
import { tuningSeedsText, type TunedChoice } from './tuning.js';
import { selectionText } from './selection.js';
import type { MetricName, MetricsRow } from './metrics-file.js';
import {
  SUMMARY_METRICS,
  lastRow,
  trainingSeconds,
  type ExperimentSummary,
  type PairRole,
  type PairedComparison,
  type StrategySummary,
  type SummaryMetric,
} from './summary.js';

/** "mean ± std" in percent over the finite values (a diverged seed's are NaN); "n/a" when none is. */
export function percentMeanStd(values: number[]): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return 'n/a';
  const m = mean(finite) * 100;
  const s = finite.length > 1 ? sampleStd(finite) * 100 : NaN;
  return Number.isNaN(s) ? m.toFixed(2) : `${m.toFixed(2)} ± ${s.toFixed(2)}`;
}

/** The seeds a row rests on: "5", or "3 (2 diverged)". */
export function seedsText(s: StrategySummary): string {
  return s.diverged.length ? `${s.seeds.length - s.diverged.length} (${s.diverged.length} diverged)` : String(s.seeds.length);
}

/** The columns of the summary's main tables, and one strategy's row of them (Markdown and the report). */
export const SUMMARY_COLUMNS = ['strategy', 'seeds', 'Acc %', 'BAcc %', 'mAUC %', 'mF1 %', 'train s/run'];
export function summaryRow(s: StrategySummary): string[] {
  return [s.strategy, seedsText(s), ...SUMMARY_METRICS.map((m) => percentMeanStd(s.test[m])), trainSecondsText(s.trainSeconds)];
}

export const TRAIN_SECONDS_NOTE =
  'train s/run: the median training time of a run in seconds (evaluation left out); runs trained side by side (--jobs) shared the machine.';

/**
 * The median training time of a strategy's runs, in seconds, over the seeds that did not diverge
 * (what each method costs; runs of `--jobs` > 1 shared the machine, so compare within one
 * experiment; the median, because a run that shared it with another busy process is an outlier);
 * "n/a" when there is none (a summary.json written before the column).
 */
function trainSecondsText(seconds: number[] | undefined): string {
  const finite = (seconds ?? []).filter(Number.isFinite);
  return finite.length ? median(finite).toFixed(0) : 'n/a';
}

/** The columns of the table of every configuration (with its validation score), and one configuration's row. */
export const configurationColumns = (metric: SummaryMetric): string[] => [
  'strategy',
  'seeds',
  `val ${metric} %`,
  'Acc %',
  'BAcc %',
  'mAUC %',
  'mF1 %',
];
export function configurationRow(s: StrategySummary): string[] {
  return [s.strategy, seedsText(s), fixedOrNa(100 * s.valScore, 2), ...SUMMARY_METRICS.map((m) => percentMeanStd(s.test[m]))];
}

/** The columns of the paired table, and one pair's row (the Markdown summary adds a verdict). */
export const PAIRED_COLUMNS = ['LOW', 'baseline', 'against', 'metric', 'wins', 'mean diff (pp)', 'Wilcoxon p', 't-test p'];
export function pairedRow(c: PairedComparison): string[] {
  return [
    c.strategy,
    c.baseline,
    roleText(c.role),
    c.metric,
    `${c.wins}/${c.n}`,
    fixedOrNa(100 * c.meanDifference, 2),
    fixedOrNa(c.wilcoxonP, 3),
    fixedOrNa(c.tTestP, 3),
  ];
}

const fixedOrNa = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

function metricTable(list: StrategySummary[]): string {
  return markdownTable(SUMMARY_COLUMNS, list.map(summaryRow));
}

/**
 * The headings of the summary's two main tables (Markdown and the report). `onTest` is null when
 * its table would repeat the first: without a validation split (the choice was made on the test
 * set already), or when no family has a choice to make (one configuration each, as in a tuned
 * experiment, whose settings tuning chose).
 */
export function summaryHeadings(s: ExperimentSummary): { selected: string; onTest: string | null } {
  const base = 'Test metrics (final epoch, mean ± std over seeds)';
  if (s.all.length === s.selected.length) return { selected: base, onTest: null };
  if (!s.hasValidation)
    return { selected: `${base}; no validation split, so lambda was chosen on the test set (optimistic)`, onTest: null };
  return {
    selected: `${base}; LOW's lambda chosen by ${selectionText(s.selectionMetric, s.selectionEpochs)}`,
    onTest: 'Paper protocol: best lambda chosen on the test set (optimistic, as the paper reports it)',
  };
}

/** The summary as Markdown: what `low compare` prints and writes to summary.md. */
export function formatSummary(s: ExperimentSummary): string {
  const out: string[] = [];
  const headings = summaryHeadings(s);
  out.push(`## ${headings.selected}`, metricTable(s.selected), '', TRAIN_SECONDS_NOTE);
  if (headings.onTest) out.push('', `## ${headings.onTest}`, metricTable(s.selectedOnTest));
  if (s.all.length > s.selected.length) {
    out.push('', '## Every configuration');
    out.push(markdownTable(configurationColumns(s.selectionMetric), s.all.map(configurationRow)));
  }
  if (s.comparisons.length) {
    const { shown, left } = shownComparisons(s);
    out.push('', '## Paired comparison across seeds (LOW minus baseline, test set)');
    out.push(
      markdownTable(
        [...PAIRED_COLUMNS, 'verdict'],
        shown.map((c) => [...pairedRow(c), verdict(c)]),
      ),
    );
    out.push(
      '',
      `${comparisonsNote(left)} n counts the seeds where both runs finished (a diverged run has no metric to pair). ${PAIRED_TESTS_NOTE} ${VERDICT_NOTE}`,
    );
  }
  const diverged = s.all.filter((r) => r.diverged.length);
  if (diverged.length) {
    out.push(
      '',
      'Diverged runs (the loss became NaN or infinite; each folder has diverged.json): ' +
        `${diverged.map((r) => `${r.strategy} seed${r.diverged.length > 1 ? 's' : ''} ${r.diverged.join(', ')}`).join('; ')}. ` +
        'Their metrics are left out of the means and paired tests, ' +
        'and a configuration with a diverged seed is chosen only when every configuration of its family has one.',
    );
  }
  return out.join('\n');
}

/** Above this many baselines, the paired table keeps each LOW family's base loss, Normal and the best baseline. */
const ALL_PAIRS_UP_TO = 6;

/**
 * The pairs the summary shows: all of them, or, when there are more than ALL_PAIRS_UP_TO
 * baselines (the long-tail study has 11, 308 rows), those against each LOW family's base loss,
 * Normal and the best baseline; `left` counts the rest, which summary.json keeps.
 */
export function shownComparisons(s: ExperimentSummary): { shown: PairedComparison[]; left: number } {
  const baselines = new Set(s.comparisons.map((c) => c.baseline));
  if (baselines.size <= ALL_PAIRS_UP_TO) return { shown: s.comparisons, left: 0 };
  const shown = s.comparisons.filter((c) => c.role !== 'other');
  return { shown, left: s.comparisons.length - shown.length };
}

/** The "against" column: what the baseline is to the LOW family (blank for any other baseline). */
export function roleText(role: PairRole | undefined): string {
  return role === 'base loss'
    ? 'its base loss'
    : role === 'best baseline'
      ? 'best baseline (validation)'
      : role === 'Normal'
        ? 'Normal'
        : '';
}

/** What the "against" column means, and where the pairs left out of the table are. */
export function comparisonsNote(left: number): string {
  const against =
    '"its base loss" pairs a LOW family with the loss it reweights (what LOW adds to it); ' +
    '"best baseline" is the baseline with the best validation score.';
  if (!left) return against;
  return `${against} The ${left} pairs with the other baselines are in summary.json (comparisons); scripts/experiments/paired.ts pairs any two families.`;
}

/**
 * What the two p-values can and cannot say. A t-test on 3 seeds can reach p < 0.05, which the
 * exact Wilcoxon test cannot below 6, so the reader must know the verdict may rest on it alone.
 */
export const PAIRED_TESTS_NOTE =
  'Wilcoxon: two-sided signed-rank test (exact for n <= 25 without ties); ' +
  'its smallest p is 2/2^n, so below 6 seeds it cannot reach 0.05. ' +
  't-test: two-sided paired t-test, which can, but assumes normally distributed differences, a strong assumption with a few seeds.';
/** How verdict() reads the two p-values; only the markdown summary has a verdict column. */
const VERDICT_NOTE =
  'The verdict is "LOW better" or "LOW worse" when either p is below 0.05, so with fewer than 6 seeds it rests on the t-test alone.';

function verdict(c: PairedComparison): string {
  if (c.n === 0) return 'no finished pair';
  const p = Number.isNaN(c.tTestP) ? c.wilcoxonP : Math.min(c.wilcoxonP, c.tTestP);
  if (Number.isNaN(p) || p >= 0.05) return 'within noise';
  return c.meanDifference > 0 ? 'LOW better' : 'LOW worse';
}

/**
 * Rows [family, setting, lr, val score %, 'chosen' or ''] of every tuning candidate, best first
 * within its family (a diverged candidate last), for the summary and the report.
 */
export function tuningRows(choices: TunedChoice[]): (string | number)[][] {
  const rows: (string | number)[][] = [];
  for (const c of choices) {
    const ranked = [...c.candidates].sort(
      (a, b) => b.valScore - a.valScore || Number(Number.isNaN(a.valScore)) - Number(Number.isNaN(b.valScore)),
    );
    for (const k of ranked) {
      const chosen = k.strategy === c.strategy && k.lr === c.lr;
      rows.push([
        c.family,
        k.strategy,
        k.lr,
        Number.isNaN(k.valScore) ? 'diverged' : (100 * k.valScore).toFixed(2),
        chosen ? 'chosen' : '',
      ]);
    }
  }
  return rows;
}

/**
 * The tuning record by learning rate: each family's best validation score at each learning rate
 * (over its other options), "diverged" where every candidate at that rate diverged, the chosen
 * cell marked " *". It shows at a glance how much each strategy depends on the step size.
 */
export function tuningByLr(choices: TunedChoice[]): { lrs: number[]; rows: string[][] } {
  const lrs = [...new Set(choices.flatMap((c) => c.candidates.map((k) => k.lr)))].sort((a, b) => a - b);
  const rows = choices.map((c) => [
    c.family,
    ...lrs.map((lr) => {
      const scores = c.candidates.filter((k) => k.lr === lr).map((k) => k.valScore);
      if (!scores.length) return '';
      const finite = scores.filter(Number.isFinite);
      if (!finite.length) return 'diverged';
      return (100 * Math.max(...finite)).toFixed(2) + (lr === c.lr ? ' *' : '');
    }),
  ]);
  return { lrs, rows };
}

/** The tuning record: each family's best score per learning rate, and every candidate's validation score. */
export function formatTuning(
  choices: TunedChoice[],
  metric: SummaryMetric,
  budget: { epochs: number; seeds: number[]; selectEpochs?: number },
): string {
  const byLr = tuningByLr(choices);
  const mean = budget.seeds.length > 1 ? ', mean over the seeds' : '';
  const scored = selectionText(metric, budget.selectEpochs);
  return [
    `## Tuning (${tuningSeedsText(budget.seeds)}, ${budget.epochs} epochs, ${scored}${mean}; the test split is never read)`,
    `Best validation ${metric} % of each family at each learning rate (* chosen):`,
    '',
    markdownTable(['family', ...byLr.lrs.map((lr) => `lr ${lr}`)], byLr.rows),
    '',
    'Every candidate:',
    '',
    markdownTable(['family', 'setting', 'lr', `val ${metric} %`, ''], tuningRows(choices)),
  ].join('\n');
}

/**
 * summary.csv: one line per run configuration and seed. A diverged run has its metrics blank, the
 * epochs it completed, and where it diverged in the last column.
 */
export function summaryCsv(outcomes: RunOutcome[]): string {
  const cols = [
    'strategy',
    'family',
    'seed',
    'epochs',
    ...SUMMARY_METRICS.map((m) => `test_${m}`),
    ...SUMMARY_METRICS.map((m) => `val_${m}`),
    'test_loss',
    'seconds',
    'diverged',
  ];
  const rows = outcomes.map((o) => {
    const r: Partial<MetricsRow> = o.diverged ? {} : lastRow(o.rows);
    const seconds = trainingSeconds(o.rows);
    const v = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '' : x);
    const diverged = o.diverged ? `epoch ${o.diverged.epoch} batch ${o.diverged.batch}` : '';
    return [
      o.run.strategy,
      o.run.family,
      o.run.seed,
      o.rows.length,
      ...SUMMARY_METRICS.map((m) => v(r[`test_${m}` as MetricName])),
      ...SUMMARY_METRICS.map((m) => v(r[`val_${m}` as MetricName])),
      v(r.test_loss),
      seconds.toFixed(1),
      diverged,
    ];
  });
  return csvText(cols, rows);
}
