// Parsers for numeric command-line options: a bad value names the option and what was expected.
// Numbers must be written in decimal. Number() alone also takes '0x2', '0b1' and '0o7', reads ''
// and ' ' as 0 and accepts 'Infinity', so `--epochs 0x2` used to train 2 epochs. Integers are
// plain digits (no sign, point or exponent: '1e3' is refused rather than guessed at); real numbers
// may have a sign, a point and an exponent (1e-4).
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { checkDevice } from '../torch/device.js';
import { META_PER_CLASS_LIMIT } from '../train/config.js';

const DIGITS = /^\d+$/;
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** The value of a decimal number's text, NaN for anything else ('0x2', '', 'Infinity'). */
export function decimalValue(text: string): number {
  return DECIMAL.test(text) ? Number(text) : NaN;
}

/** An upper bound of an integer option, and why it is there (said in the message). */
export interface IntLimit {
  max: number;
  why: string;
}

const SAFE: IntLimit = { max: Number.MAX_SAFE_INTEGER, why: '2^53 - 1, the largest integer a JavaScript number holds exactly' };

/**
 * The most samples a batch may hold. A batch is gathered into one buffer before anything else is
 * checked, so an absurd value failed with "Invalid typed array length"; the bound that depends on
 * the image size is checked once the data is loaded (train/prepare-data.ts).
 */
export const MAX_BATCH_SIZE = 1 << 20;
export const BATCH_LIMIT: IntLimit = { max: MAX_BATCH_SIZE, why: '2^20; larger batches do not fit in memory' };

/** Each seed is a run of every strategy; a huge count failed with "Invalid array length". */
export const SEEDS_LIMIT: IntLimit = { max: 10000, why: 'each seed is one run of every strategy' };

/** --meta-per-class. */
export const META_PER_CLASS: IntLimit = {
  max: META_PER_CLASS_LIMIT,
  why: 'the meta set is a small clean set; this many per class is most datasets whole',
};

/** Runs in parallel, each its own process (more than the cores is allowed: they share them, one thread each). */
export const JOBS_LIMIT: IntLimit = { max: 256, why: 'each job is a process of its own' };

/** Intra-op threads beyond the cores only slow a run down; a huge count made libgomp spawn threads until the machine stalled, or abort. */
export function coresLimit(): IntLimit {
  const cores = availableParallelism();
  return { max: cores, why: `the ${cores} core${cores === 1 ? '' : 's'} of this machine, os.availableParallelism()` };
}

function integer(name: string, value: string, min: 0 | 1, limit: IntLimit): number {
  const expected = `expected ${min === 0 ? 'a non-negative' : 'a positive'} integer from ${min} to ${limit.max} (${limit.why})`;
  if (!DIGITS.test(value)) {
    throw new InvalidArgumentError(
      `${name}: '${value}' is not written in decimal digits, ${expected}, in the digits 0-9 only (no sign, point, exponent or 0x prefix)`,
    );
  }
  const n = Number(value);
  if (n < min) throw new InvalidArgumentError(`${name}: ${value} is too small, ${expected}`);
  if (n > limit.max) throw new InvalidArgumentError(`${name}: ${value} is too large, ${expected}`);
  return n;
}

/** An integer >= 1, at most `limit.max` (default 2^53 - 1). */
export function positiveInt(name: string, limit: IntLimit = SAFE) {
  return (value: string): number => integer(name, value, 1, limit);
}

/** An integer >= 0, at most `limit.max` (default 2^53 - 1). */
export function nonNegativeInt(name: string, limit: IntLimit = SAFE) {
  return (value: string): number => integer(name, value, 0, limit);
}

/** A thread count: 1 to the machine's cores. */
export function threadCount(name: string) {
  return (value: string): number => integer(name, value, 1, coresLimit());
}

/** A finite decimal number; `expected` describes the accepted values for the message. */
function decimal(name: string, value: string, expected: string, ok: (n: number) => boolean): number {
  if (!DECIMAL.test(value))
    throw new InvalidArgumentError(`${name}: '${value}' is not a decimal number, expected ${expected} (such as 0.1 or 1e-3)`);
  const n = Number(value);
  if (!Number.isFinite(n) || !ok(n)) throw new InvalidArgumentError(`${name}: ${value} is out of range, expected ${expected}`);
  return n;
}

export function positiveNumber(name: string) {
  return (value: string): number => decimal(name, value, 'a positive number', (n) => n > 0);
}

export function nonNegativeNumber(name: string) {
  return (value: string): number => decimal(name, value, 'a number >= 0', (n) => n >= 0);
}

/** A number in [0, 1]. */
export function probability(name: string) {
  return (value: string): number => decimal(name, value, 'a number in [0, 1]', (n) => n >= 0 && n <= 1);
}

/** A number in [0, 1): momentum, a validation fraction (1 would leave nothing to train on). */
export function fractionBelowOne(name: string) {
  return (value: string): number => decimal(name, value, 'a number in [0, 1)', (n) => n >= 0 && n < 1);
}

/** A number in (0, 1): a share that must leave something on both sides. */
export function openFraction(name: string) {
  return (value: string): number => decimal(name, value, 'a number in (0, 1)', (n) => n > 0 && n < 1);
}

/** A comma-separated list of positive decimal numbers, e.g. "1,0.5,0.1" (empty items are skipped). */
export function numberList(name: string) {
  return (value: string): number[] => {
    const parts = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const expected = `expected a comma-separated list of positive decimal numbers such as 1,0.5,0.1 (got '${value}')`;
    if (!parts.length) throw new InvalidArgumentError(`${name}: empty list, ${expected}`);
    return parts.map((p, i) => {
      const n = Number(p);
      if (!DECIMAL.test(p) || !Number.isFinite(n) || n <= 0)
        throw new InvalidArgumentError(`${name}: item ${i + 1}, '${p}', is not a positive decimal number, ${expected}`);
      return n;
    });
  };
}

/** A device name (cpu, cuda, cuda:N), refused unless this libtorch and machine have it. */
export function deviceName(name: string) {
  return (value: string): string => {
    try {
      return checkDevice(value, name);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}
