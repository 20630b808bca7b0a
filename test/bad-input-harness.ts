// The bad-input suite's harness. Every case runs in a child process of its own (the CLI, or a small
// library script), so that a native crash, a hang or a stray process.exit shows up as what it is
// instead of taking the test runner down. Each case gets a folder; every file in it is fingerprinted
// (size and SHA-1) before and after, so that a case which destroys or rewrites input it was given
// is caught even when its message is right. The tally of crashes, hangs, lost files and wrong
// messages is printed once every case of a file has run, and for the whole suite by the file that
// finishes last.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../src/data/idx.js';
import { idxBytes, makeTempDir, patternBytes, writeFile } from './data-fixtures.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI = join(ROOT, 'src', 'cli', 'main.ts');
/** tsx by its URL, so that a child can run TypeScript from any working folder (each case runs in its own). */
const TSX = import.meta.resolve('tsx');
/** tsx's register(), which a Worker thread calls itself: the --import of its process does not reach it. */
const TSX_API = import.meta.resolve('tsx/esm/api');

/** A case that runs longer than this is a hang. */
export const CASE_TIMEOUT_MS = 45_000;

/** How a child process ended. */
export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ChildOptions {
  cwd: string;
  timeoutMs?: number;
  env?: Record<string, string>;
  /** Called once the child is started (to interrupt it at a chosen moment). */
  onSpawn?: (child: ChildProcess) => void;
  /** Called with the child and its output so far whenever it prints. */
  onOutput?: (child: ChildProcess, stdout: string, stderr: string) => void;
}

