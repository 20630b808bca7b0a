// Reading an experiment folder (what `low compare` writes): experiment.json, the run folders
// under runs/<strategy>/seed-<n>/, and the summary recomputed from the finished runs, so that a
// partly finished experiment can be looked at too.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { planRuns, type PlannedRun } from '../train/experiment.js';
import { planTunedRuns, specOfLabel, type TunedChoice, type TuningCandidate } from '../train/tuning.js';
import { summarize, SUMMARY_METRICS, type ExperimentSummary, type SummaryMetric } from '../train/summary.js';
import type { RunConfig } from '../train/config.js';
import { formatStrategy, parseStrategy } from '../weighting/registry.js';
import { isRunFolder, readRunConfig, readRunFolder, RunFolderError, type RunFolder } from './run-folder.js';
import {
  FileFormatError,
  isCount,
  isNumberArray,
  isObject,
  isStringArray,
  readJsonFile,
  readJsonObject,
  requireField,
} from '../io/json-file.js';

export interface ExperimentPlanFile {
  strategies: string[];
  lambdas: number[];
  seeds: number[];
  base: Omit<RunConfig, 'strategy' | 'seed'>;
  select?: SummaryMetric;
  /** Runs were scored by the selection metric averaged over their last this many epochs (absent: 1). */
  selectEpochs?: number;
  /** Set when the experiment tunes each strategy first (`low compare --tune`). */
  tune?: { lrs: number[]; epochs: number; seeds: number[] } | null;
}

export interface ExperimentRun {
  /** Canonical strategy text, e.g. "low:lambda=0.1". */
  strategy: string;
  /** The strategy without lambda, e.g. "low" or "low:scale=batch-mean". */
  family: string;
  seed: number;
  dir: string;
  /** Config and metrics only (no history); see {@link readRunDetails}. */
  run: RunFolder;
}

export interface ExperimentFolder {
  dir: string;
  plan: ExperimentPlanFile;
  /** Runs that have at least one completed epoch, in plan order. */
  runs: ExperimentRun[];
  /** Planned runs with no completed epoch yet (and not diverged). */
  pending: { strategy: string; seed: number }[];
  /** Runs that diverged (diverged.json), including those that diverged in their first epoch. */
  diverged: ExperimentRun[];
  /** Recomputed from the finished and diverged runs; null when none has ended. */
  summary: ExperimentSummary | null;
  /** Tuned experiments: the settings chosen per strategy (tuning.json); null until tuning has finished, or untuned. */
  tuning: TunedChoice[] | null;
}

export function isExperimentFolder(dir: string): boolean {
  return existsSync(join(dir, 'experiment.json'));
}

/** The family of a strategy: its canonical text without lambda. */
export function strategyFamily(strategy: string): string {
  const spec = parseStrategy(specOfLabel(strategy));
  delete spec.options.lambda;
  return formatStrategy(spec);
}

/** LOW's lambda of a strategy text, or null for strategies without one. */
export function lambdaOf(strategy: string): number | null {
  const spec = parseStrategy(specOfLabel(strategy));
  return spec.name === 'low' && typeof spec.options.lambda === 'number' ? spec.options.lambda : null;
}

