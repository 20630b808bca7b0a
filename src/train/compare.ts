// A whole comparison, as `low compare` runs it and as a library call: optionally tune every
// strategy family on the validation split first (tune -> choose), then train the chosen settings
// (or the protocol's grid) on every seed, and summarise. Runs execute in worker processes, `jobs`
// at a time, each in its own folder; finished runs are skipped, so an interrupted experiment
// resumes where it stopped. The caller holds no lock: runExperiment takes the folder's.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLearningRate, LEARNING_RATE_EXPECTED, validateConfig, type RunConfig } from './config.js';
import { parseStrategy } from '../weighting/registry.js';
import { lockFolder } from './folder-lock.js';
import { executeRuns, planRuns, readOutcome, refuseConflicts, type PlannedRun, type RunExecutor, type RunOutcome } from './experiment.js';
import { summarize, type ExperimentSummary, type SummaryMetric } from './summary.js';
import { formatSummary, formatTuning, summaryCsv } from './summary-tables.js';
import { selectionText } from './selection.js';
import { chooseTuned, planTunedRuns, planTuningRuns, tuningSeedsText } from './tuning.js';

export interface ExperimentOptions {
  /** Strategy specs; one that leaves out its swept option (LOW's lambda) is expanded over `lambdas`. */
  strategies: string[];
  lambdas: number[];
  /** Seeds 0 .. seeds-1 of the final runs. */
  seeds: number;
  /** Everything of a run but strategy and seed (with a validation split). */
  base: Omit<RunConfig, 'strategy' | 'seed'>;
  /** The experiment folder. */
  out: string;
  /** Validation metric that chooses each family's setting. */
  select: SummaryMetric;
  /** Score each run by the metric averaged over its last this many epochs (default 1: the last epoch). */
  selectEpochs?: number;
  /** Tune each family first: learning rates, epochs of each tuning run, seeds 0 .. seeds-1. */
  tune?: { lrs: number[]; epochs: number; seeds: number };
  /** Runs in parallel, and each run's intra-op threads (default cores / jobs). */
  jobs: number;
  threads?: number;
  /** Processes each run trains on, data-parallel (`--nproc`), and their collective timeout in ms. */
  nproc?: number;
  distTimeoutMs?: number;
  syncBatchNorm?: boolean;
  /** Where each run trains (cpu, cuda, cuda:N; with nproc, cuda is each process its own GPU). */
  device?: string;
  /** Replaces the worker process that runs each run (tests run them in this process). */
  execute?: RunExecutor;
  /** Aborting stops every run at its next batch, checkpointed, and rejects with ExperimentInterrupted. */
  signal?: AbortSignal;
  /** Progress lines (runs started, finished, ETA); default none. */
  log?: (line: string) => void;
}

export interface ExperimentResult {
  summary: ExperimentSummary;
  /** summary.md's text: the tuning record (when tuned), then the summary tables. */
  text: string;
  outcomes: RunOutcome[];
  /** Wall time of this call, in seconds. */
  seconds: number;
}

export async function runExperiment(o: ExperimentOptions): Promise<ExperimentResult> {
  validateConfig({ ...o.base, strategy: 'normal', seed: 0 } as RunConfig);
  // Every spec is checked before the folder is made: a typo fails here, not after hours of tuning.
  if (o.strategies.length === 0)
    throw new RangeError("strategies (--strategies): the list is empty, expected specs separated by ';' (e.g. 'normal;low')");
  for (const text of o.strategies) parseStrategy(text);
  if (o.lambdas.length === 0) throw new RangeError('lambdas: the list is empty, expected at least one value of the swept option');
  checkSelectEpochs(o);
  for (const lr of o.tune?.lrs ?? [])
    if (!isLearningRate(lr)) throw new RangeError(`tune.lrs (--tune-lrs): expected ${LEARNING_RATE_EXPECTED} each, got ${lr}`);
  // Every run of the first phase is checked too (a swept value its strategy refuses, say): nothing is written for a plan that cannot run.
  for (const run of firstPhaseOf(o)) validateConfig(run.config);
  mkdirSync(o.out, { recursive: true });
  // Two commands on one folder would train the same runs twice at once, each overwriting the other's files.
  const release = lockFolder(o.out, 'low compare');
  try {
    return await experimentInFolder(o);
  } finally {
    release();
  }
}

/** selectEpochs must fit in every run it scores: the tuning runs' epochs, or the final runs'. */
function checkSelectEpochs(o: ExperimentOptions): void {
  const k = o.selectEpochs ?? 1;
  if (!Number.isInteger(k) || k < 1)
    throw new RangeError(`selectEpochs (--select-epochs): expected a whole number of epochs >= 1, got ${String(k)}`);
  const scored = o.tune
    ? { epochs: o.tune.epochs, what: 'each tuning run (--tune-epochs)' }
    : { epochs: o.base.epochs, what: 'each run (--epochs)' };
  if (k > scored.epochs)
    throw new RangeError(
      `selectEpochs (--select-epochs): ${k} epochs, but ${scored.what} has ${scored.epochs}; expected at most ${scored.epochs}`,
    );
}

