// An experiment: strategies x lambda grid x seeds, each run in its own folder, run by a pool of
// worker processes (`--jobs`), skipping runs that already finished. Within one seed every
// strategy starts from the same initial weights and sees the same sample order (trainRun seeds
// both from the run's seed).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatStrategy, strategyDefinition, type StrategySpec } from '../weighting/registry.js';
import { familyOf } from './tuning.js';
import { configFileText, type RunConfig } from './config.js';
import type { MetricsRow } from './metrics-file.js';
import { DIVERGED_FILE, readDivergedFile, type DivergedRecord } from './divergence.js';

export interface ExperimentPlan {
  /** The strategies to compare, as specs; one that leaves its sweep option out (LOW's lambda) is expanded over `lambdas`. */
  strategies: string[];
  lambdas: number[];
  seeds: number[];
  /** Everything but strategy and seed. */
  base: Omit<RunConfig, 'strategy' | 'seed'>;
}

export interface PlannedRun {
  /** Canonical strategy text, e.g. "low:lambda=0.1". */
  strategy: string;
  /** The strategy without its tuned value (lambda), e.g. "low" or "low:scale=batch-mean". */
  family: string;
  seed: number;
  dir: string;
  config: RunConfig;
}

/** Expands the plan into runs; folder names are stable so finished runs can be found again. */
export function planRuns(plan: ExperimentPlan, out: string): PlannedRun[] {
  const specs: StrategySpec[] = [];
  for (const text of plan.strategies) {
    const { spec, fixed } = familyOf(text);
    const sweep = strategyDefinition(spec.name).sweep;
    if (sweep && !fixed.has(sweep)) {
      for (const value of plan.lambdas) specs.push({ name: spec.name, options: { ...spec.options, [sweep]: value } });
    } else {
      specs.push(spec);
    }
  }
  const runs: PlannedRun[] = [];
  for (const seed of plan.seeds) {
    for (const spec of specs) {
      const strategy = formatStrategy(spec);
      const familySpec: StrategySpec = { name: spec.name, options: { ...spec.options } };
      const sweep = strategyDefinition(spec.name).sweep;
      if (sweep) delete familySpec.options[sweep];
      const family = formatStrategy(familySpec);
      const dir = join(out, 'runs', strategy.replace(/[:=,]/g, '_'), `seed-${seed}`);
      runs.push({ strategy, family, seed, dir, config: { ...plan.base, strategy, seed } as RunConfig });
    }
  }
  return runs;
}

/** Whether a run has its outcome: it finished (final.json) or diverged (diverged.json). */
export function isFinished(run: PlannedRun): boolean {
  return existsSync(join(run.dir, 'final.json')) || existsSync(join(run.dir, DIVERGED_FILE));
}

/** Epochs a run folder's metrics.csv lists as completed: where a run started on it resumes (0 for a new run). */
export function completedEpochs(dir: string): number {
  const file = join(dir, 'metrics.csv');
  return existsSync(file) ? Math.max(0, readFileSync(file, 'utf8').trim().split('\n').length - 1) : 0;
}

export interface RunEvent {
  kind: 'start' | 'finish' | 'skip' | 'fail' | 'diverged';
  run: PlannedRun;
  index: number;
  total: number;
  message?: string;
  /** Wall time of the run in this process (finish, diverged). */
  seconds?: number;
  /** Epochs the run had completed before it started here (start, finish, diverged): a resumed run trained only the rest. */
  resumedEpochs?: number;
}

export interface RunOutcome {
  run: PlannedRun;
  /** Every epoch's metrics; for a diverged run, the epochs completed before it diverged. */
  rows: MetricsRow[];
  /** Set when the run diverged: its metrics count as missing, not as its result. */
  diverged?: DivergedRecord;
}

export function readOutcome(run: PlannedRun): RunOutcome {
  const finalFile = join(run.dir, 'final.json');
  if (existsSync(finalFile)) return { run, rows: (JSON.parse(readFileSync(finalFile, 'utf8')) as { rows: MetricsRow[] }).rows };
  const diverged = readDivergedFile(run.dir);
  if (!diverged) throw new Error(`${run.dir}: the run has neither final.json nor ${DIVERGED_FILE}`);
  return { run, rows: diverged.rows, diverged: diverged.record };
}

/** The worker's entry beside this file, so workers run the same build (compiled, or TypeScript through the same loader). */
function workerEntry(): string {
  const self = fileURLToPath(import.meta.url);
  return join(self, '..', self.endsWith('.ts') ? 'run-worker.ts' : 'run-worker.js');
}

/**
 * Runs one planned run to completion in `run.dir` (its config is in config.request.json there);
 * rejects with the reason when it fails. The default is a worker process (train/run-worker.ts).
 */
export type RunExecutor = (
  run: PlannedRun,
  o: { threads: number; signal?: AbortSignal; nproc?: number; distTimeoutMs?: number; syncBatchNorm?: boolean; device?: string },
) => Promise<void>;

export interface ExecuteOptions {
  jobs: number;
  /** Intra-op threads of each run; default cores / jobs. */
  threads?: number;
  /** Processes each run trains on, data-parallel (each with threads / nproc intra-op threads); default 1. */
  nproc?: number;
  /** Their collective timeout (ms); default the process group's. */
  distTimeoutMs?: number;
  /** Batch norm over the global batch (--sync-bn). */
  syncBatchNorm?: boolean;
  /** Where each run trains (--device). */
  device?: string;
  /** How a run is executed; default {@link workerProcess}. */
  execute?: RunExecutor;
  /** Called as runs start and end, for progress display; 'diverged' is a run whose loss became non-finite. */
  onEvent?: (e: RunEvent) => void;
  signal?: AbortSignal;
}

