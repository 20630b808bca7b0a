/**
 * Summary statistics and paired tests for comparing training strategies
 * over seeds: strategy A and strategy B are run with the same seeds, and the
 * per-seed differences of a metric are tested for a non-zero centre.
 *
 * Two tests, because they answer slightly different questions with few seeds:
 * the paired t-test assumes roughly normal differences; the Wilcoxon
 * signed-rank test only assumes they are symmetric about their median.
 */

import { midranks } from './ranks.js';
import { checkFinite, checkSameLength } from './validate.js';
import { normalTwoSidedP, studentTTwoSidedP } from './special.js';

/** Arithmetic mean; NaN for an empty input. */
export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  const s = Array.from(values).sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Mean of the values that are not NaN; NaN if there are none. Used for the
 * per-class means, where NaN marks a class for which a metric is undefined.
 */
export function meanIgnoringNaN(values: ArrayLike<number>): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isNaN(values[i])) {
      sum += values[i]!;
      count++;
    }
  }
  return count === 0 ? NaN : sum / count;
}

/**
 * Sample standard deviation (divisor n - 1, as reported across seeds);
 * NaN for fewer than two values. Two passes, so a large common offset does
 * not cost precision.
 */
export function sampleStd(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return NaN;
  const m = mean(values);
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (values[i]! - m) ** 2;
  return Math.sqrt(squares / (n - 1));
}

/**
 * Element-wise differences a[i] - b[i] of paired results.
 *
 * @throws RangeError on a length mismatch or a non-finite value.
 */
export function pairedDifferences(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  checkSameLength('a', a, 'b', b);
  checkFinite('a', a);
  checkFinite('b', b);
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = a[i]! - b[i]!;
  return d;
}

/** Result of the Wilcoxon signed-rank test. */
export interface WilcoxonResult {
  /** Number of non-zero differences, the ones that are ranked. */
  readonly n: number;
  /** Number of zero differences that were dropped. */
  readonly zeros: number;
  /** Sum of the ranks of |d| over positive differences (a > b). */
  readonly wPlus: number;
  /** Sum of the ranks of |d| over negative differences (a < b). */
  readonly wMinus: number;
  /** min(wPlus, wMinus), the two-sided statistic (as scipy reports it). */
  readonly statistic: number;
  /** Two-sided p-value; NaN when every difference is zero (n = 0). */
  readonly pValue: number;
  /** 'exact' null distribution, or 'normal' approximation. */
  readonly method: 'exact' | 'normal';
}

/** Largest n for which the exact null distribution is used (scipy's former default). */
const WILCOXON_EXACT_MAX_N = 25;

/**
 * Two-sided Wilcoxon signed-rank test of the paired samples a and b
 * (differences d = a - b).
 *
 * - Zero differences are dropped before ranking (Wilcoxon's original method,
 *   scipy's zero_method="wilcox"); n counts what is left. With n = 0 there is
 *   nothing to test and the p-value is NaN.
 * - |d| are ranked with midranks; differences are compared exactly, so
 *   floating-point results that differ only by rounding do not tie.
 * - For n <= 25 with no ties the p-value is exact: 2 P(W <= statistic),
 *   capped at 1, where under the null each rank is positive with probability
 *   1/2 independently, so W is distributed as the sum of a uniformly random
 *   subset of {1, ..., n}.
 * - Otherwise the normal approximation: mean n(n+1)/4, variance
 *   n(n+1)(2n+1)/24 - Σ(t³ - t)/48 over tie groups of size t, with a
 *   continuity correction of 1/2 towards the mean (as R's wilcox.test and
 *   scipy do).
 *
 * @throws RangeError on a length mismatch or a non-finite value.
 */
export function wilcoxonSignedRank(a: ArrayLike<number>, b: ArrayLike<number>): WilcoxonResult {
  const all = pairedDifferences(a, b);
  const d = all.filter((x) => x !== 0);
  const n = d.length;
  const zeros = all.length - n;
  const { ranks, tieSizes } = midranks(d.map(Math.abs));

  let wPlus = 0;
  let wMinus = 0;
  for (let i = 0; i < n; i++) {
    if (d[i]! > 0) wPlus += ranks[i]!;
    else wMinus += ranks[i]!;
  }
  const statistic = Math.min(wPlus, wMinus);

  if (n === 0) {
    return { n, zeros, wPlus, wMinus, statistic, pValue: NaN, method: 'exact' };
  }
  if (n <= WILCOXON_EXACT_MAX_N && tieSizes.length === 0) {
    // Without ties the ranks are 1..n and the statistic is an integer.
    const pValue = Math.min(1, 2 * signedRankCdf(n, statistic));
    return { n, zeros, wPlus, wMinus, statistic, pValue, method: 'exact' };
  }

  const expected = (n * (n + 1)) / 4;
  let variance = (n * (n + 1) * (2 * n + 1)) / 24;
  for (const t of tieSizes) variance -= (t * t * t - t) / 48;
  const deviation = wPlus - expected;
  const z = (deviation - 0.5 * Math.sign(deviation)) / Math.sqrt(variance);
  return { n, zeros, wPlus, wMinus, statistic, pValue: normalTwoSidedP(z), method: 'normal' };
}

/**
 * P(W <= w) for W the sum of a uniformly random subset of {1, ..., n}:
 * counts subsets by their sum (the subset-sum recurrence, adding one rank at
 * a time) and divides by 2^n. Counts stay below 2^n, exact in doubles here.
 */
function signedRankCdf(n: number, w: number): number {
  const maxSum = (n * (n + 1)) / 2;
  const counts = new Float64Array(maxSum + 1);
  counts[0] = 1;
  for (let rank = 1; rank <= n; rank++) {
    // Downwards, so each rank is used at most once per subset.
    for (let s = maxSum; s >= rank; s--) counts[s]! += counts[s - rank]!;
  }
  let atMost = 0;
  for (let s = 0; s <= w; s++) atMost += counts[s]!;
  return atMost / 2 ** n;
}

/** Result of the paired t-test. */
export interface TTestResult {
  /** Number of pairs. */
  readonly n: number;
  /** Degrees of freedom, n - 1. */
  readonly df: number;
  /** Mean of d = a - b. */
  readonly meanDifference: number;
  /** Sample standard deviation of d. */
  readonly sdDifference: number;
  /** meanDifference / (sdDifference / √n). */
  readonly t: number;
  /** Two-sided p-value from Student's t with df degrees of freedom. */
  readonly pValue: number;
}

/**
 * Two-sided paired t-test of a against b (differences d = a - b).
 *
 * When all differences are equal, sd = 0: a non-zero mean gives t = ±Infinity
 * and p = 0; a zero mean gives t = NaN and p = NaN (nothing to test), as
 * scipy does.
 *
 * @throws RangeError on a length mismatch, a non-finite value, or fewer than
 *   two pairs.
 */
export function pairedTTest(a: ArrayLike<number>, b: ArrayLike<number>): TTestResult {
  const d = pairedDifferences(a, b);
  const n = d.length;
  if (n < 2) throw new RangeError(`pairedTTest needs at least 2 pairs, got ${n}`);
  const df = n - 1;
  const meanDifference = mean(d);
  const sdDifference = sampleStd(d);
  const t = meanDifference / (sdDifference / Math.sqrt(n));
  const pValue = Number.isNaN(t) ? NaN : studentTTwoSidedP(t, df);
  return { n, df, meanDifference, sdDifference, t, pValue };
}
