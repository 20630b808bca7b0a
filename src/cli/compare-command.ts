// `low compare`: strategies x lambda grid x seeds under the paper's protocol, in parallel
// worker processes, resumable; prints and writes the summary table.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { addRunOptions, configFromOptions, type RunCliOptions } from './run-options.js';
import { JOBS_LIMIT, numberList, positiveInt, SEEDS_LIMIT } from './options.js';
import { withInterruptHandling } from './interrupt.js';
import { lockFolder } from '../train/folder-lock.js';
import { checkOutputFolder } from '../io/output-path.js';
import { SUMMARY_METRICS, type SummaryMetric } from '../train/summary.js';
import type { RunExecutor } from '../train/experiment.js';
import type { RunConfig } from '../train/config.js';

export interface CompareCliOptions extends RunCliOptions {
  strategies: string;
  lambdas: number[];
  seeds: number;
  jobs: number;
  out: string;
  select: SummaryMetric;
  tune?: boolean;
  tuneLrs: number[];
  tuneEpochs?: number;
  tuneSeeds?: number;
}

export function compareCommand(): Command {
  const cmd = new Command('compare')
    .description(
      'Compare strategies under the paper\'s protocol: every strategy of a seed starts from the same initialisation and sees the same sample order; ' +
        'LOW\'s lambda is searched over a grid and chosen on a validation split carved from the training data (never the test set). Finished runs are skipped, so an interrupted experiment resumes.',
    )
    .option('--strategies <list>', 'strategies separated by ";" (low without lambda= is expanded over --lambdas)', 'normal;low;low:scale=batch-mean;focal;bce;spl;is')
    .option('--lambdas <list>', "LOW's lambda grid", numberList('--lambdas'), [1, 0.5, 0.1, 0.01])
    .option('--seeds <n>', 'number of seeds (runs) per strategy', positiveInt('--seeds', SEEDS_LIMIT), 5)
    .option('--jobs <n>', 'runs in parallel (each gets cores / jobs threads)', positiveInt('--jobs', JOBS_LIMIT), 1)
    .addOption(new Option('--select <metric>', 'validation metric that chooses lambda').choices([...SUMMARY_METRICS]).default('acc'))
    .option('--tune', 'tune each strategy separately first (learning rate and its own hyper-parameters) on the validation split, --tune-seeds seeds, --tune-epochs; then run every seed at the chosen settings')
    .option('--tune-lrs <list>', 'learning rates searched by --tune', numberList('--tune-lrs'), [0.001, 0.01, 0.1])
    .option('--tune-epochs <n>', 'epochs of each tuning run (default: half of --epochs)', positiveInt('--tune-epochs'))
    .option('--tune-seeds <n>', 'seeds each setting is tuned on (seeds 0 to n-1); a setting scores the mean of their validation scores', positiveInt('--tune-seeds', SEEDS_LIMIT), 1)
    .requiredOption('--out <dir>', 'experiment folder');
  addRunOptions(cmd);
  cmd.action(async (o: CompareCliOptions) => {
    await runCompare(o);
  });
  return cmd;
}

/**
 * Runs the experiment and returns its summary text. `execute` replaces the worker process that
 * runs each run (tests run them in this process); `--threads` sets each run's intra-op threads.
 */
export async function runCompare(o: CompareCliOptions, execution: { execute?: RunExecutor } = {}): Promise<string> {
  // Before anything is written: a folder holding a run would get an experiment among its files.
  checkOutputFolder('--out', o.out, { refuse: 'run' });
  const { validateConfig } = await import('../train/config.js');
  const seeds = Array.from({ length: o.seeds }, (_, i) => i);
  const withVal = { ...o, valFraction: o.valFraction ?? 0.1 };
  const base = configFromOptions(withVal, 'normal', 0);
  validateConfig(base);
  const strategies = o.strategies.split(';').map((s) => s.trim()).filter(Boolean);
  mkdirSync(o.out, { recursive: true });
  // Two commands on one folder would train the same runs twice at once, each overwriting the other's files.
  const release = lockFolder(o.out, 'low compare');
  try {
    return await compareInFolder(o, execution, { base, seeds, strategies });
  } finally {
    release();
  }
}