export function readExperimentFolder(dir: string): ExperimentFolder {
  const planFile = join(dir, 'experiment.json');
  if (!existsSync(planFile)) throw new RunFolderError(`${dir} is not an experiment folder (no experiment.json)`);
  const plan = readPlanFile(planFile);
  // Before --tune-seeds, experiment.json recorded the one tuning seed as `seed`.
  const oldTune = plan.tune as { seed?: number; seeds?: number[] } | null | undefined;
  if (plan.tune && !oldTune?.seeds) plan.tune.seeds = [oldTune?.seed ?? 0];
  let planned: Pick<PlannedRun, 'strategy' | 'family' | 'seed' | 'dir'>[];
  let tuning: TunedChoice[] | null = null;
  const tuningFile = join(dir, 'tuning.json');
  if (plan.tune) {
    // The final runs exist once tuning has chosen their settings; the tuning runs are not the comparison.
    // JSON writes a diverged candidate's NaN score as null; a tuning.json written before
    // --tune-seeds has no per-seed scores (it had one seed, so they are the score).
    const score = (v: number | null) => (typeof v === 'number' ? v : NaN);
    const scores = <T extends TuningCandidate>(k: T): T => ({
      ...k,
      valScore: score(k.valScore),
      valScores: (k.valScores ?? [k.valScore]).map(score),
    });
    tuning = existsSync(tuningFile)
      ? readTuningFile(tuningFile).map((c) => ({ ...scores(c), candidates: c.candidates.map(scores) }))
      : null;
    planned = tuning ? planTunedRuns(tuning, plan.seeds, plan.base, dir) : [];
  } else {
    try {
      planned = planRuns({ strategies: plan.strategies, lambdas: plan.lambdas, seeds: plan.seeds, base: plan.base }, dir);
    } catch {
      planned = scanRuns(dir);
    }
  }
  const runs: ExperimentRun[] = [];
  const pending: { strategy: string; seed: number }[] = [];
  const diverged: ExperimentRun[] = [];
  for (const p of planned) {
    if (!isRunFolder(p.dir)) {
      pending.push({ strategy: p.strategy, seed: p.seed });
      continue;
    }
    const run = readRunFolder(p.dir, { history: false });
    const entry = { strategy: p.strategy, family: p.family, seed: p.seed, dir: p.dir, run };
    if (run.diverged) diverged.push(entry);
    if (run.rows.length > 0) runs.push(entry);
    else if (!run.diverged) pending.push({ strategy: p.strategy, seed: p.seed });
  }
  const ended = [...runs.filter((r) => r.run.finished), ...diverged];
  const select = plan.select && (SUMMARY_METRICS as readonly string[]).includes(plan.select) ? plan.select : 'acc';
  const summary = ended.length
    ? summarize(
        ended.map((r) => ({
          run: { strategy: r.strategy, family: r.family, seed: r.seed, dir: r.dir, config: r.run.config },
          rows: r.run.rows,
          ...(r.run.diverged ? { diverged: r.run.diverged } : {}),
        })),
        select,
        plan.selectEpochs ?? 1,
      )
    : null;
  return { dir, plan, runs, pending, diverged, summary, tuning };
}

/** experiment.json, with the fields this reader uses checked. */
function readPlanFile(file: string): ExperimentPlanFile {
  const p = readJsonObject(file, "an experiment's plan (what low compare writes)");
  requireField(file, p, 'strategies', isStringArray, 'a list of strategies');
  requireField(file, p, 'lambdas', isNumberArray, "a list of LOW's lambdas");
  requireField(file, p, 'seeds', (v) => Array.isArray(v) && v.every(isCount(0)), 'a list of seeds (non-negative integers)');
  requireField(file, p, 'base', isObject, 'the configuration shared by the runs (an object)');
  requireField(file, p, 'select', (v) => v === undefined || typeof v === 'string', 'a metric name');
  requireField(file, p, 'selectEpochs', (v) => v === undefined || isCount(1)(v), 'a whole number of epochs >= 1');
  requireField(
    file,
    p,
    'tune',
    (v) => v === undefined || v === null || (isObject(v) && isNumberArray(v.lrs) && isCount(1)(v.epochs)),
    'null or the tuning budget {"lrs": [...], "epochs": n, "seeds": [...]}',
  );
  return p as unknown as ExperimentPlanFile;
}

/** tuning.json: the setting chosen for each strategy family, and every candidate. */
function readTuningFile(file: string): TunedChoice[] {
  const t = readJsonFile(file, "an experiment's tuning record (what low compare --tune writes)");
  const isChoice = (c: unknown) => isObject(c) && Array.isArray(c.candidates) && c.candidates.every(isObject);
  if (!Array.isArray(t) || !t.every(isChoice)) {
    throw new FileFormatError(`${file}: expected a list of tuned choices, each with its candidates (the file is corrupt or not low-ts's)`);
  }
  return t as TunedChoice[];
}

/** Run folders found under runs/ when experiment.json cannot be expanded (e.g. written by another version). */
function scanRuns(dir: string): Pick<PlannedRun, 'strategy' | 'family' | 'seed' | 'dir'>[] {
  const root = join(dir, 'runs');
  if (!existsSync(root)) return [];
  const out: Pick<PlannedRun, 'strategy' | 'family' | 'seed' | 'dir'>[] = [];
  for (const s of readdirSync(root).sort()) {
    for (const seedDir of readdirSync(join(root, s)).sort()) {
      const runDir = join(root, s, seedDir);
      if (!existsSync(join(runDir, 'config.json'))) continue;
      const config = readRunConfig(join(runDir, 'config.json'));
      const strategy = formatStrategy(parseStrategy(config.strategy));
      out.push({ strategy, family: strategyFamily(strategy), seed: config.seed, dir: runDir });
    }
  }
  return out;
}

/** A run of the experiment with its per-sample history and samples. */
export function readRunDetails(run: ExperimentRun): RunFolder {
  return readRunFolder(run.dir);
}