/** The runs trained first: the tuning runs with `tune`, else the final runs of the grid (planning reads no file). */
function firstPhaseOf(o: ExperimentOptions): PlannedRun[] {
  const seeds = Array.from({ length: o.seeds }, (_, i) => i);
  if (!o.tune) return planRuns({ strategies: o.strategies, lambdas: o.lambdas, seeds, base: o.base }, o.out);
  const tuneSeeds = Array.from({ length: o.tune.seeds }, (_, i) => i);
  return planTuningRuns(
    { strategies: o.strategies, lrs: o.tune.lrs, lambdas: o.lambdas, epochs: o.tune.epochs, seeds: tuneSeeds, base: o.base },
    o.out,
  );
}

/** runExperiment once it holds the experiment folder's lock. */
async function experimentInFolder(o: ExperimentOptions): Promise<ExperimentResult> {
  const log = o.log ?? (() => {});
  const seeds = Array.from({ length: o.seeds }, (_, i) => i);
  const selectEpochs = o.selectEpochs ?? 1;
  const tuneSeeds = o.tune ? Array.from({ length: o.tune.seeds }, (_, i) => i) : [];
  // A folder holding other runs is refused before its experiment.json is replaced (executeRuns
  // checks again, and checks the tuned final runs once tuning has chosen them).
  const firstPhase = firstPhaseOf(o);
  refuseConflicts(firstPhase);
  writeFileSync(
    join(o.out, 'experiment.json'),
    JSON.stringify(
      {
        strategies: o.strategies,
        lambdas: o.lambdas,
        seeds,
        base: o.base,
        select: o.select,
        selectEpochs,
        tune: o.tune ? { lrs: o.tune.lrs, epochs: o.tune.epochs, seeds: tuneSeeds } : null,
      },
      null,
      2,
    ),
  );
  const started = performance.now();
  const execute = (runs: PlannedRun[], what: string) => executePhase(runs, what, o, log, started);

  let runs: PlannedRun[];
  let tuningText = '';
  if (o.tune) {
    const scored = selectionText(o.select, selectEpochs);
    const what = `tuning (${tuningSeedsText(tuneSeeds)}, ${o.tune.epochs} epochs, ${scored}, test split never read)`;
    const choices = chooseTuned(await execute(firstPhase, what), o.select, selectEpochs);
    writeFileSync(join(o.out, 'tuning.json'), JSON.stringify(choices, null, 2));
    tuningText = formatTuning(choices, o.select, { epochs: o.tune.epochs, seeds: tuneSeeds, selectEpochs });
    runs = planTunedRuns(choices, seeds, o.base, o.out);
  } else {
    runs = firstPhase;
  }
  const outcomes = await execute(runs, `${seeds.length} seeds`);
  const summary = summarize(outcomes, o.select, selectEpochs);
  const text = (tuningText ? `${tuningText}\n\n` : '') + formatSummary(summary);
  writeFileSync(join(o.out, 'summary.csv'), summaryCsv(outcomes));
  writeFileSync(join(o.out, 'summary.md'), `${text}\n`);
  writeFileSync(join(o.out, 'summary.json'), JSON.stringify(summary, null, 2));
  return { summary, text, outcomes, seconds: (performance.now() - started) / 1000 };
}

/** One phase (tuning, or the final runs): executes the runs with a line per event and an ETA, and reads their outcomes. */
async function executePhase(
  runs: PlannedRun[],
  what: string,
  o: ExperimentOptions,
  log: (line: string) => void,
  started: number,
): Promise<RunOutcome[]> {
  log(`${what}: ${runs.length} runs in ${o.out}, ${o.jobs} at a time`);
  let done = 0;
  let trained = 0;
  let trainedSeconds = 0;
  await executeRuns(runs, {
    jobs: o.jobs,
    threads: o.threads,
    nproc: o.nproc,
    distTimeoutMs: o.distTimeoutMs,
    syncBatchNorm: o.syncBatchNorm,
    device: o.device,
    execute: o.execute,
    signal: o.signal,
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
        log(
          `${tag} finish ${e.run.strategy} seed ${e.run.seed} in ${e.seconds!.toFixed(0)} s; ` +
            `elapsed ${elapsed.toFixed(0)} s, ETA ${eta.toFixed(0)} s`,
        );
      }
    },
  });
  return runs.map(readOutcome);
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