/** runCompare once it holds the experiment folder's lock. */
async function compareInFolder(
  o: CompareCliOptions,
  execution: { execute?: RunExecutor },
  { base, seeds, strategies }: { base: Omit<RunConfig, 'strategy' | 'seed'>; seeds: number[]; strategies: string[] },
): Promise<string> {
  const { planRuns, executeRuns, readOutcome, refuseConflicts } = await import('../train/experiment.js');
  const { summarize, formatSummary, formatTuning, summaryCsv } = await import('../train/summary.js');
  const { planTuningRuns, chooseTuned, planTunedRuns, tuningSeedsText } = await import('../train/tuning.js');
  type Planned = import('../train/experiment.js').PlannedRun;
  const tuneEpochs = o.tuneEpochs ?? Math.max(1, Math.round(base.epochs / 2));
  const tuneSeeds = Array.from({ length: o.tuneSeeds ?? 1 }, (_, i) => i);
  // A folder holding other runs is refused before its experiment.json is replaced (executeRuns
  // checks again, and checks the tuned final runs once tuning has chosen them).
  const firstPhase = o.tune
    ? planTuningRuns({ strategies, lrs: o.tuneLrs, lambdas: o.lambdas, epochs: tuneEpochs, seeds: tuneSeeds, base }, o.out)
    : planRuns({ strategies, lambdas: o.lambdas, seeds, base }, o.out);
  refuseConflicts(firstPhase);
  writeFileSync(
    join(o.out, 'experiment.json'),
    JSON.stringify({ strategies, lambdas: o.lambdas, seeds, base, select: o.select, tune: o.tune ? { lrs: o.tuneLrs, epochs: tuneEpochs, seeds: tuneSeeds } : null }, null, 2),
  );
  const log = o.quiet ? () => {} : (s: string) => console.error(s);
  const started = performance.now();

  const execute = async (runs: Planned[], what: string) => {
    log(`${what}: ${runs.length} runs in ${o.out}, ${o.jobs} at a time`);
    let done = 0;
    const phaseStarted = performance.now();
    let trained = 0;
    let trainedSeconds = 0;
    await withInterruptHandling((signal) =>
      executeRuns(runs, {
        jobs: o.jobs,
        threads: o.threads,
        execute: execution.execute,
        signal,
        onEvent: (e) => {
          if (e.kind !== 'start') done++;
          // The pace comes from finished runs only (a diverged run stopped early), each counted
          // as if it had trained every epoch here: a resumed run trained only the rest.
          if (e.kind === 'finish') {
            trained++;
            trainedSeconds += fullRunSeconds(e.seconds!, e.run.config.epochs, e.resumedEpochs ?? 0);
          }
          const elapsed = (performance.now() - started) / 1000;
          const tag = `[${done}/${runs.length}]`;
          if (e.kind === 'start') log(`${tag} start  ${e.run.strategy} seed ${e.run.seed}`);
          if (e.kind === 'skip') log(`${tag} done already: ${e.run.strategy} seed ${e.run.seed}`);
          if (e.kind === 'fail') log(`${tag} FAILED ${e.run.strategy} seed ${e.run.seed}: ${e.message}`);
          if (e.kind === 'diverged') log(`${tag} DIVERGED ${e.run.strategy} seed ${e.run.seed} (kept as an outcome): ${e.message}`);
          if (e.kind === 'finish') {
            const eta = remainingSeconds(trainedSeconds, trained, runs.length - done, o.jobs);
            log(`${tag} finish ${e.run.strategy} seed ${e.run.seed} in ${e.seconds!.toFixed(0)} s; elapsed ${elapsed.toFixed(0)} s, ETA ${eta.toFixed(0)} s`);
          }
        },
      }),
    );
    return runs.map(readOutcome);
  };

  let runs: Planned[];
  let tuningText = '';
  if (o.tune) {
    const choices = chooseTuned(await execute(firstPhase, `tuning (${tuningSeedsText(tuneSeeds)}, ${tuneEpochs} epochs, validation ${o.select}, test split never read)`), o.select);
    writeFileSync(join(o.out, 'tuning.json'), JSON.stringify(choices, null, 2));
    tuningText = formatTuning(choices, o.select, { epochs: tuneEpochs, seeds: tuneSeeds });
    runs = planTunedRuns(choices, seeds, base, o.out);
  } else {
    runs = firstPhase;
  }
  const outcomes = await execute(runs, `${seeds.length} seeds`);
  const summary = summarize(outcomes, o.select);
  const text = (tuningText ? tuningText + '\n\n' : '') + formatSummary(summary);
  writeFileSync(join(o.out, 'summary.csv'), summaryCsv(outcomes));
  writeFileSync(join(o.out, 'summary.md'), text + '\n');
  writeFileSync(join(o.out, 'summary.json'), JSON.stringify(summary, null, 2));
  console.log(text);
  log(`\nwall time ${((performance.now() - started) / 1000).toFixed(0)} s; results in ${o.out} (summary.md, summary.csv, runs/)`);
  return text;
}

/** A finished run's wall time scaled to all its epochs: a run resumed after `resumedEpochs` of `epochs` trained only the rest here. */
export function fullRunSeconds(seconds: number, epochs: number, resumedEpochs: number): number {
  return resumedEpochs > 0 && resumedEpochs < epochs ? (seconds * epochs) / (epochs - resumedEpochs) : seconds;
}

/**
 * Seconds left in a phase: the mean duration of the runs trained in it so far, times the runs not
 * yet finished (those running included), `jobs` at a time. Runs skipped because they were already
 * done took no time, and an earlier phase (tuning) ran other runs, so neither counts: both made
 * the estimate wrong by hours when an experiment resumed; a run resumed from its checkpoint counts
 * with its duration scaled to every epoch ({@link fullRunSeconds}). Dividing the phase's wall time
 * by the runs finished instead gave a first estimate `jobs` times too long, as the other jobs'
 * runs were nearly done too. The estimate ignores how far the running runs are, so it errs long
 * by at most one run.
 */
export function remainingSeconds(trainedSeconds: number, trainedInPhase: number, runsLeft: number, jobs: number): number {
  if (trainedInPhase === 0) return NaN;
  return ((trainedSeconds / trainedInPhase) * runsLeft) / Math.max(1, Math.min(jobs, runsLeft));
}
