// Every path an output option names (`--out`, `--png`) goes through here: it is checked before
// anything is written, and written with errors that name the option and the path instead of a
// bare EEXIST or EACCES. The checks: the path's existing part is folders up to the target; the
// target is a folder when a folder is expected and not one when a file is; it is not one of the
// command's inputs nor a file low-ts reads back (src/io/read-back-files.ts); and its folder takes
// a file (tried with a probe file, as permission bits do not stop root, and /proc refuses
// writes that access() allows).
import { accessSync, constants, mkdirSync, realpathSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { holdsExperiment, holdsRun, readBackReason } from './read-back-files.js';

/** A path given to an output option cannot be written; the message names the option and the path. */
export class OutputPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputPathError';
  }
}

export interface OutputFileChecks {
  /** Paths the command reads: the output may be none of them. */
  inputs?: string[];
}

export interface OutputFolderChecks {
  /** Refuse a folder that holds this other kind of output: `low compare` a run, `low train` an experiment. */
  refuse?: 'run' | 'experiment';
  /**
   * A dataset folder whose listing the command reads (an image folder): the output may be neither
   * it nor inside it, where the next read of the dataset would meet the run's files as a class.
   */
  dataFolder?: string;
}

/** The path's status, or null where nothing is (a missing entry, or a file where a folder should be). */
function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

/** The deepest existing path at or above `abs` (an absolute path). */
function nearestExisting(abs: string): { path: string; stats: Stats } {
  for (let p = abs; ; p = dirname(p)) {
    const stats = statOrNull(p);
    if (stats) return { path: p, stats };
    if (dirname(p) === p) throw new Error(`no part of ${abs} exists`);
  }
}

/** `path` absolute, with the symbolic links of its existing part resolved: two names of one file compare equal. */
function realPath(path: string): string {
  const abs = resolve(path);
  const existing = nearestExisting(abs).path;
  const rest = abs.slice(existing.length).split('/').filter(Boolean);
  try {
    return join(realpathSync(existing), ...rest);
  } catch {
    return abs;
  }
}

const PROBLEMS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'that folder takes no new files',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  EEXIST: 'it exists already',
  ENAMETOOLONG: 'the name is too long',
};

function problemOf(e: unknown): string {
  const { code, message } = e as NodeJS.ErrnoException;
  return code ? `${PROBLEMS[code] ?? message} (${code})` : String(message ?? e);
}

const fail = (option: string, path: string, problem: string): never => {
  throw new OutputPathError(`${option} ${path}: ${problem}`);
};

/** The existing part of the path must be folders: a file in the middle cannot hold anything. */
function checkAncestors(option: string, path: string, abs: string): string {
  const { path: existing, stats } = nearestExisting(dirname(abs));
  if (!stats.isDirectory())
    fail(option, path, `${existing} is a file, not a folder, expected a path whose folders exist or can be created`);
  return existing;
}

/** Creates and removes a probe file in `dir`: the one test that holds for root and special file systems alike. */
function checkWritable(option: string, path: string, dir: string): void {
  // A name no one else uses, so that 'wx' fails only when the folder refuses the file.
  const probe = join(dir, `.low-ts-write-check-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(probe, '', { flag: 'wx' });
  } catch (e) {
    fail(option, path, `cannot write in ${dir}: ${problemOf(e)}, expected a folder this user may write in`);
  }
  unlinkSync(probe);
}

/** Checks a file to write, before anything is written; returns it as an absolute path. */
export function checkOutputFile(option: string, path: string, o: OutputFileChecks = {}): string {
  if (path === '') fail(option, "''", 'empty path, expected the name of a file to write');
  const abs = resolve(path);
  const stats = statOrNull(abs);
  if (stats?.isDirectory()) fail(option, path, `is a folder, expected the name of a file to write (such as ${join(path, 'out.html')})`);
  const folder = stats ? dirname(abs) : checkAncestors(option, path, abs);
  const real = realPath(abs);
  for (const input of o.inputs ?? []) {
    if (realPath(input) === real) fail(option, path, `is ${input}, which this command reads, expected another file`);
  }
  const readBack = readBackReason(real);
  if (readBack) fail(option, path, `${readBack}, expected another file name (writing there would destroy it)`);
  if (stats) {
    try {
      accessSync(abs, constants.W_OK);
    } catch (e) {
      fail(option, path, `cannot be overwritten: ${problemOf(e)}, expected a file this user may write`);
    }
  }
  checkWritable(option, path, folder);
  return abs;
}

/** Checks a folder to write into (existing or to be created), before anything is written; returns it as an absolute path. */
export function checkOutputFolder(option: string, path: string, o: OutputFolderChecks = {}): string {
  if (path === '') fail(option, "''", 'empty path, expected a folder');
  const abs = resolve(path);
  const stats = statOrNull(abs);
  if (stats && !stats.isDirectory()) fail(option, path, 'is a file, expected a folder (an existing one, or one to create)');
  const existing = stats ? abs : checkAncestors(option, path, abs);
  if (o.dataFolder !== undefined) {
    const data = realPath(o.dataFolder);
    const real = realPath(abs);
    if (real === data || real.startsWith(`${data}/`)) {
      fail(
        option,
        path,
        `is ${real === data ? '' : 'inside '}the image folder ${o.dataFolder}, which this command reads (the next read of the dataset would take the output's folder for a class), expected a folder outside it`,
      );
    }
  }
  if (stats && o.refuse === 'run' && holdsRun(abs)) {
    fail(
      option,
      path,
      'holds a training run (low train --out), expected an experiment folder: a new or empty folder, or one low compare wrote',
    );
  }
  if (stats && o.refuse === 'experiment' && holdsExperiment(abs)) {
    fail(
      option,
      path,
      'holds an experiment (experiment.json, low compare --out), expected a run folder: a new or empty folder, or one low train wrote',
    );
  }
  checkWritable(option, path, existing);
  return abs;
}

/**
 * Creates a checked output folder and the folders above it that are missing, one level at a
 * time: Node's recursive mkdir never returns under /proc, where each level fails with ENOENT.
 */
export function makeOutputFolder(option: string, path: string): void {
  const abs = resolve(path);
  const missing: string[] = [];
  for (let p = abs; statOrNull(p) === null && dirname(p) !== p; p = dirname(p)) missing.unshift(p);
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statOrNull(dir)?.isDirectory()) continue;
      fail(option, path, `cannot create the folder ${dir}: ${problemOf(e)}`);
    }
  }
}

/** Runs `write`, which writes the checked output `path`; a file-system error becomes one naming the option and the path. */
export function withOutputErrors<T>(option: string, path: string, write: () => T): T {
  try {
    return write();
  } catch (e) {
    if (!(e as NodeJS.ErrnoException).code) throw e;
    return fail(option, path, `cannot write ${basename(path)}: ${problemOf(e)}`);
  }
}

/** Writes a checked output file, creating its folder; a failure names the option and the path. */
export function writeOutputFile(option: string, path: string, data: string | Uint8Array): void {
  makeOutputFolder(option, dirname(resolve(path)));
  withOutputErrors(option, path, () => writeFileSync(path, data));
}