/** Runs `node --import tsx ARGS` in `cwd`; a child still running at the time limit is killed and marked timedOut. */
export function runNode(args: string[], o: ChildOptions): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    // A process group of its own: a hung `low compare` is killed with its worker processes, and a
    // signal sent to the group reaches them all, as Ctrl-C on a terminal does.
    const child = spawn(process.execPath, ['--import', TSX, ...args], {
      cwd: o.cwd,
      env: { ...process.env, LOW_DEBUG: '', ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    o.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup(child, 'SIGKILL');
    }, o.timeoutMs ?? CASE_TIMEOUT_MS);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      o.onOutput?.(child, stdout, stderr);
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      o.onOutput?.(child, stdout, stderr);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Workers the command left behind would go on loading the machine.
      signalGroup(child, 'SIGKILL');
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** Sends `signal` to the child's process group (the child and the processes it started). */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/** Runs the `low` command line with `args` in `cwd`. */
export function runCli(args: string[], o: ChildOptions): Promise<Outcome> {
  return runNode([CLI, ...args], o);
}

/** What a library script reports: the error it caught (its class and message), or the value its body returned. */
export interface ScriptResult {
  threw: boolean;
  name?: string;
  message?: string;
  value?: unknown;
}

/** The modules a library script may use, as the names it sees them by. */
const SCRIPT_PRELUDE = `
import * as torch from ${JSON.stringify(join(ROOT, 'src', 'torch', 'index.ts'))};
import * as low from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};
import * as fs from 'node:fs';
import * as path from 'node:path';
const { F } = torch;
const tsxApi = ${JSON.stringify(TSX_API)};
const torchModule = ${JSON.stringify(join(ROOT, 'src', 'torch', 'index.ts'))};
`;

/**
 * Writes `body` to a script in `dir` and runs it. The body is the inside of an async function
 * that may use torch, F, low, fs, path, `dir` (the case folder), and tsxApi and torchModule (for a
 * Worker to load the sources). The script catches what the body throws and prints it as JSON; it
 * exits 0 either way, so a non-zero exit or a signal is the process itself failing.
 */
export async function runScript(
  dir: string,
  body: string,
  o: Partial<ChildOptions> = {},
): Promise<{ outcome: Outcome; result: ScriptResult | null }> {
  // .mts: an ES module wherever it is (top-level await), with no package.json around it.
  const file = join(dir, 'case-script.mts');
  const script = `${SCRIPT_PRELUDE}
const dir = ${JSON.stringify(dir)};
let report;
try {
  const value = await (async () => {
${body}
  })();
  report = { threw: false, value: value === undefined ? null : value };
} catch (e) {
  report = { threw: true, name: e?.name ?? typeof e, message: e?.message ?? String(e) };
}
process.stdout.write('\\n@@result ' + JSON.stringify(report) + '\\n');
`;
  writeFileSync(file, script);
  const outcome = await runNode([file], { cwd: dir, ...o });
  const line = outcome.stdout.split('\n').find((l) => l.startsWith('@@result '));
  return { outcome, result: line ? (JSON.parse(line.slice('@@result '.length)) as ScriptResult) : null };
}

/** Size and SHA-1 of every file under `dir`, by path relative to it. */
export function fingerprint(dir: string): Map<string, string> {
  const prints = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const bytes = readFileSync(path);
        prints.set(relative(dir, path), `${bytes.length}:${createHash('sha1').update(bytes).digest('hex')}`);
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return prints;
}

/** The files of `before` that are gone or different in `after`, except those `mayChange` allows. */
export function lostFiles(before: Map<string, string>, after: Map<string, string>, mayChange: readonly string[] = []): string[] {
  const allowed = (path: string) => mayChange.some((p) => path === p || path.startsWith(`${p}/`));
  return [...before]
    .filter(([path, print]) => after.get(path) !== print && !allowed(path))
    .map(([path]) => (after.has(path) ? `${path} (changed)` : `${path} (removed)`));
}

/** What a case must do. */
export interface Expectation {
  /** Exit codes accepted; default [1, 2] (an error from the command line). */
  exit?: readonly number[];
  /** Signals the case sends the child: ended by one of them, the child did not handle it (a wrong outcome, not a crash). */
  sent?: readonly NodeJS.Signals[];
  /** Of those, the ones it may end by (their default action is a fine way to stop). */
  signals?: readonly NodeJS.Signals[];
  /** Each must match the message (CLI: stderr; library: `Name: message`). */
  message?: readonly RegExp[];
  /** Each must not match the message (beyond the checks every case gets: no prefix written twice, no stack trace). */
  notMessage?: readonly RegExp[];
  /** Files (relative to the case folder; a folder covers its contents) the case may change. */
  mayChange?: readonly string[];
  /** Paths (relative to the case folder) that must not exist afterwards: nothing written before the refusal. */
  absent?: readonly string[];
  /** A shorter time limit than {@link CASE_TIMEOUT_MS}, for a case whose hang would load the machine (thousands of threads). */
  timeoutMs?: number;
  /** Further checks on the folder after the run; throw to fail. */
  check?: (dir: string, outcome: Outcome, result: ScriptResult | null) => void | Promise<void>;
}

export interface BadInputCase {
  name: string;
  /** Writes the case's input files into its folder (before the fingerprint). */
  prepare?: (dir: string) => void | Promise<void>;
  /** Runs the child process(es); the last outcome is judged. */
  run: (dir: string) => Promise<{ outcome: Outcome; result: ScriptResult | null }>;
  expect: Expectation;
}

/** A `low ...` command line; `args` may refer to files in the case folder. */
export function cliCase(
  name: string,
  args: (dir: string) => string[],
  expect: Expectation & { prepare?: (dir: string) => void | Promise<void> },
): BadInputCase {
  return {
    name,
    prepare: expect.prepare,
    run: async (dir) => ({ outcome: await runCli(args(dir), { cwd: dir, timeoutMs: expect.timeoutMs }), result: null }),
    expect,
  };
}

/**
 * A library call in a script of its own. `error` matches `Name: message` of what it threw; a case
 * that may also return instead gives `returns`, which judges the returned value.
 */
export function libraryCase(
  name: string,
  body: string,
  expect: { error?: readonly RegExp[]; returns?: (value: unknown) => boolean; prepare?: (dir: string) => void | Promise<void> } & Pick<
    Expectation,
    'notMessage' | 'check' | 'timeoutMs'
  >,
): BadInputCase {
  return {
    name,
    prepare: expect.prepare,
    run: (dir) => runScript(dir, body, { timeoutMs: expect.timeoutMs }),
    expect: {
      exit: [0],
      timeoutMs: expect.timeoutMs,
      message: expect.error,
      notMessage: expect.notMessage,
      check: (dir, outcome, result) => {
        assert.ok(result, `the script printed no result; stderr:\n${outcome.stderr}`);
        if (result.threw) {
          assert.ok(expect.error, `threw ${result.name}: ${result.message}, expected it to return`);
        } else {
          assert.ok(expect.returns, `returned ${JSON.stringify(result.value)}, expected ${expect.error?.map(String).join(' and ')}`);
          assert.ok(expect.returns(result.value), `returned ${JSON.stringify(result.value)}, which is not what the case accepts`);
        }
        return expect.check?.(dir, outcome, result);
      },
    },
  };
}

/** One prefix written twice, e.g. `low: low:` or `fromArray: fromArray:`. */
const DOUBLED_PREFIX = /(^|\s)([A-Za-z][\w.-]*): \2:/m;
/** A stack frame: an error that escaped to the user as a trace, not as a message. */
const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

type Verdict = 'ok' | 'crash' | 'hang' | 'files lost' | 'wrong outcome' | 'wrong message';

/** Counts of what went wrong, per kind. */
interface Tally {
  counts: Record<Verdict, number>;
  cases: number;
  /** Wall-clock milliseconds (Date.now()) when the suite started and ended. */
  started: number;
  ended: number;
}

function tallyLine(label: string, t: Tally): string {
  const c = t.counts;
  return (
    `bad-input${label ? ` ${label}` : ''}: ${t.cases} cases, ${c.crash} crashes, ${c.hang} hangs, ${c['files lost']} files lost, ` +
    `${c['wrong outcome']} wrong outcomes, ${c['wrong message']} wrong messages (${((t.ended - t.started) / 1000).toFixed(0)} s)`
  );
}

/** The suites of test/bad-input-*.test.ts, by label. */
const SUITES = ['options', 'readers', 'files', 'library', 'interrupts'];

/**
 * Each test file runs in a process of its own; they leave their tallies in a folder named after
 * the test runner's process, and the one that finds all of them there gives the suite's total.
 */
function totalOfSuites(label: string, tally: Tally): Tally | null {
  const dir = join(tmpdir(), `low-ts-bad-input-tallies-${process.ppid}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${label}.json`), JSON.stringify(tally));
  const files = SUITES.map((s) => join(dir, `${s}.json`));
  if (!files.every((f) => existsSync(f))) return null;
  const tallies = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Tally);
  rmSync(dir, { recursive: true, force: true });
  const counts = { ...tally.counts };
  for (const k of Object.keys(counts) as Verdict[]) counts[k] = tallies.reduce((sum, t) => sum + t.counts[k], 0);
  return {
    counts,
    cases: tallies.reduce((sum, t) => sum + t.cases, 0),
    started: Math.min(...tallies.map((t) => t.started)),
    ended: Math.max(...tallies.map((t) => t.ended)),
  };
}

