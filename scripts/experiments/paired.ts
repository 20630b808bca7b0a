// node --import tsx scripts/experiments/paired.ts <experiment folder> <A> <B> [<A> <B> ...] [--metric bacc]
// Paired comparisons of any two families of a finished experiment across its seeds (the summary
// of `low compare` pairs only LOW against the baselines): A minus B on the test split, wins, the
// mean difference in points, the Wilcoxon signed-rank and paired t-test p-values, from the
// experiment's summary.json (each family's selected setting). A seed where either run diverged
// has no pair. Families are named as in the summary (e.g. `normal`, `low:base=logit-adjust,scale=sample`);
// FAMILY@FOLDER names a family of another experiment folder, for experiments whose seeds fix the
// same training set and sample order (the long-tail study's lt100, lt100-cosine and meta-N: they
// differ in the classifier head or the meta set only), e.g.
//   paired.ts results/long-tail/meta-2 l2rw normal@results/long-tail/lt100
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readJsonObject } from '../../src/io/json-file.js';
import {
  SUMMARY_METRICS,
  pairedComparison,
  type ExperimentSummary,
  type StrategySummary,
  type SummaryMetric,
} from '../../src/train/summary.js';
import { PAIRED_TESTS_NOTE } from '../../src/train/summary-tables.js';
import { markdownTable } from '../../src/util/markdown-table.js';

const usage = (why?: string): never => {
  if (why) console.error(why);
  console.error(
    'usage: node --import tsx scripts/experiments/paired.ts <experiment folder> <A> <B> [<A> <B> ...] [--metric acc|bacc|mauc|mf1]\n' +
      '  (a family of another experiment folder: FAMILY@FOLDER)',
  );
  process.exit(2);
};
const args = process.argv.slice(2);
const metricAt = args.indexOf('--metric');
const metric = (metricAt >= 0 ? args.splice(metricAt, 2)[1] : 'bacc') as SummaryMetric;
if (!(SUMMARY_METRICS as readonly string[]).includes(metric)) usage(`--metric ${metric}: expected one of ${SUMMARY_METRICS.join(', ')}`);
const [dir, ...families] = args;
if (!dir || families.length === 0 || families.length % 2 !== 0) usage();
const summaries = new Map<string, ExperimentSummary>();
function summaryOf(folder: string): ExperimentSummary {
  const file = join(folder, 'summary.json');
  if (!summaries.has(folder)) {
    if (!existsSync(file)) usage(`${file}: not found (the experiment's final runs have not all finished)`);
    summaries.set(folder, readJsonObject(file, 'an experiment summary (what low compare writes)') as unknown as ExperimentSummary);
  }
  return summaries.get(folder)!;
}

/** The selected strategy of FAMILY (in the experiment folder) or FAMILY@FOLDER, and its name for the table. */
function selected(spec: string): { strategy: StrategySummary; name: string } {
  const at = spec.lastIndexOf('@');
  const [family, folder] = at >= 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, dir!];
  const summary = summaryOf(folder);
  const strategy =
    summary.selected.find((s) => s.family === family) ??
    usage(
      `${family}: no such family in ${join(folder, 'summary.json')}; expected one of ${summary.selected.map((s) => s.family).join(', ')}`,
    );
  return { strategy, name: folder === dir ? strategy.strategy : `${strategy.strategy} (${basename(folder)})` };
}

const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const rows: string[][] = [];
for (let i = 0; i < families.length; i += 2) {
  // JSON keeps a diverged seed's metric as null; pairedComparison reads only the seeds where both ran to the end.
  const [a, b] = [selected(families[i]!), selected(families[i + 1]!)];
  const c = pairedComparison(a.strategy, b.strategy, metric);
  rows.push([a.name, b.name, `${c.wins}/${c.n}`, fixed(100 * c.meanDifference, 2), fixed(c.wilcoxonP, 3), fixed(c.tTestP, 3)]);
}
console.log(`${dir}: test ${metric}, A minus B across seeds\n`);
console.log(markdownTable(['A', 'B', 'wins', 'mean diff (pp)', 'Wilcoxon p', 't-test p'], rows));
console.log(`\n${PAIRED_TESTS_NOTE}`);
