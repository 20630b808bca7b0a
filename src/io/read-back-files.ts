// The files low-ts reads back from the folders it writes: resuming a run, `low compare` resuming
// an experiment, `low report`, `low suspects` and `low mentornet`. An output option must never
// overwrite one of them (src/io/output-path.ts refuses it).
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A run folder's files (`low train --out`, runs/<strategy>/seed-<n> of an experiment), and who reads each. */
export const RUN_FILES: readonly string[] = [
  'config.json', // resuming (the same run?), report, suspects, mentornet
  'config.request.json', // the run `low compare` asks its worker process for
  'checkpoint.lowt', // resuming, report, suspects, mentornet
  'samples.lowt', // report, suspects, mentornet
  'metrics.csv', // report, compare (epochs done)
  'class-weights.csv', // report
  'final.json', // compare (outcome), report
  'diverged.json', // resuming refuses, compare, report
  'lock.json', // the folder lock
  'worker.log', // compare, when the run fails
];

/** An experiment folder's files (`low compare --out`). */
export const EXPERIMENT_FILES: readonly string[] = [
  'experiment.json', // report, resuming
  'tuning.json', // report
  'lock.json', // the folder lock
];

/** Whether `dir` holds a run: its config.json or anything training writes beside it. */
export function holdsRun(dir: string): boolean {
  return ['config.json', 'checkpoint.lowt', 'metrics.csv', 'final.json', 'diverged.json', 'samples.lowt'].some((f) =>
    existsSync(join(dir, f)),
  );
}

/** Whether `dir` holds an experiment (experiment.json). */
export function holdsExperiment(dir: string): boolean {
  return existsSync(join(dir, 'experiment.json'));
}

/**
 * Why low-ts reads `file` back, or null when it does not: a run folder's or an experiment
 * folder's own file, by name in a folder that holds a run or an experiment.
 */
export function readBackReason(file: string): string | null {
  const dir = dirname(file);
  const name = basename(file);
  if (RUN_FILES.includes(name) && holdsRun(dir)) return `it is the ${name} of the run in ${dir}, which low-ts reads back`;
  if (EXPERIMENT_FILES.includes(name) && holdsExperiment(dir))
    return `it is the ${name} of the experiment in ${dir}, which low-ts reads back`;
  return null;
}
