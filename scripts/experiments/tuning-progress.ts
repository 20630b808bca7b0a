// node --import tsx scripts/experiments/tuning-progress.ts <experiment folder> [--metric bacc] [--last K]
// Where the tuning phase of a `low compare --tune` experiment stands while it runs (or after a
// sitting ended in the middle of it): for every setting of the plan (experiment.json), the mean
// validation score of its finished tuning runs at their last epoch, over how many of the tuning
// seeds have finished, one column per learning rate. A setting with a diverged run shows
// "diverged"; the best fully finished setting of each family is in bold, and listed after the
// table. The final runs, and the tuning record of summary.md, come from `low compare` itself once
// every tuning run is done. `--last K` scores each run by its mean over the last K epochs instead
// of the experiment's own scoring (low compare --select-epochs, 1 unless set): a check of how much
// the last epoch's noise decides the choice.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonObject } from '../../src/io/json-file.js';
import { isFinished, readOutcome } from '../../src/train/experiment.js';
import { planTuningRuns } from '../../src/train/tuning.js';
import type { RunConfig } from '../../src/train/config.js';
import { markdownTable } from '../../src/util/markdown-table.js';
import { validationScore } from '../../src/train/selection.js';
import { SUMMARY_METRICS, type SummaryMetric } from '../../src/train/summary.js';

const usage = () => {
  console.error(
    'usage: node --import tsx scripts/experiments/tuning-progress.ts <experiment folder> [--metric acc|bacc|mauc|mf1] [--last K]',
  );
  process.exit(2);
};
const [dir, ...flags] = process.argv.slice(2);
const options = new Map<string, string>();
for (let i = 0; i < flags.length; i += 2) {
  if ((flags[i] !== '--metric' && flags[i] !== '--last') || flags[i + 1] === undefined) usage();
  options.set(flags[i]!, flags[i + 1]!);
}
if (!dir) usage();
const planFile = join(dir!, 'experiment.json');
if (!existsSync(planFile)) {
  console.error(`${dir}: no experiment.json (not a folder made by low compare)`);
  process.exit(2);
}
const plan = readJsonObject(planFile, 'an experiment plan') as {
  strategies: string[];
  lambdas: number[];
  base: Omit<RunConfig, 'strategy' | 'seed'>;
  select: SummaryMetric;
  selectEpochs?: number;
  tune: { lrs: number[]; epochs: number; seeds: number[] } | null;
};
const lastK = Number(options.get('--last') ?? plan.selectEpochs ?? 1);
if (!Number.isInteger(lastK) || lastK < 1) {
  console.error(`--last ${options.get('--last')}: expected a whole number of epochs >= 1`);
  process.exit(2);
}
if (!plan.tune) {
  console.error(`${dir}: the experiment was not tuned (no --tune in experiment.json)`);
  process.exit(2);
}
const metric = (options.get('--metric') ?? plan.select) as SummaryMetric;
if (!(SUMMARY_METRICS as readonly string[]).includes(metric)) usage();
const runs = planTuningRuns({ strategies: plan.strategies, lambdas: plan.lambdas, base: plan.base, ...plan.tune }, dir!);

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

interface Cell {
  scores: number[];
  diverged: boolean;
}
const rows = new Map<string, { family: string; cells: Map<number, Cell> }>();
/** Per family: its tuning runs, and how many have finished. */
const progress = new Map<string, { runs: number; finished: number }>();
let finished = 0;
for (const run of runs) {
  const count = progress.get(run.family) ?? { runs: 0, finished: 0 };
  progress.set(run.family, count);
  count.runs++;
  const key = `${run.family}\n${run.config.strategy}`;
  const row = rows.get(key) ?? { family: run.family, cells: new Map() };
  rows.set(key, row);
  const cell = row.cells.get(run.config.lr) ?? { scores: [], diverged: false };
  row.cells.set(run.config.lr, cell);
  if (!isFinished(run)) continue;
  finished++;
  count.finished++;
  const score = validationScore(readOutcome(run), metric, lastK);
  if (Number.isNaN(score)) cell.diverged = true;
  else cell.scores.push(score);
}

const seeds = plan.tune.seeds.length;
// The best setting of each family among those finished on every seed without diverging.
const best = new Map<string, number>();
for (const { family, cells } of rows.values())
  for (const cell of cells.values())
    if (!cell.diverged && cell.scores.length === seeds) best.set(family, Math.max(best.get(family) ?? -1, mean(cell.scores)));

const table = [...rows.entries()].map(([key, { family, cells }]) => [
  key.split('\n')[1]!,
  ...plan.tune!.lrs.map((lr) => {
    const cell = cells.get(lr);
    if (!cell || (!cell.diverged && cell.scores.length === 0)) return '';
    if (cell.diverged) return 'diverged';
    const score = mean(cell.scores);
    const text = `${(100 * score).toFixed(2)}${cell.scores.length < seeds ? ` (${cell.scores.length}/${seeds})` : ''}`;
    return cell.scores.length === seeds && score === best.get(family) ? `**${text}**` : text;
  }),
]);
const scored = lastK === 1 ? `at epoch ${plan.tune.epochs}` : `averaged over epochs ${plan.tune.epochs - lastK + 1}-${plan.tune.epochs}`;
console.log(
  `${dir}: ${finished} of ${runs.length} tuning runs finished; validation ${metric} ${scored}, ` +
    `mean over the finished tuning seeds (of ${seeds}), in %\n`,
);
console.log(markdownTable(['setting', ...plan.tune.lrs.map((lr) => `lr ${lr}`)], table));
// Each family's choice so far: the bold cell, marked where the family's tuning is not finished.
const choices: string[] = [];
for (const [key, { family, cells }] of rows)
  for (const [lr, cell] of cells)
    if (!cell.diverged && cell.scores.length === seeds && mean(cell.scores) === best.get(family)) {
      const { runs: all, finished: done } = progress.get(family)!;
      choices.push(`${family} => ${key.split('\n')[1]} @ lr=${lr}${done < all ? ` (${done} of ${all} runs)` : ''}`);
    }
console.log(`\nbest of each family so far (family => setting): ${choices.join('; ')}`);
