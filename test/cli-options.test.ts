// Command-line numbers: decimal only, bounded, and every message names the option, the value and
// what was expected. The parsers are checked one by one, then through the commands' own option
// definitions (Commander, as the CLI parses them), then end to end in a `low` process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { addRunOptions, configFromOptions, type RunCliOptions } from '../src/cli/run-options.js';
import {
  MAX_BATCH_SIZE,
  fractionBelowOne,
  nonNegativeInt,
  numberList,
  positiveInt,
  positiveNumber,
  probability,
  threadCount,
} from '../src/cli/options.js';
import { compareCommand } from '../src/cli/compare-command.js';
import { mentornetCommand } from '../src/cli/mentornet-command.js';
import { benchCommand } from '../src/cli/bench-command.js';
import { makeTempDir } from './data-fixtures.js';

const rejects = (parse: (v: string) => unknown, value: string, message: RegExp) =>
  assert.throws(
    () => parse(value),
    (e: Error) => {
      assert.match(e.message, message, `'${value}'`);
      return true;
    },
  );

test('integers are decimal digits only: hex, binary, octal, exponents, signs, points and blanks are refused', () => {
  const epochs = positiveInt('--epochs');
  for (const bad of ['0x2', '0b1', '0o7', '1e3', '+3', '-1', '2.0', '2.5', '', ' ', ' 3', 'Infinity', 'NaN', '3 ']) {
    rejects(
      epochs,
      bad,
      new RegExp(
        "^--epochs: '.*' is not written in decimal digits, " +
          'expected a positive integer from 1 to 9007199254740991 \\(2\\^53 - 1[^)]*\\), in the digits 0-9 only',
      ),
    );
  }
  assert.equal(epochs('10'), 10);
  assert.equal(epochs('007'), 7);
  rejects(epochs, '0', /^--epochs: 0 is too small, expected a positive integer from 1/);
  assert.equal(nonNegativeInt('--seed')('0'), 0);
});