function messageOf(outcome: Outcome, result: ScriptResult | null): string {
  if (result) return result.threw ? `${result.name}: ${result.message}` : '';
  return outcome.stderr;
}

/** Judges one finished case; returns its verdict and, when it failed, why. */
async function judge(
  c: BadInputCase,
  dir: string,
  before: Map<string, string>,
  outcome: Outcome,
  result: ScriptResult | null,
): Promise<{ verdict: Verdict; why: string }> {
  const e = c.expect;
  const signal = outcome.signal ? `, signal ${outcome.signal}` : '';
  const shown = `exit ${outcome.code}${signal}\nstderr: ${outcome.stderr.slice(-2000)}\nstdout: ${outcome.stdout.slice(-800)}`;
  if (outcome.timedOut) return { verdict: 'hang', why: `still running after ${(e.timeoutMs ?? CASE_TIMEOUT_MS) / 1000} s\n${shown}` };
  if (outcome.signal && !(e.signals ?? []).includes(outcome.signal)) {
    if ((e.sent ?? []).includes(outcome.signal))
      return { verdict: 'wrong outcome', why: `ended by the ${outcome.signal} it was sent instead of handling it\n${shown}` };
    return { verdict: 'crash', why: `killed by ${outcome.signal}\n${shown}` };
  }
  const lost = lostFiles(before, fingerprint(dir), e.mayChange);
  if (lost.length) return { verdict: 'files lost', why: `files changed or removed: ${lost.join(', ')}\n${shown}` };
  const exits = e.exit ?? [1, 2];
  if (!outcome.signal && !exits.includes(outcome.code ?? -1))
    return { verdict: 'wrong outcome', why: `exit code ${outcome.code}, expected ${exits.join(' or ')}\n${shown}` };
  const present = (e.absent ?? []).filter((p) => existsSync(join(dir, p)));
  if (present.length) return { verdict: 'wrong outcome', why: `written before the refusal: ${present.join(', ')}\n${shown}` };
  const message = messageOf(outcome, result);
  const failedToFail = outcome.code !== 0 || result?.threw;
  for (const pattern of failedToFail ? (e.message ?? []) : []) {
    if (!pattern.test(message))
      return { verdict: 'wrong message', why: `message does not match ${pattern}\n${shown}\nmessage: ${message}` };
  }
  for (const pattern of [...(e.notMessage ?? []), DOUBLED_PREFIX, STACK_FRAME]) {
    if (pattern.test(message)) return { verdict: 'wrong message', why: `message matches ${pattern}\nmessage: ${message}` };
  }
  try {
    await e.check?.(dir, outcome, result);
  } catch (error) {
    return { verdict: 'wrong outcome', why: `${(error as Error).message}\n${shown}` };
  }
  return { verdict: 'ok', why: '' };
}

/**
 * Registers the cases (two at a time, each in a folder of its own under one temporary folder)
 * and a last test printing the tally. `cases` is given the fixtures folder, which `fixtures`
 * fills once before the first case runs; cases copy what they need from it into their own folder.
 */