/** Planned runs whose folder holds a run with another configuration (another plan, options or data). */
export function conflictingRuns(runs: PlannedRun[]): PlannedRun[] {
  return runs.filter((run) => {
    const file = join(run.dir, 'config.json');
    return existsSync(file) && readFileSync(file, 'utf8') !== configFileText(run.config);
  });
}

/** Throws, naming the folders, if any planned run's folder holds a run with another configuration. */
export function refuseConflicts(runs: PlannedRun[]): void {
  const conflicts = conflictingRuns(runs);
  if (conflicts.length) {
    throw new Error(
      `${conflicts.length} run folder(s) hold a run with a different configuration (see their config.json), ` +
        'so they are neither resumed nor reused:\n  ' +
        `${conflicts.map((run) => run.dir).join('\n  ')}\n` +
        'Run the same plan again to resume, or choose another --out (or delete those folders).',
    );
  }
}

/**
 * Runs every unfinished run in worker processes, `jobs` at a time, each with cores / jobs
 * threads (unless `threads` is given) so that jobs x threads stays within the machine. A run that
 * diverges (its folder gets diverged.json) is an outcome like a finished one. A failed run is
 * reported and the others go on; the promise rejects at the end if any failed. Before
 * anything runs, it rejects if a run folder holds a run with a different configuration: a
 * finished run is reused only when it is exactly the planned one.
 */
export async function executeRuns(runs: PlannedRun[], o: ExecuteOptions): Promise<void> {
  refuseConflicts(runs);
  const threads = o.threads ?? Math.max(1, Math.floor(availableParallelism() / o.jobs));
  const execute = o.execute ?? workerProcess;
  const queue = runs.map((run, index) => ({ run, index }));
  const failures: string[] = [];
  let interrupted = 0;
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const { run, index } = item;
      if (o.signal?.aborted) return;
      if (isFinished(run)) {
        o.onEvent?.({ kind: 'skip', run, index, total: runs.length });
        continue;
      }
      mkdirSync(run.dir, { recursive: true });
      writeFileSync(join(run.dir, 'config.request.json'), JSON.stringify(run.config));
      const resumedEpochs = completedEpochs(run.dir);
      o.onEvent?.({ kind: 'start', run, index, total: runs.length, resumedEpochs });
      const started = performance.now();
      try {
        await execute(run, {
          threads,
          signal: o.signal,
          nproc: o.nproc,
          distTimeoutMs: o.distTimeoutMs,
          syncBatchNorm: o.syncBatchNorm,
          device: o.device,
        });
        const seconds = (performance.now() - started) / 1000;
        o.onEvent?.({ kind: 'finish', run, index, total: runs.length, seconds, resumedEpochs });
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        if (o.signal?.aborted) {
          interrupted++;
          continue;
        }
        if (existsSync(join(run.dir, DIVERGED_FILE))) {
          o.onEvent?.({
            kind: 'diverged',
            run,
            index,
            total: runs.length,
            message,
            seconds: (performance.now() - started) / 1000,
            resumedEpochs,
          });
          continue;
        }
        failures.push(`${run.strategy} seed ${run.seed}: ${message}`);
        o.onEvent?.({ kind: 'fail', run, index, total: runs.length, message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.jobs) }, worker));
  if (o.signal?.aborted) throw new ExperimentInterrupted(interrupted, failures);
  if (failures.length) throw new Error(`${failures.length} run(s) failed:\n  ${failures.join('\n  ')}`);
}

/** The experiment was interrupted (Ctrl-C): the runs it stopped are checkpointed and resume with the same command. */
export class ExperimentInterrupted extends Error {
  constructor(stopped: number, failures: string[]) {
    super(
      `interrupted: ${stopped} run(s) checkpointed; run the same command again to resume` +
        (failures.length ? `\n${failures.length} run(s) had failed before:\n  ${failures.join('\n  ')}` : ''),
    );
    this.name = 'ExperimentInterrupted';
  }
}

/** The default {@link RunExecutor}: train/run-worker.ts in a child process, its stderr kept in worker.log. */
export const workerProcess: RunExecutor = async (run, { threads, signal, nproc = 1, distTimeoutMs, syncBatchNorm, device }) => {
  const settings = [String(threads), String(nproc), String(distTimeoutMs ?? ''), syncBatchNorm ? 'sync-bn' : '', device ?? 'cpu'];
  const code = await runWorker(run, settings, signal);
  if (code !== 0) {
    const log = existsSync(join(run.dir, 'worker.log'))
      ? readFileSync(join(run.dir, 'worker.log'), 'utf8').trim().split('\n').slice(-3).join(' | ')
      : '';
    throw new Error(`exit ${code}: ${log}`);
  }
};

function runWorker(run: PlannedRun, settings: string[], signal?: AbortSignal): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, workerEntry(), join(run.dir, 'config.request.json'), run.dir, ...settings],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    // The worker checkpoints every epoch; on abort it stops at its next batch and checkpoints there.
    const onAbort = () => child.kill('SIGINT');
    signal?.addEventListener('abort', onAbort);
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      writeFileSync(join(run.dir, 'worker.log'), log);
      resolve(code ?? 1);
    });
  });
}