test('an integer beyond 2^53 - 1 is refused with the limit stated', () => {
  const seed = nonNegativeInt('--seed');
  assert.equal(seed(String(Number.MAX_SAFE_INTEGER)), 9007199254740991);
  rejects(
    seed,
    '9007199254740992',
    /^--seed: 9007199254740992 is too large, expected a non-negative integer from 0 to 9007199254740991 \(2\^53 - 1/,
  );
  rejects(seed, '100000000000000000000', /too large, expected a non-negative integer from 0 to 9007199254740991/);
  rejects(seed, '1e20', /^--seed: '1e20' is not written in decimal digits, expected a non-negative integer from 0 to 9007199254740991/);
});

test('--threads is at most the cores of this machine, and the message says how many there are', () => {
  const cores = availableParallelism();
  const threads = threadCount('--threads');
  assert.equal(threads(String(cores)), cores);
  for (const bad of [String(cores + 1), '100000', '99999999999']) {
    rejects(
      threads,
      bad,
      new RegExp(
        `^--threads: ${bad} is too large, ` +
          `expected a positive integer from 1 to ${cores} \\(the ${cores} cores? of this machine, os\\.availableParallelism\\(\\)\\)`,
      ),
    );
  }
});

test('real numbers are decimal (with sign, point or exponent), finite and in range', () => {
  const lr = positiveNumber('--lr');
  assert.equal(lr('0.01'), 0.01);
  assert.equal(lr('1e-3'), 0.001);
  assert.equal(lr('.5'), 0.5);
  for (const bad of ['0x10', '', ' ', 'Infinity', '1e', 'abc', '1,5'])
    rejects(lr, bad, /^--lr: '.*' is not a decimal number, expected a positive number/);
  rejects(lr, '0', /^--lr: 0 is out of range, expected a positive number/);
  rejects(lr, '1e999', /^--lr: 1e999 is out of range/);
  rejects(probability('--percentile'), '1.5', /^--percentile: 1\.5 is out of range, expected a number in \[0, 1\]/);
  // validateConfig wants momentum and the validation fraction below 1: the option says so itself.
  rejects(fractionBelowOne('--momentum'), '1', /^--momentum: 1 is out of range, expected a number in \[0, 1\)/);
  assert.deepEqual(numberList('--lambdas')('1, 0.5,0.1,'), [1, 0.5, 0.1]);
  rejects(numberList('--lambdas'), '1,0x2', /^--lambdas: item 2, '0x2', is not a positive decimal number, expected a comma-separated list/);
  rejects(numberList('--lambdas'), ',', /^--lambdas: empty list/);
});

/** Parses `args` with the command's option definitions; the error Commander raises, or the options. */
function parse(cmd: Command, args: string[]): { error?: string; opts?: Record<string, unknown> } {
  cmd.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  for (const sub of cmd.commands) sub.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  try {
    cmd.parse(args, { from: 'user' });
    return { opts: cmd.opts() };
  } catch (e) {
    if (e instanceof CommanderError) return { error: e.message };
    throw e;
  }
}

const runCommand = () => addRunOptions(new Command('t').option('--out <dir>').action(() => {}));

test('the run options: every number through the decimal parsers, schedules, noise, imbalance and the model name', () => {
  const cases: [string[], RegExp][] = [
    [['--epochs', '0x2'], /--epochs: '0x2' is not written in decimal digits/],
    [
      ['--batch-size', '1000000000'],
      new RegExp(`--batch-size: 1000000000 is too large, expected a positive integer from 1 to ${MAX_BATCH_SIZE}`),
    ],
    [['--weight-decay', ''], /--weight-decay: '' is not a decimal number, expected a number >= 0/],
    [['--momentum', '1'], /--momentum: 1 is out of range, expected a number in \[0, 1\)/],
    [['--val-fraction', '1'], /--val-fraction: 1 is out of range/],
    [['--train-limit', '1e3'], /--train-limit: '1e3' is not written in decimal digits/],
    [['--threads', '100000'], /--threads: 100000 is too large/],
    [['--schedule', 'multistep:,,'], /--schedule: 'multistep:,,' is not a schedule/],
    [['--schedule', 'multistep:0x10'], /--schedule: 'multistep:0x10' is not a schedule/],
    [['--schedule', 'multistep:10,20:0x1'], /is not a schedule/],
    [['--noise', 'symmetric:0x1'], /--noise: 'symmetric:0x1' is not a label noise/],
    [['--imbalance', 'long-tail:0x10'], /--imbalance: 'long-tail:0x10' is not an imbalance/],
    [['--model', 'lenet'], /--model: unknown model 'lenet', expected one of lenet5, wrn-28-2/],
  ];
  for (const [args, message] of cases) assert.match(parse(runCommand(), args).error ?? 'accepted', message, args.join(' '));
  const ok = parse(runCommand(), [
    '--schedule',
    'multistep:10,20:0.5',
    '--noise',
    'pair:0.2',
    '--imbalance',
    'long-tail:100',
    '--model',
    'wrn-16-8',
    '--weight-decay',
    '5e-4',
  ]).opts as RunCliOptions;
  const config = configFromOptions(ok, 'normal', 0);
  assert.deepEqual(config.schedule, { kind: 'multistep', milestones: [10, 20], gamma: 0.5 });
  assert.deepEqual(config.noise, { kind: 'pair', rate: 0.2 });
  assert.deepEqual(config.imbalance, { kind: 'long-tail', ratio: 100 });
  assert.equal(config.model, 'wrn-16-8');
  assert.equal(config.weightDecay, 5e-4);
});

test("the other commands' own options are bounded too", () => {
  const compare = (args: string[]) => parse(compareCommand(), [...args, '--out', 'x']).error ?? 'accepted';
  assert.match(
    compare(['--seeds', '1000000000000000']),
    /--seeds: 1000000000000000 is too large, expected a positive integer from 1 to 10000/,
  );
  assert.match(compare(['--jobs', '1e9']), /--jobs: '1e9' is not written in decimal digits/);
  assert.match(compare(['--jobs', '100000']), /--jobs: 100000 is too large, expected a positive integer from 1 to 256/);
  assert.match(compare(['--tune-lrs', '0x1']), /--tune-lrs: item 1, '0x1', is not a positive decimal number/);
  const mentor = (args: string[]) => parse(mentornetCommand(), ['pretrain', '--from', 'r', '--out', 'm.lowt', ...args]).error ?? 'accepted';
  assert.match(mentor(['--lstm-hidden', '100000']), /--lstm-hidden: 100000 is too large, expected a positive integer from 1 to 4096/);
  assert.match(mentor(['--held-out', '0']), /--held-out: 0 is out of range, expected a number in \(0, 1\)/);
  assert.match(mentor(['--threads', '100000']), /--threads: 100000 is too large/);
  assert.match(mentor(['--batch-size', '0x100']), /--batch-size: '0x100' is not written in decimal digits/);
  const bench = parse(benchCommand(), ['engine', '--threads', '100000']).error ?? 'accepted';
  assert.match(bench, /--threads: 100000 is too large/);
});

const low = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });

test('low train: a refused option writes nothing (no folder, no lock.json left)', () => {
  const temp = makeTempDir('cli-options');
  try {
    const out = join(temp.dir, 'run');
    const threads = low(['train', '--threads', '99999999999', '--out', out]);
    assert.equal(threads.status, 1);
    assert.match(
      threads.stderr,
      /--threads: 99999999999 is too large, expected a positive integer from 1 to \d+ \(the \d+ cores? of this machine/,
    );
    const epochs = low(['train', '--epochs', '0x2', '--out', out]);
    assert.equal(epochs.status, 1);
    assert.match(epochs.stderr, /--epochs: '0x2' is not written in decimal digits/);
    assert.equal(existsSync(out), false, 'nothing written, no lock.json left');
  } finally {
    temp.remove();
  }
});