export function badInputSuite(
  label: string,
  cases: (fixtures: string) => BadInputCase[],
  fixtures?: (root: string) => Promise<void>,
): void {
  const temp = makeTempDir(`bad-input-${label}`);
  after(temp.remove);
  const root = join(temp.dir, 'fixtures');
  const tally: Tally = {
    counts: { ok: 0, crash: 0, hang: 0, 'files lost': 0, 'wrong outcome': 0, 'wrong message': 0 },
    cases: 0,
    started: Date.now(),
    ended: 0,
  };
  const failed: string[] = [];
  let ready: Promise<void> | null = null;
  const setUp = () =>
    (ready ??= (async () => {
      mkdirSync(root, { recursive: true });
      await fixtures?.(root);
    })());
  describe(`bad input: ${label}`, { concurrency: 2 }, () => {
    cases(root).forEach((c, i) => {
      test(c.name, async () => {
        await setUp();
        // Numbered, not named: a folder named after the case would put its words into every path a message shows.
        const dir = join(temp.dir, `case-${String(i).padStart(3, '0')}`);
        mkdirSync(dir, { recursive: true });
        await c.prepare?.(dir);
        const before = fingerprint(dir);
        const { outcome, result } = await c.run(dir);
        const { verdict, why } = await judge(c, dir, before, outcome, result);
        tally.cases++;
        tally.counts[verdict]++;
        if (verdict !== 'ok') failed.push(`${c.name}: ${verdict}`);
        assert.equal(verdict, 'ok', `${verdict}: ${why}`);
      });
    });
  });
  test(`bad input: ${label}: summary`, (t) => {
    tally.ended = Date.now();
    t.diagnostic(tallyLine(label, tally));
    for (const f of failed) t.diagnostic(`  failed: ${f}`);
    const total = totalOfSuites(label, tally);
    if (total) t.diagnostic(tallyLine('', total));
  });
}

// ---- fixtures: tiny inputs in the formats the readers expect ----

/** An MNIST-layout split of `n` 28 x 28 noise images (labels cycling over 10 classes) in `dir`. */
export function writeIdxSplit(
  dir: string,
  split: 'train' | 'test',
  n: number,
  o: { rows?: number; cols?: number; seed?: number } = {},
): void {
  const prefix = split === 'train' ? 'train' : 't10k';
  const [rows, cols] = [o.rows ?? 28, o.cols ?? 28];
  writeFile(
    join(dir, `${prefix}-images-idx3-ubyte`),
    idxBytes(IDX_IMAGES_MAGIC, [n, rows, cols], patternBytes(n * rows * cols, o.seed ?? (split === 'train' ? 1 : 2))),
  );
  writeFile(
    join(dir, `${prefix}-labels-idx1-ubyte`),
    idxBytes(
      IDX_LABELS_MAGIC,
      [n],
      Uint8Array.from({ length: n }, (_, i) => i % 10),
    ),
  );
}

/** A tiny MNIST-layout dataset: 40 training and 20 test images. */
export function writeTinyMnist(dir: string, train = 40, test = 20): void {
  writeIdxSplit(dir, 'train', train);
  writeIdxSplit(dir, 'test', test);
}

/** What the quick commands share: `data` in (tiny MNIST), one epoch of tiny batches on one thread, `out` out. */
const quickOptions = (data: string, out: string): string[] => [
  '--dataset',
  'mnist',
  '--data-dir',
  data,
  '--epochs',
  '1',
  '--batch-size',
  '8',
  '--threads',
  '1',
  '--quiet',
  '--out',
  out,
];

/** The options of a quick `low train` on `data` into `out`. */
export const quickTrain = (data: string, out: string): string[] => ['train', ...quickOptions(data, out)];

/** The options of a quick `low compare` (one strategy, one seed) on `data` into `out`. */
export const quickCompare = (data: string, out: string): string[] => [
  'compare',
  '--strategies',
  'normal',
  '--seeds',
  '1',
  ...quickOptions(data, out),
];

/** Copies a fixture (file or folder) into a case folder, where the case may break its copy. */
export function copyFixture(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
}

/** Trains a fixture run with the command line (`args` after `low`), failing the suite if it does not finish. */
export async function trainFixture(args: string[], cwd: string): Promise<void> {
  const r = await runCli(args, { cwd, timeoutMs: 120_000 });
  assert.equal(r.code, 0, `fixture run ${args.join(' ')} failed:\n${r.stderr}`);
}

/** Escapes a path (or any text) for use inside a RegExp. */
export function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A RegExp matching `text` literally. */
export function mentions(text: string): RegExp {
  return new RegExp(literal(text));
}
